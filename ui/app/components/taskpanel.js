// The task panel at the bottom: running and recent tasks, updated live; a row opens its log.
import { h, iconEl, setText, toggleClass } from '../dom.js';
import * as store from '../store.js';
import { createTable } from './table.js';
import { shortDateTime, dateTime, taskDescription, taskState, taskError } from '../format.js';
import { go, routes } from '../router.js';

export function stateCell(task) {
    const state = taskState(task);
    if (state === 'running') return h('span', { class: 'taskstate running' }, h('span', { class: 'spinner' }), 'running');
    if (state === 'ok') return h('span', { class: 'taskstate ok' }, iconEl('check'), 'OK');
    return h('span', { class: `taskstate ${state}`, title: taskError(task) }, iconEl(state === 'warning' ? 'warning' : 'error'), h('span', { class: 'errtext' }, taskError(task)));
}

/** Task columns shared by the panel and the per-object task lists. */
export function taskColumns({ compact = false } = {}) {
    return [
        // Running tasks stay on top when sorted by start time.
        { id: 'starttime', label: 'Start', sortValue: (t) => (taskState(t) === 'running' ? 1e12 : 0) + (t.starttime || 0), render: (t) => h('span', { title: dateTime(t.starttime) }, compact ? shortDateTime(t.starttime) : dateTime(t.starttime)), class: 'nowrap', width: '150px' },
        { id: 'endtime', label: 'End', render: (t) => (t.endtime ? (compact ? shortDateTime(t.endtime) : dateTime(t.endtime)) : ''), class: 'nowrap col-end', width: '150px' },
        { id: 'node', label: 'Node', class: 'col-node' },
        { id: 'user', label: 'User', class: 'col-user' },
        { id: 'desc', label: 'Description', render: (t) => taskDescription(t), sortValue: (t) => taskDescription(t) },
        { id: 'status', label: 'Status', render: stateCell, sortValue: (t) => taskState(t) },
    ];
}

export const taskRowAttrs = (t) => ({ 'data-testid': 'task-row', 'data-upid': t.upid, 'data-status': taskState(t), class: taskState(t) === 'error' ? 'task-failed' : '' });

export function createTaskPanel() {
    const table = createTable({
        columns: taskColumns({ compact: true }),
        key: (t) => t.upid,
        rowAttrs: taskRowAttrs,
        onActivate: (t) => go(routes.task(t.node, t.upid)),
        empty: 'No tasks yet. Starting a VM, taking a snapshot or uploading an ISO shows up here.',
        sort: { id: 'starttime', dir: -1 },
        caption: 'Recent tasks',
    });
    const count = h('span', { class: 'count-pill zero', 'data-testid': 'task-count', title: 'Running tasks' }, '0 running');
    const chevron = h('span', { class: 'dim' }, iconEl('down'));
    const head = h('div', { class: 'taskpanel-head', role: 'button', tabindex: 0, 'aria-expanded': 'true' },
        iconEl('tasks'), h('h2', null, 'Tasks'), count, h('span', { class: 'spacer' }), chevron);
    const el = h('section', { class: 'taskpanel', 'data-testid': 'task-panel', 'aria-label': 'Tasks' }, head, h('div', { class: 'taskpanel-body' }, table.el));
    const narrow = window.matchMedia('(max-width: 800px)');
    let collapsed = localStorage.getItem('vireo.tasks.collapsed') === '1';

    function setCollapsed(c) {
        collapsed = c;
        localStorage.setItem('vireo.tasks.collapsed', c ? '1' : '0');
        paintCollapsed();
    }
    function paintCollapsed() {
        // On a phone the panel starts folded; "expanded" opens it there.
        toggleClass(el, 'collapsed', collapsed && !narrow.matches);
        toggleClass(el, 'expanded', !collapsed && narrow.matches && el.dataset.touched === '1');
        head.setAttribute('aria-expanded', String(!el.classList.contains('collapsed') && (!narrow.matches || el.classList.contains('expanded'))));
        chevron.replaceChildren(iconEl(head.getAttribute('aria-expanded') === 'true' ? 'down' : 'up'));
    }
    const toggle = () => {
        el.dataset.touched = '1';
        if (narrow.matches) setCollapsed(el.classList.contains('expanded'));
        else setCollapsed(!collapsed);
    };
    head.addEventListener('click', toggle);
    head.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); toggle(); } });
    narrow.addEventListener('change', paintCollapsed);

    function onTasks(tasks) {
        table.update(tasks.slice(0, 50));
        const running = tasks.filter((t) => taskState(t) === 'running').length;
        setText(count, `${running} running`);
        toggleClass(count, 'zero', running === 0);
    }
    const unsub = store.subscribe('tasks', onTasks);
    onTasks(store.getTasks());
    paintCollapsed();
    return { el, count, dispose: unsub };
}
