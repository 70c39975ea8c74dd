// Human formats: sizes in IEC units, percentages, local dates, uptimes, task names.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(n, digits = 1) {
    if (n === undefined || n === null || Number.isNaN(Number(n))) return '–';
    let v = Number(n);
    let i = 0;
    while (Math.abs(v) >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; }
    if (i === 0) return `${Number.isInteger(v) || Math.abs(v) >= 100 ? Math.round(v) : v.toFixed(digits)} B`;
    return `${v.toFixed(v >= 100 ? 0 : digits)} ${UNITS[i]}`;
}

/** Bytes per second as a rate. */
export function rate(n) { return n === undefined || n === null ? '–' : `${bytes(n)}/s`; }

export function percent(fraction, digits = 1) {
    if (fraction === undefined || fraction === null || Number.isNaN(Number(fraction))) return '–';
    return `${(Number(fraction) * 100).toFixed(digits)}%`;
}

export function usage(used, total) {
    if (!total) return bytes(used);
    return `${percent(used / total)} (${bytes(used)} of ${bytes(total)})`;
}

export function uptime(seconds) {
    const s = Math.floor(Number(seconds) || 0);
    if (s <= 0) return '–';
    const d = Math.floor(s / 86400);
    const hrs = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d) return `${d}d ${hrs}h ${m}m`;
    if (hrs) return `${hrs}h ${m}m`;
    if (m) return `${m}m ${s % 60}s`;
    return `${s}s`;
}

const pad = (n) => String(n).padStart(2, '0');

/** Local time as "2026-12-07 14:03:12" (sortable, unambiguous). */
export function dateTime(epoch) {
    if (!epoch) return '–';
    const d = new Date(Number(epoch) * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Shorter form for lists: time only when it is today. */
export function shortDateTime(epoch) {
    if (!epoch) return '–';
    const d = new Date(Number(epoch) * 1000);
    const now = new Date();
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    if (d.toDateString() === now.toDateString()) return time;
    return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

export function duration(seconds) {
    const s = Math.max(0, Math.round(Number(seconds) || 0));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    return uptime(s);
}

export function relativeTime(epoch) {
    const diff = Date.now() / 1000 - Number(epoch);
    if (diff < 60) return 'just now';
    if (diff < 3600) return `${Math.floor(diff / 60)} min ago`;
    if (diff < 86400) return `${Math.floor(diff / 3600)} h ago`;
    return dateTime(epoch);
}

/** "UPID:node:pid:pstart:starttime:type:id:user:" → its parts (starttime is hex). */
export function parseUPID(upid) {
    const p = String(upid || '').split(':');
    if (p[0] !== 'UPID' || p.length < 8) return null;
    return {
        node: p[1], pid: parseInt(p[2], 16), pstart: parseInt(p[3], 16), starttime: parseInt(p[4], 16),
        type: p[5], id: p[6], user: p[7],
    };
}

const TASK_NAMES = {
    qmstart: 'Start', qmstop: 'Stop', qmshutdown: 'Shutdown', qmreboot: 'Reboot', qmreset: 'Reset',
    qmsuspend: 'Suspend', qmresume: 'Resume', qmpause: 'Pause', qmcreate: 'Create', qmdestroy: 'Destroy',
    qmconfig: 'Update configuration', qmsnapshot: 'Take snapshot', qmrollback: 'Roll back snapshot',
    qmdelsnapshot: 'Delete snapshot', qmresize: 'Resize disk', qmmove: 'Move disk', qmclone: 'Clone',
    qmtemplate: 'Convert to template', qmigrate: 'Migrate', vncproxy: 'VNC console', termproxy: 'Serial console',
    vncshell: 'Shell', startall: 'Start all VMs', stopall: 'Stop all VMs', srvreload: 'Reload service',
    srvrestart: 'Restart service', imgcopy: 'Upload', download: 'Download', imgdel: 'Delete volume',
    vzdump: 'Backup', qmrestore: 'Restore', aptupdate: 'Update package database', diskinit: 'Initialize disk',
    move_volume: 'Move volume', qmmigrate: 'Migrate',
};

/** "VM 100 — Start" style text for a task entry or UPID. */
export function taskDescription(task) {
    const t = typeof task === 'string' ? parseUPID(task) || {} : task;
    const name = TASK_NAMES[t.type] || t.type || 'Task';
    if (!t.id) return name;
    if (/^qm|^vnc|^term/.test(t.type || '')) return `VM ${t.id} — ${name}`;
    if (t.type === 'srvreload' && t.id === 'networking') return 'Apply network configuration';
    return `${name} ${t.id}`;
}

/** Task state for display and for data-status: running, ok, warning or error. */
export function taskState(task) {
    if (task.status === 'running') return 'running';
    const s = task.status === 'stopped' ? task.exitstatus : task.status;
    if (s === undefined || s === null || s === '') return task.endtime ? 'ok' : 'running';
    if (s === 'OK') return 'ok';
    if (/^WARNINGS?:/.test(s)) return 'warning';
    return 'error';
}

/** The error text of a finished task (its exit status), or ''. */
export function taskError(task) {
    const s = task.status === 'stopped' ? task.exitstatus : task.status;
    return taskState(task) === 'error' || taskState(task) === 'warning' ? String(s) : '';
}

/** Parses Proxmox property strings ("virtio=AA:BB,bridge=vmbr0,firewall=1"); a bare first item goes to `defaultKey`. */
export function parsePropertyString(s, defaultKey) {
    const out = {};
    if (!s) return out;
    String(s).split(',').forEach((part, i) => {
        const eq = part.indexOf('=');
        if (eq < 0) {
            if (i === 0 && defaultKey) out[defaultKey] = part;
            else out[part] = true;
        } else {
            out[part.slice(0, eq)] = part.slice(eq + 1);
        }
    });
    return out;
}

export function buildPropertyString(obj, defaultKey) {
    const parts = [];
    if (defaultKey && obj[defaultKey] !== undefined && obj[defaultKey] !== '') parts.push(obj[defaultKey]);
    for (const [k, v] of Object.entries(obj)) {
        if (k === defaultKey || v === undefined || v === null || v === '') continue;
        parts.push(`${k}=${v === true ? 1 : v === false ? 0 : v}`);
    }
    return parts.join(',');
}

/** "2G" / "512M" / "1024" (bytes) sizes as in disk strings → bytes. */
export function parseSize(s) {
    const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/i.exec(String(s || '').trim());
    if (!m) return null;
    const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2].toUpperCase()];
    return Number(m[1]) * mult;
}

export function splitTags(tags) {
    return String(tags || '').split(/[;, ]+/).filter(Boolean);
}

/** A stable hue for a tag name so each tag keeps its colour. */
export function tagHue(tag) {
    let hash = 0;
    for (const ch of tag) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
    return hash % 360;
}
