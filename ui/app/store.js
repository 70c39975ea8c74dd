// Live cluster state: resources by id and recent tasks, fed by the /cluster/events stream (SSE) or, when the
// stream is unavailable, by polling every 3 s. Views subscribe and update in place.
import { get, API_BASE } from './api.js';

const POLL_MS = 3000;

const resources = new Map();   // id → entry as in /cluster/resources
let pools = [];                // [{poolid, comment, members?}]
let tasks = [];                // newest first, shaped like /cluster/tasks
const listeners = { resources: new Set(), tasks: new Set(), pools: new Set(), connection: new Set(), taskEnd: new Set() };

let source = null;
let pollTimer = null;
let poolTimer = null;
let started = false;
let readyResolve;
/** Resolves when the first resource list arrived (renewed for each login). */
export let ready;
function resetReady() { ready = new Promise((r) => { readyResolve = r; }); }
resetReady();
export const connection = { mode: 'connecting', lastUpdate: 0 };

export function subscribe(topic, fn) {
    listeners[topic].add(fn);
    return () => listeners[topic].delete(fn);
}

function emit(topic, detail) {
    for (const fn of listeners[topic]) {
        try { fn(detail); } catch (e) { console.error(e); }
    }
}

export const getResource = (id) => resources.get(id);
export const allResources = () => [...resources.values()];
export const byType = (type) => allResources().filter((r) => r.type === type);
export const getPools = () => pools;
export const getTasks = () => tasks;
/** VMIDs are cluster-unique; the VM's node comes from here. */
export const vmById = (vmid) => resources.get(`qemu/${vmid}`) || resources.get(`lxc/${vmid}`);
export const nodes = () => byType('node').map((n) => n.node).sort();

function applyResources({ full, data, removed }) {
    const changed = [];
    const gone = [];
    if (full) {
        const seen = new Set();
        for (const entry of data || []) {
            seen.add(entry.id);
            if (!sameEntry(resources.get(entry.id), entry)) changed.push(entry.id);
            resources.set(entry.id, entry);
        }
        for (const id of [...resources.keys()]) {
            if (!seen.has(id)) { resources.delete(id); gone.push(id); }
        }
    } else {
        for (const entry of data || []) {
            resources.set(entry.id, entry);
            changed.push(entry.id);
        }
        for (const id of removed || []) {
            if (resources.delete(id)) gone.push(id);
        }
    }
    connection.lastUpdate = Date.now();
    if (changed.length || gone.length || full) emit('resources', { full, changed, removed: gone });
    readyResolve();
}

function sameEntry(a, b) {
    if (!a) return false;
    for (const k of Object.keys(b)) if (a[k] !== b[k]) return false;
    return Object.keys(a).length === Object.keys(b).length;
}

const finished = (t) => Boolean(t && (t.endtime || (t.status && t.status !== 'running')));

function applyTasks(list) {
    const byUpid = new Map(tasks.map((t) => [t.upid, t]));
    const ended = [];
    for (const t of list || []) {
        const old = byUpid.get(t.upid);
        const merged = { ...old, ...t };
        if (old && !finished(old) && finished(merged)) ended.push(merged);
        byUpid.set(t.upid, merged);
    }
    tasks = [...byUpid.values()].sort((a, b) => (b.starttime || 0) - (a.starttime || 0)).slice(0, 200);
    emit('tasks', tasks);
    for (const t of ended) emit('taskEnd', t);
}

/** Calls fn(task) when a task about VM `vmid` (or any, without vmid) ends: views reload what it changed. */
export function onTaskEnd(fn, vmid) {
    return subscribe('taskEnd', (t) => { if (vmid === undefined || String(t.id) === String(vmid)) fn(t); });
}

/** A task we started ourselves shows at once, before the stream reports it. */
export function noteTask(task) { applyTasks([task]); }

async function loadPools() {
    try {
        const list = await get('/pools');
        pools = (list || []).sort((a, b) => a.poolid.localeCompare(b.poolid));
        const detailed = await Promise.all(pools.map((p) => get(`/pools/${encodeURIComponent(p.poolid)}`)
            .then((d) => ({ ...p, members: d.members || [] })).catch(() => ({ ...p, members: [] }))));
        pools = detailed;
        emit('pools', pools);
    } catch { /* pools are optional */ }
}

export async function refresh() {
    const [res, tl] = await Promise.all([get('/cluster/resources'), get('/cluster/tasks')]);
    applyResources({ full: true, data: res });
    applyTasks(tl);
}

function startPolling() {
    if (pollTimer) return;
    setMode('polling');
    const tick = () => refresh().catch((e) => { if (e.status !== 401) setMode('offline'); });
    tick();
    pollTimer = setInterval(tick, POLL_MS);
}

function setMode(mode) {
    if (connection.mode === mode) return;
    connection.mode = mode;
    emit('connection', connection);
}

function startStream() {
    let gotMessage = false;
    try {
        source = new EventSource(`${API_BASE}/cluster/events`);
    } catch {
        startPolling();
        return;
    }
    source.addEventListener('resources', (ev) => {
        gotMessage = true;
        setMode('live');
        applyResources(JSON.parse(ev.data));
    });
    source.addEventListener('tasks', (ev) => {
        gotMessage = true;
        applyTasks(JSON.parse(ev.data).data);
    });
    source.addEventListener('error', () => {
        // Before the first message: the daemon has no stream (or we are not authorised): poll instead.
        // A closed source (an HTTP error such as 401 on reconnect) will not retry: polling takes over and
        // reports a 401 to the login form.
        if (!gotMessage || source.readyState === EventSource.CLOSED) {
            source.close();
            source = null;
            startPolling();
        } else {
            setMode('reconnecting');   // EventSource reconnects by itself
        }
    });
}

// A page that goes away (reload, navigation) closes its stream itself: left to the browser, the open
// response keeps one of its six HTTP/1.1 connections to the node busy for about a minute, and after a
// few reloads every request of the app waits in the browser's queue.
window.addEventListener('pagehide', () => { if (source) { source.close(); source = null; } });
window.addEventListener('pageshow', (ev) => { if (ev.persisted && started && !source && !pollTimer) startStream(); });

export function start() {
    if (started) return;
    started = true;
    startStream();
    loadPools();
    // Pools change rarely and the stream may not carry them.
    poolTimer = setInterval(loadPools, 30000);
}

export function stop() {
    started = false;
    if (source) source.close();
    source = null;
    clearInterval(pollTimer);
    clearInterval(poolTimer);
    pollTimer = null;
    // The next user may see other things.
    resources.clear();
    tasks = [];
    pools = [];
    connection.mode = 'connecting';
    resetReady();
}

export { loadPools as refreshPools };
