// VM summary: live status and usage, the configuration at a glance, notes, and history graphs.
import { h, button, setText } from '../../dom.js';
import { get } from '../../api.js';
import * as store from '../../store.js';
import { card, kvList, usageStat } from '../../components/widgets.js';
import { rrdGraphs } from '../../components/rrd.js';
import { bytes, percent, uptime, parsePropertyString, rate } from '../../format.js';
import { vmStatus } from '../../components/tree.js';
import { openFormDialog } from '../../components/dialog.js';

export function render(content, { vmid, vm, node }) {
    const status = kvList(['Status', 'Node', 'CPU', 'Memory', 'Boot disk', 'Uptime', 'Network', 'Disk I/O']);
    const cpu = usageStat('CPU usage');
    const mem = usageStat('Memory usage');
    const conf = kvList(['Processors', 'Memory', 'OS type', 'Boot order', 'Disks', 'Network', 'Display', 'Start at boot']);
    const notes = h('div', { class: 'notes' });
    const editNotes = button('Edit', () => editDescription(), { icon: 'edit', kind: 'ghost', testid: 'notes-edit' });
    editNotes.classList.add('btn-sm');
    const graphs = rrdGraphs(`/nodes/${node()}/qemu/${vmid}/rrddata`, [
        { title: 'CPU usage', series: [{ key: 'cpu', label: 'CPU' }], format: 'percent', max: () => 0.01 },
        { title: 'Memory usage', series: [{ key: 'mem', label: 'Used' }, { key: 'maxmem', label: 'Total' }], format: 'bytes' },
        { title: 'Network traffic', series: [{ key: 'netin', label: 'In' }, { key: 'netout', label: 'Out' }], format: 'rate' },
        { title: 'Disk I/O', series: [{ key: 'diskread', label: 'Read' }, { key: 'diskwrite', label: 'Write' }], format: 'rate' },
    ]);
    const notesCard = card('Notes', 'edit', notes);
    notesCard.querySelector('h3').append(h('span', { class: 'spacer' }), editNotes);
    content.append(
        h('div', { class: 'cards' },
            card('Status', 'vm', h('div', { class: 'statrow' }, cpu.el, mem.el), h('div', { class: 'spacer-8' }), status.el),
            card('Configuration', 'hardware', conf.el),
            notesCard),
        graphs.el);

    let config = {};
    let last = { netin: null, netout: null, diskread: null, diskwrite: null, t: 0 };
    let rates = {};
    function paintLive() {
        const r = vm();
        if (!r) return;
        const st = vmStatus(r);
        status.set('Status', h('span', { class: `badge ${st}`, 'data-testid': 'vm-status' }, st));
        status.set('Node', r.node);
        const running = r.status === 'running';
        cpu.set(running ? r.cpu : null, running ? `of ${r.cpus || r.maxcpu || 1} CPU${(r.cpus || r.maxcpu) === 1 ? '' : 's'}` : 'not running');
        mem.set(running && r.maxmem ? r.mem / r.maxmem : null, running ? `${bytes(r.mem)} of ${bytes(r.maxmem)}` : `${bytes(r.maxmem)} configured`);
        status.set('CPU', running ? `${percent(r.cpu)} of ${r.cpus || r.maxcpu} CPU(s)` : `${r.cpus || r.maxcpu || '–'} CPU(s)`);
        status.set('Memory', running ? `${bytes(r.mem)} of ${bytes(r.maxmem)}` : bytes(r.maxmem));
        status.set('Boot disk', r.maxdisk ? bytes(r.maxdisk) : 'none');
        status.set('Uptime', running ? uptime(r.uptime) : '–');
        // The store holds byte counters; rates come from two samples.
        const now = Date.now() / 1000;
        if (last.t && now - last.t > 0.5 && running) {
            for (const k of ['netin', 'netout', 'diskread', 'diskwrite']) {
                if (last[k] !== null && r[k] >= last[k]) rates[k] = (r[k] - last[k]) / (now - last.t);
            }
        }
        last = { netin: r.netin, netout: r.netout, diskread: r.diskread, diskwrite: r.diskwrite, t: now };
        status.set('Network', running ? `in ${rates.netin !== undefined ? rate(rates.netin) : bytes(r.netin)} · out ${rates.netout !== undefined ? rate(rates.netout) : bytes(r.netout)}` : '–');
        status.set('Disk I/O', running ? `read ${rates.diskread !== undefined ? rate(rates.diskread) : bytes(r.diskread)} · write ${rates.diskwrite !== undefined ? rate(rates.diskwrite) : bytes(r.diskwrite)}` : '–');
    }

    function paintConfig() {
        const c = config;
        const sockets = Number(c.sockets || 1);
        const cores = Number(c.cores || 1);
        conf.set('Processors', `${sockets * cores} (${sockets} socket${sockets === 1 ? '' : 's'}, ${cores} core${cores === 1 ? '' : 's'})${c.cpu ? ` [${parsePropertyString(c.cpu, 'cputype').cputype}]` : ''}`);
        const m = parsePropertyString(c.memory, 'current').current;
        conf.set('Memory', m ? bytes(Number(m) * 1024 * 1024) : '512 MiB (default)');
        conf.set('OS type', c.ostype || 'other');
        conf.set('Boot order', c.boot ? parsePropertyString(c.boot).order || c.boot : 'default');
        const disks = Object.keys(c).filter((k) => /^(scsi|virtio|sata|ide)\d+$/.test(k));
        conf.set('Disks', disks.length ? disks.map((k) => `${k}: ${String(c[k]).split(',')[0]}`).join('\n') : 'none');
        const nets = Object.keys(c).filter((k) => /^net\d+$/.test(k));
        conf.set('Network', nets.length ? nets.map((k) => `${k}: ${parsePropertyString(c[k]).bridge || '–'}`).join(', ') : 'none');
        conf.set('Display', c.vga || 'default');
        conf.set('Start at boot', Number(c.onboot) ? 'yes' : 'no');
        setText(notes, c.description || '');
        if (!c.description) notes.replaceChildren(h('span', { class: 'dim' }, 'No notes yet — use Edit to describe what this VM is for.'));
    }

    let gone = false;
    async function loadConfig() {
        try {
            config = await get(`/nodes/${node()}/qemu/${vmid}/config`, { current: 1 });
            if (!gone) paintConfig();
        } catch { /* shown by the hardware tab */ }
    }

    function editDescription() {
        const path = `/nodes/${node()}/qemu/${vmid}/config`;
        openFormDialog({
            title: `Notes of VM ${vmid}`, icon: 'edit',
            fields: [{ name: 'description', label: 'Notes', type: 'textarea', value: config.description || '', rows: 8, full: true }],
            request: (v) => ({ method: 'PUT', path, template: '/nodes/{node}/qemu/{vmid}/config', params: v.description ? { description: v.description } : { delete: 'description' } }),
            onSuccess: loadConfig,
        });
    }

    paintLive();
    loadConfig();
    const unsubs = [
        store.subscribe('resources', ({ changed, full }) => { if (full || changed.includes(`qemu/${vmid}`)) paintLive(); }),
        store.onTaskEnd(() => loadConfig(), vmid),
    ];
    return () => { gone = true; unsubs.forEach((u) => u()); graphs.dispose(); };
}
