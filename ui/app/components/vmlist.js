// A live list of VMs (any subset of the resource store), patched in place on every change.
import { h, iconEl } from '../dom.js';
import * as store from '../store.js';
import { createTable } from './table.js';
import { bytes, percent, uptime } from '../format.js';
import { go, routeOf } from '../router.js';
import { tagChips, vmStatus } from './tree.js';

export function createVMList({ include = () => true, empty = 'No VMs yet.', showNode = true } = {}) {
    const columns = [
        { id: 'vmid', label: 'VMID', width: '80px', render: (r) => h('span', { class: 'status-cell' }, h('span', { class: `vmicon ${vmStatus(r)}` }, iconEl('vm')), String(r.vmid)) },
        { id: 'name', label: 'Name' },
        { id: 'status', label: 'Status', render: (r) => h('span', { class: `badge ${vmStatus(r)}` }, vmStatus(r)), sortValue: (r) => vmStatus(r) },
        showNode ? { id: 'node', label: 'Node', class: 'hide-narrow' } : null,
        { id: 'cpu', label: 'CPU', class: 'num', render: (r) => (r.status === 'running' ? percent(r.cpu) : ''), sortValue: (r) => r.cpu || 0 },
        { id: 'mem', label: 'Memory', class: 'num hide-narrow', render: (r) => (r.status === 'running' ? `${bytes(r.mem)} / ${bytes(r.maxmem)}` : bytes(r.maxmem)), sortValue: (r) => r.mem || 0 },
        { id: 'maxdisk', label: 'Disk', class: 'num hide-narrow', render: (r) => (r.maxdisk ? bytes(r.maxdisk) : ''), sortValue: (r) => r.maxdisk || 0 },
        { id: 'uptime', label: 'Uptime', class: 'num hide-narrow', render: (r) => (r.uptime ? uptime(r.uptime) : ''), sortValue: (r) => r.uptime || 0 },
        { id: 'tags', label: 'Tags', render: (r) => h('span', { class: 'tags' }, tagChips(r.tags)), sortValue: (r) => r.tags || '' },
    ].filter(Boolean);
    const table = createTable({
        columns, key: (r) => r.id, onActivate: (r) => go(routeOf(r)), empty, sort: { id: 'vmid', dir: 1 },
        rowAttrs: (r) => ({ 'data-testid': 'vm-row', 'data-id': r.id, 'data-status': vmStatus(r) }), caption: 'Virtual machines',
    });
    const refresh = () => table.update(store.byType('qemu').filter(include));
    const unsub = store.subscribe('resources', refresh);
    refresh();
    return { el: table.el, refresh, dispose: unsub };
}
