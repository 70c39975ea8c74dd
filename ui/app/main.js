// Boot: theme, session, the shell (top bar, tree, content, task panel) and route dispatch.
import './icons.js';
import { h, iconEl, button, toggleClass } from './dom.js';
import { session, logout, scheduleRenewal } from './session.js';
import { onUnauthorized } from './api.js';
import { currentRoute, go, onRoute, routes } from './router.js';
import * as store from './store.js';
import { applyTheme, toggleTheme, effectiveTheme } from './theme.js';
import { renderLogin } from './views/login.js';
import { createTree } from './components/tree.js';
import { createTaskPanel } from './components/taskpanel.js';
import { openTaskLog } from './components/tasklog.js';
import { closeAllModals } from './components/modal.js';
import { installKeys } from './keys.js';

const VIEWS = {
    datacenter: () => import('./views/datacenter.js'),
    node: () => import('./views/node.js'),
    qemu: () => import('./views/qemu.js'),
    storage: () => import('./views/storage.js'),
    pool: () => import('./views/pool.js'),
    'create-vm': () => import('./views/createvm.js'),
};

const app = document.getElementById('app');
let shell = null;       // {el, main, tree, …} while logged in
let mounted = null;     // {key, view}
let taskModal = null;
let routeSeq = 0;

applyTheme();

onUnauthorized(() => toLogin());
window.addEventListener('vireo:unauthorized', () => toLogin());

function toLogin() {
    const r = currentRoute();
    if (r.parts[0] === 'login') return;
    session.clear();
    teardownShell();
    const next = r.parts.length ? r.hash.slice(1) : '';
    go(`#/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
}

function teardownShell() {
    closeAllModals();
    if (mounted) { mounted.view.dispose(); mounted = null; }
    if (shell) { shell.dispose(); shell = null; }
    store.stop();
}

/** Maps a route to the view that shows it: {key, module, tab, args}. */
function resolve(route) {
    const [head, ...rest] = route.parts;
    switch (head) {
    case undefined: return { redirect: routes.datacenter() };
    case 'datacenter':
        if (rest[0] === 'permissions') return { redirect: routes.access(rest[1] || 'users') };
        return { key: 'datacenter', module: 'datacenter', tab: rest[0] || 'summary' };
    case 'access': return { key: 'datacenter', module: 'datacenter', tab: rest[0] || 'users' };
    case 'node': return { key: `node/${rest[0]}`, module: 'node', tab: rest[1] || 'summary', args: { node: rest[0] } };
    case 'qemu': return { key: `qemu/${rest[0]}`, module: 'qemu', tab: rest[1] || 'summary', args: { vmid: rest[0] } };
    case 'storage': return { key: `storage/${rest[0]}/${rest[1]}`, module: 'storage', tab: rest[2] || 'summary', args: { node: rest[0], storage: rest[1] } };
    case 'pool': return { key: `pool/${rest[0]}`, module: 'pool', tab: 'summary', args: { poolid: rest[0] } };
    case 'create-vm': return { key: 'create-vm', module: 'create-vm', tab: '', args: {} };
    default: return { redirect: routes.datacenter() };
    }
}

async function route() {
    const r = currentRoute();
    const seq = ++routeSeq;
    if (r.parts[0] === 'login') {
        teardownShell();
        renderLogin(app, { next: r.query.get('next'), onLoggedIn: (next) => go(next ? `#${next}` : routes.datacenter()) });
        return;
    }
    if (!session.load()) { toLogin(); return; }
    if (r.parts[0] === 'console') {
        teardownShell();
        const mod = await import('./views/popout.js');
        mod.renderPopout(app, { node: r.parts[1], vmid: r.parts[2], kind: r.parts[3] || 'vnc' });
        return;
    }
    if (!shell) buildShell();
    // The task log is a window over whatever view is showing.
    if (r.parts[0] === 'task') {
        if (!mounted) await mountView(resolve({ parts: ['datacenter'] }), seq);
        showTask(r.parts[1], r.parts.slice(2).join('/'));
        return;
    }
    if (taskModal) { const m = taskModal; taskModal = null; m.close(); }
    const target = resolve(r);
    if (target.redirect) { go(target.redirect, { replace: true }); return; }
    await mountView(target, seq);
    lastObjectHash = location.hash;
    toggleClass(shell.el, 'drawer-open', false);
}

async function mountView(target, seq) {
    shell.tree.select(target.key === 'datacenter' ? 'datacenter' : target.key);
    if (mounted && mounted.key === target.key) {
        mounted.view.update(target);
        return;
    }
    const mod = await VIEWS[target.module]();
    if (seq !== routeSeq && mounted) return;   // a newer navigation won
    if (mounted) mounted.view.dispose();
    closeAllModals();
    shell.main.replaceChildren();
    mounted = { key: target.key, view: mod.mount(shell.main, target) };
}

let lastObjectHash = null;

function showTask(node, upid) {
    if (taskModal && taskModal.panel.dataset.upid === upid) return;
    if (taskModal) { const m = taskModal; taskModal = null; m.close(); }
    taskModal = openTaskLog(node, upid, {
        onClose: () => {
            if (!taskModal) return;
            taskModal = null;
            if (currentRoute().parts[0] === 'task') go(lastObjectHash || routes.datacenter());
        },
    });
}

function buildShell() {
    const tree = createTree();
    const tasks = createTaskPanel();
    const main = h('main', { class: 'main', id: 'main' });
    const conn = h('span', { class: 'conn', title: 'Live updates' }, h('i'), h('span', null, 'connecting'));
    const paint = () => {
        conn.className = `conn ${store.connection.mode}`;
        conn.lastChild.textContent = { live: 'live', polling: 'polling', reconnecting: 'reconnecting', offline: 'offline', connecting: 'connecting' }[store.connection.mode];
        conn.title = store.connection.mode === 'live' ? 'Live updates from the event stream' : store.connection.mode === 'polling' ? 'Updating every 3 s (event stream unavailable)' : 'Not connected';
    };
    const unsubConn = store.subscribe('connection', paint);
    const menuToggle = button('', () => toggleClass(el, 'drawer-open', !el.classList.contains('drawer-open')), { icon: 'menu', title: 'Resources', kind: 'ghost' });
    menuToggle.classList.add('menu-toggle');
    const searchBtn = h('button', { type: 'button', class: 'topsearch btn', 'data-testid': 'search-open', 'aria-label': 'Search and commands (Ctrl+K)', onclick: () => openPalette() },
        iconEl('search'), h('span', { class: 'dim' }, 'Search or jump to…'), h('kbd', null, 'Ctrl K'));
    const userMenu = createUserMenu();
    const el = h('div', { class: 'shell' },
        h('header', { class: 'topbar' }, menuToggle,
            h('a', { class: 'brand', href: routes.datacenter() }, h('img', { src: new URL('../img/vireo.svg', import.meta.url).href, alt: '' }), 'Vireo', h('span', { class: 'ver' }, 'VE 9 compatible')),
            searchBtn, h('span', { class: 'spacer' }), conn, taskCountButton(tasks),
            button('Create VM', () => go('#/create-vm'), { icon: 'plus', kind: 'primary', testid: 'create-vm' }),
            helpButton(),
            userMenu.el),
        tree.el,
        h('div', { class: 'drawer-scrim', onclick: () => toggleClass(el, 'drawer-open', false) }),
        main, tasks.el);
    app.className = '';
    app.replaceChildren(el);
    const uninstallKeys = installKeys({ tree, openPalette, currentVM });
    store.start();
    scheduleRenewal();
    paint();
    shell = { el, main, tree, tasks, dispose: () => { tree.dispose(); tasks.dispose(); unsubConn(); uninstallKeys(); userMenu.dispose(); } };
}

/** The running-task count in the top bar; a click opens the task panel. */
function taskCountButton(tasks) {
    const b = h('button', { type: 'button', class: 'btn btn-ghost task-count', 'data-testid': 'topbar-tasks', title: 'Tasks',
        onclick: () => { tasks.el.classList.remove('collapsed'); tasks.el.classList.add('expanded'); tasks.el.dataset.touched = '1'; localStorage.setItem('vireo.tasks.collapsed', '0'); tasks.el.scrollIntoView({ block: 'nearest' }); } },
    iconEl('tasks'), h('span', null, '0'));
    const paint = () => {
        const n = store.getTasks().filter((t) => !t.endtime && (!t.status || t.status === 'running')).length;
        b.lastChild.textContent = String(n);
        b.title = `${n} running task${n === 1 ? '' : 's'}`;
        b.classList.toggle('busy-tasks', n > 0);
    };
    store.subscribe('tasks', paint);
    return b;
}

function helpButton() {
    const b = button('', () => import('./components/help.js').then((m) => m.openHelp()), { icon: 'question', kind: 'ghost', title: 'Keyboard shortcuts (?)' });
    b.classList.add('hide-narrow');
    return b;
}

function currentVM() {
    const r = currentRoute();
    return r.parts[0] === 'qemu' ? store.vmById(r.parts[1]) : null;
}

function openPalette() {
    import('./components/palette.js').then((m) => m.openPalette({ currentVM }));
}

function createUserMenu() {
    const menu = h('div', { class: 'popup-menu', role: 'menu', hidden: true });
    const btn = h('button', { type: 'button', class: 'btn btn-ghost', 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'data-testid': 'user-menu' },
        iconEl('user'), h('span', { class: 'hide-narrow' }, session.username || ''), iconEl('down'));
    const close = () => { menu.hidden = true; btn.setAttribute('aria-expanded', 'false'); };
    const item = (icon, label, fn, testid) => h('button', { type: 'button', role: 'menuitem', 'data-testid': testid, onclick: () => { close(); fn(); } }, iconEl(icon), label);
    const fill = () => menu.replaceChildren(
        h('div', { class: 'menu-head' }, `Logged in as ${session.username}`),
        item(effectiveTheme() === 'dark' ? 'sun' : 'moon', effectiveTheme() === 'dark' ? 'Light theme' : 'Dark theme', toggleTheme, 'theme-toggle'),
        item('keyboard', 'Keyboard shortcuts', () => import('./components/help.js').then((m) => m.openHelp())),
        item('logout', 'Log out', () => { logout(); teardownShell(); go('#/login'); }, 'logout'));
    btn.addEventListener('click', () => {
        if (!menu.hidden) { close(); return; }
        fill();
        menu.hidden = false;
        btn.setAttribute('aria-expanded', 'true');
        menu.querySelector('[role=menuitem]').focus();
    });
    const outside = (ev) => { if (!el.contains(ev.target)) close(); };
    document.addEventListener('mousedown', outside);
    menu.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { close(); btn.focus(); } });
    const el = h('div', { class: 'usermenu' }, btn, menu);
    return { el, dispose: () => document.removeEventListener('mousedown', outside) };
}

onRoute(route);
route();
