// Datacenter: cluster-wide summary, storages, tasks, and the permission screens.
import { h, iconEl } from '../dom.js';
import * as store from '../store.js';
import { tabbedView } from '../components/objectview.js';
import { card, usageStat, kvList, pageTitle } from '../components/widgets.js';
import { createVMList } from '../components/vmlist.js';
import { createTable } from '../components/table.js';
import { taskColumns, taskRowAttrs } from '../components/taskpanel.js';
import { bytes, percent } from '../format.js';
import { go, routes, routeOf } from '../router.js';
import { vmStatus } from '../components/tree.js';

const TABS = [
    { name: 'summary', label: 'Summary', icon: 'summary' },
    { name: 'storage', label: 'Storage', icon: 'storage' },
    { name: 'tasks', label: 'Tasks', icon: 'tasks' },
    { name: 'users', label: 'Users', icon: 'user', group: 'Permissions' },
    { name: 'groups', label: 'Groups', icon: 'group', group: 'Permissions' },
    { name: 'tokens', label: 'API Tokens', icon: 'key', group: 'Permissions' },
    { name: 'acl', label: 'Permissions', icon: 'lock', group: 'Permissions' },
    { name: 'roles', label: 'Roles', icon: 'shield', group: 'Permissions' },
];
const ACCESS = new Set(['users', 'groups', 'tokens', 'acl', 'roles']);

function summary(content) {
    const health = kvList(['Nodes', 'VMs running', 'VMs stopped', 'VMs paused', 'Storages']);
    const cpu = usageStat('CPU');
    const mem = usageStat('Memory');
    const disk = usageStat('Storage');
    const list = createVMList({ empty: h('div', null, 'No VMs yet. ', h('a', { href: '#/create-vm' }, 'Create your first VM'), '.') });
    content.append(
        h('div', { class: 'cards' },
            card('Health', 'ok', health.el),
            card('Resources', 'summary', h('div', { class: 'statrow' }, cpu.el, mem.el, disk.el))),
        pageTitle('Virtual machines'),
        list.el);
    const paint = () => {
        const all = store.allResources();
        const nodes = all.filter((r) => r.type === 'node');
        const vms = all.filter((r) => r.type === 'qemu');
        const storages = all.filter((r) => r.type === 'storage');
        const count = (s) => vms.filter((v) => vmStatus(v) === s).length;
        health.set('Nodes', `${nodes.filter((n) => n.status === 'online').length} online of ${nodes.length}`);
        health.set('VMs running', String(count('running')));
        health.set('VMs stopped', String(count('stopped')));
        health.set('VMs paused', String(count('paused')));
        health.set('Storages', `${storages.filter((s) => s.status === 'available').length} available of ${storages.length}`);
        const sum = (arr, k) => arr.reduce((a, r) => a + (Number(r[k]) || 0), 0);
        const maxcpu = sum(nodes, 'maxcpu');
        cpu.set(maxcpu ? nodes.reduce((a, n) => a + (n.cpu || 0) * (n.maxcpu || 0), 0) / maxcpu : null, `of ${maxcpu} CPUs`);
        mem.set(sum(nodes, 'maxmem') ? sum(nodes, 'mem') / sum(nodes, 'maxmem') : null, `${bytes(sum(nodes, 'mem'))} of ${bytes(sum(nodes, 'maxmem'))}`);
        disk.set(sum(storages, 'maxdisk') ? sum(storages, 'disk') / sum(storages, 'maxdisk') : null, `${bytes(sum(storages, 'disk'))} of ${bytes(sum(storages, 'maxdisk'))}`);
    };
    const unsub = store.subscribe('resources', paint);
    paint();
    return () => { unsub(); list.dispose(); };
}

function storageList(content) {
    const table = createTable({
        columns: [
            { id: 'storage', label: 'Storage', render: (s) => h('span', { class: 'status-cell' }, iconEl('storage'), s.storage) },
            { id: 'node', label: 'Node' },
            { id: 'plugintype', label: 'Type' },
            { id: 'content', label: 'Content', render: (s) => (s.content || '').split(',').join(', ') },
            { id: 'status', label: 'Status', render: (s) => h('span', { class: `badge ${s.status}` }, s.status) },
            { id: 'usage', label: 'Usage', class: 'num', render: (s) => (s.maxdisk ? `${percent(s.disk / s.maxdisk)} (${bytes(s.disk)} of ${bytes(s.maxdisk)})` : ''), sortValue: (s) => (s.maxdisk ? s.disk / s.maxdisk : 0) },
        ],
        key: (s) => s.id, onActivate: (s) => go(routeOf(s)), empty: 'No storage configured.', sort: { id: 'storage', dir: 1 },
        rowAttrs: (s) => ({ 'data-testid': 'storage-row', 'data-id': s.id }),
    });
    content.append(pageTitle('Storage'), table.el);
    const paint = () => table.update(store.byType('storage'));
    const unsub = store.subscribe('resources', paint);
    paint();
    return unsub;
}

function tasks(content) {
    const table = createTable({
        columns: taskColumns(), key: (t) => t.upid, rowAttrs: taskRowAttrs, sort: { id: 'starttime', dir: -1 },
        onActivate: (t) => go(routes.task(t.node, t.upid)), empty: 'No tasks yet.',
    });
    content.append(pageTitle('Cluster tasks'), table.el);
    const unsub = store.subscribe('tasks', (list) => table.update(list));
    table.update(store.getTasks());
    return unsub;
}

function access(tab) {
    return async (content, ctx) => (await import('./access.js')).render(content, { ...ctx, tab });
}

export function mount(container, target) {
    const renderers = { summary, storage: storageList, tasks };
    for (const t of ACCESS) renderers[t] = access(t);
    return tabbedView(container, target, {
        icon: 'datacenter', tabs: TABS, renderers, ctx: {},
        href: (name) => (ACCESS.has(name) ? routes.access(name) : routes.datacenter(name)),
        setup(ov) {
            ov.title.textContent = 'Datacenter';
            ov.sub.textContent = 'all nodes';
            return null;
        },
    });
}
