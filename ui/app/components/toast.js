// Short-lived notices at the bottom right; errors stay until closed and can link to their task log.
import { h, iconEl } from '../dom.js';

let host = null;

function container() {
    if (!host) {
        host = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
        document.body.append(host);
    }
    return host;
}

/** kind: 'ok' | 'error' | 'info' | 'warning'; taskHref adds a "Show task log" link. */
export function toast(message, { kind = 'info', taskHref, timeout } = {}) {
    const close = () => el.remove();
    const el = h('div', { class: ['toast', `toast-${kind}`], 'data-testid': 'toast', role: kind === 'error' ? 'alert' : undefined },
        iconEl(kind === 'error' ? 'error' : kind === 'ok' ? 'ok' : kind === 'warning' ? 'warning' : 'info'),
        h('div', { class: 'toast-body' },
            h('div', { class: 'toast-text' }, message),
            taskHref ? h('a', { href: taskHref, 'data-testid': 'toast-task-link', onclick: close }, 'Show task log') : null),
        h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', onclick: close }, '×'));
    container().append(el);
    const ms = timeout !== undefined ? timeout : kind === 'error' ? 0 : 5000;
    if (ms) setTimeout(close, ms);
    return el;
}
