// Form dialogs: fields named after API parameters, schema validation before sending, the server's per-field
// errors beside their fields, the equivalent CLI updated live, and a confirm dialog for destructive actions.
import { h, button, iconEl } from '../dom.js';
import { openModal } from './modal.js';
import { fieldSet } from './fields.js';
import { cliPreview } from './clipreview.js';
import { validate } from '../schema.js';
import { submit } from '../actions.js';

/**
 * openFormDialog({title, fields, request(values) → {method, path, template, params}, submitLabel,
 *                 onSubmit?(values, request) (default: submit the request), onSuccess?(result), intro?, extra?})
 */
export function openFormDialog(opts) {
    const fs = fieldSet(opts.fields);
    const message = h('div', { class: 'dialog-error', role: 'alert', hidden: true });
    const cli = opts.request ? cliPreview({ open: opts.cliOpen !== false }) : null;
    const submitBtn = button(opts.submitLabel || 'OK', null, { kind: opts.danger ? 'danger' : 'primary', testid: 'dialog-submit' });
    const cancelBtn = button('Cancel', () => modal.close(), { testid: 'dialog-cancel' });
    const form = h('form', { class: 'dialog-body', novalidate: true, autocomplete: 'off' },
        opts.intro ? h('p', { class: 'dialog-intro' }, opts.intro) : null,
        fs.el,
        opts.extra || null,
        message,
        cli ? cli.el : null,
        // An invisible submit so Enter in any field submits.
        h('button', { type: 'submit', class: 'offscreen', tabindex: '-1', 'aria-hidden': 'true' }));
    const modal = openModal({ title: opts.title, body: form, footer: [cancelBtn, submitBtn], size: opts.size || 'md', labelledIcon: opts.icon, onClose: opts.onClose });
    submitBtn.addEventListener('click', (ev) => { ev.preventDefault(); doSubmit(); });

    const currentRequest = () => (opts.request ? opts.request(fs.values(), fs) : null);
    const refresh = () => {
        if (opts.onChange) opts.onChange(fs.values(), fs);
        if (!cli) return;
        try {
            const r = currentRequest();
            if (r) cli.set(r.method, r.path, r.params);
        } catch { /* incomplete input: keep the last preview */ }
    };
    form.addEventListener('input', refresh);
    form.addEventListener('change', refresh);
    form.addEventListener('submit', (ev) => { ev.preventDefault(); doSubmit(); });
    refresh();

    function showMessage(text) {
        message.hidden = !text;
        message.replaceChildren(text ? iconEl('error') : '', text ? h('span', null, text) : '');
    }

    let busy = false;
    async function doSubmit() {
        if (busy) return;
        fs.clearErrors();
        showMessage('');
        const values = fs.values();
        if (opts.check) {
            const errs = opts.check(values, fs) || {};
            if (Object.keys(errs).length) { reportErrors(errs, 'Please correct the marked fields.'); return; }
        }
        let req = null;
        try { req = currentRequest(); } catch (e) { showMessage(e.message); return; }
        if (req && req.template) {
            const errs = await validate(req.method, req.template, req.params);
            if (Object.keys(errs).length) { reportErrors(errs, 'Please correct the marked fields.'); return; }
        }
        busy = true;
        submitBtn.disabled = true;
        submitBtn.classList.add('busy');
        try {
            const result = opts.onSubmit ? await opts.onSubmit(values, req, fs)
                : await submit(req.method, req.path, req.params, { label: opts.taskLabel, onDone: opts.onDone });
            if (result !== false) {
                modal.close();
                if (opts.onSuccess) opts.onSuccess(result, values);
            }
        } catch (e) {
            reportErrors(e.errors || {}, e.message);
        } finally {
            busy = false;
            submitBtn.disabled = false;
            submitBtn.classList.remove('busy');
        }
    }

    function reportErrors(errors, text) {
        const rest = fs.showErrors(errors);
        const extra = Object.entries(rest).map(([k, v]) => `${k}: ${v}`).join('\n');
        showMessage([text, extra].filter(Boolean).join('\n'));
        const firstBad = form.querySelector('.field.invalid input, .field.invalid select, .field.invalid textarea');
        if (firstBad) firstBad.focus();
    }

    return { modal, fields: fs, refresh, showMessage };
}

/**
 * Asks before a destructive or disruptive action; shows what will run. Resolves true when confirmed.
 * request: {method, path, params} for the command preview.
 */
export function confirm({ title, message, okLabel = 'OK', danger = false, request, details }) {
    return new Promise((resolve) => {
        let result = false;
        const cli = request ? cliPreview({ open: true }) : null;
        if (cli) cli.set(request.method, request.path, request.params || {});
        const ok = button(okLabel, () => { result = true; modal.close(); }, { kind: danger ? 'danger' : 'primary', testid: 'confirm-ok' });
        const cancel = button('Cancel', () => modal.close(), { testid: 'dialog-cancel' });
        const body = h('div', { class: 'dialog-body' },
            h('p', { class: 'confirm-text' }, danger ? iconEl('warning', 'warn-icon') : null, message),
            details || null,
            cli ? cli.el : null);
        const modal = openModal({ title, body, footer: [cancel, ok], size: 'sm', onClose: () => resolve(result) });
        requestAnimationFrame(() => ok.focus());
    });
}

/** A read-only information dialog (e.g. a token's secret). */
export function inform({ title, body, okLabel = 'Close', size = 'md', onClose }) {
    const ok = button(okLabel, () => modal.close(), { kind: 'primary', testid: 'dialog-submit' });
    const modal = openModal({ title, body: h('div', { class: 'dialog-body' }, body), footer: [ok], size, onClose });
    return modal;
}
