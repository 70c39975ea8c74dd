// A VM: header with status and power actions (all confirmed), and its tabs.
import { h, iconEl, button, setText } from '../dom.js';
import * as store from '../store.js';
import { tabbedView } from '../components/objectview.js';
import { vmStatus, tagChips, vmLabel } from '../components/tree.js';
import { loading, notice } from '../components/widgets.js';
import { powerAction } from './qemu/power.js';
import { go, routes } from '../router.js';
import { uptime } from '../format.js';
import { confirm } from '../components/dialog.js';
import { run } from '../actions.js';

const TABS = [
    { name: 'summary', label: 'Summary', icon: 'summary' },
    { name: 'console', label: 'Console', icon: 'console' },
    { name: 'hardware', label: 'Hardware', icon: 'hardware' },
    { name: 'options', label: 'Options', icon: 'options' },
    { name: 'snapshots', label: 'Snapshots', icon: 'snapshot' },
    { name: 'tasks', label: 'Task history', icon: 'tasks' },
    { name: 'diagnose', label: 'Diagnose', icon: 'diagnose' },
];

const lazy = (file, fn = 'render') => async (content, ctx) => (await import(`./qemu/${file}.js`))[fn](content, ctx);

const RENDERERS = {
    summary: lazy('summary'),
    console: lazy('console'),
    hardware: lazy('hardware'),
    options: lazy('options'),
    snapshots: lazy('snapshots'),
    tasks: lazy('tasks'),
    diagnose: async (content, ctx) => (await import('./diagnose.js')).render(content, { path: `/nodes/${ctx.node()}/qemu/${ctx.vmid}/diagnose`, subject: `VM ${ctx.vmid}` }),
};

function moreMenu(vmOf) {
    const menu = h('div', { class: 'popup-menu', role: 'menu', hidden: true });
    const btn = button('More', null, { icon: 'more', testid: 'vm-more' });
    btn.setAttribute('aria-haspopup', 'menu');
    const close = () => { menu.hidden = true; };
    const item = (icon, label, fn, testid) => h('button', { type: 'button', role: 'menuitem', 'data-testid': testid, onclick: () => { close(); fn(); } }, iconEl(icon), label);
    btn.addEventListener('click', () => {
        const vm = vmOf();
        if (!menu.hidden || !vm) { close(); return; }
        const st = vmStatus(vm);
        menu.replaceChildren(
            st === 'paused' ? item('play', 'Resume', () => powerAction(vm, 'resume'), 'vm-resume') : null,
            st === 'running' ? item('pause', 'Pause', () => powerAction(vm, 'suspend'), 'vm-suspend') : null,
            st !== 'stopped' ? item('reboot', 'Reset', () => powerAction(vm, 'reset'), 'vm-reset') : null,
            item('trash', 'Delete VM…', () => destroyVM(vm), 'vm-delete'));
        menu.hidden = false;
        menu.querySelector('button')?.focus();
    });
    const outside = (ev) => { if (!wrap.contains(ev.target)) close(); };
    document.addEventListener('mousedown', outside);
    menu.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { ev.stopPropagation(); close(); btn.focus(); } });
    const wrap = h('div', { class: 'usermenu' }, btn, menu);
    return { el: wrap, dispose: () => document.removeEventListener('mousedown', outside) };
}

async function destroyVM(vm) {
    if (vm.status !== 'stopped') {
        await confirm({ title: `Delete VM ${vm.vmid}`, message: `VM ${vmLabel(vm)} is ${vm.status}. Stop it first, then delete it.`, okLabel: 'OK' });
        return;
    }
    const path = `/nodes/${vm.node}/qemu/${vm.vmid}`;
    const params = { purge: 1, 'destroy-unreferenced-disks': 1 };
    const ok = await confirm({
        title: `Delete VM ${vm.vmid}`, danger: true, okLabel: 'Delete VM', request: { method: 'DELETE', path, params },
        message: `Delete VM ${vmLabel(vm)} and all its disks and snapshots? This cannot be undone.`,
    });
    if (!ok) return;
    const res = await run('DELETE', path, params, { label: `Delete VM ${vm.vmid}` });
    if (res.ok) go(routes.datacenter());
}

function header(ov, vmid) {
    const vmOf = () => store.vmById(vmid);
    const btns = {
        start: button('Start', () => powerAction(vmOf(), 'start'), { icon: 'play', testid: 'vm-start' }),
        shutdown: button('Shutdown', () => powerAction(vmOf(), 'shutdown'), { icon: 'power', testid: 'vm-shutdown' }),
        stop: button('Stop', () => powerAction(vmOf(), 'stop'), { icon: 'stop', testid: 'vm-stop' }),
        reboot: button('Reboot', () => powerAction(vmOf(), 'reboot'), { icon: 'reboot', testid: 'vm-reboot' }),
        console: button('Console', () => go(routes.qemu(vmid, 'console')), { icon: 'console', testid: 'vm-console' }),
    };
    const more = moreMenu(vmOf);
    const tags = h('span', { class: 'tags' });
    ov.actions.append(btns.start, btns.shutdown, btns.stop, btns.reboot, btns.console, more.el);
    ov.title.after(tags);
    const paint = () => {
        const vm = vmOf();
        if (!vm) return;
        const st = vmStatus(vm);
        setText(ov.title, `VM ${vmLabel(vm)}`);
        document.title = `VM ${vmLabel(vm)} — Vireo`;
        ov.iconBox.className = `vmicon ${st}`;
        ov.status.replaceChildren(h('span', { class: `badge ${st}`, 'data-testid': 'vm-header-status' }, st));
        setText(ov.sub, `on node ${vm.node}${vm.uptime ? ` · up ${uptime(vm.uptime)}` : ''}${vm.lock ? ` · locked (${vm.lock})` : ''}`);
        if (tags.dataset.k !== (vm.tags || '')) { tags.dataset.k = vm.tags || ''; tags.replaceChildren(...tagChips(vm.tags)); }
        btns.start.disabled = st === 'running' || st === 'paused';
        btns.shutdown.disabled = st === 'stopped';
        btns.stop.disabled = st === 'stopped';
        btns.reboot.disabled = st !== 'running';
    };
    paint();
    const unsub = store.subscribe('resources', ({ changed, full }) => { if (full || changed.includes(`qemu/${vmid}`)) paint(); });
    return () => { unsub(); more.dispose(); document.title = 'Vireo'; };
}

export function mount(container, target) {
    const { vmid } = target.args;
    let inner = null;
    let gone = false;
    let latest = target;
    const start = () => {
        if (gone) return;
        container.replaceChildren();
        if (!store.vmById(vmid)) {
            container.append(h('div', { class: 'obj-content' }, notice('warn', `VM ${vmid} does not exist (or you may not see it).`), h('a', { href: routes.datacenter() }, 'Back to the datacenter')));
            return;
        }
        const ctx = { vmid: Number(vmid), vm: () => store.vmById(vmid), node: () => (store.vmById(vmid) || {}).node };
        inner = tabbedView(container, latest, {
            icon: 'vm', tabs: TABS, ctx, renderers: RENDERERS,
            href: (name) => routes.qemu(vmid, name),
            setup: (ov) => header(ov, vmid),
        });
    };
    if (store.vmById(vmid)) start();
    else {
        container.append(loading());
        store.ready.then(start);
    }
    // A destroyed VM leaves its page.
    const unsub = store.subscribe('resources', ({ removed }) => {
        if (removed.includes(`qemu/${vmid}`) && inner) { inner.dispose(); inner = null; start(); }
    });
    return {
        update(t) { latest = t; if (inner) inner.update(t); },
        dispose() { gone = true; unsub(); if (inner) inner.dispose(); },
    };
}
