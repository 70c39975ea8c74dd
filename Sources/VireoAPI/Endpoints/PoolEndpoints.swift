import VireoAccess
import VireoCore

/// `/pools`: resource pools (membership lives in `user.cfg`).
enum PoolEndpoints {
    /// `type` (`qemu`, `lxc`, `storage`) keeps only members of that kind.
    static func poolJSON(_ pool: UserConfig.Pool, node: String, withMembers: Bool, type: String? = nil) -> JSON {
        var object: [String: JSON] = ["poolid": .string(pool.poolid)]
        if !pool.comment.isEmpty { object["comment"] = .string(pool.comment) }
        if withMembers {
            let vms: [JSON] = pool.vms.sorted().map {
                ["id": .string("qemu/\($0)"), "type": "qemu", "vmid": .int($0), "node": .string(node)]
            }
            let storage: [JSON] = pool.storage.sorted().map {
                [
                    "id": .string("storage/\(node)/\($0)"), "type": "storage", "storage": .string($0),
                    "node": .string(node),
                ]
            }
            let members: [JSON] =
                switch type {
                case nil: vms + storage
                case "qemu": vms
                case "storage": storage
                default: []  // Vireo runs no containers
                }
            object["members"] = .array(members)
        }
        return .object(object)
    }

    static func register(in registry: inout APIRegistry) {
        registry.register(.get, "/pools", handles: ["poolid", "type"]) { request in
            let snapshot = request.access
            let wanted = request.parameters["poolid"]
            let pools = snapshot.config.pools.values.filter { pool in
                (wanted == nil || pool.poolid == wanted)
                    && snapshot.permissions.check(
                        request.identity.authID,
                        path: "/pool/\(pool.poolid)",
                        privileges: ["Pool.Audit"]
                    )
            }
            return .init(
                .array(
                    pools.sorted { $0.poolid < $1.poolid }.map {
                        poolJSON(
                            $0,
                            node: request.services.node,
                            withMembers: wanted != nil,
                            type: request.parameters["type"]
                        )
                    }
                )
            )
        }
        registry.register(.get, "/pools/{poolid}", handles: ["type"]) { request in
            let poolid = try request.parameters.require("poolid")
            guard let pool = request.access.config.pools[poolid] else {
                throw VireoError.notFound("pool '\(poolid)' does not exist")
            }
            var json = poolJSON(pool, node: request.services.node, withMembers: true, type: request.parameters["type"])
            if case .object(var o) = json {
                o["poolid"] = nil
                json = .object(o)
            }
            return .init(json)
        }
        registry.register(.post, "/pools", handles: ["comment", "poolid"]) { request in
            let poolid = try request.parameters.require("poolid")
            let comment = request.parameters["comment"]
            try await request.services.access.modifyUsers { config in
                guard config.pools[poolid] == nil else { throw VireoError.conflict("pool '\(poolid)' already exists") }
                if poolid.contains("/") {
                    let parent = String(poolid[..<(poolid.lastIndex(of: "/") ?? poolid.endIndex)])
                    guard config.pools[parent] != nil else {
                        throw VireoError.parameter("poolid", "parent pool '\(parent)' does not exist")
                    }
                }
                var pool = UserConfig.Pool(poolid: poolid)
                pool.comment = comment ?? ""
                config.pools[poolid] = pool
            }
            return .null
        }
        let update: APIHandler = { request in
            let p = request.parameters
            let poolid = try p.require("poolid")
            let remove = p.bool("delete", default: false)
            let allowMove = p.bool("allow-move", default: false)
            let vms = p.vmids("vms").map(\.value)
            let storage = p.list("storage")
            try await request.services.access.modifyUsers { config in
                guard var pool = config.pools[poolid] else {
                    throw VireoError.notFound("pool '\(poolid)' does not exist")
                }
                if let comment = p["comment"] { pool.comment = comment }
                if remove {
                    pool.vms.removeAll { vms.contains($0) }
                    pool.storage.removeAll { storage.contains($0) }
                } else {
                    for vmid in vms where !pool.vms.contains(vmid) {
                        // A VM belongs to at most one pool.
                        if let other = config.pools.values.first(where: { $0.poolid != poolid && $0.vms.contains(vmid) }
                        ) {
                            guard allowMove else {
                                throw VireoError.parameter(
                                    "vms",
                                    "VM \(vmid) is already a pool member of '\(other.poolid)'"
                                )
                            }
                            config.pools[other.poolid]?.vms.removeAll { $0 == vmid }
                        }
                        pool.vms.append(vmid)
                    }
                    for id in storage where !pool.storage.contains(id) { pool.storage.append(id) }
                }
                config.pools[poolid] = pool
            }
            return .null
        }
        registry.register(
            .put,
            "/pools",
            handles: ["allow-move", "comment", "delete", "poolid", "storage", "vms"],
            update
        )
        registry.register(
            .put,
            "/pools/{poolid}",
            handles: ["allow-move", "comment", "delete", "storage", "vms"],
            update
        )
        let delete: APIHandler = { request in
            let poolid = try request.parameters.require("poolid")
            try await request.services.access.modifyUsers { config in
                guard let pool = config.pools[poolid] else {
                    throw VireoError.notFound("pool '\(poolid)' does not exist")
                }
                guard pool.vms.isEmpty, pool.storage.isEmpty else {
                    throw VireoError.conflict("pool '\(poolid)' is not empty")
                }
                guard !config.pools.keys.contains(where: { $0.hasPrefix(poolid + "/") }) else {
                    throw VireoError.conflict("pool '\(poolid)' has sub-pools")
                }
                config.pools[poolid] = nil
                config.acl.removeAll { $0.path == "/pool/\(poolid)" }
            }
            return .null
        }
        registry.register(.delete, "/pools", handles: ["poolid"], delete)
        registry.register(.delete, "/pools/{poolid}", handles: [], delete)
    }
}
