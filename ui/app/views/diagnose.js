// Diagnosis (a Vireo addition): the verdict first — which plane and layer is at fault — then every check
// with its evidence, worst first.
import { h, iconEl, button } from '../dom.js';
import { get } from '../api.js';
import { createTable } from '../components/table.js';
import { loading, notice, pageTitle } from '../components/widgets.js';
import { dateTime } from '../format.js';

const RANK = { fail: 0, warn: 1, unknown: 2, ok: 3 };
const ICON = { fail: 'error', warn: 'warning', unknown: 'question', ok: 'ok' };
const BADGE = { fail: 'error', warn: 'warning', unknown: 'plain', ok: 'ok' };

function evidenceText(ev) {
    if (!ev || !Object.keys(ev).length) return '';
    return Object.entries(ev).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('\n');
}

export function render(content, { path, subject }) {
    const body = h('div');
    const runBtn = button('Run again', () => load(), { icon: 'refresh', testid: 'diagnose-run' });
    content.append(pageTitle(`Diagnose ${subject}`, runBtn), h('p', { class: 'dim' },
        'Looks at every layer this depends on — control plane, VM process, disks, storage, network, host — and names the deepest one at fault.'), body);
    const table = createTable({
        columns: [
            { id: 'status', label: 'Status', render: (c) => h('span', { class: `badge ${BADGE[c.status] || 'plain'}` }, c.status), sortValue: (c) => RANK[c.status] ?? 9 },
            { id: 'plane', label: 'Plane / layer', render: (c) => h('span', null, h('span', { class: 'plane' }, c.plane), ' ', c.layer), sortValue: (c) => `${c.plane}/${c.layer}` },
            { id: 'summary', label: 'Finding', class: 'wrap', render: (c) => h('div', null, h('div', null, c.summary), h('code', { class: 'dim' }, c.id),
                evidenceText(c.evidence) ? h('details', null, h('summary', { class: 'dim' }, 'Evidence'), h('pre', { class: 'evidence' }, evidenceText(c.evidence))) : null) },
        ],
        key: (c) => c.id, sort: { id: 'status', dir: 1 }, empty: 'No checks ran.',
        rowAttrs: (c) => ({ 'data-testid': 'diag-check', 'data-check': c.id, 'data-status': c.status, class: c.status === 'fail' ? 'check-fail' : c.status === 'warn' ? 'check-warn' : '' }),
    });
    let gone = false;
    async function load() {
        runBtn.disabled = true;
        body.replaceChildren(loading('Diagnosing…'));
        try {
            const r = await get(path);
            if (gone) return;
            const v = r.verdict || {};
            const kind = v.status === 'fail' ? 'fail' : v.status === 'warn' ? 'warn' : 'ok';
            const checks = r.checks || [];
            const at = v.plane ? [h('span', { class: 'plane' }, `${v.plane} plane`), ' ', h('strong', null, v.layer || '')] : [];
            body.replaceChildren(
                h('div', { class: `diag-verdict ${kind}`, 'data-testid': 'diag-verdict', 'data-status': v.status || 'ok' }, iconEl(ICON[kind]),
                    h('div', null,
                        h('div', { class: 'line' }, v.line || v.summary || 'No verdict'),
                        h('div', { class: 'dim' }, at.length ? ['At fault: ', ...at, ' · '] : '', `${checks.length} checks in ${Number(r.duration || 0).toFixed(2)} s · ${dateTime(r.time)}`, r.offline ? ' · offline (daemon not answering)' : ''))),
                table.el);
            table.update(checks);
        } catch (e) {
            if (!gone) body.replaceChildren(notice('error', `Diagnosis failed: ${e.message}`));
        } finally {
            runBtn.disabled = false;
        }
    }
    load();
    return () => { gone = true; };
}
