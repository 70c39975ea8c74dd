// A storage: usage summary and its content grouped by type, with ISO upload (progress) and delete.
import { h, iconEl, button, setText } from '../dom.js';
import { get, seg, ApiError } from '../api.js';
import { session } from '../session.js';
import * as store from '../store.js';
import { tabbedView } from '../components/objectview.js';
import { card, kvList, usageStat, pageTitle, notice, loading } from '../components/widgets.js';
import { rrdGraphs } from '../components/rrd.js';
import { openFormDialog, confirm } from '../components/dialog.js';
import { run, followUPID } from '../actions.js';
import { bytes, dateTime, percent, parseUPID } from '../format.js';
import { routes } from '../router.js';
import { noteTask } from '../store.js';
import { invalidate } from './qemu/pickers.js';

const TABS = [
    { name: 'summary', label: 'Summary', icon: 'summary' },
    { name: 'content', label: 'Content', icon: 'file' },
];
const CONTENT_NAMES = { iso: 'ISO images', images: 'VM disks', rootdir: 'Container volumes', backup: 'Backups', vztmpl: 'Container templates', snippets: 'Snippets', import: 'Import' };
const CONTENT_ORDER = ['iso', 'images', 'backup', 'vztmpl', 'snippets', 'import', 'rootdir'];

function summary(content, { node, storage }) {
    const info = kvList(['Status', 'Type', 'Content', 'Shared', 'Enabled', 'Active']);
    const usage = usageStat('Usage');
    const graphs = rrdGraphs(`/nodes/${node}/storage/${storage}/rrddata`, [
        { title: 'Usage', series: [{ key: 'used', label: 'Used' }, { key: 'total', label: 'Total' }], format: 'bytes' },
    ]);
    content.append(h('div', { class: 'cards' }, card('Storage', 'storage', info.el), card('Usage', 'summary', usage.el)), graphs.el);
    let gone = false;
    get(`/nodes/${node}/storage/${storage}/status`).then((s) => {
        if (gone) return;
        info.set('Status', h('span', { class: `badge ${s.active ? 'active' : 'error'}` }, s.active ? 'available' : 'inactive'));
        info.set('Type', s.type);
        info.set('Content', (s.content || '').split(',').map((c) => CONTENT_NAMES[c] || c).join(', '));
        info.set('Shared', s.shared ? 'yes' : 'no');
        info.set('Enabled', s.enabled === 0 ? 'no' : 'yes');
        info.set('Active', s.active ? 'yes' : 'no');
        usage.set(s.total ? s.used / s.total : null, `${bytes(s.used)} of ${bytes(s.total)} (${bytes(s.avail)} free)`);
    }).catch((e) => { if (!gone) content.prepend(notice('error', e.message)); });
    return () => { gone = true; graphs.dispose(); };
}

/** Uploads `file` with XMLHttpRequest (fetch has no upload progress); resolves with the task's UPID. */
function uploadFile({ node, storage, contentType, file, onProgress, signal }) {
    return new Promise((resolve, reject) => {
        const form = new FormData();
        form.append('content', contentType);
        form.append('filename', file, file.name);
        const xhr = new XMLHttpRequest();
        xhr.open('POST', `/api2/json/nodes/${node}/storage/${storage}/upload`);
        xhr.setRequestHeader('CSRFPreventionToken', session.csrf || '');
        xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) onProgress(ev.loaded, ev.total); };
        xhr.onload = () => {
            let body = null;
            try { body = JSON.parse(xhr.responseText || 'null'); } catch { body = null; }
            if (xhr.status >= 200 && xhr.status < 300) resolve(body && body.data);
            else reject(new ApiError(xhr.status, (body && body.message ? String(body.message).trim() : '') || xhr.statusText || `HTTP ${xhr.status}`, body && body.errors));
        };
        xhr.onerror = () => reject(new ApiError(0, 'Upload failed: connection error'));
        xhr.onabort = () => reject(new ApiError(0, 'Upload cancelled'));
        if (signal) signal.addEventListener('abort', () => xhr.abort());
        xhr.send(form);
    });
}

function contentView(content, { node, storage }) {
    const base = `/nodes/${node}/storage/${storage}`;
    const filter = h('input', { type: 'search', placeholder: 'Filter by name', 'aria-label': 'Filter content' });
    const typeSel = h('select', { 'aria-label': 'Content type' }, h('option', { value: '' }, 'All types'));
    const uploadBtn = button('Upload', () => upload(), { icon: 'upload', kind: 'primary', testid: 'upload-iso' });
    const body = h('div', null, loading());
    content.append(pageTitle(`Content of ${storage}`, filter, typeSel, uploadBtn), body);
    let items = [];
    let types = [];
    let gone = false;

    function paint() {
        const q = filter.value.trim().toLowerCase();
        const want = typeSel.value;
        const shown = items.filter((i) => (!want || i.content === want) && (!q || i.volid.toLowerCase().includes(q)));
        if (!items.length) {
            body.replaceChildren(h('div', { class: 'grid-wrap' }, h('div', { class: 'empty-state' },
                h('div', null, types.includes('iso') ? 'This storage is empty. Upload an ISO image to install VMs from it.' : 'This storage holds nothing yet.'),
                types.includes('iso') ? button('Upload ISO image', () => upload(), { icon: 'upload', kind: 'primary' }) : null)));
            return;
        }
        const groups = CONTENT_ORDER.filter((c) => shown.some((i) => i.content === c)).concat([...new Set(shown.map((i) => i.content))].filter((c) => !CONTENT_ORDER.includes(c)));
        const rows = [];
        for (const g of groups) {
            const list = shown.filter((i) => i.content === g).sort((a, b) => a.volid.localeCompare(b.volid, undefined, { numeric: true }));
            rows.push(h('tr', { class: 'group-row' }, h('td', { colspan: 6 }, `${CONTENT_NAMES[g] || g} (${list.length})`)));
            for (const i of list) {
                rows.push(h('tr', { 'data-testid': 'content-row', 'data-volid': i.volid },
                    h('td', { class: 'wrap' }, h('span', { class: 'status-cell' }, iconEl(g === 'iso' ? 'iso' : g === 'images' ? 'disk' : 'file'), i.volid.replace(/^[^:]+:/, ''))),
                    h('td', null, i.format || ''),
                    h('td', { class: 'num' }, bytes(i.size)),
                    h('td', null, i.vmid ? h('a', { href: routes.qemu(i.vmid) }, `VM ${i.vmid}`) : ''),
                    h('td', { class: 'nowrap hide-narrow' }, i.ctime ? dateTime(i.ctime) : ''),
                    h('td', { class: 'actions' }, button('Delete', () => remove(i), { icon: 'trash', testid: 'content-delete' }))));
            }
        }
        if (!rows.length) rows.push(h('tr', null, h('td', { colspan: 6 }, h('div', { class: 'empty-state' }, 'Nothing matches the filter.'))));
        body.replaceChildren(h('div', { class: 'grid-wrap' }, h('table', { class: 'grid' },
            h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Format'), h('th', { class: 'num' }, 'Size'), h('th', null, 'Used by'), h('th', { class: 'hide-narrow' }, 'Created'), h('th', { class: 'actions' }, ''))),
            h('tbody', null, rows))));
    }

    async function load() {
        try {
            const [list, status] = await Promise.all([get(`${base}/content`), types.length ? null : get(`${base}/status`)]);
            if (gone) return;
            if (status) {
                types = (status.content || '').split(',').filter(Boolean);
                typeSel.replaceChildren(h('option', { value: '' }, 'All types'), ...types.map((t) => h('option', { value: t }, CONTENT_NAMES[t] || t)));
                uploadBtn.hidden = !types.some((t) => ['iso', 'vztmpl', 'import'].includes(t));
            }
            items = list || [];
            paint();
        } catch (e) {
            if (!gone) body.replaceChildren(notice('error', `Could not list the content: ${e.message}`));
        }
    }

    async function remove(i) {
        const path = `${base}/content/${seg(i.volid)}`;
        const used = i.vmid ? ` It belongs to VM ${i.vmid}.` : '';
        const ok = await confirm({ title: 'Delete volume', danger: true, okLabel: 'Delete', request: { method: 'DELETE', path, params: {} },
            message: `Delete ${i.volid} (${bytes(i.size)}) permanently?${used}` });
        if (ok) run('DELETE', path, {}, { label: `Delete ${i.volid.replace(/^[^:]+:/, '')}`, onDone: () => { invalidate(); load(); } });
    }

    function upload() {
        const controller = new AbortController();
        const bar = h('i');
        const text = h('span', { class: 'progress-text' }, '');
        const progress = h('div', { 'data-testid': 'upload-progress', hidden: true, role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100 },
            h('div', { class: 'progress' }, bar), text);
        const allowed = types.filter((t) => ['iso', 'vztmpl', 'import'].includes(t));
        openFormDialog({
            title: `Upload to ${storage}`, icon: 'upload', submitLabel: 'Upload',
            fields: [
                { name: 'content', label: 'Content type', type: 'select', options: allowed.map((t) => [t, CONTENT_NAMES[t] || t]), value: allowed.includes('iso') ? 'iso' : allowed[0] },
                { name: 'filename', label: 'File', type: 'file', accept: '.iso,.img,.tar.gz,.tar.xz,.tar.zst,.qcow2,.vmdk,.raw', required: true, full: true },
            ],
            extra: progress,
            onClose: () => controller.abort(),
            check: (v) => (!v.filename ? { filename: 'Choose a file to upload.' } : v.content === 'iso' && !/\.(iso|img)$/i.test(v.filename.name) ? { filename: 'ISO images end in .iso or .img.' } : {}),
            request: (v) => ({ method: 'POST', path: `${base}/upload`, params: { content: v.content, filename: v.filename ? v.filename.name : '<file>' } }),
            onSubmit: async (v) => {
                progress.hidden = false;
                const started = Date.now();
                const upid = await uploadFile({
                    node, storage, contentType: v.content, file: v.filename, signal: controller.signal,
                    onProgress: (done, total) => {
                        const f = done / total;
                        bar.style.width = `${(f * 100).toFixed(1)}%`;
                        progress.setAttribute('aria-valuenow', Math.round(f * 100));
                        const secs = (Date.now() - started) / 1000;
                        setText(text, `${percent(f, 0)} — ${bytes(done)} of ${bytes(total)}${secs > 0.5 ? ` (${bytes(done / secs)}/s)` : ''}`);
                    },
                });
                setText(text, 'Uploaded — the node is storing the file…');
                const info = parseUPID(upid);
                if (info) {
                    noteTask({ upid, node: info.node, type: info.type, id: info.id, user: info.user, starttime: info.starttime });
                    await followUPID(upid, { label: `Upload ${v.filename.name}` });
                }
                invalidate();
                load();
                return true;
            },
        });
    }

    filter.addEventListener('input', paint);
    typeSel.addEventListener('change', paint);
    load();
    const unsub = store.onTaskEnd((t) => { if (/^(imgcopy|imgdel|download|qmcreate|qmdestroy|qmmove|vzdump)$/.test(t.type)) load(); });
    return () => { gone = true; unsub(); };
}

export function mount(container, target) {
    const { node, storage } = target.args;
    return tabbedView(container, target, {
        icon: 'storage', tabs: TABS, ctx: { node, storage },
        href: (name) => routes.storage(node, storage, name),
        renderers: { summary, content: contentView },
        setup(ov) {
            ov.title.textContent = `Storage ${storage}`;
            const paint = () => {
                const r = store.getResource(`storage/${node}/${storage}`);
                ov.status.replaceChildren(h('span', { class: `badge ${r ? r.status : 'unknown'}` }, r ? r.status : 'unknown'));
                setText(ov.sub, r ? `on node ${node} · ${r.plugintype || ''}${r.maxdisk ? ` · ${percent(r.disk / r.maxdisk)} used` : ''}` : `on node ${node}`);
            };
            paint();
            return store.subscribe('resources', ({ changed, full }) => { if (full || changed.includes(`storage/${node}/${storage}`)) paint(); });
        },
    });
}
