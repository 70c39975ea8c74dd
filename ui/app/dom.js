// Tiny DOM helpers: build elements without innerHTML (API data is user input) and without inline styles (CSP).

/** h('div', {class: 'x', 'data-id': id, onclick: fn}, child, [children], 'text') */
export function h(tag, props, ...children) {
    const el = document.createElement(tag);
    if (props) setProps(el, props);
    append(el, children);
    return el;
}

const PROPERTY_KEYS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'indeterminate', 'tabIndex']);

export function setProps(el, props) {
    for (const [key, value] of Object.entries(props)) {
        if (value === undefined || value === null || value === false && !PROPERTY_KEYS.has(key)) continue;
        if (key.startsWith('on') && typeof value === 'function') {
            el.addEventListener(key.slice(2).toLowerCase(), value);
        } else if (key === 'class') {
            el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
        } else if (PROPERTY_KEYS.has(key)) {
            el[key] = value;
        } else if (key === 'ref') {
            value(el);
        } else {
            el.setAttribute(key, value === true ? '' : String(value));
        }
    }
}

export function append(el, children) {
    for (const child of children.flat(Infinity)) {
        if (child === null || child === undefined || child === false) continue;
        el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
}

/** Replaces all children of `el`. */
export function replace(el, ...children) {
    el.replaceChildren();
    return append(el, children);
}

/** Sets text only when it changed: keeps selection and avoids layout work on live updates. */
export function setText(el, text) {
    const s = text === null || text === undefined ? '' : String(text);
    if (el.textContent !== s) el.textContent = s;
}

export function toggleClass(el, cls, on) {
    if (el.classList.contains(cls) !== Boolean(on)) el.classList.toggle(cls, Boolean(on));
}

/** A button with an optional icon; `kind` is '', 'primary' or 'danger'. */
export function button(label, onclick, { icon, kind = '', testid, title, disabled, type = 'button' } = {}) {
    return h('button', {
        type, class: ['btn', kind && `btn-${kind}`, !label && 'btn-icon'],
        onclick, 'data-testid': testid, title: title || undefined, 'aria-label': title || label || undefined, disabled,
    }, icon ? iconEl(icon) : null, label ? h('span', null, label) : null);
}

// Late-bound to avoid a cycle with icons.js.
let iconFactory = () => null;
export function registerIcons(fn) { iconFactory = fn; }
export function iconEl(name, cls) { return iconFactory(name, cls); }

/** Copies text; falls back to a hidden textarea when the async clipboard is unavailable (plain http, old browsers). */
export async function copyText(text) {
    try {
        await navigator.clipboard.writeText(text);
        return true;
    } catch {
        const ta = h('textarea', { class: 'offscreen', 'aria-hidden': 'true' });
        ta.value = text;
        document.body.append(ta);
        ta.select();
        const ok = document.execCommand('copy');
        ta.remove();
        return ok;
    }
}

/** Runs the returned cleanup functions in reverse order; views collect their teardown here. */
export function disposer() {
    const fns = [];
    const dispose = () => { while (fns.length) { try { fns.pop()(); } catch (e) { console.warn(e); } } };
    dispose.add = (fn) => { if (typeof fn === 'function') fns.push(fn); return fn; };
    dispose.listen = (target, type, fn, opts) => {
        target.addEventListener(type, fn, opts);
        fns.push(() => target.removeEventListener(type, fn, opts));
    };
    dispose.interval = (fn, ms) => { const id = setInterval(fn, ms); fns.push(() => clearInterval(id)); return id; };
    return dispose;
}
