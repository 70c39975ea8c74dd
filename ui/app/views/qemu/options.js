// Options: name, start at boot, OS type, boot order, tags, protection and the smaller switches.
import { h, button, iconEl } from '../../dom.js';
import { openFormDialog } from '../../components/dialog.js';
import { configGrid, followPending, effective, hasPending } from './configgrid.js';
import { parsePropertyString, splitTags } from '../../format.js';
import { pageTitle } from '../../components/widgets.js';
import { run } from '../../actions.js';

const CONFIG = '/nodes/{node}/qemu/{vmid}/config';
export const OSTYPES = [['l26', 'Linux 6.x – 2.6 kernel'], ['l24', 'Linux 2.4 kernel'], ['win11', 'Windows 11/2022/2025'], ['win10', 'Windows 10/2016/2019'], ['win8', 'Windows 8/2012'], ['win7', 'Windows 7/2008 R2'], ['wvista', 'Windows Vista/2008'], ['w2k8', 'Windows 2008'], ['w2k3', 'Windows 2003'], ['wxp', 'Windows XP'], ['w2k', 'Windows 2000'], ['solaris', 'Solaris'], ['other', 'Other']];
const yesNo = (v, dflt) => ((v === undefined || v === '' ? dflt : Number(v)) ? 'Yes' : 'No');
const pick = (cfg, key, which) => (which === 'value' ? cfg[key]?.value : effective(cfg, key));

/** Devices the VM can boot from, in the current order first. */
function bootDevices(cfg) {
    const order = (parsePropertyString(effective(cfg, 'boot')).order || '').split(';').filter(Boolean);
    const all = Object.keys(cfg).filter((k) => /^(ide|sata|scsi|virtio)\d+$|^net\d+$/.test(k) && effective(cfg, k) !== undefined);
    return [...order.filter((k) => all.includes(k)).map((k) => ({ key: k, on: true })), ...all.filter((k) => !order.includes(k)).sort().map((k) => ({ key: k, on: false }))];
}

function bootOrderEditor(cfg) {
    const items = bootDevices(cfg);
    const list = h('ol', { class: 'bootlist', 'aria-label': 'Boot order' });
    const describe = (k) => {
        const v = effective(cfg, k) || '';
        if (/^net/.test(k)) return `${k} — network (${parsePropertyString(v).bridge || ''})`;
        return `${k} — ${/media=cdrom/.test(v) ? 'CD/DVD' : 'disk'} ${String(v).split(',')[0]}`;
    };
    const paint = () => list.replaceChildren(...items.map((it, i) => h('li', { class: it.on ? '' : 'off' },
        h('input', { type: 'checkbox', checked: it.on, 'aria-label': `Boot from ${it.key}`, onchange: (ev) => { it.on = ev.target.checked; paint(); list.dispatchEvent(new Event('change', { bubbles: true })); } }),
        h('span', { class: 'mono' }, describe(it.key)),
        h('span', { class: 'spacer' }),
        button('', () => { if (i > 0) { [items[i - 1], items[i]] = [items[i], items[i - 1]]; paint(); list.dispatchEvent(new Event('change', { bubbles: true })); } }, { icon: 'up', title: 'Earlier', kind: 'ghost', disabled: i === 0 }),
        button('', () => { if (i < items.length - 1) { [items[i + 1], items[i]] = [items[i], items[i + 1]]; paint(); list.dispatchEvent(new Event('change', { bubbles: true })); } }, { icon: 'down', title: 'Later', kind: 'ghost', disabled: i === items.length - 1 }))));
    paint();
    return { el: h('div', null, h('div', { class: 'field-label' }, 'Tick the devices to boot from, in order:'), list), value: () => `order=${items.filter((x) => x.on).map((x) => x.key).join(';')}` };
}

export function render(content, { vmid, vm, node }) {
    const path = `/nodes/${node()}/qemu/${vmid}/config`;
    const grid = configGrid('Options');
    const errorSlot = h('div');
    const noticeSlot = h('div');
    content.append(pageTitle(`Options of VM ${vmid}`), errorSlot, noticeSlot, grid.el);
    let cfg = {};
    const request = (params) => ({ method: 'PUT', path, template: CONFIG, params });
    const dialog = (opts) => openFormDialog({ onSuccess: load, ...opts });

    /** A one-field dialog; an empty value deletes the option (back to its default). */
    const simple = (key, title, spec) => () => dialog({
        title: `${title} — VM ${vmid}`,
        fields: [{ name: key, label: title, value: effective(cfg, key) ?? spec.dflt ?? '', autofocus: true, ...spec }],
        request: (v) => {
            const val = v[key];
            if (spec.type === 'checkbox') return request({ [key]: val ? 1 : 0 });
            return request(val === '' || val === undefined ? { delete: key } : { [key]: val });
        },
    });

    function editBoot() {
        const ed = bootOrderEditor(cfg);
        dialog({ title: `Boot order — VM ${vmid}`, icon: 'options', fields: [], extra: ed.el, request: () => request({ boot: ed.value() }) });
    }

    function editTags() {
        dialog({
            title: `Tags — VM ${vmid}`, icon: 'tag',
            fields: [{ name: 'tags', label: 'Tags', value: splitTags(effective(cfg, 'tags')).join(' '), help: 'Separate tags with spaces; letters, digits, - _ . + only.', autofocus: true, full: true }],
            check: (v) => (splitTags(v.tags).some((t) => !/^[a-zA-Z0-9_][a-zA-Z0-9_\-+.]*$/.test(t)) ? { tags: 'A tag may use letters, digits and - _ . + (not starting with - . +).' } : {}),
            request: (v) => request(splitTags(v.tags).length ? { tags: splitTags(v.tags).join(';') } : { delete: 'tags' }),
        });
    }

    function rows() {
        const edit = (fn) => button('Edit', fn, { icon: 'edit', testid: 'opt-edit' });
        const def = [
            { key: 'name', label: 'Name', show: (c, w) => pick(c, 'name', w) || `VM${vmid}`, edit: simple('name', 'Name', { help: 'A DNS-style name: letters, digits, dots and dashes.' }) },
            { key: 'onboot', label: 'Start at boot', show: (c, w) => yesNo(pick(c, 'onboot', w), 0), edit: simple('onboot', 'Start at boot', { type: 'checkbox' }) },
            { key: 'startup', label: 'Start/shutdown order', show: (c, w) => pick(c, 'startup', w) || 'order=any', edit: simple('startup', 'Start/shutdown order', { placeholder: 'order=1,up=30,down=60', help: 'order=N, up=seconds to wait after start, down=shutdown timeout.' }) },
            { key: 'ostype', label: 'OS type', show: (c, w) => (OSTYPES.find((o) => o[0] === pick(c, 'ostype', w)) || [0, pick(c, 'ostype', w) || 'Other'])[1], edit: simple('ostype', 'OS type', { type: 'select', options: OSTYPES, dflt: 'other' }) },
            { key: 'boot', label: 'Boot order', show: (c, w) => (parsePropertyString(pick(c, 'boot', w)).order || '').split(';').filter(Boolean).join(', ') || 'default (disks, then network)', edit: editBoot },
            { key: 'tags', label: 'Tags', show: (c, w) => splitTags(pick(c, 'tags', w)).join(', ') || 'none', edit: editTags },
            { key: 'protection', label: 'Protection', show: (c, w) => (Number(pick(c, 'protection', w)) ? 'Yes — cannot be deleted' : 'No'), edit: simple('protection', 'Protection (refuse delete)', { type: 'checkbox' }) },
            { key: 'tablet', label: 'Use tablet for pointer', show: (c, w) => yesNo(pick(c, 'tablet', w), 1), edit: simple('tablet', 'Use tablet for pointer', { type: 'checkbox', dflt: 1 }) },
            { key: 'acpi', label: 'ACPI support', show: (c, w) => yesNo(pick(c, 'acpi', w), 1), edit: simple('acpi', 'ACPI support', { type: 'checkbox', dflt: 1 }) },
            { key: 'kvm', label: 'KVM hardware virtualization', show: (c, w) => yesNo(pick(c, 'kvm', w), 1), edit: simple('kvm', 'KVM hardware virtualization', { type: 'checkbox', dflt: 1 }) },
            { key: 'freeze', label: 'Freeze CPU at startup', show: (c, w) => yesNo(pick(c, 'freeze', w), 0), edit: simple('freeze', 'Freeze CPU at startup', { type: 'checkbox' }) },
            { key: 'localtime', label: 'Use local time for RTC', show: (c, w) => { const v = pick(c, 'localtime', w); return v === undefined ? 'Default (only for Windows)' : yesNo(v, 0); }, edit: simple('localtime', 'Use local time for RTC', { type: 'checkbox' }) },
            { key: 'hotplug', label: 'Hotplug', show: (c, w) => pick(c, 'hotplug', w) || 'Default (disk, network, usb)', edit: simple('hotplug', 'Hotplug', { placeholder: 'disk,network,usb', help: 'Comma list of disk, network, usb, memory, cpu; 0 disables; 1 = default.' }) },
            { key: 'agent', label: 'QEMU guest agent', show: (c, w) => (Number(parsePropertyString(pick(c, 'agent', w), 'enabled').enabled) ? 'Enabled' : 'Disabled'), edit: simple('agent', 'QEMU guest agent', { type: 'checkbox', value: Number(parsePropertyString(effective(cfg, 'agent'), 'enabled').enabled) }) },
        ];
        return def.map((r) => {
            r.icon = r.icon || 'options';
            r.actions = [edit(r.edit)];
            if (hasPending(cfg[r.key])) r.actions.unshift(button('Revert', () => run('PUT', path, { revert: r.key }, { quiet: true }).then(load), { icon: 'undo', testid: 'opt-revert' }));
            return r;
        });
    }

    const { load, stop } = followPending({
        node, vmid, grid, rows, noticeSlot, errorSlot,
        running: () => { const r = vm(); return Boolean(r && r.status === 'running'); },
        onConfig: (next) => { cfg = next; },
    });
    return stop;
}
