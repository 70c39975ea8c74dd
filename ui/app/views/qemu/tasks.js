// A VM's task history (GET /nodes/{node}/tasks?vmid=…), refreshed when its tasks end.
import { h } from '../../dom.js';
import { get } from '../../api.js';
import * as store from '../../store.js';
import { createTable } from '../../components/table.js';
import { taskColumns, taskRowAttrs } from '../../components/taskpanel.js';
import { pageTitle, notice } from '../../components/widgets.js';
import { go, routes } from '../../router.js';

export function render(content, { vmid, node }) {
    const table = createTable({
        columns: taskColumns().filter((c) => c.id !== 'node'), key: (t) => t.upid, rowAttrs: taskRowAttrs,
        sort: { id: 'starttime', dir: -1 }, onActivate: (t) => go(routes.task(t.node, t.upid)),
        empty: 'No tasks for this VM yet. Starting it, changing its hardware or taking a snapshot shows up here.',
    });
    const errorsOnly = h('input', { type: 'checkbox', id: 'vmtasks-errors' });
    const err = h('div');
    content.append(pageTitle(`Task history of VM ${vmid}`, h('label', { class: 'field-check field' }, errorsOnly, h('span', null, 'Errors only'))), err, table.el);
    let gone = false;
    const load = () => get(`/nodes/${node()}/tasks`, { vmid, limit: 500, errors: errorsOnly.checked ? 1 : undefined })
        .then((list) => { if (!gone) { err.replaceChildren(); table.update(list || []); } })
        .catch((e) => { if (!gone) err.replaceChildren(notice('error', e.message)); });
    errorsOnly.addEventListener('change', load);
    load();
    const unsubs = [store.subscribe('tasks', (list) => { if (list.some((t) => String(t.id) === String(vmid))) load(); })];
    return () => { gone = true; unsubs.forEach((u) => u()); };
}
