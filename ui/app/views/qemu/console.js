// The Console tab: open consoles as tabs (any VM, VNC or serial), a toolbar (type text, Ctrl-Alt-Del,
// reconnect, pop-out) and the active console. Connections stay open while you look at other screens.
import { h, button, setText, iconEl } from '../../dom.js';
import { get } from '../../api.js';
import * as store from '../../store.js';
import { go, routes } from '../../router.js';
import { createSession } from './consolesession.js';
import { openFormDialog } from '../../components/dialog.js';
import { vmLabel } from '../../components/tree.js';

const sessions = new Map();   // "vmid:kind" → session, in opening order
const lastKind = new Map();   // vmid → 'vnc' | 'serial'
const parking = document.createElement('div');   // detached home of hidden sessions

function ensureSession(node, vmid, kind) {
    const key = `${vmid}:${kind}`;
    if (!sessions.has(key)) {
        const s = createSession({ node, vmid, kind });
        parking.append(s.el);
        sessions.set(key, s);
    }
    return sessions.get(key);
}

function closeSession(key) {
    const s = sessions.get(key);
    if (s) { s.close(); sessions.delete(key); }
}

export function popOut(node, vmid, kind) {
    const url = `${location.pathname}${location.search}${routes.console(node, vmid, kind)}`;
    window.open(url, `vireo-console-${vmid}-${kind}`, 'width=1024,height=720,noopener');
}

export function typeTextDialog(session) {
    openFormDialog({
        title: 'Type text into the console', icon: 'keyboard', submitLabel: 'Type',
        intro: session.kind === 'vnc' ? 'Sends the text as key presses (US layout) — pasting without a guest agent.' : 'Sends the text to the serial console.',
        fields: [
            { name: 'text', label: 'Text', type: 'textarea', rows: 5, full: true, autofocus: true, required: true },
            { name: 'enter', label: 'Press Enter at the end', type: 'checkbox', value: true },
        ],
        onSubmit: async (v) => {
            await session.typeText(v.text + (v.enter ? '\n' : ''));
            session.focus();
            return true;
        },
    });
}

/** The toolbar and state line for a session; shared with the pop-out window. */
export function consoleBar(getSession, { extra = [], popout = true } = {}) {
    const stateText = h('span', { 'data-testid': 'console-state' }, 'idle');
    const stateDot = h('span', { class: 'badge plain dot-only', 'aria-hidden': 'true' });
    const typeBtn = button('Type text', () => { const s = getSession(); if (s) typeTextDialog(s); }, { icon: 'keyboard', testid: 'vnc-type-text' });
    const cadBtn = button('Ctrl-Alt-Del', () => { const s = getSession(); if (s) s.ctrlAltDel(); }, { icon: 'keyboard', testid: 'vnc-ctrl-alt-del' });
    const reconnect = button('Reconnect', () => { const s = getSession(); if (s) s.connect(); }, { icon: 'refresh', testid: 'console-reconnect-bar' });
    const pop = popout ? button('Pop out', () => { const s = getSession(); if (s) popOut(s.node, s.vmid, s.kind); }, { icon: 'popout', testid: 'console-popout' }) : null;
    const el = h('div', { class: 'console-bar' }, ...extra, typeBtn, cadBtn, reconnect, pop, h('span', { class: 'state' }, stateDot, stateText));
    let unsub = null;
    return {
        el,
        bind(session) {
            if (unsub) unsub();
            cadBtn.hidden = session.kind !== 'vnc';
            unsub = session.onState((st) => {
                setText(stateText, st);
                const cls = st === 'connected' ? 'ok' : st.startsWith('failed') ? 'error' : st === 'connecting' ? 'pending' : 'plain';
                stateDot.className = `badge ${cls}`;

                typeBtn.disabled = st !== 'connected';
                cadBtn.disabled = st !== 'connected';
            });
        },
        dispose() { if (unsub) unsub(); },
    };
}

export function render(content, { vmid, node }) {
    content.classList.add('flush');
    const strip = h('div', { class: 'console-strip', role: 'tablist', 'aria-label': 'Open consoles' });
    const area = h('div', { class: 'console-area' });
    const kindToggle = h('div', { class: 'btn-group', role: 'group', 'aria-label': 'Console type' });
    let active = null;
    let hasSerial = false;
    let gone = false;
    const bar = consoleBar(() => active, { extra: [kindToggle] });
    const closeBtn = button('Close', () => { if (active) { const k = active.key; active = null; closeSession(k); show(otherKind() || null); } }, { icon: 'x', testid: 'console-close' });
    bar.el.insertBefore(closeBtn, bar.el.querySelector('.state'));
    content.append(strip, bar.el, area);

    const otherKind = () => [...sessions.values()].find((s) => String(s.vmid) === String(vmid))?.kind;

    function paintStrip() {
        strip.replaceChildren(...[...sessions.values()].map((s) => {
            const vm = store.vmById(s.vmid);
            const isActive = active && s.key === active.key;
            return h('div', { class: ['console-tab', isActive && 'active'], role: 'tab', 'aria-selected': String(Boolean(isActive)), tabindex: 0, 'data-testid': 'console-tab', 'data-key': s.key,
                onclick: (ev) => { if (!ev.target.closest('.x')) select(s); },
                onkeydown: (ev) => { if (ev.key === 'Enter') select(s); } },
            iconEl(s.kind === 'vnc' ? 'vm' : 'console'), `${vm ? vmLabel(vm) : s.vmid} · ${s.kind === 'vnc' ? 'VNC' : 'Serial'}`,
            h('button', { type: 'button', class: 'x', 'aria-label': `Close console ${s.key}`, title: 'Close', onclick: () => { closeSession(s.key); if (isActive) { active = null; show(otherKind() || null); } else paintStrip(); } }, '×'));
        }));
    }

    function paintToggle() {
        const mk = (kind, label) => button(label, () => show(kind), { icon: kind === 'vnc' ? 'vm' : 'console', testid: `console-kind-${kind}`, kind: active && active.kind === kind ? 'primary' : '', disabled: kind === 'serial' && !hasSerial, title: kind === 'serial' && !hasSerial ? 'This VM has no serial0 socket (Hardware → Add → Serial port)' : label });
        kindToggle.replaceChildren(mk('vnc', 'VNC'), mk('serial', 'Serial'));
    }

    function select(s) {
        if (String(s.vmid) !== String(vmid)) {
            lastKind.set(String(s.vmid), s.kind);
            go(routes.qemu(s.vmid, 'console'));
            return;
        }
        show(s.kind);
    }

    function show(kind) {
        if (active) { active.detach(); parking.append(active.el); }
        if (!kind) {
            active = null;
            area.replaceChildren(h('div', { class: 'console-msg' }, h('div', { class: 'box' }, 'No console open for this VM.',
                h('div', { class: 'toolbar' }, button('Open VNC console', () => show('vnc'), { icon: 'vm', kind: 'primary' }), hasSerial ? button('Open serial console', () => show('serial'), { icon: 'console' }) : null))));
            paintStrip();
            paintToggle();
            return;
        }
        const n = node();
        active = ensureSession(n, vmid, kind);
        lastKind.set(String(vmid), kind);
        area.replaceChildren(active.el);
        bar.bind(active);
        active.attach();
        paintStrip();
        paintToggle();
        requestAnimationFrame(() => active && active.focus());
    }

    // serial0 decides whether the serial console is offered; vga serialN makes it the default.
    get(`/nodes/${node()}/qemu/${vmid}/config`).catch(() => ({})).then((cfg) => {
        if (gone) return;
        hasSerial = /socket/.test(cfg.serial0 || '');
        const dflt = lastKind.get(String(vmid)) || (/^serial/.test(cfg.vga || '') && hasSerial ? 'serial' : 'vnc');
        show(dflt);
    });
    paintStrip();
    paintToggle();
    const unsub = store.subscribe('resources', ({ changed }) => { if (changed.some((id) => id.startsWith('qemu/'))) paintStrip(); });

    return () => {
        gone = true;
        unsub();
        bar.dispose();
        if (active) { active.detach(); parking.append(active.el); }
    };
}
