// One console connection — VNC (noVNC) or serial (xterm.js over termproxy) — living in its own element so it
// survives navigation: the console tab only attaches and detaches it.
import { h, button, setText, iconEl } from '../../dom.js';
import { post, ApiError } from '../../api.js';
import { powerAction } from './power.js';
import * as store from '../../store.js';

const VENDOR_MISSING = 'is not installed on this node: run scripts/install-deps.sh';

async function loadRFB() {
    try {
        return (await import('../../../vendor/novnc/core/rfb.js')).default;
    } catch {
        throw new Error(`noVNC ${VENDOR_MISSING}`);
    }
}

let xtermCss = false;
async function loadXterm() {
    let mod;
    try {
        mod = await import('../../../vendor/xterm/xterm.mjs');
    } catch {
        throw new Error(`xterm.js ${VENDOR_MISSING}`);
    }
    if (!xtermCss) {
        xtermCss = true;
        document.head.append(h('link', { rel: 'stylesheet', href: new URL('../../../vendor/xterm/xterm.css', import.meta.url).href }));
    }
    mod.Terminal.applyAddon(mod.fit);
    return mod.Terminal;
}

const wsURL = (node, vmid, d) => `wss://${location.host}/api2/json/nodes/${node}/qemu/${vmid}/vncwebsocket?port=${encodeURIComponent(d.port)}&vncticket=${encodeURIComponent(d.ticket)}`;

// US layout: the key (KeyboardEvent.code) and whether Shift is held, so QEMU's scancode path types it right.
const SHIFTED = { '!': 'Digit1', '@': 'Digit2', '#': 'Digit3', $: 'Digit4', '%': 'Digit5', '^': 'Digit6', '&': 'Digit7', '*': 'Digit8', '(': 'Digit9', ')': 'Digit0',
    _: 'Minus', '+': 'Equal', '{': 'BracketLeft', '}': 'BracketRight', '|': 'Backslash', ':': 'Semicolon', '"': 'Quote', '<': 'Comma', '>': 'Period', '?': 'Slash', '~': 'Backquote' };
const PLAIN = { '-': 'Minus', '=': 'Equal', '[': 'BracketLeft', ']': 'BracketRight', '\\': 'Backslash', ';': 'Semicolon', "'": 'Quote', ',': 'Comma', '.': 'Period', '/': 'Slash', '`': 'Backquote', ' ': 'Space' };

export function keyFor(ch) {
    if (ch === '\n') return { keysym: 0xff0d, code: 'Enter', shift: false };
    if (ch === '\t') return { keysym: 0xff09, code: 'Tab', shift: false };
    if (/^[a-z]$/.test(ch)) return { keysym: ch.charCodeAt(0), code: `Key${ch.toUpperCase()}`, shift: false };
    if (/^[A-Z]$/.test(ch)) return { keysym: ch.charCodeAt(0), code: `Key${ch}`, shift: true };
    if (/^[0-9]$/.test(ch)) return { keysym: ch.charCodeAt(0), code: `Digit${ch}`, shift: false };
    if (SHIFTED[ch]) return { keysym: ch.charCodeAt(0), code: SHIFTED[ch], shift: true };
    if (PLAIN[ch]) return { keysym: ch.charCodeAt(0), code: PLAIN[ch], shift: false };
    const cp = ch.codePointAt(0);
    return cp >= 0x20 && cp <= 0x7e ? { keysym: cp, code: null, shift: false } : null;
}

// xterm 3 draws on canvas: a plain-text copy of the output (escape codes removed) stays in the DOM, under the
// canvas, so the text can be found, selected by tests and searched. Its DOM renderer needs inline styles (CSP).
function textMirror(limit = 100000) {
    const el = h('pre', { class: 'serial-text', 'data-testid': 'serial-text', 'aria-hidden': 'true' });
    let buf = '';
    let queued = false;
    const ESC = /\x1b\[[0-9;?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHM]|\r/g;
    return {
        el,
        add(s) {
            buf = (buf + s.replace(ESC, '')).slice(-limit);
            if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; el.textContent = buf; }); }
        },
        clear() { buf = ''; el.textContent = ''; },
    };
}

/**
 * createSession({node, vmid, kind: 'vnc'|'serial'}) → {el, key, kind, state, connect(), close(), typeText(s),
 * ctrlAltDel(), onState(fn), attach(), detach()}
 */
export function createSession({ node, vmid, kind }) {
    const key = `${vmid}:${kind}`;
    const screen = h('div', { class: kind === 'vnc' ? 'vnc-screen' : 'serial-screen', 'data-testid': kind === 'vnc' ? 'vnc-screen' : 'serial-screen', tabindex: -1 });
    const overlay = h('div', { class: 'console-msg', hidden: true });
    const el = h('div', { class: 'console-session', 'data-session': key }, screen, overlay);
    const listeners = new Set();
    let state = 'idle';
    let rfb = null;
    let term = null;
    let ws = null;
    let ping = null;
    let ro = null;
    let closed = false;
    const mirror = textMirror();

    function setState(s) {
        state = s;
        for (const fn of listeners) fn(s);
    }

    function showMessage(text, actions = []) {
        overlay.replaceChildren(h('div', { class: 'box' }, iconEl(/not running/i.test(text) ? 'info' : 'warning', 'icon-lg'), h('div', null, text), h('div', { class: 'toolbar' }, actions)));
        overlay.hidden = false;
    }

    function failed(message) {
        setState(`failed: ${message}`);
        const vm = store.vmById(vmid);
        const stopped = /not running/i.test(message) || (vm && vm.status !== 'running');
        showMessage(stopped ? `VM ${vmid} is not running.` : message, [
            stopped ? button('Start VM', async () => { if (await powerAction({ node, vmid, ...store.vmById(vmid) }, 'start')) setTimeout(connect, 1500); }, { icon: 'play', kind: 'primary', testid: 'console-start' }) : null,
            button('Reconnect', () => connect(), { icon: 'refresh', testid: 'console-reconnect' }),
        ]);
    }

    async function connectVNC() {
        const RFB = await loadRFB();
        const d = await post(`/nodes/${node}/qemu/${vmid}/vncproxy`, { websocket: 1, 'generate-password': 1 });
        if (closed) return;
        screen.replaceChildren();
        rfb = new RFB(screen, wsURL(node, vmid, d), { credentials: { password: d.password }, wsProtocols: ['binary'] });
        rfb.scaleViewport = true;
        rfb.background = '#000';
        rfb.addEventListener('connect', () => { overlay.hidden = true; setState('connected'); rfb.focus(); });
        rfb.addEventListener('disconnect', (ev) => {
            rfb = null;
            if (closed) return;
            const vm = store.vmById(vmid);
            if (vm && vm.status !== 'running') failed(`VM ${vmid} not running`);
            else if (ev.detail && ev.detail.clean) {
                setState('disconnected');
                showMessage('The console was disconnected.', [button('Reconnect', () => connect(), { icon: 'refresh', kind: 'primary', testid: 'console-reconnect' })]);
            } else failed('the connection was lost');
        });
        rfb.addEventListener('securityfailure', (ev) => failed(`VNC authentication failed${ev.detail && ev.detail.reason ? ` (${ev.detail.reason})` : ''}`));
    }

    async function connectSerial() {
        const Terminal = await loadXterm();
        const d = await post(`/nodes/${node}/qemu/${vmid}/termproxy`, { serial: 'serial0' });
        if (closed) return;
        screen.replaceChildren(mirror.el);
        mirror.clear();
        term = new Terminal({ cursorBlink: true, fontSize: 14, fontFamily: 'ui-monospace, "JetBrains Mono", "DejaVu Sans Mono", monospace', theme: { background: '#000000' }, scrollback: 5000 });
        term.open(screen);
        fit();
        const socket = new WebSocket(wsURL(node, vmid, d), 'binary');
        ws = socket;
        socket.binaryType = 'arraybuffer';
        const decoder = new TextDecoder();
        const encoder = new TextEncoder();
        let authed = false;
        const send = (s) => { if (socket.readyState === WebSocket.OPEN) socket.send(s); };
        socket.onopen = () => send(`${d.user}:${d.ticket}\n`);
        socket.onmessage = (ev) => {
            const text = typeof ev.data === 'string' ? ev.data : decoder.decode(new Uint8Array(ev.data), { stream: true });
            if (!authed) {
                if (!text.startsWith('OK')) { failed(`the terminal refused the ticket: ${text.trim()}`); socket.close(); return; }
                authed = true;
                overlay.hidden = true;
                setState('connected');
                send(`1:${term.cols}:${term.rows}:`);
                if (text.length > 2) { term.write(text.slice(2)); mirror.add(text.slice(2)); }
                term.focus();
                return;
            }
            term.write(text);
            mirror.add(text);
        };
        socket.onclose = () => {
            clearInterval(ping);
            if (ws === socket) ws = null;
            if (closed) return;
            const vm = store.vmById(vmid);
            if (vm && vm.status !== 'running') failed(`VM ${vmid} not running`);
            else if (authed) {
                setState('disconnected');
                showMessage('The serial console was disconnected.', [button('Reconnect', () => connect(), { icon: 'refresh', kind: 'primary', testid: 'console-reconnect' })]);
            } else if (!state.startsWith('failed')) failed('the terminal connection was refused');
        };
        term.on('data', (data) => send(`0:${encoder.encode(data).length}:${data}`));
        term.on('resize', ({ cols, rows }) => send(`1:${cols}:${rows}:`));
        ping = setInterval(() => send('2'), 30000);
    }

    function fit() {
        if (term && screen.offsetParent !== null) { try { term.fit(); } catch { /* not laid out yet */ } }
    }

    function teardown() {
        clearInterval(ping);
        if (rfb) { const r = rfb; rfb = null; try { r.disconnect(); } catch { /* already gone */ } }
        if (ws) { const w = ws; ws = null; try { w.close(); } catch { /* already gone */ } }
        if (term) { try { term.destroy(); } catch { /* fine */ } term = null; }
    }

    async function connect() {
        teardown();
        closed = false;
        overlay.hidden = true;
        screen.replaceChildren();
        // Asking for a ticket of a stopped VM only earns an error: say so at once.
        const vm = store.vmById(vmid);
        if (vm && vm.status !== 'running') { failed(`VM ${vmid} not running`); return; }
        setState('connecting');
        try {
            if (kind === 'vnc') await connectVNC(); else await connectSerial();
        } catch (e) {
            failed(e instanceof ApiError ? e.message : e.message || String(e));
        }
    }

    async function typeText(text, { delay = 8 } = {}) {
        if (kind === 'serial') {
            if (ws && ws.readyState === WebSocket.OPEN) {
                const data = text.replace(/\n/g, '\r');
                ws.send(`0:${new TextEncoder().encode(data).length}:${data}`);
            }
            return;
        }
        if (!rfb) return;
        for (const ch of text.replace(/\r\n?/g, '\n')) {
            const k = keyFor(ch);
            if (!k || !rfb) continue;
            if (k.shift) rfb.sendKey(0xffe1, 'ShiftLeft', true);
            rfb.sendKey(k.keysym, k.code);
            if (k.shift) rfb.sendKey(0xffe1, 'ShiftLeft', false);
            if (delay) await new Promise((r) => setTimeout(r, delay));
        }
    }

    // A VM that starts while its console waits connects by itself.
    // A console that lost its VM says so (the stop reaches the store a moment after the socket closes).
    const unsubStore = store.subscribe('resources', ({ changed }) => {
        if (!changed.includes(`qemu/${vmid}`)) return;
        const vm = store.vmById(vmid);
        if (state === 'disconnected' && vm && vm.status !== 'running') { failed(`VM ${vmid} not running`); return; }
        if (!state.startsWith('failed')) return;
        if (vm && vm.status === 'running' && /not running/.test(state)) setTimeout(() => { if (!closed && state.startsWith('failed')) connect(); }, 1200);
    });

    return {
        el, key, kind, node, vmid,
        get state() { return state; },
        connect,
        typeText,
        ctrlAltDel() { if (rfb) rfb.sendCtrlAltDel(); },
        focus() { if (rfb) rfb.focus(); else if (term) term.focus(); },
        onState(fn) { listeners.add(fn); fn(state); return () => listeners.delete(fn); },
        /** Called when the element is shown again: refit the terminal, watch size changes. */
        attach() {
            if (!ro) { ro = new ResizeObserver(() => fit()); ro.observe(screen); }
            requestAnimationFrame(fit);
            if (state === 'idle') connect();
        },
        detach() { if (ro) { ro.disconnect(); ro = null; } },
        close() { closed = true; unsubStore(); teardown(); if (ro) ro.disconnect(); listeners.clear(); el.remove(); },
    };
}
