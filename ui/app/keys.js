// Global keyboard shortcuts: / filter, Ctrl-K palette, j/k tree, c console, s start, S shutdown, ? help.
import { modalOpen } from './components/modal.js';
import { go, routes } from './router.js';

function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.closest('.xterm, .vnc-screen'));
}

export function installKeys({ tree, openPalette, currentVM }) {
    const onKey = (ev) => {
        if ((ev.ctrlKey || ev.metaKey) && (ev.key === 'k' || ev.key === 'K')) {
            if (typing(ev.target) && ev.target.closest('.vnc-screen, .xterm')) return;
            ev.preventDefault();
            if (!modalOpen()) openPalette();
            return;
        }
        if (ev.ctrlKey || ev.metaKey || ev.altKey || modalOpen() || typing(ev.target)) return;
        const vm = currentVM();
        switch (ev.key) {
        case '/':
            ev.preventDefault();
            document.querySelector('.shell')?.classList.add('drawer-open');
            tree.filter.focus();
            tree.filter.select();
            break;
        case 'j': tree.move(1); break;
        case 'k': tree.move(-1); break;
        case '?': import('./components/help.js').then((m) => m.openHelp()); break;
        case 'c': if (vm) go(routes.qemu(vm.vmid, 'console')); break;
        case 's': if (vm) import('./views/qemu/power.js').then((m) => m.powerAction(vm, 'start')); break;
        case 'S': if (vm) import('./views/qemu/power.js').then((m) => m.powerAction(vm, 'shutdown')); break;
        default: return;
        }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
}
