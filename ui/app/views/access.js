// Permissions: users, groups, API tokens (secret shown once), ACL entries and roles.
import { h, iconEl, button, copyText } from '../dom.js';
import { get, seg } from '../api.js';
import { openFormDialog, confirm, inform } from '../components/dialog.js';
import { run } from '../actions.js';
import { createTable } from '../components/table.js';
import { pageTitle, notice } from '../components/widgets.js';
import { dateTime } from '../format.js';
import { toast } from '../components/toast.js';
import * as store from '../store.js';
import { session } from '../session.js';

const dateToEpoch = (d) => (d ? Math.floor(new Date(`${d}T23:59:59`).getTime() / 1000) : 0);
const epochToDate = (e) => { if (!Number(e)) return ''; const d = new Date(Number(e) * 1000); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`; };
const expiry = (e) => (Number(e) ? dateTime(e).slice(0, 10) : 'never');
const realmOf = (userid) => String(userid).split('@').pop();

/** A list screen: a title with buttons, a keyed table and a loader; returns {table, load, slot}. */
function listScreen(content, title, buttons, tableOpts, loader) {
    const slot = h('div');
    const table = createTable(tableOpts);
    content.append(pageTitle(title, ...buttons), slot, table.el);
    let gone = false;
    const load = async () => {
        try {
            const rows = await loader();
            if (!gone) { slot.replaceChildren(); table.update(rows); }
        } catch (e) {
            if (!gone) slot.replaceChildren(notice('error', e.message));
        }
    };
    load.stop = () => { gone = true; };
    return { table, load, slot };
}

async function realmOptions() {
    const list = await get('/access/domains').catch(() => [{ realm: 'pve' }, { realm: 'pam' }]);
    return list.map((r) => [r.realm, r.comment ? `${r.realm} — ${r.comment}` : r.realm]);
}

function users(content) {
    const screen = listScreen(content, 'Users', [button('Add user', () => edit(null), { icon: 'plus', kind: 'primary', testid: 'user-create' })], {
        columns: [
            { id: 'userid', label: 'User', render: (u) => h('span', { class: 'status-cell' }, iconEl('user'), u.userid) },
            { id: 'realm', label: 'Realm', render: (u) => realmOf(u.userid), sortValue: (u) => realmOf(u.userid) },
            { id: 'enable', label: 'Enabled', render: (u) => (u.enable === 0 ? h('span', { class: 'badge error' }, 'no') : h('span', { class: 'badge ok' }, 'yes')) },
            { id: 'expire', label: 'Expires', render: (u) => expiry(u.expire) },
            { id: 'name', label: 'Name', render: (u) => [u.firstname, u.lastname].filter(Boolean).join(' '), class: 'hide-narrow' },
            { id: 'email', label: 'E-mail', class: 'hide-narrow' },
            { id: 'groups', label: 'Groups', render: (u) => (Array.isArray(u.groups) ? u.groups.join(', ') : u.groups || '') },
            { id: 'comment', label: 'Comment', class: 'wrap hide-narrow' },
            { id: 'act', label: '', class: 'actions', sortValue: false, render: (u) => [
                button('Edit', () => edit(u), { icon: 'edit', testid: 'user-edit' }),
                realmOf(u.userid) === 'pve' ? button('Password', () => password(u), { icon: 'key', testid: 'user-password' }) : null,
                button('Delete', () => remove(u), { icon: 'trash', testid: 'user-delete', disabled: u.userid === session.username || u.userid === 'root@pam' })] },
        ],
        key: (u) => u.userid, sort: { id: 'userid', dir: 1 },
        rowAttrs: (u) => ({ 'data-testid': 'user-row', 'data-userid': u.userid }), empty: 'No users.',
    }, () => get('/access/users', { full: 1 }));

    async function edit(u) {
        const [realms, groups] = await Promise.all([realmOptions(), get('/access/groups').catch(() => [])]);
        const groupOpts = groups.map((g) => g.groupid);
        const fields = u ? [] : [
            { name: 'userid', label: 'User name', required: true, autofocus: true, placeholder: 'alice', help: 'With or without @realm.' },
            { name: 'realm', label: 'Realm', type: 'select', options: realms, value: 'pve' },
            { name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', help: 'Only for the pve realm; at least 8 characters.' },
            { name: 'confirm', label: 'Confirm password', type: 'password', autocomplete: 'new-password' },
        ];
        fields.push(
            { name: 'firstname', label: 'First name', value: u?.firstname || '' },
            { name: 'lastname', label: 'Last name', value: u?.lastname || '' },
            { name: 'email', label: 'E-mail', type: 'email', value: u?.email || '' },
            { name: 'expire', label: 'Expires', type: 'date', value: epochToDate(u?.expire), help: 'Empty: never.' },
            { name: 'groups', label: 'Groups', value: Array.isArray(u?.groups) ? u.groups.join(',') : u?.groups || '', placeholder: groupOpts.join(',') || 'no groups yet', help: groupOpts.length ? `Comma-separated; existing: ${groupOpts.join(', ')}` : '' },
            { name: 'enable', label: 'Enabled', type: 'checkbox', value: u ? u.enable !== 0 : true },
            { name: 'comment', label: 'Comment', value: u?.comment || '', full: true });
        const fullId = (v) => (v.userid.includes('@') ? v.userid : `${v.userid}@${v.realm}`);
        openFormDialog({
            title: u ? `Edit user ${u.userid}` : 'Add user', icon: 'user', submitLabel: u ? 'OK' : 'Add',
            fields,
            onChange: (v, fs) => { if (!u) { const pve = realmOf(fullId(v)) === 'pve'; fs.get('password').show(pve); fs.get('confirm').show(pve); } },
            check: (v) => {
                if (u) return {};
                if (!/^[^\s:/@]+(@[A-Za-z][A-Za-z0-9.\-_]+)?$/.test(v.userid)) return { userid: 'A name without spaces, : or /; optionally @realm.' };
                if (v.password !== undefined && v.password !== v.confirm) return { confirm: 'The passwords differ.' };
                if (v.password && v.password.length < 8) return { password: 'At least 8 characters.' };
                return {};
            },
            request: (v) => {
                const common = { firstname: v.firstname || undefined, lastname: v.lastname || undefined, email: v.email || undefined,
                    expire: v.expire ? dateToEpoch(v.expire) : u ? 0 : undefined, groups: v.groups || (u ? '' : undefined), enable: v.enable ? 1 : 0, comment: v.comment || undefined };
                if (u) return { method: 'PUT', path: `/access/users/${seg(u.userid)}`, template: '/access/users/{userid}', params: common };
                return { method: 'POST', path: '/access/users', template: '/access/users', params: { userid: fullId(v), password: v.password || undefined, ...common } };
            },
            onSuccess: screen.load,
        });
    }

    function password(u) {
        openFormDialog({
            title: `Change password of ${u.userid}`, icon: 'key',
            fields: [
                { name: 'password', label: 'New password', type: 'password', required: true, autofocus: true, autocomplete: 'new-password' },
                { name: 'confirm', label: 'Confirm', type: 'password', required: true, autocomplete: 'new-password' },
            ],
            check: (v) => (v.password.length < 8 ? { password: 'At least 8 characters.' } : v.password !== v.confirm ? { confirm: 'The passwords differ.' } : {}),
            request: (v) => ({ method: 'PUT', path: '/access/password', template: '/access/password', params: { userid: u.userid, password: v.password } }),
            onSuccess: () => toast(`Password of ${u.userid} changed`, { kind: 'ok' }),
        });
    }

    async function remove(u) {
        const path = `/access/users/${seg(u.userid)}`;
        if (await confirm({ title: `Delete user ${u.userid}`, danger: true, okLabel: 'Delete', message: `Delete ${u.userid}, its API tokens and its permissions?`, request: { method: 'DELETE', path, params: {} } })) {
            run('DELETE', path, {}, { label: `Delete ${u.userid}` }).then(screen.load);
        }
    }
    screen.load();
    return screen.load.stop;
}

function groups(content) {
    const screen = listScreen(content, 'Groups', [button('Add group', () => edit(null), { icon: 'plus', kind: 'primary', testid: 'group-create' })], {
        columns: [
            { id: 'groupid', label: 'Group', render: (g) => h('span', { class: 'status-cell' }, iconEl('group'), g.groupid) },
            { id: 'users', label: 'Members', class: 'wrap', render: (g) => (Array.isArray(g.users) ? g.users.join(', ') : g.users || '') },
            { id: 'comment', label: 'Comment', class: 'wrap' },
            { id: 'act', label: '', class: 'actions', sortValue: false, render: (g) => [button('Edit', () => edit(g), { icon: 'edit' }), button('Delete', () => remove(g), { icon: 'trash', testid: 'group-delete' })] },
        ],
        key: (g) => g.groupid, sort: { id: 'groupid', dir: 1 }, rowAttrs: (g) => ({ 'data-testid': 'group-row', 'data-groupid': g.groupid }),
        empty: 'No groups yet. Groups let you grant permissions to many users at once.',
    }, () => get('/access/groups'));
    function edit(g) {
        openFormDialog({
            title: g ? `Edit group ${g.groupid}` : 'Add group', icon: 'group', submitLabel: g ? 'OK' : 'Add',
            fields: [{ name: 'groupid', label: 'Name', value: g?.groupid || '', required: true, disabled: Boolean(g), autofocus: !g }, { name: 'comment', label: 'Comment', value: g?.comment || '' }],
            request: (v) => (g ? { method: 'PUT', path: `/access/groups/${seg(g.groupid)}`, template: '/access/groups/{groupid}', params: { comment: v.comment } }
                : { method: 'POST', path: '/access/groups', template: '/access/groups', params: { groupid: v.groupid, comment: v.comment || undefined } }),
            onSuccess: screen.load,
        });
    }
    async function remove(g) {
        const path = `/access/groups/${seg(g.groupid)}`;
        if (await confirm({ title: `Delete group ${g.groupid}`, danger: true, okLabel: 'Delete', message: `Delete group ${g.groupid}? Its members stay; permissions granted to the group go.`, request: { method: 'DELETE', path, params: {} } })) {
            run('DELETE', path, {}, { label: `Delete group ${g.groupid}` }).then(screen.load);
        }
    }
    screen.load();
    return screen.load.stop;
}

function tokens(content) {
    const screen = listScreen(content, 'API tokens', [button('Add token', () => add(), { icon: 'plus', kind: 'primary', testid: 'token-create' })], {
        columns: [
            { id: 'id', label: 'Token', render: (t) => h('span', { class: 'status-cell mono' }, iconEl('key'), `${t.userid}!${t.tokenid}`) },
            { id: 'privsep', label: 'Privilege separation', render: (t) => (Number(t.privsep) ? 'yes — needs its own ACL entries' : 'no — acts with the user\'s rights') },
            { id: 'expire', label: 'Expires', render: (t) => expiry(t.expire) },
            { id: 'comment', label: 'Comment', class: 'wrap' },
            { id: 'act', label: '', class: 'actions', sortValue: false, render: (t) => button('Remove', () => remove(t), { icon: 'trash', testid: 'token-delete' }) },
        ],
        key: (t) => `${t.userid}!${t.tokenid}`, sort: { id: 'id', dir: 1 },
        rowAttrs: (t) => ({ 'data-testid': 'token-row', 'data-tokenid': `${t.userid}!${t.tokenid}` }),
        empty: 'No API tokens yet. A token lets scripts call the API without a password.',
    }, async () => {
        const list = await get('/access/users', { full: 1 });
        return list.flatMap((u) => (u.tokens || []).map((t) => ({ ...t, userid: u.userid })));
    });

    async function add() {
        const userList = await get('/access/users').catch(() => []);
        openFormDialog({
            title: 'Add API token', icon: 'key', submitLabel: 'Add',
            fields: [
                { name: 'userid', label: 'User', type: 'select', options: userList.map((u) => u.userid).sort(), value: session.username, required: true },
                { name: 'tokenid', label: 'Token ID', required: true, autofocus: true, placeholder: 'automation', help: 'Letters, digits, - and _.' },
                { name: 'privsep', label: 'Privilege separation', type: 'checkbox', value: true, help: 'On: the token gets only the permissions you grant it.' },
                { name: 'expire', label: 'Expires', type: 'date', help: 'Empty: never.' },
                { name: 'comment', label: 'Comment', full: true },
            ],
            check: (v) => (!/^[A-Za-z][A-Za-z0-9._-]*$/.test(v.tokenid) ? { tokenid: 'Start with a letter; then letters, digits, . _ -' } : {}),
            request: (v) => ({ method: 'POST', path: `/access/users/${seg(v.userid)}/token/${seg(v.tokenid)}`, template: '/access/users/{userid}/token/{tokenid}',
                params: { privsep: v.privsep ? 1 : 0, expire: v.expire ? dateToEpoch(v.expire) : undefined, comment: v.comment || undefined } }),
            onSuccess: (result) => { screen.load(); if (result) showSecret(result); },
        });
    }

    function showSecret(result) {
        const secret = h('code', { 'data-testid': 'token-secret' }, result.value);
        const copy = button('Copy', async () => { if (await copyText(result.value)) toast('Secret copied', { kind: 'ok', timeout: 1500 }); }, { icon: 'copy', testid: 'token-copy' });
        inform({
            title: 'Token created — copy the secret now',
            body: [
                notice('warn', 'This secret is shown only once. Store it now: it cannot be displayed again (create a new token if it is lost).'),
                h('dl', { class: 'kv' }, h('dt', null, 'Token ID'), h('dd', { class: 'mono' }, result['full-tokenid'])),
                h('div', { class: 'secret-box' }, secret, copy),
                h('p', { class: 'dim' }, 'Use it as the header ', h('code', null, `Authorization: PVEAPIToken=${result['full-tokenid']}=<secret>`)),
            ],
        });
    }

    async function remove(t) {
        const path = `/access/users/${seg(t.userid)}/token/${seg(t.tokenid)}`;
        if (await confirm({ title: 'Remove API token', danger: true, okLabel: 'Remove', message: `Remove ${t.userid}!${t.tokenid}? Scripts using it stop working at once.`, request: { method: 'DELETE', path, params: {} } })) {
            run('DELETE', path, {}, { label: `Remove token ${t.tokenid}` }).then(screen.load);
        }
    }
    screen.load();
    return screen.load.stop;
}

function acl(content) {
    const screen = listScreen(content, 'Permissions', [button('Add permission', () => add(), { icon: 'plus', kind: 'primary', testid: 'acl-create' })], {
        columns: [
            { id: 'path', label: 'Path', render: (a) => h('span', { class: 'mono' }, a.path) },
            { id: 'type', label: 'Type', render: (a) => h('span', { class: 'status-cell' }, iconEl(a.type === 'group' ? 'group' : a.type === 'token' ? 'key' : 'user'), a.type) },
            { id: 'ugid', label: 'User / group / token' },
            { id: 'roleid', label: 'Role' },
            { id: 'propagate', label: 'Propagate', render: (a) => (Number(a.propagate) ? 'yes' : 'no') },
            { id: 'act', label: '', class: 'actions', sortValue: false, render: (a) => button('Remove', () => remove(a), { icon: 'trash', testid: 'acl-delete' }) },
        ],
        key: (a) => `${a.path}|${a.type}|${a.ugid}|${a.roleid}`, sort: { id: 'path', dir: 1 },
        rowAttrs: (a) => ({ 'data-testid': 'acl-row', 'data-path': a.path, 'data-ugid': a.ugid }),
        empty: 'No permissions granted yet.',
    }, () => get('/access/acl'));
    const paramFor = { user: 'users', group: 'groups', token: 'tokens' };

    async function add() {
        const [users, groupList, roles] = await Promise.all([get('/access/users', { full: 1 }), get('/access/groups'), get('/access/roles')]);
        const paths = ['/', '/vms', ...store.byType('qemu').map((v) => `/vms/${v.vmid}`), '/storage', ...store.byType('storage').map((s) => `/storage/${s.storage}`),
            '/nodes', ...store.nodes().map((n) => `/nodes/${n}`), '/pool', ...store.getPools().map((p) => `/pool/${p.poolid}`), '/access', '/sdn'];
        const choices = {
            user: users.map((u) => u.userid),
            group: groupList.map((g) => g.groupid),
            token: users.flatMap((u) => (u.tokens || []).map((t) => `${u.userid}!${t.tokenid}`)),
        };
        const list = h('datalist', { id: 'acl-paths' }, [...new Set(paths)].map((p) => h('option', { value: p })));
        const dlg = openFormDialog({
            title: 'Add permission', icon: 'lock', submitLabel: 'Add',
            intro: 'Grant a role on a path (e.g. /vms/100, /storage/local, /). With propagate, it also applies below the path.',
            fields: [
                { name: 'path', label: 'Path', value: '/', required: true, autofocus: true },
                { name: 'type', label: 'For a', type: 'select', options: [['user', 'User'], ['group', 'Group'], ['token', 'API token']] },
                { name: 'ugid', label: 'User', type: 'select', options: choices.user, required: true },
                { name: 'roles', label: 'Role', type: 'select', options: roles.map((r) => r.roleid).sort(), value: 'PVEVMUser', required: true },
                { name: 'propagate', label: 'Propagate', type: 'checkbox', value: true },
            ],
            extra: list,
            onChange: (v, fs) => {
                const f = fs.get('ugid');
                if (f.spec.current !== v.type) {
                    f.spec.current = v.type;
                    f.setOptions(choices[v.type].length ? choices[v.type] : [['', `No ${v.type}s yet`]], false);
                    f.el.querySelector('label').textContent = { user: 'User', group: 'Group', token: 'API token' }[v.type];
                }
            },
            request: (v) => ({ method: 'PUT', path: '/access/acl', template: '/access/acl', params: { path: v.path, roles: v.roles, [paramFor[v.type]]: v.ugid, propagate: v.propagate ? 1 : 0 } }),
            onSuccess: screen.load,
        });
        dlg.fields.get('path').input.setAttribute('list', 'acl-paths');
    }

    async function remove(a) {
        const params = { path: a.path, roles: a.roleid, [paramFor[a.type]]: a.ugid, delete: 1 };
        if (await confirm({ title: 'Remove permission', danger: true, okLabel: 'Remove', message: `Remove role ${a.roleid} of ${a.ugid} on ${a.path}?`, request: { method: 'PUT', path: '/access/acl', params } })) {
            run('PUT', '/access/acl', params, { label: 'Remove permission', quiet: true }).then(screen.load);
        }
    }
    screen.load();
    return screen.load.stop;
}

function roles(content) {
    let allPrivs = [];
    const screen = listScreen(content, 'Roles', [button('Create role', () => edit(null), { icon: 'plus', kind: 'primary', testid: 'role-create' })], {
        columns: [
            { id: 'roleid', label: 'Role', render: (r) => h('span', { class: 'status-cell' }, iconEl('shield'), r.roleid, Number(r.special) ? h('span', { class: 'badge plain' }, 'built-in') : '') },
            { id: 'privs', label: 'Privileges', class: 'wrap', render: (r) => h('span', { class: 'dim' }, String(r.privs || '').split(',').join(', ')) },
            { id: 'act', label: '', class: 'actions', sortValue: false, render: (r) => (Number(r.special) ? '' : [button('Edit', () => edit(r), { icon: 'edit' }), button('Delete', () => remove(r), { icon: 'trash' })]) },
        ],
        key: (r) => r.roleid, sort: { id: 'roleid', dir: 1 }, rowAttrs: (r) => ({ 'data-testid': 'role-row', 'data-roleid': r.roleid }), empty: 'No roles.',
    }, async () => {
        const list = await get('/access/roles');
        allPrivs = [...new Set(list.flatMap((r) => String(r.privs || '').split(',').filter(Boolean)))].sort();
        return list;
    });
    function edit(r) {
        const have = new Set(String(r?.privs || '').split(',').filter(Boolean));
        const boxes = allPrivs.map((p) => h('label', { class: 'priv' }, h('input', { type: 'checkbox', value: p, checked: have.has(p) }), p));
        const grid = h('div', { class: 'privgrid', role: 'group', 'aria-label': 'Privileges' }, boxes);
        const chosen = () => boxes.map((b) => b.firstChild).filter((i) => i.checked).map((i) => i.value).join(',');
        openFormDialog({
            title: r ? `Edit role ${r.roleid}` : 'Create role', icon: 'shield', size: 'lg', submitLabel: r ? 'OK' : 'Create',
            fields: [{ name: 'roleid', label: 'Name', value: r?.roleid || '', required: true, disabled: Boolean(r), autofocus: !r }],
            extra: grid,
            request: (v) => (r ? { method: 'PUT', path: `/access/roles/${seg(r.roleid)}`, template: '/access/roles/{roleid}', params: { privs: chosen() } }
                : { method: 'POST', path: '/access/roles', template: '/access/roles', params: { roleid: v.roleid, privs: chosen() || undefined } }),
            onSuccess: screen.load,
        });
    }
    async function remove(r) {
        const path = `/access/roles/${seg(r.roleid)}`;
        if (await confirm({ title: `Delete role ${r.roleid}`, danger: true, okLabel: 'Delete', message: `Delete role ${r.roleid}? Permissions using it go too.`, request: { method: 'DELETE', path, params: {} } })) {
            run('DELETE', path, {}, { label: `Delete role ${r.roleid}` }).then(screen.load);
        }
    }
    screen.load();
    return screen.load.stop;
}

const SCREENS = { users, groups, tokens, acl, roles };

export function render(content, { tab }) {
    return (SCREENS[tab] || users)(content);
}
