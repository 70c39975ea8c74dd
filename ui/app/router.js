// Hash routes: the URL is the state (#/qemu/100/hardware), so a reload keeps the place.

/** The current route as {path: '/qemu/100/hardware', parts: ['qemu','100','hardware'], query}. */
export function currentRoute() {
    const raw = decodeURI(location.hash.replace(/^#/, '')) || '/';
    const [path, qs] = raw.split('?');
    const parts = path.split('/').filter(Boolean);
    return { path: '/' + parts.join('/'), parts, query: new URLSearchParams(qs || ''), hash: '#' + raw };
}

export function go(hash, { replace = false } = {}) {
    const target = hash.startsWith('#') ? hash : '#' + hash;
    if (location.hash === target) return;
    if (replace) history.replaceState(null, '', target);
    else location.hash = target;
    if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function onRoute(fn) {
    window.addEventListener('hashchange', () => fn(currentRoute()));
}

/** Route builders keep hash spelling in one place. */
export const routes = {
    datacenter: (tab = 'summary') => `#/datacenter/${tab}`,
    node: (node, tab = 'summary') => `#/node/${node}/${tab}`,
    qemu: (vmid, tab = 'summary') => `#/qemu/${vmid}/${tab}`,
    storage: (node, storage, tab = 'content') => `#/storage/${node}/${storage}/${tab}`,
    pool: (poolid) => `#/pool/${poolid}`,
    access: (tab = 'users') => `#/access/${tab}`,
    task: (node, upid) => `#/task/${node}/${upid}`,
    console: (node, vmid, kind) => `#/console/${node}/${vmid}/${kind}`,
};

/** The route of a resource entry from /cluster/resources. */
export function routeOf(res) {
    switch (res.type) {
    case 'node': return routes.node(res.node);
    case 'qemu': return routes.qemu(res.vmid);
    case 'storage': return routes.storage(res.node, res.storage);
    case 'pool': return routes.pool(res.pool);
    default: return routes.datacenter();
    }
}
