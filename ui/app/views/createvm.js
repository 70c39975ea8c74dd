// Create-VM wizard: General, OS (ISO), Disk, CPU, Memory, Network, Confirm. The last page shows the exact
// API call and the `qm create` command; per-field errors from the server lead back to their page.
import { h, iconEl, button, replace } from '../dom.js';
import { get, post, ApiError } from '../api.js';
import * as store from '../store.js';
import { fieldSet } from '../components/fields.js';
import { cliPreview } from '../components/clipreview.js';
import { validate } from '../schema.js';
import { followUPID } from '../actions.js';
import { noteTask } from '../store.js';
import { go, routes } from '../router.js';
import { storagesFor, isoImages, bridges, formatsFor, isoLabel } from './qemu/pickers.js';
import { OSTYPES } from './qemu/options.js';
import { bytes, parseUPID } from '../format.js';
import { toast } from '../components/toast.js';

const TEMPLATE = '/nodes/{node}/qemu';
const CPU_TYPES = [['', 'Default (kvm64)'], ['x86-64-v2-AES', 'x86-64-v2-AES'], ['x86-64-v3', 'x86-64-v3'], ['host', 'host'], ['qemu64', 'qemu64'], ['max', 'max']];

function buildSteps(nodeNames) {
    return [
        { id: 'general', title: 'General', icon: 'vm', intro: 'Where the VM lives and what it is called.', fields: [
            { name: 'node', label: 'Node', type: 'select', options: nodeNames, value: nodeNames[0], required: true },
            { name: 'vmid', label: 'VM ID', type: 'number', min: 100, required: true, help: 'Unique in the cluster; the next free one is suggested.' },
            { name: 'name', label: 'Name', autofocus: true, placeholder: 'web01', help: 'Letters, digits, dots and dashes.' },
            { name: 'tags', label: 'Tags', placeholder: 'prod web', help: 'Optional, separated by spaces.' },
            { name: 'onboot', label: 'Start at node boot', type: 'checkbox' },
        ] },
        { id: 'os', title: 'OS', icon: 'cdrom', intro: 'The installation medium and the guest operating system type.', fields: [
            { name: 'media', label: 'Installation medium', type: 'select', value: 'iso', options: [['iso', 'ISO image from a storage'], ['none', 'No medium (boot from network or disk)']] },
            { name: 'ide2', label: 'ISO image', type: 'select', options: [['', 'Loading…']], full: true },
            { name: 'ostype', label: 'Guest OS type', type: 'select', options: OSTYPES, value: 'l26', help: 'Tunes defaults such as the clock and drivers.' },
            { name: 'serial0', label: 'Serial console (serial0)', type: 'checkbox', value: true, help: 'A text console beside VNC; its output is kept even when nobody watches.' },
        ] },
        { id: 'disk', title: 'Disk', icon: 'disk', intro: 'The first hard disk (scsi0).', fields: [
            { name: 'nodisk', label: 'No hard disk', type: 'checkbox' },
            { name: 'storage', label: 'Storage', type: 'select', options: [['', 'Loading…']], required: true, errorKey: 'storage', errorFor: ['scsi0'] },
            { name: 'scsi0', label: 'Disk size', type: 'number', unit: 'GiB', value: 32, min: 1, required: true },
            { name: 'format', label: 'Format', type: 'select', options: ['qcow2', 'raw', 'vmdk'], help: 'qcow2 supports snapshots on directory storages.' },
            { name: 'scsihw', label: 'SCSI controller', type: 'select', value: 'virtio-scsi-single', options: [['virtio-scsi-single', 'VirtIO SCSI single'], ['virtio-scsi-pci', 'VirtIO SCSI'], ['lsi', 'LSI 53C895A'], ['megasas', 'MegaRAID SAS'], ['pvscsi', 'VMware PVSCSI']] },
            { name: 'discard', label: 'Discard (TRIM)', type: 'checkbox' },
        ] },
        { id: 'cpu', title: 'CPU', icon: 'cpu', intro: 'Virtual processors.', fields: [
            { name: 'sockets', label: 'Sockets', type: 'number', value: 1, min: 1, max: 4, required: true },
            { name: 'cores', label: 'Cores per socket', type: 'number', value: 1, min: 1, required: true },
            { name: 'cpu', label: 'CPU type', type: 'select', options: CPU_TYPES },
            { name: 'kvm', label: 'KVM hardware virtualization', type: 'checkbox', value: true, help: 'Turn off only where the host has no usable KVM (the VM then runs emulated, slowly).' },
        ] },
        { id: 'memory', title: 'Memory', icon: 'memory', intro: 'RAM for the guest.', fields: [
            { name: 'memory', label: 'Memory', type: 'number', unit: 'MiB', value: 2048, min: 16, step: 256, required: true, help: '1024 MiB = 1 GiB' },
        ] },
        { id: 'network', title: 'Network', icon: 'network', intro: 'The first network device (net0).', fields: [
            { name: 'nonet', label: 'No network device', type: 'checkbox' },
            { name: 'net0', label: 'Bridge', type: 'select', options: [['', 'Loading…']], required: true },
            { name: 'model', label: 'Model', type: 'select', options: [['virtio', 'VirtIO (paravirtualized)'], ['e1000', 'Intel E1000'], ['rtl8139', 'Realtek RTL8139'], ['vmxnet3', 'VMware vmxnet3']] },
            { name: 'tag', label: 'VLAN tag', type: 'number', min: 1, max: 4094, placeholder: 'no VLAN' },
            { name: 'firewall', label: 'Firewall', type: 'checkbox', value: true },
        ] },
        { id: 'confirm', title: 'Confirm', icon: 'check', intro: 'Check the settings; this is exactly what will be sent.', fields: [
            { name: 'start', label: 'Start the VM after it is created', type: 'checkbox' },
        ] },
    ];
}

export function mount(container) {
    const nodeNames = store.nodes();
    const steps = buildSteps(nodeNames.length ? nodeNames : ['localhost']);
    for (const s of steps) s.fs = fieldSet(s.fields);
    const f = (name) => steps.map((s) => s.fs.get(name)).find(Boolean);
    const stepOf = (param) => steps.find((s) => s.fs.fields.some((x) => x.name === param || (x.spec.errorFor || []).includes(param)));
    let current = 0;
    let storages = [];
    let busy = false;
    let formatTouched = false;

    const stepList = h('ol', { class: 'wizard-steps', 'aria-label': 'Steps' }, steps.map((s, i) => h('li', { 'data-step': s.id },
        h('span', { class: 'n' }, String(i + 1)), h('span', { class: 't' }, s.title))));
    const page = h('div', { class: 'wizard-page' });
    const message = h('div', { class: 'dialog-error', role: 'alert', hidden: true });
    const summary = h('table', { class: 'summary-table', 'data-testid': 'wizard-summary' });
    const cli = cliPreview({ open: true });
    const back = button('Back', () => show(current - 1), { testid: 'wizard-back' });
    const next = button('Next', () => advance(), { kind: 'primary', testid: 'wizard-next' });
    const finish = button('Create VM', () => create(), { kind: 'primary', testid: 'wizard-finish', icon: 'check' });
    const cancel = button('Cancel', () => history.length > 1 ? history.back() : go(routes.datacenter()), { testid: 'dialog-cancel' });
    const root = h('div', { class: 'objview' },
        h('header', { class: 'obj-head' }, h('div', { class: 'title' }, h('span', { class: 'vmicon nodot' }, iconEl('plus', 'icon-lg')), h('h1', null, 'Create virtual machine'))),
        h('div', { class: 'wizard' }, stepList, h('div', { class: 'wizard-main' }, page,
            h('div', { class: 'wizard-foot' }, cancel, h('span', { class: 'spacer' }), back, next, finish))));
    container.append(root);
    document.title = 'Create VM — Vireo';

    function values() {
        return Object.assign({}, ...steps.map((s) => s.fs.values()));
    }

    /** The exact request: POST /nodes/{node}/qemu with form params. */
    function request() {
        const v = values();
        const st = storages.find((s) => s.storage === v.storage);
        const params = { vmid: v.vmid, name: v.name || undefined, ostype: v.ostype, memory: v.memory, sockets: v.sockets, cores: v.cores, cpu: v.cpu || undefined };
        if (v.tags) params.tags = v.tags.split(/[\s,;]+/).filter(Boolean).join(';');
        if (v.onboot) params.onboot = 1;
        if (!v.kvm) params.kvm = 0;
        if (v.serial0) params.serial0 = 'socket';
        const order = [];
        if (!v.nodisk) {
            const opts = [];
            if (formatsFor(st).length > 1 && v.format) opts.push(`format=${v.format}`);
            if (v.discard) opts.push('discard=on');
            params.scsihw = v.scsihw;
            params.scsi0 = [`${v.storage}:${v.scsi0}`, ...opts].join(',');
            order.push('scsi0');
        }
        if (v.media === 'iso' && v.ide2) {
            params.ide2 = `${v.ide2},media=cdrom`;
            order.push('ide2');
        }
        if (!v.nonet) {
            params.net0 = [v.model, `bridge=${v.net0}`, v.tag ? `tag=${v.tag}` : '', `firewall=${v.firewall ? 1 : 0}`].filter(Boolean).join(',');
            order.push('net0');
        }
        if (order.length) params.boot = `order=${order.join(';')}`;
        if (v.start) params.start = 1;
        return { method: 'POST', path: `/nodes/${v.node}/qemu`, params };
    }

    function syncVisibility() {
        const v = values();
        f('ide2').show(v.media === 'iso');
        for (const n of ['storage', 'scsi0', 'format', 'scsihw', 'discard']) f(n).show(!v.nodisk);
        const formats = formatsFor(storages.find((s) => s.storage === v.storage));
        // Keep the user's pick; otherwise default to the storage's first format (qcow2 where it exists).
        f('format').setOptions(formats, formatTouched);
        if (!formatTouched) f('format').set(formats[0]);
        if (!v.nodisk) f('format').show(formats.length > 1);
        for (const n of ['net0', 'model', 'tag', 'firewall']) f(n).show(!v.nonet);
    }

    function paintSummary() {
        const v = values();
        const r = request();
        const row = (k, val) => h('tr', null, h('th', null, k), h('td', null, val));
        const iso = v.media === 'iso' && v.ide2 ? isoLabel(v.ide2) : 'none';
        summary.replaceChildren(h('tbody', null,
            row('Node', v.node), row('VM ID', v.vmid), row('Name', v.name || `VM${v.vmid}`),
            row('OS', `${(OSTYPES.find((o) => o[0] === v.ostype) || [0, v.ostype])[1]} — ISO: ${iso}`),
            row('Disk', v.nodisk ? 'none' : `scsi0 on ${v.storage}, ${v.scsi0} GiB${r.params.scsi0.includes('format=') ? `, ${v.format}` : ''}`),
            row('CPU', `${v.sockets * v.cores || 1} vCPU (${v.sockets} × ${v.cores})${v.cpu ? `, ${v.cpu}` : ''}${v.kvm ? '' : ', no KVM'}`),
            row('Memory', bytes(Number(v.memory) * 1024 * 1024)),
            row('Consoles', v.serial0 ? 'VNC and serial (serial0)' : 'VNC'),
            row('Network', v.nonet ? 'none' : `${v.model} on ${v.net0}${v.tag ? `, VLAN ${v.tag}` : ''}${v.firewall ? ', firewall' : ''}`),
            row('Boot order', (r.params.boot || '').replace('order=', '').split(';').join(', ') || '–')));
        cli.set(r.method, r.path, r.params);
    }

    function show(i) {
        current = Math.max(0, Math.min(steps.length - 1, i));
        const s = steps[current];
        [...stepList.children].forEach((li, k) => {
            li.classList.toggle('active', k === current);
            li.classList.toggle('done', k < current);
            if (k === current) li.setAttribute('aria-current', 'step'); else li.removeAttribute('aria-current');
        });
        message.hidden = true;
        const last = current === steps.length - 1;
        replace(page, h('h2', null, `${current + 1}. ${s.title}`), h('p', { class: 'dialog-intro' }, s.intro),
            last ? [summary, s.fs.el, cli.el] : s.fs.el, message);
        if (last) paintSummary();
        back.disabled = current === 0;
        next.hidden = last;
        finish.hidden = !last;
        syncVisibility();
        const first = s.fs.fields.find((x) => !x.el.hidden && x.input.focus && x.spec.type !== 'static');
        if (first) requestAnimationFrame(() => first.input.focus());
    }

    function localCheck(s) {
        const v = values();
        const e = {};
        if (s.id === 'general') {
            if (!/^\d+$/.test(v.vmid) || Number(v.vmid) < 100) e.vmid = 'Enter a number of 100 or more.';
            else if (store.vmById(v.vmid)) e.vmid = `VM ${v.vmid} already exists.`;
            if (v.name && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(v.name)) e.name = 'Letters, digits, dots and dashes; not starting or ending with - or .';
        }
        if (s.id === 'os' && v.media === 'iso' && !v.ide2) e.ide2 = 'Pick an ISO image, or choose "No medium".';
        if (s.id === 'disk' && !v.nodisk) {
            if (!v.storage) e.storage = 'No storage holds disk images on this node.';
            if (!/^\d+$/.test(v.scsi0) || Number(v.scsi0) < 1) e.scsi0 = 'Enter whole GiB, at least 1.';
        }
        if (s.id === 'memory' && (!/^\d+$/.test(v.memory) || Number(v.memory) < 16)) e.memory = 'Enter MiB, at least 16.';
        if (s.id === 'network' && !v.nonet && !v.net0) e.net0 = 'No bridge on this node — create one under the node\'s Network, or choose "No network device".';
        return e;
    }

    async function checkStep(s) {
        s.fs.clearErrors();
        let errs = localCheck(s);
        if (!Object.keys(errs).length) {
            const r = request();
            const own = Object.fromEntries(Object.entries(r.params).filter(([k]) => s.fs.get(k)));
            errs = await validate('POST', TEMPLATE, own);
        }
        if (Object.keys(errs).length) {
            s.fs.showErrors(errs);
            message.replaceChildren(iconEl('error'), h('span', null, 'Please correct the marked fields.'));
            message.hidden = false;
            stepList.children[steps.indexOf(s)].classList.add('err');
            return false;
        }
        stepList.children[steps.indexOf(s)].classList.remove('err');
        return true;
    }

    async function advance() {
        if (await checkStep(steps[current])) show(current + 1);
    }

    async function create() {
        if (busy) return;
        for (let i = 0; i < steps.length - 1; i++) {
            if (!(await checkStep(steps[i]))) { show(i); await checkStep(steps[i]); return; }
        }
        const r = request();
        busy = true;
        finish.disabled = true;
        finish.classList.add('busy');
        try {
            const upid = await post(r.path, r.params);
            const info = parseUPID(upid);
            if (info) noteTask({ upid, node: info.node, type: info.type, id: info.id, user: info.user, starttime: info.starttime });
            toast(`Creating VM ${r.params.vmid}…`, { kind: 'info', timeout: 2500 });
            followUPID(upid, { label: `Create VM ${r.params.vmid}`, onDone: (ok) => { if (ok) go(routes.qemu(r.params.vmid, 'summary')); } });
            finish.classList.remove('busy');
        } catch (e) {
            busy = false;
            finish.disabled = false;
            finish.classList.remove('busy');
            const errs = (e instanceof ApiError && e.errors) || {};
            const firstBad = Object.keys(errs).map(stepOf).filter(Boolean).sort((a, b) => steps.indexOf(a) - steps.indexOf(b))[0];
            if (firstBad) {
                show(steps.indexOf(firstBad));
                firstBad.fs.showErrors(errs);
                stepList.children[steps.indexOf(firstBad)].classList.add('err');
            }
            const rest = Object.entries(errs).filter(([k]) => !stepOf(k)).map(([k, m]) => `${k}: ${m}`);
            message.replaceChildren(iconEl('error'), h('span', null, [e.message, ...rest].join('\n')));
            message.hidden = false;
        }
    }

    // Choices that depend on the node.
    async function loadNodeChoices() {
        const node = f('node').get();
        const [isos, st, brs] = await Promise.all([isoImages(node).catch(() => []), storagesFor(node, 'images').catch(() => []), bridges(node).catch(() => [])]);
        storages = st;
        f('ide2').setOptions(isos.length ? isos.map((i) => [i.volid, `${isoLabel(i.volid)} — ${i.storage}, ${bytes(i.size)}`]) : [['', 'No ISO images on this node — upload one to a storage']]);
        f('storage').setOptions(st.length ? st.map((s) => [s.storage, `${s.storage} (${s.type}, ${bytes(s.avail)} free)`]) : [['', 'No storage for disk images']]);
        f('net0').setOptions(brs.length ? brs.map((b) => [b, b]) : [['', 'No bridge on this node']]);
        if (!isos.length) f('media').set('none');
        syncVisibility();
        if (current === steps.length - 1) paintSummary();
    }

    for (const s of steps) {
        s.fs.el.addEventListener('input', () => { syncVisibility(); if (current === steps.length - 1) paintSummary(); });
        s.fs.el.addEventListener('change', () => { syncVisibility(); if (current === steps.length - 1) paintSummary(); });
    }
    f('node').input.addEventListener('change', loadNodeChoices);
    f('format').input.addEventListener('change', () => { formatTouched = true; });
    page.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' && ev.target.tagName === 'INPUT') { ev.preventDefault(); if (current < steps.length - 1) advance(); else create(); }
    });
    get('/cluster/nextid').then((id) => { if (!f('vmid').get()) f('vmid').set(id); }).catch(() => f('vmid').set(100));
    loadNodeChoices();
    show(0);
    return { update() {}, dispose() { document.title = 'Vireo'; } };
}
