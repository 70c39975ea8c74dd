// A keyed table: rows are built once and patched in place when their data changes (no flicker, fast for
// hundreds of rows). Sortable columns; an explained empty state.
import { h, append } from '../dom.js';

/**
 * columns: [{id, label, render(row) → string|Node, sortValue?(row), class?, width?}]
 * key(row) → stable id; rowAttrs(row) → attributes for the <tr>; onActivate(row, ev) on click/Enter.
 */
export function createTable({ columns, key, rowAttrs, onActivate, empty = 'Nothing here yet.', sort = null, className, caption }) {
    const rows = new Map();   // key → {tr, sig, data}
    let order = [];
    let sortState = sort;     // {id, dir: 1|-1}
    let lastData = [];
    const tbody = h('tbody');
    const emptyRow = h('tr', { class: 'empty-row' }, h('td', { colspan: columns.length }, h('div', { class: 'empty-state' }, empty)));
    const headCells = columns.map((c) => {
        const th = h('th', { class: [c.class, c.sortValue !== false && 'sortable'], scope: 'col' }, c.label);
        if (c.width) th.style.width = c.width;
        if (c.sortValue !== false) {
            th.tabIndex = 0;
            const toggle = () => {
                sortState = sortState && sortState.id === c.id ? { id: c.id, dir: -sortState.dir } : { id: c.id, dir: 1 };
                update(lastData);
            };
            th.addEventListener('click', toggle);
            th.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') toggle(); });
        }
        return th;
    });
    const table = h('table', { class: ['grid', className] }, caption ? h('caption', { class: 'offscreen' }, caption) : null,
        h('thead', null, h('tr', null, headCells)), tbody);
    const el = h('div', { class: 'grid-wrap' }, table);

    function cellContent(col, row) {
        const v = col.render ? col.render(row) : row[col.id];
        return v === undefined || v === null || v === '' ? '' : v;
    }

    function build(row) {
        const tr = h('tr', rowAttrs ? rowAttrs(row) : null);
        if (onActivate) {
            tr.tabIndex = 0;
            tr.classList.add('clickable');
            tr.addEventListener('click', (ev) => { if (!ev.target.closest('button, a, input, select')) onActivate(rows.get(tr.dataset.key).data, ev); });
            tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && ev.target === tr) onActivate(rows.get(tr.dataset.key).data, ev); });
        }
        fill(tr, row);
        return tr;
    }

    function fill(tr, row) {
        tr.replaceChildren(...columns.map((c) => append(h('td', { class: c.class }), [cellContent(c, row)])));
    }

    function sortValue(row) {
        const col = columns.find((c) => c.id === sortState.id);
        if (!col) return '';
        if (typeof col.sortValue === 'function') return col.sortValue(row);
        const v = row[col.id];
        return v === undefined || v === null ? '' : v;
    }

    function update(data) {
        lastData = data;
        const list = [...data];
        if (sortState) {
            list.sort((a, b) => {
                const x = sortValue(a);
                const y = sortValue(b);
                const cmp = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
                return cmp * sortState.dir;
            });
        }
        headCells.forEach((th, i) => {
            const s = sortState && sortState.id === columns[i].id ? (sortState.dir > 0 ? 'ascending' : 'descending') : null;
            if (s) th.setAttribute('aria-sort', s); else th.removeAttribute('aria-sort');
        });
        const seen = new Set();
        const newOrder = [];
        for (const row of list) {
            const k = String(key(row));
            seen.add(k);
            newOrder.push(k);
            const sig = JSON.stringify(row);
            const existing = rows.get(k);
            if (!existing) {
                const tr = build(row);
                tr.dataset.key = k;
                rows.set(k, { tr, sig, data: row });
            } else if (existing.sig !== sig) {
                existing.sig = sig;
                existing.data = row;
                if (rowAttrs) for (const [a, v] of Object.entries(rowAttrs(row))) {
                    if (a === 'class') existing.tr.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v || '';
                    else if (v === undefined || v === null || v === false) existing.tr.removeAttribute(a);
                    else existing.tr.setAttribute(a, v);
                }
                if (onActivate) existing.tr.classList.add('clickable');
                fill(existing.tr, row);
            }
        }
        for (const [k, r] of rows) {
            if (!seen.has(k)) { r.tr.remove(); rows.delete(k); }
        }
        // Re-append only when the order changed: moving nodes is the expensive part.
        if (newOrder.join('\n') !== order.join('\n')) {
            tbody.replaceChildren(...newOrder.map((k) => rows.get(k).tr));
            order = newOrder;
        }
        if (!list.length && !emptyRow.isConnected) tbody.append(emptyRow);
        if (list.length && emptyRow.isConnected) emptyRow.remove();
    }

    return { el, update, rowEl: (k) => rows.get(String(k))?.tr, data: () => lastData };
}
