// A pool: its members (VMs live, storages) and comment.
import { h, iconEl, setText } from '../dom.js';
import { get, seg } from '../api.js';
import * as store from '../store.js';
import { tabbedView } from '../components/objectview.js';
import { createVMList } from '../components/vmlist.js';
import { pageTitle, notice } from '../components/widgets.js';
import { routes, routeOf } from '../router.js';

function summary(content, { poolid, ov }) {
    const note = h('p', { class: 'dim' });
    const storages = h('ul', { class: 'plain-list' });
    let members = new Set();
    const list = createVMList({ include: (r) => members.has(r.id), empty: 'No VMs in this pool yet. Add them with pvesh set /pools/<pool> --vms <ids>.' });
    content.append(pageTitle(`Pool ${poolid}`), note, list.el, h('h3', { class: 'diff-title' }, 'Storages'), storages);
    let gone = false;
    get(`/pools/${seg(poolid)}`).then((p) => {
        if (gone) return;
        setText(note, p.comment || '');
        setText(ov.sub, p.comment || '');
        members = new Set((p.members || []).map((m) => m.id));
        list.refresh();
        const st = (p.members || []).filter((m) => m.type === 'storage');
        storages.replaceChildren(...(st.length ? st.map((m) => h('li', null, h('a', { href: routeOf(m) }, iconEl('storage'), ` ${m.storage} (${m.node})`))) : [h('li', { class: 'dim' }, 'No storages in this pool.')]));
    }).catch((e) => { if (!gone) content.prepend(notice('error', e.message)); });
    return () => { gone = true; list.dispose(); };
}

export function mount(container, target) {
    const { poolid } = target.args;
    return tabbedView(container, target, {
        icon: 'pool', tabs: [{ name: 'summary', label: 'Members', icon: 'pool' }], ctx: { poolid },
        href: () => routes.pool(poolid), renderers: { summary },
        setup(ov) { ov.title.textContent = `Pool ${poolid}`; return null; },
    });
}
