// The "equivalent command" box every changing dialog shows: the qm/pveum/pvesm line, pvesh, and the raw HTTP call.
import { h, setText, copyText, iconEl } from '../dom.js';
import { cliFor } from '../cli.js';

function line(label) {
    const code = h('code');
    const copy = h('button', { type: 'button', class: 'btn btn-icon btn-ghost copy', title: `Copy ${label}`, 'aria-label': `Copy ${label}`,
        onclick: async () => { if (await copyText(code.textContent)) flash(copy); } }, iconEl('copy'));
    const row = h('div', { class: 'cli-line' }, h('span', { class: 'cli-label' }, label), h('pre', null, code), copy);
    return { row, code };
}

function flash(btn) {
    btn.classList.add('copied');
    setTimeout(() => btn.classList.remove('copied'), 900);
}

/** {el, set(method, path, params)}; `open` shows it expanded. */
export function cliPreview({ open = true } = {}) {
    const tool = line('CLI');
    const pvesh = line('pvesh');
    const http = line('API');
    const el = h('details', { class: 'cli-preview', 'data-testid': 'cli-preview', open },
        h('summary', null, iconEl('console'), ' Command line and API call'),
        tool.row, pvesh.row, http.row);
    return {
        el,
        set(method, path, params) {
            const c = cliFor(method, path, params);
            tool.row.hidden = !c.tool;
            setText(tool.code, c.tool || '');
            setText(pvesh.code, c.pvesh);
            setText(http.code, c.http);
        },
    };
}
