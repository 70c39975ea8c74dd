// Choices that come from the node: storages by content type, ISO images, bridges. Cached briefly per node.
import { get } from '../../api.js';

const cache = new Map();
function cached(key, fn, ms = 5000) {
    const hit = cache.get(key);
    if (hit && Date.now() - hit.t < ms) return hit.p;
    const p = fn().catch((e) => { cache.delete(key); throw e; });
    cache.set(key, { t: Date.now(), p });
    return p;
}

/** Storages on `node` holding `content` ('images', 'iso'…), enabled and active. */
export const storagesFor = (node, content) => cached(`st:${node}:${content}`, async () =>
    ((await get(`/nodes/${node}/storage`, { content, enabled: 1 })) || []).filter((s) => s.active !== 0).sort((a, b) => a.storage.localeCompare(b.storage)));

/** Every ISO image on every ISO storage of `node`: [{volid, size, storage}]. */
export const isoImages = (node) => cached(`iso:${node}`, async () => {
    const stores = await storagesFor(node, 'iso');
    const lists = await Promise.all(stores.map((s) => get(`/nodes/${node}/storage/${s.storage}/content`, { content: 'iso' })
        .then((l) => (l || []).map((x) => ({ ...x, storage: s.storage }))).catch(() => [])));
    return lists.flat().sort((a, b) => a.volid.localeCompare(b.volid));
});

export const bridges = (node) => cached(`br:${node}`, async () =>
    ((await get(`/nodes/${node}/network`, { type: 'any_bridge' })) || []).map((i) => i.iface).sort());

export function invalidate() { cache.clear(); }

/** The storage type (dir, lvmthin, zfspool…) decides which disk formats make sense. */
export function formatsFor(storage) {
    if (!storage) return ['raw'];
    return ['dir', 'nfs', 'cifs', 'glusterfs', 'btrfs'].includes(storage.type) ? ['qcow2', 'raw', 'vmdk'] : ['raw'];
}

export const isoLabel = (volid) => String(volid).replace(/^[^:]+:iso\//, '');
