import VireoCore
import VireoFirewall
import VireoQEMU
import VireoStore

/// `/cluster/firewall`, `/nodes/{node}/firewall` and `/nodes/{node}/qemu/{vmid}/firewall`:
/// Proxmox's firewall API over the `.fw` files, applied to the kernel before each call returns.
enum FirewallEndpoints {
    static let guestPath = "/nodes/{node}/qemu/{vmid}/firewall"

    static func register(in registry: inout APIRegistry) {
        registry.registerIndex("/cluster/firewall", key: "name")
        registry.registerIndex("/nodes/{node}/firewall", key: "name")
        registry.registerIndex(guestPath, key: "name")

        registerRules(in: &registry, "/cluster/firewall/rules") { _ in
            FirewallRuleCollection(level: .cluster, group: nil, counterPrefix: "cluster/rules")
        }
        registerRules(in: &registry, "/cluster/firewall/groups/{group}") { request in
            let group = try request.parameters.require("group")
            return FirewallRuleCollection(level: .cluster, group: group, counterPrefix: "cluster/group/\(group)")
        }
        registerRules(in: &registry, "/nodes/{node}/firewall/rules") { request in
            let node = try request.parameters.require("node")
            return FirewallRuleCollection(
                level: .host(node),
                group: nil,
                counterPrefix: node == request.services.node ? "host/rules" : nil
            )
        }
        registerRules(in: &registry, guestPath + "/rules") { request in
            let vmid = try await guest(request)
            return FirewallRuleCollection(level: .guest(vmid), group: nil, counterPrefix: "guest/\(vmid)/rules")
        }
        registerGroups(in: &registry)
        registerIPSets(in: &registry, "/cluster/firewall/ipset") { _ in .cluster }
        registerIPSets(in: &registry, guestPath + "/ipset") { .guest(try await guest($0)) }
        registerAliases(in: &registry, "/cluster/firewall/aliases") { _ in .cluster }
        registerAliases(in: &registry, guestPath + "/aliases") { .guest(try await guest($0)) }
        registerOptions(in: &registry, "/cluster/firewall/options") { _ in .cluster }
        registerOptions(in: &registry, "/nodes/{node}/firewall/options") { .host(try $0.parameters.require("node")) }
        registerOptions(in: &registry, guestPath + "/options") { .guest(try await guest($0)) }
        registerRefs(in: &registry)
        registerLog(in: &registry)
        registerService(in: &registry)
        registry.register(.get, "/cluster/firewall/macros", handles: []) { _ in
            .init(.array(FirewallMacro.all.map { ["macro": .string($0.name), "descr": .string($0.description)] }))
        }
    }

    /// The VM of a guest path; it must exist on this node.
    static func guest(_ request: APIRequest) async throws -> Int {
        let vmid = try request.parameters.vmid()
        _ = try await request.services.vms.configs.load(vmid)
        return vmid.value
    }

    // MARK: - Security groups

    static func registerGroups(in registry: inout APIRegistry) {
        registry.register(.get, "/cluster/firewall/groups", handles: []) { request in
            let file = try await FirewallFiles.load(request, .cluster)
            var entries = groupEntries(file)
            let digest = FirewallFiles.listDigest(entries)
            for index in entries.indices { entries[index]["digest"] = .string(digest) }
            return .init(.array(entries.map { .object($0) }))
        }
        registry.register(.post, "/cluster/firewall/groups", handles: .all) { request in
            let p = request.parameters
            let name = try p.require("group")
            guard FirewallReference.isName(name, maximumLength: 18) else {
                throw VireoError.parameter(
                    "group",
                    "invalid security group name '\(name)' (2 to 18 letters, digits, - and _)"
                )
            }
            let comment = try FirewallFiles.comment(request)
            if let old = p["rename"], old.lowercased() != name.lowercased() {
                try await renameGroup(request, from: old, to: name, comment: comment)
                return .null
            }
            try await FirewallFiles.modify(request, .cluster) { file, _ in
                try FirewallFiles.checkDigest(request, groupEntries(file))
                if let old = p["rename"] {
                    guard let index = file.groups.firstIndex(where: { $0.name.lowercased() == old.lowercased() }) else {
                        throw VireoError.notFound("no such security group '\(old)'")
                    }
                    file.groups[index].comment = comment
                    return
                }
                guard file.group(named: name) == nil else {
                    throw VireoError.parameter("group", "security group '\(name)' already exists")
                }
                file.groups.append(FirewallGroup(name: name, comment: comment))
            }
            return .null
        }
        registry.register(.delete, "/cluster/firewall/groups/{group}", handles: .all) { request in
            let name = try request.parameters.require("group")
            if let user = try await groupUsers(request, name).first {
                throw VireoError.conflict("security group '\(name)' is used by \(user)")
            }
            try await FirewallFiles.modify(request, .cluster) { file, _ in
                guard let group = file.group(named: name) else {
                    throw VireoError.notFound("no such security group '\(name)'")
                }
                guard group.rules.isEmpty else {
                    throw VireoError.conflict("security group '\(name)' is not empty")
                }
                file.groups.removeAll { $0.name.lowercased() == name.lowercased() }
            }
            return .null
        }
    }

    static func groupEntries(_ file: FirewallFile) -> [[String: JSON]] {
        file.groups.sorted { $0.name.lowercased() < $1.name.lowercased() }.map { group in
            var entry: [String: JSON] = ["group": .string(group.name)]
            if let comment = group.comment { entry["comment"] = .string(comment) }
            return entry
        }
    }

    /// Every file with a GROUP rule naming `group` (cluster rules, hosts, guests).
    static func groupUsers(_ request: APIRequest, _ group: String) async throws -> [String] {
        var users: [String] = []
        for (level, file, _) in try await filesWithRules(request) {
            if file.rules.contains(where: { $0.type == .group && $0.action.lowercased() == group.lowercased() }) {
                users.append(level.description)
            }
        }
        return users
    }

    /// cluster.fw, every node's host.fw and every guest's .fw, with their stored versions.
    static func filesWithRules(_ request: APIRequest) async throws -> [(FirewallLevel, FirewallFile, StoredFile)] {
        let store = request.services.store
        var result: [(FirewallLevel, FirewallFile, StoredFile)] = []
        for stored in try await store.readAll("firewall") {
            guard let level = FirewallLevel(path: stored.path) else { continue }
            result.append((level, FirewallFile(parsing: stored.content, level: level), stored))
        }
        for node in try await store.list("nodes") {
            guard let stored = try await store.read(FirewallLevel.host(node).path) else { continue }
            result.append((.host(node), FirewallFile(parsing: stored.content, level: .host(node)), stored))
        }
        return result
    }

    /// Renames a group and every GROUP rule naming it, in one store transaction.
    static func renameGroup(_ request: APIRequest, from old: String, to new: String, comment: String?) async throws {
        var writes: [(FirewallLevel, StoredFile?, FirewallFile)] = []
        for (level, var file, stored) in try await filesWithRules(request) {
            var changed = false
            if level == .cluster {
                guard let index = file.groups.firstIndex(where: { $0.name.lowercased() == old.lowercased() }) else {
                    throw VireoError.notFound("no such security group '\(old)'")
                }
                guard file.group(named: new) == nil else {
                    throw VireoError.parameter("group", "security group '\(new)' already exists")
                }
                if let digest = request.parameters["digest"], !digest.isEmpty,
                    digest.lowercased() != FirewallFiles.listDigest(groupEntries(file))
                {
                    throw VireoError.modifiedConfiguration
                }
                file.groups[index].name = new
                if comment != nil { file.groups[index].comment = comment }
                changed = true
            }
            for index in file.rules.indices
            where file.rules[index].type == .group && file.rules[index].action.lowercased() == old.lowercased() {
                file.rules[index].action = new
                changed = true
            }
            if changed { writes.append((level, stored, file)) }
        }
        guard writes.contains(where: { $0.0 == .cluster }) else {
            throw VireoError.notFound("no such security group '\(old)'")
        }
        try await FirewallFiles.commit(request, writes)
    }

    // MARK: - Refs and log

    static func registerRefs(in registry: inout APIRegistry) {
        registry.register(.get, "/cluster/firewall/refs", handles: .all) { request in
            let cluster = try await FirewallFiles.load(request, .cluster)
            return .init(.array(refs(cluster, scope: "dc", type: request.parameters["type"])))
        }
        registry.register(.get, guestPath + "/refs", handles: .all) { request in
            let vmid = try await guest(request)
            let cluster = try await FirewallFiles.load(request, .cluster)
            let own = try await FirewallFiles.load(request, .guest(vmid))
            let type = request.parameters["type"]
            return .init(.array(refs(cluster, scope: "dc", type: type) + refs(own, scope: "guest", type: type)))
        }
    }

    /// `[{type, name, ref, scope, comment}]`: what a rule's source or dest may name.
    static func refs(_ file: FirewallFile, scope: String, type: String?) -> [JSON] {
        var result: [JSON] = []
        if type == nil || type == "ipset" {
            for ipset in file.ipsets {
                var entry: [String: JSON] = [
                    "type": "ipset", "name": .string(ipset.name), "ref": .string("+\(ipset.name)"),
                    "scope": .string(scope),
                ]
                if let comment = ipset.comment { entry["comment"] = .string(comment) }
                result.append(.object(entry))
            }
        }
        if type == nil || type == "alias" {
            for alias in file.aliases {
                var entry: [String: JSON] = [
                    "type": "alias", "name": .string(alias.name), "ref": .string(alias.name),
                    "scope": .string(scope),
                ]
                if let comment = alias.comment { entry["comment"] = .string(comment) }
                result.append(.object(entry))
            }
        }
        return result
    }

    static func registerLog(in registry: inout APIRegistry) {
        registry.register(.get, "/nodes/{node}/firewall/log", handles: .all) { request in
            .init(try await FirewallLogEndpoint.lines(request, vmid: nil))
        }
        registry.register(.get, guestPath + "/log", handles: .all) { request in
            .init(try await FirewallLogEndpoint.lines(request, vmid: try await guest(request)))
        }
    }
}
