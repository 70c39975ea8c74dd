// Modal layer: focus trap, Esc to close (topmost only), focus returns where it was.
import { h, iconEl } from '../dom.js';

const stack = [];

document.addEventListener('keydown', (ev) => {
    const top = stack[stack.length - 1];
    if (!top) return;
    if (ev.key === 'Escape') {
        ev.preventDefault();
        ev.stopPropagation();
        top.close();
    } else if (ev.key === 'Tab') {
        trapTab(ev, top.panel);
    }
}, true);

function focusables(root) {
    return [...root.querySelectorAll('a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])')]
        .filter((el) => el.offsetParent !== null || el === document.activeElement);
}

function trapTab(ev, panel) {
    const list = focusables(panel);
    if (!list.length) return;
    const first = list[0];
    const last = list[list.length - 1];
    if (ev.shiftKey && (document.activeElement === first || !panel.contains(document.activeElement))) {
        ev.preventDefault();
        last.focus();
    } else if (!ev.shiftKey && (document.activeElement === last || !panel.contains(document.activeElement))) {
        ev.preventDefault();
        first.focus();
    }
}

export const modalOpen = () => stack.length > 0;

/**
 * Opens a modal panel. `title` may be a string or node; `body` a node; `footer` nodes. Returns {panel, close}.
 * `onClose` runs once however it closes; `testid` marks the panel root (dialogs use 'dialog').
 */
export function openModal({ title, body, footer, size = 'md', testid = 'dialog', onClose, className, labelledIcon } = {}) {
    const previous = document.activeElement;
    const titleId = `m${Math.random().toString(36).slice(2, 8)}`;
    let closed = false;
    const api = {};
    const closeBtn = h('button', { type: 'button', class: 'btn btn-icon btn-ghost', 'aria-label': 'Close', title: 'Close (Esc)', onclick: () => api.close() }, iconEl('x'));
    const panel = h('div', { class: ['dialog', `dialog-${size}`, className], role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': titleId, 'data-testid': testid },
        h('header', { class: 'dialog-head' }, labelledIcon ? iconEl(labelledIcon) : null, h('h2', { id: titleId }, title), closeBtn),
        body,
        footer ? h('footer', { class: 'dialog-foot' }, footer) : null);
    const backdrop = h('div', { class: 'backdrop', onmousedown: (ev) => { if (ev.target === backdrop) api.close(); } }, panel);
    api.panel = panel;
    api.close = () => {
        if (closed) return;
        closed = true;
        const i = stack.indexOf(api);
        if (i >= 0) stack.splice(i, 1);
        backdrop.remove();
        if (onClose) onClose();
        if (previous && previous.isConnected && typeof previous.focus === 'function') previous.focus();
    };
    api.setTitle = (t) => { panel.querySelector('h2').textContent = t; };
    stack.push(api);
    document.body.append(backdrop);
    requestAnimationFrame(() => {
        const auto = panel.querySelector('[autofocus]') || focusables(panel.querySelector('.dialog-body') || panel)[0] || closeBtn;
        if (auto && !panel.contains(document.activeElement)) auto.focus();
    });
    return api;
}

/** Closes every open modal (navigating away, logging out). */
export function closeAllModals() {
    while (stack.length) stack[stack.length - 1].close();
}
