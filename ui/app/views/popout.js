// A console alone in its own window (#/console/<node>/<vmid>/<vnc|serial>).
import { h } from '../dom.js';
import { get } from '../api.js';
import { createSession } from './qemu/consolesession.js';
import { consoleBar } from './qemu/console.js';

export function renderPopout(root, { node, vmid, kind }) {
    const session = createSession({ node, vmid, kind: kind === 'serial' ? 'serial' : 'vnc' });
    const title = h('strong', null, `VM ${vmid} — ${kind === 'serial' ? 'serial console' : 'VNC console'}`);
    const bar = consoleBar(() => session, { extra: [title], popout: false });
    root.className = '';
    root.replaceChildren(h('div', { class: 'popout-page' }, bar.el, h('div', { class: 'console-area' }, session.el)));
    document.title = `VM ${vmid} console — Vireo`;
    bar.bind(session);
    session.attach();
    get(`/nodes/${node}/qemu/${vmid}/config`).then((cfg) => {
        if (cfg.name) {
            title.textContent = `VM ${vmid} (${cfg.name}) — ${kind === 'serial' ? 'serial console' : 'VNC console'}`;
            document.title = `${vmid} (${cfg.name}) console — Vireo`;
        }
    }).catch(() => {});
    window.addEventListener('beforeunload', () => session.close());
}
