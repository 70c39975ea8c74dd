// Form fields whose `name` is the API parameter, each with a label, an optional unit/help and a slot for its error.
import { h } from '../dom.js';

let seq = 0;

function normaliseOptions(options) {
    return (options || []).map((o) => (Array.isArray(o) ? { value: o[0], label: o[1] ?? o[0] }
        : typeof o === 'object' ? o : { value: o, label: o }));
}

/** Builds a field; returns {el (the row), input, name, get(), set(v), setError(msg), spec}. */
export function field(spec) {
    const id = `f${++seq}`;
    let input;
    const common = { id, name: spec.name, disabled: spec.disabled, required: spec.required, autofocus: spec.autofocus,
        'aria-describedby': spec.help ? `${id}-help` : undefined, placeholder: spec.placeholder };
    switch (spec.type) {
    case 'select':
        input = h('select', common, normaliseOptions(spec.options).map((o) =>
            h('option', { value: o.value, disabled: o.disabled }, o.label)));
        if (spec.value !== undefined) input.value = String(spec.value);
        break;
    case 'checkbox':
        input = h('input', { ...common, type: 'checkbox', checked: Boolean(Number(spec.value) || spec.value === true) });
        break;
    case 'textarea':
        input = h('textarea', { ...common, rows: spec.rows || 3 });
        input.value = spec.value ?? '';
        break;
    case 'file':
        input = h('input', { ...common, type: 'file', accept: spec.accept });
        break;
    case 'static':
        input = h('div', { class: 'static-value', id }, spec.value ?? '');
        break;
    default:
        input = h('input', { ...common, type: spec.type || 'text', min: spec.min, max: spec.max, step: spec.step,
            autocomplete: spec.autocomplete || 'off', spellcheck: 'false', inputmode: spec.type === 'number' ? 'numeric' : undefined });
        input.value = spec.value ?? '';
    }
    const control = spec.unit ? h('div', { class: 'with-unit' }, input, h('span', { class: 'unit' }, spec.unit)) : input;
    const errorSlot = h('div', { class: 'field-error-slot' });
    const label = spec.type === 'checkbox'
        ? h('label', { for: id, class: 'field-label' }, spec.label)
        : h('label', { for: id, class: 'field-label' }, spec.label, spec.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null);
    const el = h('div', { class: ['field', spec.type === 'checkbox' && 'field-check', spec.full && 'field-full'] },
        label,
        h('div', { class: 'field-control' }, control,
            spec.help ? h('div', { class: 'field-help', id: `${id}-help` }, spec.help) : null,
            errorSlot));
    const f = {
        el, input, name: spec.name, spec,
        get() {
            if (spec.type === 'checkbox') return input.checked;
            if (spec.type === 'file') return input.files && input.files[0];
            if (spec.type === 'static') return spec.value;
            return input.value.trim ? (spec.type === 'password' ? input.value : input.value.trim()) : input.value;
        },
        set(v) {
            if (spec.type === 'checkbox') input.checked = Boolean(Number(v) || v === true);
            else if (spec.type !== 'file' && spec.type !== 'static') input.value = v ?? '';
        },
        setOptions(options, keep = true) {
            const old = input.value;
            input.replaceChildren(...normaliseOptions(options).map((o) => h('option', { value: o.value, disabled: o.disabled }, o.label)));
            if (keep && [...input.options].some((o) => o.value === old)) input.value = old;
        },
        setError(msg) {
            errorSlot.replaceChildren();
            el.classList.toggle('invalid', Boolean(msg));
            input.setAttribute('aria-invalid', msg ? 'true' : 'false');
            if (msg) errorSlot.append(h('div', { class: 'field-error', 'data-testid': `field-error-${spec.errorKey || spec.name}`, role: 'alert' }, msg));
        },
        show(visible) { el.hidden = !visible; },
    };
    return f;
}

/** A group of fields with lookup by name. */
export function fieldSet(specs) {
    const fields = specs.map(field);
    const byName = new Map(fields.map((f) => [f.name, f]));
    return {
        fields,
        el: h('div', { class: 'form-grid' }, fields.map((f) => f.el)),
        get: (name) => byName.get(name),
        values() {
            const out = {};
            for (const f of fields) if (!f.el.hidden) out[f.name] = f.get();
            return out;
        },
        clearErrors() { fields.forEach((f) => f.setError(null)); },
        /** Places {param: msg} next to fields; returns the messages no field claimed. */
        showErrors(errors) {
            const rest = {};
            for (const [param, msg] of Object.entries(errors || {})) {
                const f = fields.find((x) => (x.spec.errorKey || x.name) === param || (x.spec.errorFor || []).includes(param));
                if (f && !f.el.hidden) f.setError(msg); else rest[param] = msg;
            }
            return rest;
        },
    };
}
