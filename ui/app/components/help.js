// The "?" overlay listing keyboard shortcuts.
import { h } from '../dom.js';
import { inform } from './dialog.js';

const KEYS = [
    [['/'], 'Filter the resource tree'],
    [['Ctrl', 'K'], 'Command palette: jump to any object or run an action (⌘K on a Mac)'],
    [['j'], 'Next object in the tree'],
    [['k'], 'Previous object in the tree'],
    [['c'], 'Console of the selected VM'],
    [['s'], 'Start the selected VM (asks first)'],
    [['Shift', 'S'], 'Shut down the selected VM (asks first)'],
    [['Esc'], 'Close a dialog or the palette'],
    [['?'], 'This help'],
];

let open = null;
export function openHelp() {
    if (open) return;
    const rows = KEYS.map(([keys, text]) => h('tr', null,
        h('td', null, keys.map((k, i) => [i ? ' + ' : '', h('kbd', null, k)])), h('td', null, text)));
    open = inform({ title: 'Keyboard shortcuts', body: h('table', { class: 'keys' }, h('tbody', null, rows)), size: 'sm', onClose: () => { open = null; } });
}
