// The task log window: follows a running task live (polls new lines every second), shows its status.
import { h, iconEl, setText, button, copyText } from '../dom.js';
import { get, del, ApiError } from '../api.js';
import { openModal } from './modal.js';
import { dateTime, duration, taskDescription, taskState, parseUPID } from '../format.js';
import { confirm } from './dialog.js';
import { toast } from './toast.js';

function stateBadge(status) {
    const state = taskState(status);
    const text = state === 'running' ? 'running' : status.exitstatus || status.status;
    return { state, text };
}

/** Opens the log of `upid` on `node` in a modal; `onClose` runs when it closes. */
export function openTaskLog(node, upid, { onClose } = {}) {
    const info = parseUPID(upid) || {};
    const logEl = h('pre', { class: 'tasklog', 'data-testid': 'task-log', tabindex: 0, 'aria-label': 'Task output', 'aria-live': 'polite' });
    const statusEl = h('span', { class: 'badge', 'data-testid': 'task-status' }, 'loading…');
    const meta = h('dl', { class: 'kv' });
    const stopBtn = button('Stop task', () => stopTask(), { icon: 'stop', kind: 'danger', disabled: true });
    const copyBtn = button('Copy log', async () => { if (await copyText(logEl.textContent)) toast('Log copied', { kind: 'ok', timeout: 1500 }); }, { icon: 'copy' });
    const body = h('div', { class: 'dialog-body' },
        h('div', { class: 'tasklog-head' }, statusEl, h('span', { class: 'dim mono' }, upid), h('span', { class: 'spacer' })),
        meta, logEl);
    let closed = false;
    let lines = 0;
    let timer = null;
    const modal = openModal({
        title: taskDescription(info), body, footer: [copyBtn, stopBtn, button('Close', () => modal.close(), { kind: 'primary', testid: 'dialog-cancel' })],
        size: 'lg', labelledIcon: 'tasks', className: 'tasklog-dialog', onClose: () => { closed = true; clearTimeout(timer); if (onClose) onClose(); },
    });
    modal.panel.dataset.upid = upid;

    function appendLines(entries) {
        const atBottom = logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight < 30;
        const frag = document.createDocumentFragment();
        for (const e of entries) {
            const t = String(e.t ?? '');
            frag.append(h('span', { class: ['ln', /^TASK ERROR|error/i.test(t) && 'err', /^WARN/i.test(t) && 'warn'] }, t + '\n'));
            lines = Math.max(lines, Number(e.n) || lines + 1);
        }
        logEl.append(frag);
        if (atBottom) logEl.scrollTop = logEl.scrollHeight;
    }

    function showStatus(st) {
        const { state, text } = stateBadge(st);
        statusEl.className = `badge ${state === 'ok' ? 'ok' : state === 'running' ? 'pending' : state}`;
        statusEl.dataset.status = state;
        // A long error is the log's to show in full: the badge keeps its first line.
        setText(statusEl, String(text).split('\n')[0]);
        statusEl.title = String(text);
        stopBtn.disabled = state !== 'running';
        const rows = [
            ['Node', st.node || node], ['User', st.user || info.user], ['Started', dateTime(st.starttime || info.starttime)],
            ['Duration', duration((st.endtime || Date.now() / 1000) - (st.starttime || info.starttime))],
        ];
        if (st.endtime) rows.splice(3, 0, ['Ended', dateTime(st.endtime)]);
        meta.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
    }

    async function poll() {
        if (closed) return;
        try {
            const st = await get(`/nodes/${node}/tasks/${upid}/status`);
            // Fetch the log after the status, so a stopped task's last lines are in.
            const log = await get(`/nodes/${node}/tasks/${upid}/log`, { start: lines, limit: 5000 });
            if (closed) return;
            if (log && log.length) appendLines(log);
            showStatus(st);
            if (st.status === 'running') timer = setTimeout(poll, 1000);
            else if (!lines) logEl.append(h('span', { class: 'ln faint' }, '(no output)'));
        } catch (e) {
            if (closed) return;
            if (e instanceof ApiError && e.status === 401) return;
            setText(statusEl, 'unavailable');
            logEl.append(h('span', { class: 'ln err' }, `Could not read the task: ${e.message}\n`));
        }
    }

    async function stopTask() {
        const ok = await confirm({ title: 'Stop task', message: `Stop "${taskDescription(info)}"?`, okLabel: 'Stop task', danger: true,
            request: { method: 'DELETE', path: `/nodes/${node}/tasks/${upid}` } });
        if (!ok) return;
        try { await del(`/nodes/${node}/tasks/${upid}`); } catch (e) { toast(e.message, { kind: 'error' }); }
    }

    poll();
    return modal;
}
