// The command-line equivalents of an API call (qm, pvesm, pveum, pvesh) and its raw HTTP form.
import { encodeParams } from './api.js';

const VERB = { GET: 'get', POST: 'create', PUT: 'set', DELETE: 'delete' };

export function shellQuote(v) {
    const s = String(v);
    return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function flags(params, skip = []) {
    return Object.entries(params)
        .filter(([k, v]) => !skip.includes(k) && v !== undefined && v !== null && v !== '')
        .map(([k, v]) => `--${k} ${shellQuote(v === true ? 1 : v === false ? 0 : v)}`)
        .join(' ');
}

const join = (...parts) => parts.filter(Boolean).join(' ');

// Specific tools for the common paths; everything else is pvesh.
const RULES = [
    ['POST', /^\/nodes\/[^/]+\/qemu$/, (m, p) => join('qm create', p.vmid, flags(p, ['vmid']))],
    ['PUT', /^\/nodes\/[^/]+\/qemu\/(\d+)\/config$/, (m, p) => join('qm set', m[1], flags(p))],
    ['POST', /^\/nodes\/[^/]+\/qemu\/(\d+)\/config$/, (m, p) => join('qm set', m[1], flags(p))],
    ['POST', /^\/nodes\/[^/]+\/qemu\/(\d+)\/status\/(\w+)$/, (m, p) => join('qm', m[2], m[1], flags(p))],
    ['DELETE', /^\/nodes\/[^/]+\/qemu\/(\d+)$/, (m, p) => join('qm destroy', m[1], flags(p))],
    ['POST', /^\/nodes\/[^/]+\/qemu\/(\d+)\/snapshot$/, (m, p) => join('qm snapshot', m[1], shellQuote(p.snapname || ''), flags(p, ['snapname']))],
    ['POST', /^\/nodes\/[^/]+\/qemu\/(\d+)\/snapshot\/([^/]+)\/rollback$/, (m, p) => join('qm rollback', m[1], m[2], flags(p))],
    ['DELETE', /^\/nodes\/[^/]+\/qemu\/(\d+)\/snapshot\/([^/]+)$/, (m, p) => join('qm delsnapshot', m[1], m[2], flags(p))],
    ['PUT', /^\/nodes\/[^/]+\/qemu\/(\d+)\/resize$/, (m, p) => join('qm disk resize', m[1], p.disk, shellQuote(p.size || ''))],
    ['POST', /^\/nodes\/[^/]+\/qemu\/(\d+)\/move_disk$/, (m, p) => join('qm disk move', m[1], p.disk, p.storage, flags(p, ['disk', 'storage']))],
    ['POST', /^\/nodes\/[^/]+\/qemu\/(\d+)\/unlink$/, (m, p) => join('qm disk unlink', m[1], flags(p))],
    ['DELETE', /^\/nodes\/[^/]+\/storage\/[^/]+\/content\/(.+)$/, (m) => join('pvesm free', shellQuote(decodeURIComponent(m[1])))],
    ['POST', /^\/access\/users$/, (m, p) => join('pveum user add', p.userid, flags(p, ['userid', 'password']), p.password ? '--password' : '')],
    ['PUT', /^\/access\/users\/([^/]+)$/, (m, p) => join('pveum user modify', decodeURIComponent(m[1]), flags(p))],
    ['DELETE', /^\/access\/users\/([^/]+)$/, (m) => join('pveum user delete', decodeURIComponent(m[1]))],
    ['POST', /^\/access\/users\/([^/]+)\/token\/([^/]+)$/, (m, p) => join('pveum user token add', decodeURIComponent(m[1]), decodeURIComponent(m[2]), flags(p))],
    ['DELETE', /^\/access\/users\/([^/]+)\/token\/([^/]+)$/, (m) => join('pveum user token remove', decodeURIComponent(m[1]), decodeURIComponent(m[2]))],
    ['POST', /^\/access\/groups$/, (m, p) => join('pveum group add', p.groupid, flags(p, ['groupid']))],
    ['DELETE', /^\/access\/groups\/([^/]+)$/, (m) => join('pveum group delete', decodeURIComponent(m[1]))],
    ['POST', /^\/access\/roles$/, (m, p) => join('pveum role add', p.roleid, flags(p, ['roleid']))],
    ['DELETE', /^\/access\/roles\/([^/]+)$/, (m) => join('pveum role delete', decodeURIComponent(m[1]))],
    ['PUT', /^\/access\/acl$/, (m, p) => join(p.delete ? 'pveum acl delete' : 'pveum acl modify', shellQuote(p.path || '/'), flags(p, ['path', 'delete']))],
    ['PUT', /^\/access\/password$/, (m, p) => join('pveum passwd', p.userid)],
];

/** {tool, pvesh, http} lines for `method path params` (passwords are masked). */
export function cliFor(method, path, params = {}) {
    const shown = {};
    for (const [k, v] of Object.entries(params)) {
        if (v === undefined || v === null || v === '') continue;
        shown[k] = /password|secret/i.test(k) ? '********' : v;
    }
    let tool = null;
    for (const [m, re, build] of RULES) {
        const match = m === method && re.exec(path);
        if (match) { tool = build(match, shown); break; }
    }
    const pvesh = join('pvesh', VERB[method], path, flags(shown));
    const body = encodeParams(shown).toString();
    const http = method === 'GET' || method === 'DELETE'
        ? `${method} /api2/json${path}${body ? `?${body}` : ''}`
        : `${method} /api2/json${path}${body ? `\n${decodeURIComponent(body.replace(/\+/g, ' '))}` : ''}`;
    return { tool, pvesh, http };
}
