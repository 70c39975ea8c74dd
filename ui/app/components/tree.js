// The resource tree: Datacenter → nodes → VMs and storages, then pools. Rows are built once and patched
// when their resource changes; order is recomputed only when something is added or removed.
import { h, iconEl, setText, toggleClass } from '../dom.js';
import * as store from '../store.js';
import { routes, routeOf, go } from '../router.js';
import { splitTags, tagHue } from '../format.js';

const ROOT_ID = 'datacenter';

export function tagChips(tags) {
    return splitTags(tags).map((t) => {
        const chip = h('span', { class: 'tag-chip', title: `Tag: ${t}` }, t);
        chip.style.setProperty('--tag-hue', tagHue(t));
        return chip;
    });
}

/** Status class for a VM's icon dot: running, stopped, paused (qmpstatus tells paused apart from running). */
export function vmStatus(r) {
    if (!r) return 'unknown';
    if (r.status === 'running' && r.qmpstatus && r.qmpstatus !== 'running') {
        return r.qmpstatus === 'suspended' || r.qmpstatus === 'paused' || r.qmpstatus === 'prelaunch' ? 'paused' : r.qmpstatus;
    }
    return r.status || 'unknown';
}

export function vmLabel(r) { return r.name ? `${r.vmid} (${r.name})` : `${r.vmid}`; }

function rowParts(kind) {
    const icon = h('span', { class: 'vmicon' }, iconEl(kind));
    const label = h('span', { class: 'label' });
    const extra = h('span', { class: 'tags' });
    return { icon, label, extra };
}

export function createTree() {
    const list = h('div', { class: 'tree', role: 'tree', 'aria-label': 'Resources', 'data-testid': 'resource-tree' });
    const filter = h('input', { type: 'search', placeholder: 'Filter: name, VMID, tag…', 'aria-label': 'Filter resources', 'data-testid': 'tree-filter' });
    const el = h('aside', { class: 'sidebar', 'aria-label': 'Resource tree' }, h('div', { class: 'tree-tools' }, filter), list);
    const rows = new Map();   // key → {el, parts, res, level, parentKey}
    let order = [];
    let selectedKey = null;
    const poolsHeading = h('div', { class: 'tree-section' }, 'Pools');
    const emptyNote = h('div', { class: 'tree-empty' }, 'No resources visible to you.');

    function ensureRow(key, kind, level, href, testid = 'tree-item') {
        let row = rows.get(key);
        if (!row) {
            const parts = rowParts(kind);
            const a = h('a', { class: ['tree-item', `lvl-${level}`], href, role: 'treeitem', 'aria-level': level + 1, 'aria-selected': 'false',
                'data-testid': testid, 'data-id': key.startsWith('poolmember:') ? key.split(':').slice(2).join(':') : key, tabIndex: -1 },
            parts.icon, parts.label, parts.extra);
            row = { el: a, parts, level };
            rows.set(key, row);
        }
        row.el.setAttribute('href', href);
        return row;
    }

    function paintResource(row, r) {
        const { icon, label, extra } = row.parts;
        row.res = r;
        if (r.type === 'qemu' || r.type === 'lxc') {
            const st = vmStatus(r);
            icon.className = `vmicon ${st}${r.template ? ' template nodot' : ''}`;
            row.el.dataset.status = st;
            row.el.title = `${r.type === 'qemu' ? 'VM' : 'CT'} ${r.vmid}${r.name ? ` (${r.name})` : ''} — ${st}${r.lock ? `, locked (${r.lock})` : ''}`;
            const text = vmLabel(r);
            if (label.textContent !== text) {
                label.replaceChildren(String(r.vmid), r.name ? h('span', { class: 'nm' }, ` (${r.name})`) : '');
            }
            const tagKey = `${r.tags || ''}|${r.lock || ''}`;
            if (extra.dataset.k !== tagKey) {
                extra.dataset.k = tagKey;
                extra.replaceChildren(...(r.lock ? [h('span', { class: 'lock', title: `Locked: ${r.lock}` }, iconEl('lock'))] : []), ...tagChips(r.tags));
            }
        } else if (r.type === 'node') {
            icon.className = `vmicon ${r.status === 'online' ? 'online' : 'offline'}`;
            row.el.dataset.status = r.status;
            setText(label, r.node);
        } else if (r.type === 'storage') {
            icon.className = `vmicon ${r.status === 'available' ? 'nodot' : 'unknown'}`;
            row.el.dataset.status = r.status;
            setText(label, `${r.storage}`);
            row.el.title = `Storage ${r.storage} on ${r.node}${r.status !== 'available' ? ` — ${r.status}` : ''}`;
        } else if (r.type === 'pool') {
            icon.className = 'vmicon nodot';
            setText(label, r.pool || r.poolid);
        }
    }

    /** Recomputes the tree's order from the store; reuses rows. */
    function rebuild() {
        const want = [];
        const root = ensureRow(ROOT_ID, 'datacenter', 0, routes.datacenter());
        root.parts.icon.className = 'vmicon nodot';
        setText(root.parts.label, 'Datacenter');
        want.push(ROOT_ID);
        const all = store.allResources();
        const nodeNames = [...new Set(all.map((r) => r.node).filter(Boolean))].sort();
        for (const node of nodeNames) {
            const nres = store.getResource(`node/${node}`) || { id: `node/${node}`, type: 'node', node, status: 'unknown' };
            paintResource(ensureRow(nres.id, 'node', 1, routeOf(nres)), nres);
            want.push(nres.id);
            const guests = all.filter((r) => (r.type === 'qemu' || r.type === 'lxc') && r.node === node).sort((a, b) => a.vmid - b.vmid);
            for (const g of guests) {
                paintResource(ensureRow(g.id, 'vm', 2, routeOf(g)), g);
                want.push(g.id);
            }
            const stores = all.filter((r) => r.type === 'storage' && r.node === node).sort((a, b) => a.storage.localeCompare(b.storage));
            for (const s of stores) {
                paintResource(ensureRow(s.id, 'storage', 2, routeOf(s)), s);
                want.push(s.id);
            }
        }
        const pools = store.getPools();
        if (pools.length) {
            want.push('#pools');
            for (const p of pools) {
                const pid = `pool/${p.poolid}`;
                paintResource(ensureRow(pid, 'pool', 0, routes.pool(p.poolid)), { type: 'pool', pool: p.poolid });
                rows.get(pid).el.title = p.comment || '';
                want.push(pid);
                for (const m of p.members || []) {
                    const r = store.getResource(m.id) || m;
                    const key = `poolmember:${p.poolid}:${m.id}`;
                    const kind = m.type === 'storage' ? 'storage' : 'vm';
                    paintResource(ensureRow(key, kind, 1, routeOf(r), 'tree-pool-member'), r);
                    want.push(key);
                }
            }
        }
        const wanted = new Set(want);
        for (const key of [...rows.keys()]) if (!wanted.has(key)) rows.delete(key);
        if (want.join('\n') !== order.join('\n')) {
            order = want;
            list.replaceChildren(...want.map((k) => (k === '#pools' ? poolsHeading : rows.get(k).el)));
            if (want.length === 1 && !all.length) list.append(emptyNote);
        }
        applyFilter();
        markSelected();
    }

    function onResources({ full, changed, removed }) {
        const structural = full || removed.length || changed.some((id) => !rows.has(id))
            || changed.some((id) => { const r = store.getResource(id); const row = rows.get(id); return row && row.res && r && (r.node !== row.res.node); });
        if (structural) { rebuild(); return; }
        for (const id of changed) {
            const r = store.getResource(id);
            const row = rows.get(id);
            if (row && r) paintResource(row, r);
            for (const [key, prow] of rows) if (key.startsWith('poolmember:') && key.endsWith(`:${id}`) && r) paintResource(prow, r);
        }
        if (filter.value) applyFilter();
    }

    function matches(row, q) {
        const r = row.res;
        if (!r) return false;
        const hay = [r.vmid, r.name, r.node, r.storage, r.pool, r.tags, r.type === 'qemu' ? 'vm' : r.type, r.status].filter(Boolean).join(' ').toLowerCase();
        return q.split(/\s+/).every((w) => hay.includes(w));
    }

    function applyFilter() {
        const q = filter.value.trim().toLowerCase();
        if (!q) {
            for (const row of rows.values()) row.el.hidden = false;
            poolsHeading.hidden = false;
            return;
        }
        // A match keeps its ancestors visible so the place in the hierarchy stays clear.
        const visible = new Set();
        let lastAt = [];
        for (const key of order) {
            if (key === '#pools') { lastAt = []; continue; }
            const row = rows.get(key);
            lastAt[row.level] = key;
            lastAt.length = row.level + 1;
            if (matches(row, q)) lastAt.forEach((k) => visible.add(k));
        }
        for (const [key, row] of rows) row.el.hidden = !visible.has(key);
        poolsHeading.hidden = ![...visible].some((k) => k.startsWith('pool/') || k.startsWith('poolmember:'));
    }

    function markSelected() {
        for (const [key, row] of rows) {
            const on = key === selectedKey;
            toggleClass(row.el, 'selected', on);
            row.el.setAttribute('aria-selected', on ? 'true' : 'false');
            row.el.tabIndex = on ? 0 : -1;
        }
    }

    function select(key) {
        selectedKey = key;
        markSelected();
        const row = rows.get(key);
        if (row) row.el.scrollIntoView({ block: 'nearest' });
    }

    /** j/k: the next visible row's object opens. */
    function move(delta) {
        const visible = order.filter((k) => k !== '#pools' && !rows.get(k).el.hidden);
        if (!visible.length) return;
        const i = visible.indexOf(selectedKey);
        const next = visible[Math.max(0, Math.min(visible.length - 1, i < 0 ? 0 : i + delta))];
        go(rows.get(next).el.getAttribute('href'));
        rows.get(next).el.focus();
    }

    list.addEventListener('keydown', (ev) => {
        if (ev.key === 'ArrowDown') { ev.preventDefault(); move(1); }
        if (ev.key === 'ArrowUp') { ev.preventDefault(); move(-1); }
    });
    filter.addEventListener('input', applyFilter);
    filter.addEventListener('keydown', (ev) => {
        if (ev.key === 'Escape') { filter.value = ''; applyFilter(); filter.blur(); }
        if (ev.key === 'Enter') {
            const first = order.find((k) => k !== '#pools' && k !== ROOT_ID && !rows.get(k).el.hidden && rows.get(k).res && rows.get(k).res.type !== 'node');
            if (first) go(rows.get(first).el.getAttribute('href'));
        }
    });
    const unsubs = [store.subscribe('resources', onResources), store.subscribe('pools', rebuild)];
    rebuild();
    return { el, filter, select, move, rebuild, dispose: () => unsubs.forEach((u) => u()) };
}
