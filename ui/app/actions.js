// Running an API call that may start a task: errors become toasts, a UPID is followed until it ends,
// and a failed task links to its log.
import { api, ApiError, isUPID } from './api.js';
import { parseUPID, taskDescription, taskState, taskError } from './format.js';
import { toast } from './components/toast.js';
import { routes } from './router.js';
import { noteTask, refresh, connection } from './store.js';

/** Polls a task's status every second until it stops; resolves with the final status object. */
export async function waitTask(node, upid, { signal } = {}) {
    for (;;) {
        const st = await api('GET', `/nodes/${node}/tasks/${upid}/status`, null, { signal });
        if (st.status !== 'running') return st;
        await new Promise((r) => setTimeout(r, 1000));
        if (signal && signal.aborted) throw new DOMException('aborted', 'AbortError');
    }
}

/**
 * Runs `method path params`; when it returns a UPID, follows the task. Shows success/failure as toasts.
 * Resolves with {ok, data, status} — never throws for API errors (they are shown), so callers stay simple.
 */
export async function run(method, path, params, { label, quiet = false, onDone } = {}) {
    let data;
    try {
        data = await api(method, path, params);
    } catch (e) {
        if (e instanceof ApiError && e.status === 401) return { ok: false, error: e };
        toast(`${label ? label + ': ' : ''}${e.message}`, { kind: 'error' });
        return { ok: false, error: e };
    }
    if (!isUPID(data)) {
        if (!quiet && label) toast(`${label}: done`, { kind: 'ok' });
        if (connection.mode !== 'live') refresh().catch(() => {});
        if (onDone) onDone(true);
        return { ok: true, data };
    }
    announce(data);
    const status = await followUPID(data, { label, onDone, quiet });
    return { ok: Boolean(status) && taskState(status) !== 'error', data, status };
}

/** Shows a task we just started in the task panel before the event stream reports it. */
function announce(upid) {
    const info = parseUPID(upid);
    noteTask({ upid, node: info.node, type: info.type, id: info.id, user: info.user, starttime: info.starttime });
}

/**
 * For dialogs: performs the call and throws ApiError (so the dialog shows per-field errors); a started task
 * is then followed in the background with the usual toasts.
 */
export async function submit(method, path, params, { label, onDone } = {}) {
    const data = await api(method, path, params);
    if (isUPID(data)) {
        announce(data);
        followUPID(data, { label, onDone });
    } else {
        if (connection.mode !== 'live') refresh().catch(() => {});
        if (onDone) onDone(true);
    }
    return data;
}

/** Follows an already started task (toasts on the outcome). */
export async function followUPID(upid, { label, onDone, quiet = false } = {}) {
    const info = parseUPID(upid);
    const title = label || taskDescription(info);
    try {
        const status = await waitTask(info.node, upid);
        noteTask({ upid, node: info.node, type: info.type, id: info.id, user: info.user,
            starttime: info.starttime, endtime: status.endtime || Math.floor(Date.now() / 1000), status: status.exitstatus });
        if (connection.mode !== 'live') refresh().catch(() => {});
        const state = taskState(status);
        if (state === 'error') toast(`${title} failed: ${taskError(status)}`, { kind: 'error', taskHref: routes.task(info.node, upid) });
        else if (!quiet) toast(`${title}: done`, { kind: 'ok' });
        if (onDone) onDone(state !== 'error', status);
        return status;
    } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) toast(`${title}: ${e.message}`, { kind: 'error' });
        if (onDone) onDone(false);
        return null;
    }
}
