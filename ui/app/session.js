// Login state: the ticket lives in the PVEAuthCookie cookie, the rest in localStorage (shared with pop-out consoles).

const KEY = 'vireo.session';
const RENEW_EVERY_MS = 15 * 60 * 1000;

export const session = {
    username: null,
    csrf: null,
    cap: null,
    issued: 0,   // ms since epoch of the current ticket
    load() {
        try {
            const s = JSON.parse(localStorage.getItem(KEY) || 'null');
            if (s && s.username && s.CSRFPreventionToken) {
                this.username = s.username;
                this.csrf = s.CSRFPreventionToken;
                this.cap = s.cap || null;
                this.issued = s.issued || 0;
            }
        } catch { /* a corrupt entry means logged out */ }
        return this.loggedIn();
    },
    loggedIn() { return Boolean(this.username && this.csrf && document.cookie.includes('PVEAuthCookie=')); },
    store(data) {
        this.username = data.username;
        this.csrf = data.CSRFPreventionToken;
        this.cap = data.cap || null;
        this.issued = Date.now();
        document.cookie = `PVEAuthCookie=${encodeURIComponent(data.ticket)}; path=/; secure; samesite=strict`;
        localStorage.setItem(KEY, JSON.stringify({
            username: this.username, CSRFPreventionToken: this.csrf, cap: this.cap, issued: this.issued,
        }));
    },
    clear() {
        this.username = this.csrf = this.cap = null;
        this.issued = 0;
        document.cookie = 'PVEAuthCookie=; path=/; Max-Age=0; secure; samesite=strict';
        localStorage.removeItem(KEY);
    },
    /** True when the user holds `priv` in the cap section ('vms', 'storage', 'nodes', 'access', 'dc'). */
    can(section, priv) { return !this.cap || Boolean(this.cap[section] && this.cap[section][priv]); },
};

function ticketFromCookie() {
    const m = /(?:^|;\s*)PVEAuthCookie=([^;]*)/.exec(document.cookie);
    return m ? decodeURIComponent(m[1]) : null;
}

async function postTicket(username, password) {
    const res = await fetch('/api2/json/access/ticket', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=UTF-8' },
        body: new URLSearchParams({ username, password }),
    });
    const text = await res.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = null; }
    if (!res.ok || !body || !body.data) {
        const err = new Error(res.status === 401 ? 'Login failed: wrong user name or password.'
            : (body && body.message ? String(body.message).trim() : `Login failed (HTTP ${res.status}).`));
        err.status = res.status;
        throw err;
    }
    return body.data;
}

export async function login(username, password) {
    const data = await postTicket(username, password);
    session.store(data);
    scheduleRenewal();
}

/** Swaps the current ticket for a fresh one (tickets live 2 h). */
export async function renew() {
    const ticket = ticketFromCookie();
    if (!ticket || !session.username) return;
    try {
        session.store(await postTicket(session.username, ticket));
    } catch (e) {
        if (e.status === 401) window.dispatchEvent(new CustomEvent('vireo:unauthorized'));
    }
}

let renewTimer = null;
export function scheduleRenewal() {
    clearInterval(renewTimer);
    renewTimer = setInterval(renew, RENEW_EVERY_MS);
    if (Date.now() - session.issued > RENEW_EVERY_MS) renew();
}

export function logout() {
    clearInterval(renewTimer);
    session.clear();
}

export async function realms() {
    const res = await fetch('/api2/json/access/domains', { credentials: 'same-origin' });
    if (!res.ok) return [{ realm: 'pam', comment: 'Linux PAM' }, { realm: 'pve', comment: 'Vireo' }];
    return (await res.json()).data || [];
}
