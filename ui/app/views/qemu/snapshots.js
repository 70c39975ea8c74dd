// Snapshots as Proxmox shows them: a tree from the oldest to "NOW"; take (with RAM), roll back, delete.
import { h, button, iconEl } from '../../dom.js';
import { get, seg } from '../../api.js';
import * as store from '../../store.js';
import { openFormDialog, confirm } from '../../components/dialog.js';
import { run } from '../../actions.js';
import { dateTime } from '../../format.js';
import { pageTitle, notice, loading } from '../../components/widgets.js';

/** Orders snapshots parent-first with a depth, "current" last under its parent. */
function asTree(list) {
    const byParent = new Map();
    for (const s of list) {
        const p = s.parent || '';
        if (!byParent.has(p)) byParent.set(p, []);
        byParent.get(p).push(s);
    }
    for (const kids of byParent.values()) kids.sort((a, b) => (a.name === 'current') - (b.name === 'current') || (a.snaptime || 0) - (b.snaptime || 0));
    const out = [];
    const names = new Set(list.map((s) => s.name));
    const walk = (parent, depth) => {
        for (const s of byParent.get(parent) || []) {
            out.push({ ...s, depth });
            walk(s.name, depth + 1);
        }
    };
    walk('', 0);
    // Orphans (a parent that no longer exists) still show.
    for (const s of list) if (s.parent && !names.has(s.parent) && !out.find((x) => x.name === s.name)) out.push({ ...s, depth: 0 });
    return out;
}

export function render(content, { vmid, vm, node }) {
    const base = () => `/nodes/${node()}/qemu/${vmid}/snapshot`;
    const takeBtn = button('Take snapshot', () => take(), { icon: 'snapshot', kind: 'primary', testid: 'snapshot-take' });
    const body = h('div', null, loading());
    content.append(pageTitle(`Snapshots of VM ${vmid}`, takeBtn), body);
    let gone = false;
    let snaps = [];

    function take() {
        const r = vm();
        const running = r && r.status === 'running';
        openFormDialog({
            title: `Take snapshot of VM ${vmid}`, icon: 'snapshot', submitLabel: 'Take snapshot',
            fields: [
                { name: 'snapname', label: 'Name', required: true, autofocus: true, placeholder: 'before-upgrade', help: 'Letters, digits, - and _; starts with a letter.' },
                { name: 'vmstate', label: 'Include RAM (resume exactly where it was)', type: 'checkbox', value: running, disabled: !running },
                { name: 'description', label: 'Description', type: 'textarea', full: true },
            ],
            check: (v) => {
                if (!/^[a-zA-Z][a-zA-Z0-9_-]*$/.test(v.snapname)) return { snapname: 'Start with a letter; then letters, digits, - or _.' };
                if (v.snapname === 'current') return { snapname: '"current" is reserved.' };
                if (snaps.some((s) => s.name === v.snapname)) return { snapname: 'A snapshot with this name exists.' };
                return {};
            },
            request: (v) => ({ method: 'POST', path: base(), template: '/nodes/{node}/qemu/{vmid}/snapshot',
                params: { snapname: v.snapname, description: v.description || undefined, vmstate: running && v.vmstate ? 1 : undefined } }),
            taskLabel: `VM ${vmid}: snapshot`,
            onDone: load,
        });
    }

    async function rollback(s) {
        const path = `${base()}/${seg(s.name)}/rollback`;
        const ok = await confirm({
            title: `Roll back VM ${vmid}`, danger: true, okLabel: 'Roll back', request: { method: 'POST', path, params: {} },
            message: `Roll VM ${vmid} back to "${s.name}"${s.snaptime ? ` (${dateTime(s.snaptime)})` : ''}? Everything changed since then is lost${s.vmstate ? '; the VM resumes from the saved RAM' : ''}.`,
        });
        if (ok) run('POST', path, {}, { label: `VM ${vmid}: roll back to ${s.name}`, onDone: load });
    }

    async function remove(s) {
        const path = `${base()}/${seg(s.name)}`;
        const ok = await confirm({ title: `Delete snapshot ${s.name}`, danger: true, okLabel: 'Delete', request: { method: 'DELETE', path, params: {} },
            message: `Delete snapshot "${s.name}" of VM ${vmid}? The VM's current state is not affected.` });
        if (ok) run('DELETE', path, {}, { label: `VM ${vmid}: delete snapshot ${s.name}`, onDone: load });
    }

    function editDescription(s) {
        openFormDialog({
            title: `Snapshot ${s.name}`, icon: 'edit',
            fields: [{ name: 'description', label: 'Description', type: 'textarea', value: s.description || '', full: true, autofocus: true }],
            request: (v) => ({ method: 'PUT', path: `${base()}/${seg(s.name)}/config`, template: '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/config', params: { description: v.description } }),
            onSuccess: load,
        });
    }

    function paint() {
        const tree = asTree(snaps);
        const real = snaps.filter((s) => s.name !== 'current');
        if (!real.length) {
            body.replaceChildren(h('div', { class: 'grid-wrap' }, h('div', { class: 'empty-state', 'data-testid': 'snapshots-empty' },
                h('div', null, 'No snapshots yet — a snapshot saves the disks (and optionally RAM) so you can roll back later.'),
                button('Take snapshot', () => take(), { icon: 'snapshot', kind: 'primary' }))));
            return;
        }
        const rows = tree.map((s) => {
            const now = s.name === 'current';
            const nameCell = h('span', { class: 'snapname' }, ...Array.from({ length: s.depth }, () => h('span', { class: 'indent' })),
                iconEl(now ? 'play' : 'snapshot'), now ? h('strong', null, 'NOW') : s.name);
            return h('tr', now ? { class: 'snap-now' } : { 'data-testid': 'snapshot-row', 'data-name': s.name },
                h('td', null, nameCell),
                h('td', null, now ? '' : s.vmstate ? 'yes' : 'no'),
                h('td', { class: 'nowrap' }, now ? '' : dateTime(s.snaptime)),
                h('td', { class: 'wrap' }, now ? h('span', { class: 'dim' }, 'You are here') : s.description || ''),
                h('td', { class: 'actions' }, now ? '' : [
                    button('Roll back', () => rollback(s), { icon: 'undo', testid: 'snapshot-rollback' }),
                    button('Edit', () => editDescription(s), { icon: 'edit', testid: 'snapshot-edit' }),
                    button('Delete', () => remove(s), { icon: 'trash', testid: 'snapshot-delete' }),
                ]));
        });
        body.replaceChildren(h('div', { class: 'grid-wrap' }, h('table', { class: 'grid snapgrid' },
            h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'RAM'), h('th', null, 'Date'), h('th', null, 'Description'), h('th', { class: 'actions' }, ''))),
            h('tbody', null, rows))));
    }

    async function load() {
        try {
            snaps = (await get(base())) || [];
            if (!gone) paint();
        } catch (e) {
            if (!gone) body.replaceChildren(notice('error', `Could not list snapshots: ${e.message}`));
        }
    }
    load();
    const unsub = store.onTaskEnd(() => load(), vmid);
    return () => { gone = true; unsub(); };
}
