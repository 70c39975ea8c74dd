// A VM configuration table built from GET …/pending: each row shows the current value and, when a change
// waits for the next start, the new value highlighted with the old one struck through (as Proxmox does).
import { h, iconEl, button } from '../../dom.js';
import { get } from '../../api.js';
import * as store from '../../store.js';
import { notice } from '../../components/widgets.js';

/** pending entries → {key: {value, pending, delete}} */
export function indexPending(list) {
    const out = {};
    for (const e of list || []) out[e.key] = { value: e.value, pending: e.pending, delete: Number(e.delete) || 0 };
    return out;
}

/** The value the VM will have once pending changes apply. */
export const effective = (cfg, key) => {
    const e = cfg[key];
    if (!e || e.delete) return undefined;
    return e.pending !== undefined ? e.pending : e.value;
};

export const hasPending = (e) => Boolean(e && (e.pending !== undefined || e.delete));

/**
 * rows: [{key, label, icon, keys?: [all config keys the row shows], show(cfg) → string, actions(cfg) → [buttons]}]
 * Returns {el, update(cfg)}.
 */
export function configGrid(caption) {
    const tbody = h('tbody');
    const table = h('table', { class: 'grid hwgrid' }, h('caption', { class: 'offscreen' }, caption),
        h('thead', null, h('tr', null, h('th', { width: '220' }, 'Item'), h('th', null, 'Value'), h('th', { class: 'actions' }, ''))), tbody);
    const el = h('div', { class: 'grid-wrap' }, table);
    function cell(row, cfg) {
        const keys = row.keys || [row.key];
        const pend = keys.some((k) => hasPending(cfg[k]));
        const now = row.show(cfg, 'value');
        if (!pend) return [h('span', null, now || row.empty || '')];
        const next = row.show(cfg, 'pending');
        const deleted = keys.every((k) => !cfg[k] || cfg[k].delete || cfg[k].value === undefined && cfg[k].pending === undefined);
        return [
            now ? h('span', { class: 'oldval', title: 'Current value' }, now) : null,
            now ? ' ' : null,
            deleted ? h('span', { class: 'newval' }, 'removed') : h('span', { class: 'newval', title: 'Value after the next start' }, next || row.empty || ''),
            h('span', { class: 'pending-mark', title: 'Applies when the VM is next started (or rebooted from Vireo)' }, 'pending'),
        ];
    }
    return {
        el,
        update(rows, cfg) {
            tbody.replaceChildren(...rows.map((row) => {
                const keys = row.keys || [row.key];
                const pend = keys.some((k) => hasPending(cfg[k]));
                return h('tr', { 'data-testid': 'hw-row', 'data-key': row.key, class: pend ? 'pending' : '', tabindex: 0,
                    ondblclick: () => row.edit && row.edit(), onkeydown: (ev) => { if (ev.key === 'Enter' && ev.target.tagName === 'TR' && row.edit) row.edit(); } },
                h('td', null, h('span', { class: 'hwkey' }, iconEl(row.icon || 'hardware'), row.label)),
                h('td', { class: 'wrap' }, cell(row, cfg)),
                h('td', { class: 'actions' }, (row.actions || []).filter(Boolean)));
            }));
        },
    };
}

/** Loads the pending view; calls paint(cfg) and returns a reload function. */
export function pendingLoader(path, paint, errorSlot) {
    let gone = false;
    const load = async () => {
        try {
            const list = await get(path);
            if (gone) return;
            errorSlot.replaceChildren();
            paint(indexPending(list));
        } catch (e) {
            if (!gone) errorSlot.replaceChildren(notice('error', `Could not read the configuration: ${e.message}`));
        }
    };
    load.stop = () => { gone = true; };
    return load;
}

/** Keeps a grid of the VM's config with its pending changes current: loads `…/pending`, shows the
 *  pending notice and the rows, and reloads when a task of the VM ends. `onConfig(cfg)` comes first,
 *  so `rows()` sees the new config. Returns `{ load, stop }`. */
export function followPending({ node, vmid, grid, rows, noticeSlot, errorSlot, running, onConfig }) {
    const paint = (cfg) => {
        onConfig(cfg);
        noticeSlot.replaceChildren(pendingNotice(cfg, running()) || '');
        grid.update(rows(), cfg);
    };
    const load = pendingLoader(`/nodes/${node()}/qemu/${vmid}/pending`, paint, errorSlot);
    load();
    const unsub = store.onTaskEnd(() => load(), vmid);
    return { load, stop() { load.stop(); unsub(); } };
}

export function rowButton(label, icon, fn, testid, kind) {
    return button(label, fn, { icon, testid, kind: kind || '' });
}

export function pendingNotice(cfg, running) {
    const n = Object.values(cfg).filter(hasPending).length;
    if (!n) return null;
    return notice('warn', running
        ? `${n} change${n === 1 ? '' : 's'} pending (highlighted): they apply when the VM is next started, or after Reboot.`
        : `${n} change${n === 1 ? '' : 's'} pending (highlighted): they apply when the VM starts.`);
}
