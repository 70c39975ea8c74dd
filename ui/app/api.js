// The one way to talk to vireod: /api2/json with the ticket cookie, CSRF header on writes, form-encoded bodies.
import { session } from './session.js';

export const API_BASE = '/api2/json';

export class ApiError extends Error {
    constructor(status, message, errors, body) {
        super(message || `HTTP ${status}`);
        this.status = status;
        this.errors = errors || null;
        this.body = body;
    }
}

/** Serialises params as Proxmox's UI does: booleans as 1/0, undefined/null/'' dropped unless `keepEmpty`. */
export function encodeParams(params, keepEmpty = false) {
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
        if (v === undefined || v === null || (v === '' && !keepEmpty)) continue;
        if (Array.isArray(v)) v.forEach((x) => sp.append(k, x));
        else sp.append(k, v === true ? '1' : v === false ? '0' : String(v));
    }
    return sp;
}

let unauthorizedHandler = () => {};
/** main.js routes a 401 to the login form, keeping the place. */
export function onUnauthorized(fn) { unauthorizedHandler = fn; }

/** Returns the whole JSON body ({data, changes, total…}); throws ApiError on failure. */
export async function apiRaw(method, path, params, { signal, auth = true } = {}) {
    let url = API_BASE + path;
    const init = { method, credentials: 'same-origin', headers: {}, signal };
    if (method === 'GET' || method === 'DELETE') {
        const qs = encodeParams(params).toString();
        if (qs) url += (url.includes('?') ? '&' : '?') + qs;
    } else if (params) {
        init.body = encodeParams(params);
        init.headers['Content-Type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
    }
    if (method !== 'GET' && session.csrf) init.headers.CSRFPreventionToken = session.csrf;
    let res;
    try {
        res = await fetch(url, init);
    } catch (e) {
        if (e.name === 'AbortError') throw e;
        throw new ApiError(0, `Connection to the server failed (${e.message})`);
    }
    let body = null;
    const text = await res.text();
    if (text) {
        try { body = JSON.parse(text); } catch { body = { message: text }; }
    }
    if (!res.ok) {
        const message = (body && body.message ? String(body.message).trim() : '') || res.statusText || `HTTP ${res.status}`;
        const err = new ApiError(res.status, message, body && body.errors, body);
        if (res.status === 401 && auth) unauthorizedHandler();
        throw err;
    }
    return body || { data: null };
}

export async function api(method, path, params, opts) {
    return (await apiRaw(method, path, params, opts)).data;
}

export const get = (path, params, opts) => api('GET', path, params, opts);
export const post = (path, params, opts) => api('POST', path, params, opts);
export const put = (path, params, opts) => api('PUT', path, params, opts);
export const del = (path, params, opts) => api('DELETE', path, params, opts);

/** Encodes one path segment (user ids contain @, volids contain : and /). */
export const seg = (s) => encodeURIComponent(String(s));

export const isUPID = (v) => typeof v === 'string' && v.startsWith('UPID:');
