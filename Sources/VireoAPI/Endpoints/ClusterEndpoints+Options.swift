import Foundation
import VireoAccess
import VireoCore
import VireoQEMU
import VireoStore
import VireoTasks

/// `datacenter.cfg` (`/cluster/options`), the cluster log, and the VM ID allocator's range.
enum DatacenterConfig {
    static let path = "datacenter.cfg"

    /// The options that are property strings: their keys and the key a bare value stands for.
    static let propertyStrings: [String: (keys: Set<String>, defaultKey: String?)] = [
        "bwlimit": (["clone", "default", "migration", "move", "restore"], nil),
        "crs": (
            [
                "ha", "ha-auto-rebalance", "ha-auto-rebalance-hold-duration", "ha-auto-rebalance-margin",
                "ha-auto-rebalance-method", "ha-auto-rebalance-threshold", "ha-rebalance-on-start",
            ], nil
        ),
        "ha": (["shutdown_policy"], "shutdown_policy"),
        "migration": (["network", "type"], "type"),
        "replication": (["network", "type"], "type"),
        "next-id": (["lower", "upper"], nil),
        "notify": (
            [
                "fencing", "package-updates", "replication", "target-fencing", "target-package-updates",
                "target-replication",
            ],
            nil
        ),
        "tag-style": (["case-sensitive", "color-map", "ordering", "shape"], nil),
        "u2f": (["appid", "origin"], nil),
        "user-tag-access": (["user-allow", "user-allow-list"], nil),
        "webauthn": (["allow-subdomains", "id", "origin", "rp"], nil),
    ]

    static func read(_ store: any ConfigStore) async throws -> KeyValueConfig {
        try KeyValueConfig(parsing: try await store.read(path)?.content ?? "")
    }

    /// The VM ID range `next-id` allows: lower inclusive, upper exclusive.
    static func nextIDRange(_ config: KeyValueConfig) -> (lower: Int, upper: Int) {
        let property = config["next-id"].flatMap { try? PropertyString(parsing: $0) }
        let lower = property?["lower"].flatMap { Int($0) } ?? 100
        let upper = property?["upper"].flatMap { Int($0) } ?? 1_000_000
        return (lower, upper)
    }

    /// Checks one option's value as `PUT /cluster/options` receives it.
    static func validate(_ key: String, _ value: String) throws {
        if let format = propertyStrings[key] {
            let property: PropertyString
            do { property = try PropertyString(parsing: value) } catch {
                throw VireoError.parameter(key, "invalid format - \(error)")
            }
            for name in property.keys where !format.keys.contains(name) {
                throw VireoError.parameter(key, "invalid format - unknown property '\(name)'")
            }
            if property.defaultValue != nil, format.defaultKey == nil {
                throw VireoError.parameter(key, "invalid format - value without a key")
            }
            if key == "next-id" {
                let lower = try property.int("lower") ?? 100
                let upper = try property.int("upper") ?? 1_000_000
                guard lower >= 100, upper <= 1_000_000 else {
                    throw VireoError.parameter(key, "next-id range must lie within 100 and 1000000")
                }
                guard lower <= upper else {
                    throw VireoError.parameter(key, "lower (\(lower)) <= upper (\(upper)) boundary rule broken")
                }
            }
            for (name, allowed) in [
                ("type", ["secure", "insecure"]),
                ("shutdown_policy", ["freeze", "failover", "conditional", "migrate"]),
            ] {
                if let value = property[name] ?? (format.defaultKey == name ? property.defaultValue : nil),
                    !allowed.contains(value)
                {
                    throw VireoError.parameter(
                        key,
                        "invalid format - \(name): value '\(value)' does not have a value in the enumeration '\(allowed.joined(separator: ", "))'"
                    )
                }
            }
        }
        switch key {
        case "mac_prefix":
            let pattern = #"^[a-fA-F0-9][02468aceACE](:[a-fA-F0-9]{2}){0,2}:?$"#
            guard value.range(of: pattern, options: .regularExpression) != nil else {
                throw VireoError.parameter(key, "value is not a valid unicast MAC address prefix")
            }
        case "http_proxy":
            guard value.hasPrefix("http://"), !value.contains(where: { $0.isWhitespace }) else {
                throw VireoError.parameter(key, "value does not match the regex pattern")
            }
        case "registered-tags":
            for tag in value.split(separator: ";")
            where !tag.allSatisfy({ $0.isLetter || $0.isNumber || "_-+.".contains($0) }) {
                throw VireoError.parameter(key, "invalid tag '\(tag)'")
            }
        default: break
        }
    }

    /// One option as `GET /cluster/options` shows it: property strings as objects, tag lists as arrays.
    static func json(_ key: String, _ value: String) -> JSON {
        if key == "registered-tags" { return .array(value.split(separator: ";").map { .string(String($0)) }) }
        if let format = propertyStrings[key], let property = try? PropertyString(parsing: value) {
            var object: [String: JSON] = [:]
            if let bare = property.defaultValue, let name = format.defaultKey { object[name] = .string(bare) }
            for entry in property.entries {
                if key == "user-tag-access", entry.key == "user-allow-list" {
                    object[entry.key] = .array(entry.value.split(separator: ";").map { .string(String($0)) })
                } else {
                    object[entry.key] = Int(entry.value).map { .int($0) } ?? .string(entry.value)
                }
            }
            return .object(object)
        }
        if key == "max_workers", let number = Int(value) { return .int(number) }
        if key == "migration_unsecure" { return .flag(value == "1") }
        return .string(value)
    }
}

extension ClusterEndpoints {
    static func registerOptions(in registry: inout APIRegistry) {
        registry.register(.get, "/cluster/options", handles: []) { request in
            let config = try await DatacenterConfig.read(request.services.store)
            let auditor = request.access.permissions.check(
                request.identity.authID,
                path: "/",
                privileges: ["Sys.Audit"]
            )
            var fields: [String: JSON] = [:]
            for (key, value) in config.entries where auditor || key == "console" || key == "tag-style" {
                fields[key] = DatacenterConfig.json(key, value)
            }
            if auditor { fields["description"] = .string(config.description) }
            fields["allowed-tags"] = .array(try await allowedTags(request, config).map { .string($0) })
            return .init(.object(fields))
        }
        registry.register(.put, "/cluster/options", handles: .all) { request in
            let p = request.parameters
            let edits = try OptionEdits(p, settable: OptionEdits.settable("/cluster/options"))
            let deletions = edits.deletions
            var values: [String: String] = [:]
            for (key, value) in edits.values {
                if key != "description", value.contains(where: \.isNewline) {
                    throw VireoError.parameter(key, "must be one line")
                }
                try DatacenterConfig.validate(key, value)
                values[key] = value
            }
            try await request.services.store.update(DatacenterConfig.path, digest: p["digest"]) { text in
                var config = try KeyValueConfig(parsing: text ?? "")
                for key in deletions {
                    if key == "description" { config.description = "" } else { config[key] = nil }
                }
                for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                    if key == "description" { config.description = value } else { config[key] = value }
                }
                return config.text
            }
            return .null
        }
        registry.register(.get, "/cluster/log", handles: ["max"]) { request in
            let limit = request.parameters.int("max") ?? 50
            let all = request.access.permissions.check(request.identity.authID, path: "/", privileges: ["Sys.Syslog"])
            return .init(.array(clusterLog(request, limit: limit, all: all)))
        }
    }

    /// Tags a user may put on a guest: the registered ones, and for users allowed free tags
    /// (the default) every tag in use.
    static func allowedTags(_ request: APIRequest, _ config: KeyValueConfig) async throws -> [String] {
        var tags = Set(config["registered-tags"]?.split(separator: ";").map(String.init) ?? [])
        let access = config["user-tag-access"].flatMap { try? PropertyString(parsing: $0) }
        tags.formUnion(access?["user-allow-list"]?.split(separator: ";").map(String.init) ?? [])
        if (access?["user-allow"] ?? "free") != "none" {
            for loaded in try await request.services.vms.configs.loadAllOnNode().loaded {
                tags.formUnion(
                    loaded.config.main["tags"]?.split(whereSeparator: { ";, ".contains($0) }).map(String.init) ?? []
                )
            }
        }
        return tags.sorted()
    }

    /// The cluster log: task starts and ends, newest first, as `{uid, time, pri, tag, pid, node,
    /// user, msg}`. Without `Sys.Syslog` on `/` a user sees only the entries of their own tasks.
    static func clusterLog(_ request: APIRequest, limit: Int, all: Bool) -> [JSON] {
        var entries: [(time: Int, json: JSON)] = []
        for record in request.services.tasks.list() {
            let upid = record.upid
            guard all || upid.user == request.identity.authID || upid.user == request.identity.userID else { continue }
            func entry(_ time: Int, _ message: String, priority: Int) -> JSON {
                [
                    "uid": .int(entries.count + 1), "time": .int(time), "pri": .int(priority), "tag": "vireod",
                    "pid": .int(upid.pid), "node": .string(upid.node), "user": .string(upid.user),
                    "msg": .string(message),
                ]
            }
            entries.append((upid.starttime, entry(upid.starttime, "starting task \(upid)", priority: 6)))
            if let end = record.endtime {
                let status = record.exitStatus ?? "OK"
                entries.append((end, entry(end, "end task \(upid) \(status)", priority: status == "OK" ? 6 : 3)))
            }
        }
        return entries.sorted { $0.time > $1.time }.prefix(max(limit, 1)).map(\.json)
    }
}
