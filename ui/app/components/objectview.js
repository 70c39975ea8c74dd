// The frame of a selected object: a header (icon, title, status, actions) and its sub-tabs in a left column.
import { h, iconEl, toggleClass } from '../dom.js';

/**
 * tabs: [{name, label, icon, group?}], href(name) → '#/…'. Returns {el, title, sub, actions, content, setTab(name)}.
 * Each tab link carries data-testid="tab-<name>".
 */
export function objectView({ icon, tabs, href }) {
    const iconBox = h('span', { class: 'vmicon nodot' }, iconEl(icon, 'icon-lg'));
    const title = h('h1');
    const sub = h('span', { class: 'sub' });
    const status = h('span');
    const actions = h('div', { class: 'actions' });
    const links = new Map();
    const nav = h('nav', { class: 'obj-tabs', 'aria-label': 'Sections' });
    let lastGroup;
    for (const t of tabs) {
        if (t.group && t.group !== lastGroup) nav.append(h('div', { class: 'tab-group' }, t.group));
        lastGroup = t.group;
        const a = h('a', { href: href(t.name), 'data-testid': `tab-${t.name}` }, iconEl(t.icon || 'chevron'), h('span', null, t.label));
        links.set(t.name, a);
        nav.append(a);
    }
    const content = h('section', { class: 'obj-content', tabindex: -1 });
    const el = h('div', { class: 'objview' },
        h('header', { class: 'obj-head' }, h('div', { class: 'title' }, iconBox, title, status, sub), actions),
        h('div', { class: 'obj-body' }, nav, content));
    return {
        el, title, sub, status, actions, content, iconBox,
        setTab(name) {
            for (const [n, a] of links) {
                toggleClass(a, 'active', n === name);
                if (n === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
            }
            content.classList.remove('flush');
            content.scrollTop = 0;
        },
        has: (name) => links.has(name),
    };
}

/** Mounts a tab's renderer into `content`; returns its dispose. Renderers may be async. */
export function mountTab(content, render, ctx) {
    content.replaceChildren();
    let dispose = null;
    let gone = false;
    Promise.resolve(render(content, ctx)).then((d) => { if (gone) { if (d) d(); } else dispose = d; })
        .catch((e) => { console.error(e); content.append(h('div', { class: 'notice error' }, iconEl('error'), h('span', null, `This view failed: ${e.message}`))); });
    return () => { gone = true; if (dispose) dispose(); };
}

/**
 * The usual object page: an objectView whose tabs map to renderers `(content, ctx) → dispose`.
 * Returns the {update, dispose} a route mount needs; `setup(ov)` fills the header and returns its own dispose.
 */
export function tabbedView(container, target, { icon, tabs, href, renderers, ctx, setup }) {
    const ov = objectView({ icon, tabs, href });
    container.append(ov.el);
    const headDispose = setup ? setup(ov) : null;
    let current = null;
    let tabDispose = null;
    function show(tab) {
        const name = ov.has(tab) ? tab : tabs[0].name;
        if (name === current) return;
        current = name;
        if (tabDispose) tabDispose();
        ov.setTab(name);
        tabDispose = mountTab(ov.content, renderers[name], { ...ctx, ov, tab: name });
    }
    show(target.tab);
    return {
        ov,
        update(t) { show(t.tab); },
        dispose() { if (tabDispose) tabDispose(); if (headDispose) headDispose(); },
    };
}
