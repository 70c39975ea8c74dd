// A node: summary with live numbers and history, network, storages, tasks, diagnosis.
import { h, iconEl, setText } from '../dom.js';
import { get } from '../api.js';
import * as store from '../store.js';
import { tabbedView } from '../components/objectview.js';
import { card, kvList, usageStat, pageTitle, notice } from '../components/widgets.js';
import { rrdGraphs } from '../components/rrd.js';
import { createTable } from '../components/table.js';
import { createVMList } from '../components/vmlist.js';
import { taskColumns, taskRowAttrs } from '../components/taskpanel.js';
import { bytes, percent, uptime } from '../format.js';
import { go, routes, routeOf } from '../router.js';

const TABS = [
    { name: 'summary', label: 'Summary', icon: 'summary' },
    { name: 'vms', label: 'Virtual machines', icon: 'vm' },
    { name: 'network', label: 'Network', icon: 'network' },
    { name: 'storage', label: 'Storage', icon: 'storage' },
    { name: 'tasks', label: 'Task history', icon: 'tasks' },
    { name: 'diagnose', label: 'Diagnose', icon: 'diagnose' },
];

function summary(content, { node }) {
    const cpu = usageStat('CPU usage');
    const mem = usageStat('Memory');
    const root = usageStat('Root disk');
    const swap = usageStat('Swap');
    const info = kvList(['Status', 'Uptime', 'Load average', 'IO delay', 'CPU', 'Kernel', 'Version', 'Boot mode']);
    const graphs = rrdGraphs(`/nodes/${node}/rrddata`, [
        { title: 'CPU usage', series: [{ key: 'cpu', label: 'CPU' }, { key: 'iowait', label: 'IO delay' }], format: 'percent', max: () => 1 },
        { title: 'Server load', series: [{ key: 'loadavg', label: 'Load average' }], format: 'number' },
        { title: 'Memory usage', series: [{ key: 'memused', label: 'Used' }, { key: 'memtotal', label: 'Total' }], format: 'bytes' },
        { title: 'Network traffic', series: [{ key: 'netin', label: 'In' }, { key: 'netout', label: 'Out' }], format: 'rate' },
    ]);
    content.append(
        h('div', { class: 'cards' },
            card('Usage', 'summary', h('div', { class: 'statrow' }, cpu.el, mem.el, root.el, swap.el)),
            card('Node', 'node', info.el)),
        graphs.el);
    let gone = false;
    async function load() {
        try {
            const s = await get(`/nodes/${node}/status`);
            if (gone) return;
            cpu.set(s.cpu, s.cpuinfo ? `of ${s.cpuinfo.cpus} CPU${s.cpuinfo.cpus === 1 ? '' : 's'}` : '');
            mem.set(s.memory && s.memory.total ? s.memory.used / s.memory.total : null, s.memory ? `${bytes(s.memory.used)} of ${bytes(s.memory.total)}` : '');
            root.set(s.rootfs && s.rootfs.total ? s.rootfs.used / s.rootfs.total : null, s.rootfs ? `${bytes(s.rootfs.used)} of ${bytes(s.rootfs.total)}` : '');
            swap.set(s.swap && s.swap.total ? s.swap.used / s.swap.total : s.swap ? 0 : null, s.swap && s.swap.total ? `${bytes(s.swap.used)} of ${bytes(s.swap.total)}` : 'no swap');
            const r = store.getResource(`node/${node}`);
            info.set('Status', h('span', { class: `badge ${r ? r.status : 'online'}` }, r ? r.status : 'online'));
            info.set('Uptime', uptime(s.uptime));
            info.set('Load average', (s.loadavg || []).join(', '));
            info.set('IO delay', percent(s.wait));
            info.set('CPU', s.cpuinfo ? `${s.cpuinfo.cpus} × ${s.cpuinfo.model} (${s.cpuinfo.sockets} socket${s.cpuinfo.sockets === 1 ? '' : 's'})` : '–');
            info.set('Kernel', s.kversion || '–');
            info.set('Version', s.pveversion || '–');
            info.set('Boot mode', s['boot-info'] ? s['boot-info'].mode : '–');
        } catch (e) {
            if (!gone) info.set('Status', h('span', { class: 'badge error' }, e.message));
        }
    }
    load();
    const timer = setInterval(load, 5000);
    return () => { gone = true; clearInterval(timer); graphs.dispose(); };
}

function vms(content, { node }) {
    const list = createVMList({ include: (r) => r.node === node, showNode: false, empty: h('div', null, 'No VMs on this node yet. ', h('a', { href: '#/create-vm' }, 'Create VM')) });
    content.append(pageTitle(`Virtual machines on ${node}`), list.el);
    return list.dispose;
}

function storage(content, { node }) {
    const table = createTable({
        columns: [
            { id: 'storage', label: 'Storage', render: (s) => h('span', { class: 'status-cell' }, iconEl('storage'), s.storage) },
            { id: 'type', label: 'Type' },
            { id: 'content', label: 'Content', render: (s) => (s.content || '').split(',').join(', ') },
            { id: 'active', label: 'Active', render: (s) => (s.active ? 'yes' : 'no') },
            { id: 'shared', label: 'Shared', render: (s) => (s.shared ? 'yes' : 'no') },
            { id: 'used', label: 'Usage', class: 'num', render: (s) => (s.total ? `${percent(s.used / s.total)} (${bytes(s.used)} of ${bytes(s.total)})` : ''), sortValue: (s) => s.used_fraction || 0 },
        ],
        key: (s) => s.storage, onActivate: (s) => go(routes.storage(node, s.storage)), empty: 'No storage on this node.', sort: { id: 'storage', dir: 1 },
    });
    content.append(pageTitle(`Storage on ${node}`), table.el);
    get(`/nodes/${node}/storage`).then((list) => table.update(list || [])).catch((e) => content.append(notice('error', e.message)));
    return null;
}

function tasks(content, { node }) {
    const table = createTable({
        columns: taskColumns(), key: (t) => t.upid, rowAttrs: taskRowAttrs, sort: { id: 'starttime', dir: -1 },
        onActivate: (t) => go(routes.task(t.node, t.upid)), empty: 'No tasks on this node yet.',
    });
    const errorsOnly = h('input', { type: 'checkbox', id: 'tasks-errors' });
    content.append(pageTitle(`Task history of ${node}`, h('label', { class: 'field-check field' }, errorsOnly, h('span', null, 'Errors only'))), table.el);
    let gone = false;
    const load = () => get(`/nodes/${node}/tasks`, { limit: 500, errors: errorsOnly.checked ? 1 : undefined })
        .then((list) => { if (!gone) table.update(list || []); }).catch(() => {});
    errorsOnly.addEventListener('change', load);
    load();
    const unsub = store.subscribe('tasks', load);
    return () => { gone = true; unsub(); };
}

async function network(content, ctx) {
    return (await import('./network.js')).render(content, ctx);
}

async function diagnose(content, { node }) {
    return (await import('./diagnose.js')).render(content, { path: `/nodes/${node}/diagnose`, subject: `node ${node}` });
}

export function mount(container, target) {
    const { node } = target.args;
    return tabbedView(container, target, {
        icon: 'node', tabs: TABS, ctx: { node },
        href: (name) => routes.node(node, name),
        renderers: { summary, vms, network, storage, tasks, diagnose },
        setup(ov) {
            ov.title.textContent = `Node ${node}`;
            const paint = () => {
                const r = store.getResource(`node/${node}`);
                ov.status.replaceChildren(h('span', { class: `badge ${r ? r.status : 'unknown'}` }, r ? r.status : 'unknown'));
                setText(ov.sub, r && r.uptime ? `up ${uptime(r.uptime)}` : '');
            };
            paint();
            return store.subscribe('resources', ({ changed, full }) => { if (full || changed.includes(`node/${node}`)) paint(); });
        },
    });
}
