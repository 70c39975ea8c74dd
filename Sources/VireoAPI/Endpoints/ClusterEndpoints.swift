import VireoAccess
import VireoCluster
import VireoCore
import VireoHost
import VireoQEMU
import VireoStorage

/// `/cluster`: status, resources, the VM ID allocator, options, jobs, bulk actions, metrics, mappings.
enum ClusterEndpoints {
    static func register(in registry: inout APIRegistry) {
        registry.register(.get, "/cluster", handles: []) { request in
            .init(.array(request.routeChildren.filter { !$0.hasPrefix("{") }.map { ["name": .string($0)] }))
        }
        registry.register(.get, "/cluster/status", handles: []) { request in
            let node = request.services.node
            let cluster = request.services.cluster
            // Standalone, as Proxmox: only this node, with node ID 0 and no `cluster` entry.
            guard let config = try await ClusterConfigFile.read(request.services.store) else {
                return .init([
                    [
                        "type": "node", "id": .string("node/\(node)"), "name": .string(node), "nodeid": 0,
                        "ip": .string(cluster.address), "local": 1, "online": 1, "level": "",
                    ]
                ])
            }
            var entries: [JSON] = [
                [
                    "type": "cluster", "id": "cluster", "name": .string(config.name),
                    "version": .int(config.configVersion), "nodes": .int(config.nodes.count),
                    "quorate": .flag(cluster.isQuorate),
                ]
            ]
            for (name, member) in config.nodes.sorted(by: { $0.value.nodeid < $1.value.nodeid }) {
                entries.append([
                    "type": "node", "id": .string("node/\(name)"), "name": .string(name),
                    "nodeid": .int(member.nodeid), "ip": .string(member.address), "local": .flag(name == node),
                    "online": .flag(cluster.isOnline(name)), "level": "",
                ])
            }
            return .init(.array(entries))
        }
        registry.register(.get, "/cluster/resources", handles: ["type"]) { request in
            var items: [JSON] = []
            let node = request.services.node
            let type = request.parameters["type"]
            if type == nil || type == "node",
                request.access.permissions.check(
                    request.identity.authID,
                    path: "/nodes/\(node)",
                    privileges: ["Sys.Audit"]
                )
            {
                items.append(.object(NodeStatus.current().resourceFields(node: node, listForm: false)))
            }
            // As Proxmox: a guest or storage in a pool names it, and each pool the caller may
            // audit is an entry of its own.
            let pools = request.access.config.pools.values.sorted { $0.poolid < $1.poolid }
            let poolOfVM = Dictionary(pools.flatMap { pool in pool.vms.map { ($0, pool.poolid) } }) { first, _ in first
            }
            let poolOfStorage = Dictionary(pools.flatMap { pool in pool.storage.map { ($0, pool.poolid) } }) {
                first,
                _ in first
            }
            if type == nil || type == "vm" {
                for (vmid, config, fields) in try await QEMUEndpoints.listEntries(request) {
                    var entry = fields
                    entry["id"] = .string("qemu/\(vmid)")
                    entry["type"] = "qemu"
                    entry["node"] = .string(node)
                    entry["template"] = .flag(config.isTemplate)
                    if let pool = poolOfVM[vmid.value] { entry["pool"] = .string(pool) }
                    items.append(.object(entry))
                }
            }
            if type == nil {
                for pool in pools
                where request.access.permissions.check(
                    request.identity.authID,
                    path: "/pool/\(pool.poolid)",
                    privileges: ["Pool.Audit"]
                ) {
                    items.append(["id": .string("pool/\(pool.poolid)"), "type": "pool", "pool": .string(pool.poolid)])
                }
            }
            if type == nil || type == "storage" {
                for definition in try await request.services.storage.definitions()
                where definition.isEnabled(on: node) && StorageEndpoints.canSee(request, definition.id) {
                    let status = await request.services.storage.status(of: definition)
                    items.append(
                        ClusterViews.storageEntry(
                            definition,
                            node: node,
                            active: status.active,
                            used: status.used,
                            total: status.total
                        )
                    )
                    if let pool = poolOfStorage[definition.id], case .object(var entry) = items.removeLast() {
                        entry["pool"] = .string(pool)
                        items.append(.object(entry))
                    }
                }
            }
            // The other nodes, from what they publish: no call goes to them.
            for (name, status) in try await ClusterViews.otherNodes(request) {
                items += try await ClusterViews.resources(
                    of: name,
                    status: status,
                    type: type,
                    request: request,
                    poolOfVM: poolOfVM
                )
            }
            return .init(.array(items))
        }
        registry.register(.get, "/cluster/nextid", handles: ["vmid"]) { request in
            let used = Set(try await request.services.vms.configs.all().map(\.vmid))
            if let wanted = request.parameters.optionalVMID("vmid") {
                guard !used.contains(wanted) else { throw VireoError.parameter("vmid", "VM \(wanted) already exists") }
                return .init(.string(String(wanted)))
            }
            let (lower, upper) = DatacenterConfig.nextIDRange(try await DatacenterConfig.read(request.services.store))
            // Typed clients decode this as a string.
            guard let next = (lower..<upper).lazy.compactMap(VMID.init).first(where: { !used.contains($0) }) else {
                throw VireoError.invalid("unable to get any free VMID in range [\(lower), \(upper)]")
            }
            return .init(.string(String(next)))
        }
        registerOptions(in: &registry)
        registerJobs(in: &registry)
        registerBulkActions(in: &registry)
        registerMetrics(in: &registry)
        registerMappings(in: &registry)
    }
}
