// A node's network: interfaces, staged changes shown as a diff, apply and revert (as Proxmox's ifupdown2 flow).
import { h, iconEl, button } from '../dom.js';
import { apiRaw } from '../api.js';
import { openFormDialog, confirm } from '../components/dialog.js';
import { run } from '../actions.js';
import { createTable } from '../components/table.js';
import { pageTitle, notice } from '../components/widgets.js';
import { invalidate } from './qemu/pickers.js';

const TEMPLATE = '/nodes/{node}/network';

/** Interfaces named on added or removed lines of the diff: they have staged changes. */
function changedIfaces(diff) {
    const names = new Set();
    let current = null;
    for (const line of String(diff || '').split('\n')) {
        const m = /^[ +-]\s*(?:auto|iface|allow-hotplug)\s+(\S+)/.exec(line);
        if (m) current = m[1];
        if (/^[+-](?![+-])/.test(line) && current) names.add(current);
    }
    return names;
}

function diffView(diff) {
    return h('pre', { class: 'diff', 'data-testid': 'network-diff' }, String(diff).split('\n').filter((l) => l !== '').map((l) => {
        const cls = l.startsWith('+++') || l.startsWith('---') ? 'ctx' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : 'ctx';
        return h('span', { class: cls }, `${l}\n`);
    }));
}

export function render(content, { node }) {
    const base = `/nodes/${node}/network`;
    const applyBtn = button('Apply configuration', () => apply(), { icon: 'check', kind: 'primary', testid: 'network-apply', disabled: true });
    const revertBtn = button('Revert', () => revert(), { icon: 'undo', testid: 'network-revert', disabled: true });
    const createBtn = button('Create bridge', () => editBridge(null), { icon: 'plus', testid: 'network-create-bridge' });
    const vlanBtn = button('Create VLAN', () => editVlan(null), { icon: 'plus', testid: 'network-create-vlan' });
    const pendingSlot = h('div');
    let ifaces = [];
    let pending = new Set();
    const table = createTable({
        columns: [
            { id: 'iface', label: 'Name', render: (i) => h('span', { class: 'status-cell' }, iconEl('network'), i.iface, pending.has(i.iface) ? h('span', { class: 'pending-mark' }, 'pending') : '') },
            { id: 'type', label: 'Type', render: (i) => ({ bridge: 'Linux bridge', eth: 'Network device', vlan: 'Linux VLAN', bond: 'Linux bond', OVSBridge: 'OVS bridge' }[i.type] || i.type) },
            { id: 'active', label: 'Active', render: (i) => (i.active ? h('span', { class: 'badge ok' }, 'yes') : h('span', { class: 'badge plain' }, 'no')) },
            { id: 'autostart', label: 'Autostart', render: (i) => (i.autostart ? 'yes' : 'no') },
            { id: 'bridge_vlan_aware', label: 'VLAN aware', class: 'hide-narrow', render: (i) => (i.type === 'bridge' ? (Number(i.bridge_vlan_aware) ? 'yes' : 'no') : '') },
            { id: 'ports', label: 'Ports/slaves', render: (i) => i.bridge_ports || i.slaves || (i['vlan-raw-device'] ? `on ${i['vlan-raw-device']}` : '') },
            { id: 'cidr', label: 'CIDR', render: (i) => [i.cidr, i.cidr6].filter(Boolean).join(' ') },
            { id: 'gateway', label: 'Gateway', class: 'hide-narrow' },
            { id: 'comments', label: 'Comment', class: 'wrap hide-narrow' },
            { id: 'act', label: '', class: 'actions', sortValue: false, render: (i) => [
                ['bridge', 'vlan'].includes(i.type) ? button('Edit', () => (i.type === 'bridge' ? editBridge(i) : editVlan(i)), { icon: 'edit', testid: 'iface-edit' }) : null,
                i.type !== 'eth' ? button('Remove', () => remove(i), { icon: 'trash', testid: 'iface-remove' }) : null] },
        ],
        key: (i) => i.iface, sort: { id: 'iface', dir: 1 },
        rowAttrs: (i) => ({ 'data-testid': 'iface-row', 'data-iface': i.iface, class: pending.has(i.iface) ? 'pending' : '' }),
        empty: 'No interfaces. Create a bridge so VMs can connect to the network.',
    });
    const diffSlot = h('div', { class: 'diff-slot' });
    content.append(pageTitle(`Network of ${node}`, createBtn, vlanBtn, revertBtn, applyBtn), pendingSlot, table.el, diffSlot);
    let gone = false;

    async function load() {
        try {
            const body = await apiRaw('GET', base);
            if (gone) return;
            ifaces = body.data || [];
            const diff = body.changes || '';
            pending = changedIfaces(diff);
            applyBtn.disabled = !diff;
            revertBtn.disabled = !diff;
            pendingSlot.replaceChildren(...(diff ? [notice('warn', 'Pending changes (marked below) are staged in /etc/network/interfaces.new. Apply configuration to activate them, or Revert to drop them.')] : []));
            diffSlot.replaceChildren(...(diff ? [h('h3', { class: 'diff-title' }, 'Pending changes'), diffView(diff)] : []));
            // Rows re-render when their pending mark changes.
            table.update(ifaces.map((i) => ({ ...i, _pending: pending.has(i.iface) })));
        } catch (e) {
            if (!gone) pendingSlot.replaceChildren(notice('error', `Could not read the network: ${e.message}`));
        }
    }

    const nextBridge = () => { for (let n = 0; n < 4095; n++) if (!ifaces.some((i) => i.iface === `vmbr${n}`)) return `vmbr${n}`; return ''; };

    function editBridge(cur) {
        openFormDialog({
            title: cur ? `Edit bridge ${cur.iface}` : 'Create Linux bridge', icon: 'network', submitLabel: cur ? 'OK' : 'Create',
            fields: [
                { name: 'iface', label: 'Name', value: cur ? cur.iface : nextBridge(), required: true, disabled: Boolean(cur), autofocus: !cur },
                { name: 'autostart', label: 'Autostart', type: 'checkbox', value: cur ? cur.autostart : true },
                { name: 'cidr', label: 'IPv4/CIDR', value: cur ? cur.cidr || '' : '', placeholder: '192.168.10.1/24' },
                { name: 'gateway', label: 'Gateway (IPv4)', value: cur ? cur.gateway || '' : '' },
                { name: 'bridge_ports', label: 'Bridge ports', value: cur ? cur.bridge_ports || '' : '', placeholder: 'eno1', help: 'Physical ports, separated by spaces. Empty: an internal bridge.' },
                { name: 'bridge_vlan_aware', label: 'VLAN aware', type: 'checkbox', value: cur ? Number(cur.bridge_vlan_aware) : false },
                { name: 'comments', label: 'Comment', value: cur ? cur.comments || '' : '', full: true },
            ],
            check: (v) => (v.cidr && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(v.cidr) ? { cidr: 'Use address/prefix, e.g. 192.168.10.1/24.' } : {}),
            request: (v) => {
                const params = { type: 'bridge', autostart: v.autostart ? 1 : 0, cidr: v.cidr || undefined, gateway: v.gateway || undefined,
                    bridge_ports: v.bridge_ports || undefined, bridge_vlan_aware: v.bridge_vlan_aware ? 1 : undefined, comments: v.comments || undefined };
                if (cur) {
                    const del = ['cidr', 'gateway', 'bridge_ports', 'comments'].filter((k) => cur[k] && !v[k]);
                    if (cur.bridge_vlan_aware && !v.bridge_vlan_aware) del.push('bridge_vlan_aware');
                    if (del.length) params.delete = del.join(',');
                    return { method: 'PUT', path: `${base}/${cur.iface}`, template: `${TEMPLATE}/{iface}`, params };
                }
                return { method: 'POST', path: base, template: TEMPLATE, params: { iface: v.iface, ...params } };
            },
            onSuccess: load,
        });
    }

    function editVlan(cur) {
        openFormDialog({
            title: cur ? `Edit VLAN ${cur.iface}` : 'Create Linux VLAN', icon: 'network', submitLabel: cur ? 'OK' : 'Create',
            fields: [
                { name: 'iface', label: 'Name', value: cur ? cur.iface : '', required: true, disabled: Boolean(cur), placeholder: 'vmbr0.10', help: 'device.VLAN-ID, e.g. vmbr0.10' },
                { name: 'autostart', label: 'Autostart', type: 'checkbox', value: cur ? cur.autostart : true },
                { name: 'cidr', label: 'IPv4/CIDR', value: cur ? cur.cidr || '' : '' },
                { name: 'gateway', label: 'Gateway (IPv4)', value: cur ? cur.gateway || '' : '' },
                { name: 'comments', label: 'Comment', value: cur ? cur.comments || '' : '', full: true },
            ],
            request: (v) => {
                const params = { type: 'vlan', autostart: v.autostart ? 1 : 0, cidr: v.cidr || undefined, gateway: v.gateway || undefined, comments: v.comments || undefined };
                return cur ? { method: 'PUT', path: `${base}/${cur.iface}`, template: `${TEMPLATE}/{iface}`, params }
                    : { method: 'POST', path: base, template: TEMPLATE, params: { iface: v.iface, ...params } };
            },
            onSuccess: load,
        });
    }

    async function remove(i) {
        const path = `${base}/${i.iface}`;
        const ok = await confirm({ title: `Remove ${i.iface}`, danger: true, okLabel: 'Remove', request: { method: 'DELETE', path, params: {} },
            message: `Remove ${i.iface}? The change is staged; it takes effect when you apply the configuration. VMs attached to it lose their network then.` });
        if (ok) run('DELETE', path, {}, { label: `Remove ${i.iface}`, quiet: true }).then(load);
    }

    async function apply() {
        const copy = diffSlot.querySelector('.diff')?.cloneNode(true);
        if (copy) copy.removeAttribute('data-testid');
        const ok = await confirm({ title: `Apply network configuration on ${node}`, okLabel: 'Apply', request: { method: 'PUT', path: base, params: {} },
            message: 'Activate the pending changes now (ifreload). A mistake here can cut the node off the network.', details: copy });
        if (ok) run('PUT', base, {}, { label: 'Apply network configuration', onDone: () => { invalidate(); load(); } });
    }

    async function revert() {
        const ok = await confirm({ title: 'Revert network changes', danger: true, okLabel: 'Revert', request: { method: 'DELETE', path: base, params: {} },
            message: 'Drop all pending network changes? The running configuration stays as it is.' });
        if (ok) run('DELETE', base, {}, { label: 'Revert network changes', quiet: true }).then(load);
    }

    load();
    return () => { gone = true; };
}
