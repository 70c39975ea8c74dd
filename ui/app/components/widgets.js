// Small display pieces shared by views: key/value lists, usage meters, status badges, cards, empty states.
import { h, iconEl, setText } from '../dom.js';
import { percent } from '../format.js';

export function card(title, icon, ...children) {
    return h('section', { class: 'card' }, h('h3', null, icon ? iconEl(icon) : null, title), ...children);
}

/** A <dl> whose values can be updated in place: kv([['CPU', node]]) or kv.set('CPU', text). */
export function kvList(keys) {
    const dds = new Map();
    const dl = h('dl', { class: 'kv' }, keys.flatMap((k) => {
        const dd = h('dd');
        dds.set(k, dd);
        return [h('dt', null, k), dd];
    }));
    return {
        el: dl,
        set(key, value) {
            const dd = dds.get(key);
            if (!dd) return;
            if (value instanceof Node) dd.replaceChildren(value); else setText(dd, value ?? '–');
        },
        dd: (key) => dds.get(key),
    };
}

/** A usage meter: set(fraction) colours at 80 % and 95 %. */
export function meter() {
    const bar = h('i');
    const el = h('div', { class: 'meter', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100 }, bar);
    return {
        el,
        set(fraction) {
            const f = Math.max(0, Math.min(1, Number(fraction) || 0));
            bar.style.width = `${(f * 100).toFixed(1)}%`;
            el.setAttribute('aria-valuenow', Math.round(f * 100));
            el.classList.toggle('warn', f >= 0.8 && f < 0.95);
            el.classList.toggle('crit', f >= 0.95);
        },
    };
}

/** A labelled stat with a meter: {el, set(text, fraction)}. */
export function usageStat(label) {
    const value = h('span', { class: 'big' });
    const detail = h('span', { class: 'dim' });
    const m = meter();
    const el = h('div', { class: 'stat' }, h('span', { class: 'dim' }, label), value, m.el, detail);
    return {
        el,
        set(fraction, detailText) {
            setText(value, fraction === null || fraction === undefined ? '–' : percent(fraction));
            setText(detail, detailText || '');
            m.set(fraction);
        },
    };
}

export function statusBadge(status, testid) {
    return h('span', { class: `badge ${status}`, 'data-testid': testid }, status);
}

export function emptyState(text, action) {
    return h('div', { class: 'empty-state' }, h('div', null, text), action || null);
}

export function notice(kind, text) {
    return h('div', { class: `notice ${kind}` }, iconEl(kind === 'error' ? 'error' : kind === 'warn' ? 'warning' : 'info'), h('div', null, text));
}

export function loading(text = 'Loading…') {
    return h('div', { class: 'empty-state' }, h('span', { class: 'spinner' }), ' ', text);
}

export function pageTitle(title, ...actions) {
    return h('div', { class: 'page-title' }, h('h2', null, title), h('span', { class: 'spacer' }), ...actions);
}
