// Hardware: memory, processors, disks (add, resize, move, detach), CD/DVD with ISO, NICs with bridge and
// firewall flag, serial ports; pending changes highlighted until the next start.
import { h, button } from '../../dom.js';
import { openFormDialog, confirm } from '../../components/dialog.js';
import { run } from '../../actions.js';
import { configGrid, followPending, effective, hasPending } from './configgrid.js';
import { storagesFor, isoImages, bridges, formatsFor, isoLabel } from './pickers.js';
import { bytes, parsePropertyString, buildPropertyString, parseSize } from '../../format.js';
import { pageTitle } from '../../components/widgets.js';

const CONFIG = '/nodes/{node}/qemu/{vmid}/config';
const BUSES = { ide: 4, sata: 6, scsi: 31, virtio: 16 };
const DRIVE_RE = /^(ide|sata|scsi|virtio)(\d+)$/;
const CPU_TYPES = ['x86-64-v2-AES', 'x86-64-v3', 'host', 'kvm64', 'qemu64', 'max'];
const NIC_MODELS = [['virtio', 'VirtIO (paravirtualized)'], ['e1000', 'Intel E1000'], ['e1000e', 'Intel E1000E'], ['rtl8139', 'Realtek RTL8139'], ['vmxnet3', 'VMware vmxnet3']];
const SCSIHW = [['lsi', 'LSI 53C895A (default)'], ['lsi53c810', 'LSI 53C810'], ['virtio-scsi-pci', 'VirtIO SCSI'], ['virtio-scsi-single', 'VirtIO SCSI single'], ['megasas', 'MegaRAID SAS 8708EM2'], ['pvscsi', 'VMware PVSCSI']];
const VGA = [['', 'Default'], ['std', 'Standard VGA'], ['virtio', 'VirtIO-GPU'], ['qxl', 'SPICE (qxl)'], ['vmware', 'VMware compatible'], ['cirrus', 'Cirrus Logic'], ['serial0', 'Serial terminal 0'], ['none', 'None']];
const CACHE = [['', 'Default (no cache)'], ['none', 'No cache'], ['writethrough', 'Write through'], ['writeback', 'Write back'], ['unsafe', 'Write back (unsafe)'], ['directsync', 'Direct sync']];

const pick = (cfg, key, which) => (which === 'value' ? (cfg[key] && !(cfg[key].value === undefined) ? cfg[key].value : undefined) : effective(cfg, key));
const label = (pairs, v) => (pairs.find((p) => p[0] === (v || '')) || [v, v])[1];
const isCdrom = (v) => /(^|,)media=cdrom(,|$)/.test(String(v || ''));

function nextFree(cfg, prefix, max) {
    for (let i = 0; i < max; i++) if (!cfg[`${prefix}${i}`] || (cfg[`${prefix}${i}`].value === undefined && cfg[`${prefix}${i}`].pending === undefined)) return `${prefix}${i}`;
    return null;
}

function driveOrder(a, b) {
    const ma = DRIVE_RE.exec(a) || [null, a, 0];
    const mb = DRIVE_RE.exec(b) || [null, b, 0];
    return ma[1] === mb[1] ? Number(ma[2]) - Number(mb[2]) : Object.keys(BUSES).indexOf(ma[1]) - Object.keys(BUSES).indexOf(mb[1]);
}

function showDisk(v) {
    if (v === undefined) return '';
    const p = parsePropertyString(v, 'file');
    const extras = Object.entries(p).filter(([k]) => !['file', 'size', 'media'].includes(k)).map(([k, x]) => `${k}=${x}`);
    return [p.file, p.size ? `size ${bytes(parseSize(p.size))}` : '', ...extras].filter(Boolean).join(', ');
}

export function render(content, { vmid, vm, node }) {
    const path = `/nodes/${node()}/qemu/${vmid}/config`;
    const grid = configGrid('Hardware');
    const errorSlot = h('div');
    const noticeSlot = h('div');
    const addMenu = h('div', { class: 'popup-menu', role: 'menu', hidden: true });
    const addBtn = button('Add', () => { addMenu.hidden = !addMenu.hidden; if (!addMenu.hidden) addMenu.querySelector('button').focus(); }, { icon: 'plus', kind: 'primary', testid: 'hw-add' });
    const addItem = (icon, text, fn, testid) => h('button', { type: 'button', role: 'menuitem', 'data-testid': testid, onclick: () => { addMenu.hidden = true; fn(); } }, h('span', null, text));
    addMenu.append(
        addItem('disk', 'Hard disk', () => addDisk(), 'hw-add-disk'),
        addItem('cdrom', 'CD/DVD drive', () => addCdrom(), 'hw-add-cdrom'),
        addItem('network', 'Network device', () => editNet(null), 'hw-add-net'),
        addItem('console', 'Serial port', () => addSerial(), 'hw-add-serial'));
    addMenu.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { ev.stopPropagation(); addMenu.hidden = true; addBtn.focus(); } });
    const outside = (ev) => { if (!addWrap.contains(ev.target)) addMenu.hidden = true; };
    document.addEventListener('mousedown', outside);
    const addWrap = h('div', { class: 'usermenu' }, addBtn, addMenu);
    content.append(pageTitle(`Hardware of VM ${vmid}`, addWrap), errorSlot, noticeSlot, grid.el);
    let cfg = {};

    const put = (params, label) => run('PUT', path, params, { label, quiet: true }).then(load);
    const request = (params) => ({ method: 'PUT', path, template: CONFIG, params });
    const dialog = (opts) => openFormDialog({ onSuccess: load, onDone: load, ...opts });

    function editMemory() {
        const mem = parsePropertyString(effective(cfg, 'memory'), 'current');
        dialog({
            title: `Memory of VM ${vmid}`, icon: 'memory',
            fields: [
                { name: 'memory', label: 'Memory', type: 'number', unit: 'MiB', value: mem.current || 512, min: 16, step: 64, required: true, autofocus: true, help: '1024 MiB = 1 GiB' },
                { name: 'balloon', label: 'Minimum memory (ballooning)', type: 'number', unit: 'MiB', value: effective(cfg, 'balloon') ?? '', help: 'Empty: no ballooning device change. 0 disables ballooning.' },
            ],
            check: (v) => (!/^\d+$/.test(v.memory) || Number(v.memory) < 16 ? { memory: 'Enter a size in MiB, at least 16.' } : {}),
            request: (v) => request({ memory: v.memory, balloon: v.balloon === '' ? undefined : v.balloon }),
        });
    }

    function editCpu() {
        dialog({
            title: `Processors of VM ${vmid}`, icon: 'cpu',
            fields: [
                { name: 'sockets', label: 'Sockets', type: 'number', value: effective(cfg, 'sockets') || 1, min: 1, max: 4, required: true },
                { name: 'cores', label: 'Cores per socket', type: 'number', value: effective(cfg, 'cores') || 1, min: 1, required: true, autofocus: true },
                { name: 'cpu', label: 'CPU type', type: 'select', value: parsePropertyString(effective(cfg, 'cpu'), 'cputype').cputype || '', options: [['', 'Default (kvm64)'], ...CPU_TYPES.map((t) => [t, t])] },
                { name: 'total', label: 'Total vCPUs', type: 'static', value: '' },
            ],
            onChange: (v, fs) => { fs.get('total').input.textContent = String((Number(v.sockets) || 1) * (Number(v.cores) || 1)); },
            request: (v) => request({ sockets: v.sockets, cores: v.cores, cpu: v.cpu || undefined }),
        });
    }

    function editSelect(key, title, pairs, help) {
        dialog({
            title: `${title} of VM ${vmid}`,
            fields: [{ name: key, label: title, type: 'select', value: effective(cfg, key) || '', options: pairs, help }],
            request: (v) => request(v[key] ? { [key]: v[key] } : { delete: key }),
        });
    }

    async function isoOptions() {
        const isos = await isoImages(node()).catch(() => []);
        return isos.length ? isos.map((i) => [i.volid, `${isoLabel(i.volid)} (${i.storage}, ${bytes(i.size)})`]) : [['', 'No ISO images — upload one to a storage first']];
    }

    async function editCdrom(key) {
        const cur = parsePropertyString(effective(cfg, key), 'file');
        const isos = await isoOptions();
        dialog({
            title: `CD/DVD drive ${key}`, icon: 'cdrom',
            fields: [
                { name: 'media', label: 'Media', type: 'select', value: cur.file && cur.file !== 'none' ? 'iso' : 'none', options: [['iso', 'ISO image'], ['none', 'No media (empty drive)']] },
                { name: key, label: 'ISO image', type: 'select', value: cur.file, options: isos },
            ],
            onChange: (v, fs) => fs.get(key).show(v.media === 'iso'),
            request: (v) => request({ [key]: v.media === 'iso' && v[key] ? `${v[key]},media=cdrom` : 'none,media=cdrom' }),
        });
    }

    async function addCdrom() {
        const isos = await isoOptions();
        const free = (bus) => nextFree(cfg, bus, BUSES[bus]);
        dialog({
            title: `Add CD/DVD drive to VM ${vmid}`, icon: 'cdrom',
            fields: [
                { name: 'bus', label: 'Bus', type: 'select', value: free('ide') ? 'ide' : 'sata', options: [['ide', 'IDE'], ['sata', 'SATA'], ['scsi', 'SCSI']] },
                { name: 'slot', label: 'Device', type: 'static', value: '' },
                { name: 'iso', label: 'ISO image', type: 'select', options: [['', 'No media'], ...isos.filter((o) => o[0])], full: true },
            ],
            onChange: (v, fs) => { fs.get('slot').input.textContent = free(v.bus) || 'no free slot'; },
            request: (v) => ({ method: 'POST', path, template: CONFIG, params: { [free(v.bus)]: `${v.iso || 'none'},media=cdrom` } }),
            check: (v) => (free(v.bus) ? {} : { bus: 'No free slot on this bus.' }),
        });
    }

    async function addDisk() {
        const stores = await storagesFor(node(), 'images').catch(() => []);
        const free = (bus) => nextFree(cfg, bus, BUSES[bus]);
        const storeOf = (name) => stores.find((s) => s.storage === name);
        dialog({
            title: `Add hard disk to VM ${vmid}`, icon: 'disk',
            fields: [
                { name: 'bus', label: 'Bus', type: 'select', value: 'scsi', options: [['scsi', 'SCSI'], ['virtio', 'VirtIO block'], ['sata', 'SATA'], ['ide', 'IDE']] },
                { name: 'slot', label: 'Device', type: 'static', value: '' },
                { name: 'storage', label: 'Storage', type: 'select', options: stores.length ? stores.map((s) => [s.storage, `${s.storage} (${s.type}, ${bytes(s.avail)} free)`]) : [['', 'No storage for disk images']], required: true },
                { name: 'size', label: 'Disk size', type: 'number', unit: 'GiB', value: 8, min: 1, required: true, autofocus: true },
                { name: 'format', label: 'Format', type: 'select', options: ['qcow2', 'raw', 'vmdk'], help: 'qcow2 allows snapshots on directory storages.' },
                { name: 'cache', label: 'Cache', type: 'select', options: CACHE },
                { name: 'discard', label: 'Discard (TRIM)', type: 'checkbox' },
                { name: 'ssd', label: 'SSD emulation', type: 'checkbox' },
            ],
            onChange: (v, fs) => {
                fs.get('slot').input.textContent = free(v.bus) || 'no free slot';
                const formats = formatsFor(storeOf(v.storage));
                fs.get('format').setOptions(formats);
                fs.get('format').show(formats.length > 1);
                fs.get('ssd').show(v.bus !== 'virtio');
            },
            check: (v) => (!/^\d+$/.test(v.size) || Number(v.size) < 1 ? { size: 'Enter a size in GiB (1 or more).' } : !free(v.bus) ? { bus: 'No free slot on this bus.' } : {}),
            request: (v) => {
                const opts = { format: formatsFor(storeOf(v.storage)).length > 1 ? v.format : undefined, cache: v.cache || undefined, discard: v.discard ? 'on' : undefined, ssd: v.ssd && v.bus !== 'virtio' ? 1 : undefined };
                return { method: 'POST', path, template: CONFIG, params: { [free(v.bus) || `${v.bus}0`]: buildPropertyString({ file: `${v.storage}:${v.size}`, ...opts }, 'file') } };
            },
            taskLabel: `VM ${vmid}: add disk`,
        });
    }

    function editDisk(key) {
        const cur = parsePropertyString(effective(cfg, key), 'file');
        dialog({
            title: `Disk ${key} of VM ${vmid}`, icon: 'disk',
            intro: `${cur.file}${cur.size ? ` — ${bytes(parseSize(cur.size))}` : ''}. To change the size use Resize; to change the storage use Move.`,
            fields: [
                { name: 'cache', label: 'Cache', type: 'select', value: cur.cache || '', options: CACHE },
                { name: 'discard', label: 'Discard (TRIM)', type: 'checkbox', value: cur.discard === 'on' },
                { name: 'ssd', label: 'SSD emulation', type: 'checkbox', value: cur.ssd },
                { name: 'iothread', label: 'IO thread', type: 'checkbox', value: cur.iothread },
                { name: 'backup', label: 'Include in backups', type: 'checkbox', value: cur.backup !== '0' },
            ],
            request: (v) => {
                const next = { ...cur, cache: v.cache || undefined, discard: v.discard ? 'on' : undefined, ssd: v.ssd ? 1 : undefined, iothread: v.iothread ? 1 : undefined, backup: v.backup ? undefined : 0 };
                return request({ [key]: buildPropertyString(next, 'file') });
            },
        });
    }

    function resizeDisk(key) {
        const cur = parsePropertyString(effective(cfg, key), 'file');
        const now = parseSize(cur.size);
        dialog({
            title: `Resize disk ${key}`, icon: 'disk',
            intro: `Disks only grow. Current size: ${now ? bytes(now) : 'unknown'}. The guest must grow its partitions itself.`,
            fields: [{ name: 'size', label: 'Size increment', type: 'number', unit: 'GiB', value: 1, min: 1, required: true, autofocus: true, help: now ? '' : '' }],
            onChange: (v, fs) => { fs.get('size').el.querySelector('.field-help').textContent = now && Number(v.size) > 0 ? `New size: ${bytes(now + Number(v.size) * 1024 ** 3)}` : ''; },
            check: (v) => (!/^\d+$/.test(v.size) || Number(v.size) < 1 ? { size: 'Enter whole GiB, at least 1.' } : {}),
            request: (v) => ({ method: 'PUT', path: `/nodes/${node()}/qemu/${vmid}/resize`, template: '/nodes/{node}/qemu/{vmid}/resize', params: { disk: key, size: `+${v.size}G` } }),
            taskLabel: `VM ${vmid}: resize ${key}`,
        });
    }

    async function moveDisk(key) {
        const stores = await storagesFor(node(), 'images').catch(() => []);
        const cur = parsePropertyString(effective(cfg, key), 'file');
        const from = String(cur.file).split(':')[0];
        dialog({
            title: `Move disk ${key}`, icon: 'disk',
            intro: `From ${cur.file}`,
            fields: [
                { name: 'storage', label: 'Target storage', type: 'select', options: stores.map((s) => [s.storage, `${s.storage} (${s.type}, ${bytes(s.avail)} free)${s.storage === from ? ' — current' : ''}`]), value: stores.find((s) => s.storage !== from)?.storage, required: true },
                { name: 'format', label: 'Format', type: 'select', options: [['', 'Keep'], 'qcow2', 'raw', 'vmdk'] },
                { name: 'delete', label: 'Delete the source after moving', type: 'checkbox', value: true },
            ],
            request: (v) => ({ method: 'POST', path: `/nodes/${node()}/qemu/${vmid}/move_disk`, template: '/nodes/{node}/qemu/{vmid}/move_disk', params: { disk: key, storage: v.storage, format: v.format || undefined, delete: v.delete ? 1 : 0 } }),
            taskLabel: `VM ${vmid}: move ${key}`,
        });
    }

    async function editNet(key) {
        const list = await bridges(node()).catch(() => []);
        const slot = key || nextFree(cfg, 'net', 32);
        const cur = key ? parsePropertyString(effective(cfg, key)) : { virtio: true, bridge: list[0], firewall: '1' };
        const model = NIC_MODELS.map((m) => m[0]).find((m) => cur[m] !== undefined) || 'virtio';
        const mac = typeof cur[model] === 'string' ? cur[model] : '';
        dialog({
            title: key ? `Network device ${key}` : `Add network device (${slot})`, icon: 'network',
            fields: [
                { name: 'bridge', label: 'Bridge', type: 'select', value: cur.bridge, options: list.length ? list : [['', 'No bridge — create one under the node\'s Network']], required: true, errorKey: slot },
                { name: 'model', label: 'Model', type: 'select', value: model, options: NIC_MODELS },
                { name: 'tag', label: 'VLAN tag', type: 'number', value: cur.tag || '', min: 1, max: 4094, placeholder: 'no VLAN' },
                { name: 'macaddr', label: 'MAC address', value: mac, placeholder: 'auto', help: 'Empty: generated.' },
                { name: 'firewall', label: 'Firewall', type: 'checkbox', value: cur.firewall === '1' },
                { name: 'link_down', label: 'Disconnect (link down)', type: 'checkbox', value: cur.link_down === '1' },
            ],
            check: (v) => (v.macaddr && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(v.macaddr) ? { macaddr: 'Use the form AA:BB:CC:DD:EE:FF.' } : {}),
            request: (v) => {
                const parts = [v.macaddr ? `${v.model}=${v.macaddr}` : v.model, `bridge=${v.bridge}`];
                if (v.tag) parts.push(`tag=${v.tag}`);
                parts.push(`firewall=${v.firewall ? 1 : 0}`);
                if (v.link_down) parts.push('link_down=1');
                return { method: key ? 'PUT' : 'POST', path, template: CONFIG, params: { [slot]: parts.join(',') } };
            },
        });
    }

    function addSerial() {
        const slot = nextFree(cfg, 'serial', 4);
        if (!slot) return;
        confirm({ title: `Add serial port ${slot}`, message: `Add ${slot} as a socket (readable in the Console tab as a serial terminal).`, okLabel: 'Add', request: { method: 'PUT', path, params: { [slot]: 'socket' } } })
            .then((ok) => ok && put({ [slot]: 'socket' }, `VM ${vmid}: add ${slot}`));
    }

    async function detach(key, what) {
        const unused = /^unused/.test(key);
        const ok = await confirm({
            title: unused ? `Delete ${key}` : `Remove ${what}`, danger: true, okLabel: unused ? 'Delete disk' : 'Remove',
            message: unused ? `Delete the unused disk image ${effective(cfg, key)} permanently?`
                : /disk/i.test(what) ? `Detach ${key} from VM ${vmid}? The image stays as an unused disk; remove that too to free the space.`
                    : `Remove ${what} from VM ${vmid}?`,
            request: { method: 'PUT', path, params: { delete: key } },
        });
        if (ok) put({ delete: key }, `VM ${vmid}: remove ${key}`);
    }

    async function attachUnused(key) {
        const vol = effective(cfg, key);
        const free = (bus) => nextFree(cfg, bus, BUSES[bus]);
        dialog({
            title: `Attach ${key}`, icon: 'disk', intro: vol,
            fields: [{ name: 'bus', label: 'Bus', type: 'select', value: 'scsi', options: [['scsi', 'SCSI'], ['virtio', 'VirtIO block'], ['sata', 'SATA'], ['ide', 'IDE']] }],
            request: (v) => request({ [free(v.bus)]: vol }),
        });
    }

    const revert = (keys) => put({ revert: keys.join(',') }, `VM ${vmid}: revert`);

    function rows() {
        const edit = (fn) => button('Edit', fn, { icon: 'edit', testid: 'hw-edit' });
        const keys = Object.keys(cfg);
        const withRevert = (row) => {
            const ks = row.keys || [row.key];
            if (ks.some((k) => hasPending(cfg[k]))) row.actions = [button('Revert', () => revert(ks.filter((k) => hasPending(cfg[k]))), { icon: 'undo', testid: 'hw-revert' }), ...(row.actions || [])];
            return row;
        };
        const out = [
            { key: 'memory', label: 'Memory', icon: 'memory', edit: editMemory, show: (c, w) => {
                const m = parsePropertyString(pick(c, 'memory', w), 'current').current || 512;
                const b = pick(c, 'balloon', w);
                return `${bytes(Number(m) * 1024 * 1024)}${b !== undefined && b !== '' ? (Number(b) === 0 ? ' (ballooning off)' : ` (min ${bytes(Number(b) * 1024 * 1024)})`) : ''}`;
            }, keys: ['memory', 'balloon'] },
            { key: 'cores', label: 'Processors', icon: 'cpu', edit: editCpu, keys: ['cores', 'sockets', 'cpu'], show: (c, w) => {
                const s = Number(pick(c, 'sockets', w) || 1);
                const n = Number(pick(c, 'cores', w) || 1);
                const t = parsePropertyString(pick(c, 'cpu', w), 'cputype').cputype;
                return `${s * n} (${s} socket${s === 1 ? '' : 's'}, ${n} core${n === 1 ? '' : 's'})${t ? ` [${t}]` : ''}`;
            } },
            { key: 'bios', label: 'BIOS', icon: 'hardware', edit: () => editSelect('bios', 'BIOS', [['', 'Default (SeaBIOS)'], ['seabios', 'SeaBIOS'], ['ovmf', 'OVMF (UEFI)']]), show: (c, w) => label([['', 'Default (SeaBIOS)'], ['seabios', 'SeaBIOS'], ['ovmf', 'OVMF (UEFI)']], pick(c, 'bios', w)) },
            { key: 'vga', label: 'Display', icon: 'vm', edit: () => editSelect('vga', 'Display', VGA), show: (c, w) => label(VGA, pick(c, 'vga', w)) },
            { key: 'machine', label: 'Machine', icon: 'hardware', edit: () => editSelect('machine', 'Machine', [['', 'Default (i440fx)'], ['pc', 'i440fx'], ['q35', 'q35']]), show: (c, w) => pick(c, 'machine', w) || 'Default (i440fx)' },
            { key: 'scsihw', label: 'SCSI controller', icon: 'hardware', edit: () => editSelect('scsihw', 'SCSI controller', SCSIHW), show: (c, w) => label(SCSIHW, pick(c, 'scsihw', w) || 'lsi') },
        ].map((r) => { r.actions = [edit(r.edit)]; return withRevert(r); });
        for (const key of keys.filter((k) => DRIVE_RE.test(k)).sort(driveOrder)) {
            const v = effective(cfg, key) ?? cfg[key].value;
            if (isCdrom(v)) {
                out.push(withRevert({ key, label: `CD/DVD drive (${key})`, icon: 'cdrom', edit: () => editCdrom(key),
                    show: (c, w) => { const x = pick(c, key, w); if (x === undefined) return ''; const f = parsePropertyString(x, 'file').file; return f === 'none' ? 'empty' : isoLabel(f); },
                    actions: [edit(() => editCdrom(key)), button('Remove', () => detach(key, `CD/DVD drive ${key}`), { icon: 'trash', testid: 'hw-remove' })] }));
            } else {
                out.push(withRevert({ key, label: `Hard disk (${key})`, icon: 'disk', edit: () => editDisk(key), show: (c, w) => showDisk(pick(c, key, w)),
                    actions: [edit(() => editDisk(key)), button('Resize', () => resizeDisk(key), { icon: 'plus', testid: 'hw-resize' }),
                        button('Move', () => moveDisk(key), { icon: 'storage', testid: 'hw-move' }), button('Detach', () => detach(key, `disk ${key}`), { icon: 'trash', testid: 'hw-detach' })] }));
            }
        }
        for (const key of keys.filter((k) => /^net\d+$/.test(k)).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))) {
            out.push(withRevert({ key, label: `Network device (${key})`, icon: 'network', edit: () => editNet(key),
                show: (c, w) => { const x = pick(c, key, w); if (x === undefined) return ''; const p = parsePropertyString(x); const m = NIC_MODELS.find((n) => p[n[0]] !== undefined); return [m ? `${m[0]}${typeof p[m[0]] === 'string' ? ` ${p[m[0]]}` : ''}` : x, p.bridge ? `bridge ${p.bridge}` : '', p.tag ? `VLAN ${p.tag}` : '', p.firewall === '1' ? 'firewall on' : 'firewall off', p.link_down === '1' ? 'link down' : ''].filter(Boolean).join(', '); },
                actions: [edit(() => editNet(key)), button('Remove', () => detach(key, `network device ${key}`), { icon: 'trash', testid: 'hw-remove' })] }));
        }
        for (const key of keys.filter((k) => /^serial\d+$/.test(k)).sort()) {
            out.push(withRevert({ key, label: `Serial port (${key})`, icon: 'console', show: (c, w) => pick(c, key, w) || '',
                actions: [button('Remove', () => detach(key, `serial port ${key}`), { icon: 'trash', testid: 'hw-remove' })] }));
        }
        for (const key of keys.filter((k) => /^unused\d+$/.test(k)).sort()) {
            out.push(withRevert({ key, label: `Unused disk (${key})`, icon: 'disk', show: (c, w) => pick(c, key, w) || '',
                actions: [button('Attach', () => attachUnused(key), { icon: 'plus', testid: 'hw-attach' }), button('Delete', () => detach(key, 'unused disk'), { icon: 'trash', testid: 'hw-remove', kind: 'danger' })] }));
        }
        return out;
    }

    const { load, stop } = followPending({
        node, vmid, grid, rows, noticeSlot, errorSlot,
        running: () => { const r = vm(); return Boolean(r && r.status === 'running'); },
        onConfig: (next) => { cfg = next; },
    });
    return () => { stop(); document.removeEventListener('mousedown', outside); };
}
