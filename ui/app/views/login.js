// Login form: user, password and realm (pam or pve); the place you came from is kept in ?next=.
import { h, iconEl } from '../dom.js';
import { login, realms } from '../session.js';

export function renderLogin(root, { next, onLoggedIn }) {
    const username = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', autocapitalize: 'off', spellcheck: 'false', required: true, autofocus: true });
    const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const realm = h('select', { id: 'login-realm', name: 'realm' },
        h('option', { value: 'pam' }, 'Linux PAM standard authentication'),
        h('option', { value: 'pve' }, 'Vireo authentication server'));
    const error = h('div', { class: 'login-error', 'data-testid': 'login-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'login-submit' }, h('span', null, 'Log in'));
    const remember = h('input', { type: 'checkbox', id: 'login-remember' });
    const saved = JSON.parse(localStorage.getItem('vireo.login') || 'null');
    if (saved) {
        username.value = saved.user || '';
        realm.value = saved.realm || 'pam';
        remember.checked = true;
    }
    const row = (label, input, forId) => h('div', { class: 'field' }, h('label', { class: 'field-label', for: forId }, label), h('div', { class: 'field-control' }, input));
    const form = h('form', { class: 'login-card', novalidate: true, 'aria-label': 'Log in' },
        h('div', { class: 'brand' }, h('img', { src: new URL('../../img/vireo.svg', import.meta.url).href, alt: '' }), 'Vireo'),
        h('div', { class: 'tagline' }, 'Virtualization control plane — log in to manage your nodes and VMs.'),
        row('User name', username, 'login-username'),
        row('Password', password, 'login-password'),
        row('Realm', realm, 'login-realm'),
        h('label', { class: 'field-check field' }, remember, h('span', null, 'Remember user name')),
        error,
        submit,
        h('div', { class: 'login-note' }, 'Tip: a user name like ', h('code', null, 'alice@pve'), ' picks its realm.'));
    root.className = '';
    root.replaceChildren(h('main', { class: 'login-page' }, form));
    if (username.value) password.focus(); else username.focus();

    // Show the realms the server offers (a realm added later still works).
    realms().then((list) => {
        const current = realm.value;
        const offered = list.filter((r) => r.realm);
        if (!offered.length) return;
        realm.replaceChildren(...offered.map((r) => h('option', { value: r.realm }, r.comment ? `${r.comment} (${r.realm})` : r.realm)));
        const def = offered.find((r) => r.default);
        realm.value = saved ? current : def ? def.realm : offered.some((r) => r.realm === current) ? current : offered[0].realm;
    }).catch(() => {});

    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        error.hidden = true;
        let user = username.value.trim();
        if (!user || !password.value) {
            showError(!user ? 'Enter your user name.' : 'Enter your password.');
            (!user ? username : password).focus();
            return;
        }
        // "alice@pve" already names its realm; otherwise append the chosen one.
        const at = user.lastIndexOf('@');
        const knownRealm = at > 0 && [...realm.options].some((o) => o.value === user.slice(at + 1));
        if (!knownRealm) user = `${user}@${realm.value}`;
        submit.disabled = true;
        submit.classList.add('busy');
        try {
            await login(user, password.value);
            if (remember.checked) localStorage.setItem('vireo.login', JSON.stringify({ user: username.value.trim(), realm: realm.value }));
            else localStorage.removeItem('vireo.login');
            onLoggedIn(next);
        } catch (e) {
            showError(e.message);
            password.select();
            password.focus();
        } finally {
            submit.disabled = false;
            submit.classList.remove('busy');
        }
    });

    function showError(msg) {
        error.replaceChildren(iconEl('error'), h('span', null, msg));
        error.hidden = false;
    }
    return () => {};
}
