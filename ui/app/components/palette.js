// Command palette (Ctrl-K): jump to any object or screen, or act on the selected VM.
import { h, iconEl } from '../dom.js';
import { openModal } from './modal.js';
import * as store from '../store.js';
import { go, routes, routeOf } from '../router.js';
import { vmLabel } from './tree.js';

function entries(currentVM) {
    const out = [];
    const vm = currentVM();
    if (vm) {
        const act = (label, icon, fn, hint) => out.push({ label: `VM ${vm.vmid}: ${label}`, icon, run: fn, hint, boost: 2 });
        const power = (a) => () => import('../views/qemu/power.js').then((m) => m.powerAction(vm, a));
        act('Open console', 'console', () => go(routes.qemu(vm.vmid, 'console')), 'c');
        if (vm.status !== 'running') act('Start', 'play', power('start'), 's');
        if (vm.status === 'running') {
            act('Shutdown', 'power', power('shutdown'), 'S');
            act('Stop', 'stop', power('stop'));
            act('Reboot', 'reboot', power('reboot'));
        }
        act('Take snapshot', 'snapshot', () => go(routes.qemu(vm.vmid, 'snapshots')));
        act('Hardware', 'hardware', () => go(routes.qemu(vm.vmid, 'hardware')));
        act('Diagnose', 'diagnose', () => go(routes.qemu(vm.vmid, 'diagnose')));
    }
    const screen = (label, icon, hash) => out.push({ label, icon, run: () => go(hash), hint: 'screen' });
    screen('Create VM', 'plus', '#/create-vm');
    screen('Datacenter summary', 'datacenter', routes.datacenter());
    screen('Users', 'user', routes.access('users'));
    screen('Groups', 'group', routes.access('groups'));
    screen('Roles', 'shield', routes.access('roles'));
    screen('Permissions (ACL)', 'lock', routes.access('acl'));
    screen('API tokens', 'key', routes.access('tokens'));
    for (const n of store.nodes()) {
        screen(`Node ${n}: Network`, 'network', routes.node(n, 'network'));
        screen(`Node ${n}: Tasks`, 'tasks', routes.node(n, 'tasks'));
    }
    for (const r of store.allResources()) {
        if (r.type === 'qemu') out.push({ label: `VM ${vmLabel(r)}`, sub: `${r.status}${r.tags ? ' · ' + r.tags : ''}`, icon: 'vm', run: () => go(routeOf(r)), hint: r.node, key: `${r.vmid} ${r.name || ''} ${r.tags || ''}` });
        else if (r.type === 'node') out.push({ label: `Node ${r.node}`, icon: 'node', run: () => go(routeOf(r)), hint: r.status });
        else if (r.type === 'storage') out.push({ label: `Storage ${r.storage} (${r.node})`, icon: 'storage', run: () => go(routeOf(r)), hint: r.plugintype });
    }
    for (const p of store.getPools()) out.push({ label: `Pool ${p.poolid}`, icon: 'pool', run: () => go(routes.pool(p.poolid)) });
    return out;
}

function score(item, words) {
    const hay = `${item.label} ${item.key || ''} ${item.sub || ''}`.toLowerCase();
    let s = item.boost || 0;
    for (const w of words) {
        const i = hay.indexOf(w);
        if (i < 0) return -1;
        s += i === 0 ? 3 : hay[i - 1] === ' ' || hay[i - 1] === '(' ? 2 : 1;
    }
    return s;
}

export function openPalette({ currentVM, query = '' }) {
    const all = entries(currentVM);
    const input = h('input', { class: 'palette-input', type: 'text', placeholder: 'Type a VM, node, storage or command…', 'aria-label': 'Command', autofocus: true, 'data-testid': 'palette-input', role: 'combobox', 'aria-expanded': 'true', 'aria-controls': 'palette-list' });
    input.value = query;
    const list = h('ul', { class: 'palette-list', role: 'listbox', id: 'palette-list' });
    let shown = [];
    let active = 0;
    const modal = openModal({ title: 'Command palette', body: h('div', null, input, list), size: 'md', className: 'palette', testid: 'palette' });

    function render() {
        const words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
        shown = all.map((it) => ({ it, s: score(it, words) })).filter((x) => x.s >= 0).sort((a, b) => b.s - a.s).slice(0, 40).map((x) => x.it);
        active = Math.min(active, Math.max(0, shown.length - 1));
        list.replaceChildren(...(shown.length ? shown.map((it, i) => h('li', {
            role: 'option', class: i === active ? 'active' : '', 'aria-selected': String(i === active),
            onmousemove: () => { if (active !== i) { active = i; paintActive(); } },
            onclick: () => choose(i),
        }, iconEl(it.icon), h('span', null, it.label, it.sub ? h('span', { class: 'dim' }, `  ${it.sub}`) : ''), it.hint ? h('span', { class: 'hint' }, it.hint) : '')) : [h('li', { class: 'none' }, 'No match.')]));
    }
    function paintActive() {
        [...list.children].forEach((li, i) => { li.classList.toggle('active', i === active); li.setAttribute('aria-selected', String(i === active)); });
        list.children[active]?.scrollIntoView({ block: 'nearest' });
    }
    function choose(i) {
        const it = shown[i];
        if (!it) return;
        modal.close();
        it.run();
    }
    input.addEventListener('input', () => { active = 0; render(); });
    input.addEventListener('keydown', (ev) => {
        if (ev.key === 'ArrowDown') { ev.preventDefault(); active = Math.min(shown.length - 1, active + 1); paintActive(); }
        if (ev.key === 'ArrowUp') { ev.preventDefault(); active = Math.max(0, active - 1); paintActive(); }
        if (ev.key === 'Enter') { ev.preventDefault(); choose(active); }
    });
    render();
    requestAnimationFrame(() => input.focus());
}
