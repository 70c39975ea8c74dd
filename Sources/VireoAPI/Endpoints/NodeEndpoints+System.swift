import Foundation
import VireoAccess
import VireoCore
import VireoHost
import VireoStore
import VireoTasks

/// The node's own settings and state: version, config, DNS, hosts, time, logs, services,
/// subscription, network counters and the report.
extension NodeEndpoints {
    static func registerSystem(in registry: inout APIRegistry) {
        registry.register(.get, "/nodes/{node}/version", handles: []) { _ in
            .init(["version": .string(version), "release": .string(release), "repoid": .string(repoid)])
        }
        registerConfig(in: &registry)
        registerHostFiles(in: &registry)
        registerLogs(in: &registry)
        registerServices(in: &registry)
        registerCertificates(in: &registry)
        registerSubscription(in: &registry)
        registry.register(.get, "/nodes/{node}/netstat", handles: []) { request in
            .init(.array(try await NetworkCounters.guestTaps(request.services.host)))
        }
        // Vireo runs no containers: the list is empty, as on a Proxmox node without any.
        registry.register(.get, "/nodes/{node}/lxc", handles: []) { _ in .init([]) }
        registry.register(.get, "/nodes/{node}/report", handles: []) { request in
            .init(.string(try await NodeReport.text(request)))
        }
    }

    // MARK: - node config (`nodes/<node>/config`)

    static func configPath(_ node: String) -> String { "nodes/\(node)/config" }

    /// The keys of a node's config Vireo keeps (ACME is out of Vireo's scope).
    static let nodeConfigKeys = ["description", "wakeonlan", "startall-onboot-delay", "ballooning-target"]

    static func nodeConfig(_ request: APIRequest) async throws -> (KeyValueConfig, digest: String) {
        let file = try await request.services.store.read(configPath(request.services.node))
        return (try KeyValueConfig(parsing: file?.content ?? ""), file?.digest ?? ConfigDigest.sha1Hex(""))
    }

    static func registerConfig(in registry: inout APIRegistry) {
        registry.register(.get, "/nodes/{node}/config", handles: ["property"]) { request in
            let (config, digest) = try await nodeConfig(request)
            var fields: [String: JSON] = ["digest": .string(digest)]
            if !config.description.isEmpty { fields["description"] = .string(config.description) }
            for (key, value) in config.entries {
                fields[key] = Int(value).map { .int($0) } ?? .string(value)
            }
            if let property = request.parameters["property"], property != "all" {
                fields = fields.filter { $0.key == property || $0.key == "digest" }
            }
            return .init(.object(fields))
        }
        registry.register(
            .put,
            "/nodes/{node}/config",
            handles: ["delete", "description", "digest", "startall-onboot-delay", "wakeonlan", "ballooning-target"]
        ) { request in
            let p = request.parameters
            let deletions = p.list("delete")
            for key in deletions where !nodeConfigKeys.contains(key) {
                throw VireoError.parameter("delete", "unknown or unsupported property '\(key)'")
            }
            for key in deletions where p.has(key) {
                throw VireoError.parameter("delete", "cannot set and delete property '\(key)' at the same time")
            }
            if let wol = p["wakeonlan"] { _ = try WakeOnLAN.Setting(parsing: wol) }
            try await request.services.store.update(configPath(request.services.node), digest: p["digest"]) { text in
                var config = try KeyValueConfig(parsing: text ?? "")
                for key in deletions {
                    if key == "description" { config.description = "" } else { config[key] = nil }
                }
                if let description = p["description"] { config.description = description }
                for key in nodeConfigKeys where key != "description" {
                    if let value = p[key] { config[key] = value }
                }
                return config.text
            }
            return .null
        }
        registry.register(.post, "/nodes/{node}/wakeonlan", handles: []) { request in
            let (config, _) = try await nodeConfig(request)
            guard let text = config["wakeonlan"] else {
                throw VireoError.invalid("no wake on LAN MAC address defined for node '\(request.services.node)'")
            }
            let setting = try WakeOnLAN.Setting(parsing: text)
            try await WakeOnLAN.send(setting, host: request.services.host)
            return .init(.string(setting.mac))
        }
    }

    // MARK: - DNS, hosts, time

    static func registerHostFiles(in registry: inout APIRegistry) {
        registry.register(.get, "/nodes/{node}/dns", handles: []) { request in
            .init(.object(request.services.host.dns().fields))
        }
        registry.register(.put, "/nodes/{node}/dns", handles: ["search", "dns1", "dns2", "dns3"]) { request in
            let p = request.parameters
            let search = try p.require("search")
            guard !search.contains(where: \.isNewline) else {
                throw VireoError.parameter("search", "must be one line")
            }
            let servers = ["dns1", "dns2", "dns3"].compactMap { p[$0] }
            try request.services.host.setDNS(ResolvConf(search: search, nameservers: servers))
            return .null
        }
        registry.register(.get, "/nodes/{node}/hosts", handles: []) { request in
            let text = request.services.host.read("/etc/hosts") ?? ""
            return .init(["data": .string(text), "digest": .string(ConfigDigest.sha1Hex(text))])
        }
        registry.register(.post, "/nodes/{node}/hosts", handles: ["data", "digest"]) { request in
            let p = request.parameters
            let host = request.services.host
            let current = host.read("/etc/hosts") ?? ""
            if let digest = p["digest"], digest.lowercased() != ConfigDigest.sha1Hex(current) {
                throw VireoError.modifiedConfiguration
            }
            var data = try p.require("data")
            if !data.hasSuffix("\n") { data += "\n" }
            try host.write("/etc/hosts", data)
            return .null
        }
        registry.register(.get, "/nodes/{node}/time", handles: []) { request in
            .init(.object(request.services.host.clock()))
        }
        registry.register(.put, "/nodes/{node}/time", handles: ["timezone"]) { request in
            try request.services.host.setTimezone(try request.parameters.require("timezone"))
            return .null
        }
    }

    // MARK: - logs

    static func registerLogs(in registry: inout APIRegistry) {
        registry.register(.get, "/nodes/{node}/syslog", handles: ["start", "limit", "since", "until", "service"]) {
            request in
            let p = request.parameters
            var query = NodeHost.SyslogQuery()
            query.start = p.int("start") ?? 0
            query.limit = p.int("limit") ?? 50
            query.since = p["since"]
            query.until = p["until"]
            query.service = p["service"]
            if let service = query.service,
                !service.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.@".contains($0)) })
            {
                throw VireoError.parameter("service", "invalid service name '\(service)'")
            }
            let (lines, total) = try await request.services.host.syslog(query)
            return .init(.array(lines), total: total)
        }
        registry.register(
            .get,
            "/nodes/{node}/journal",
            handles: ["since", "until", "lastentries", "startcursor", "endcursor"]
        ) { request in
            let p = request.parameters
            var query = NodeHost.JournalQuery()
            query.since = p.int("since")
            query.until = p.int("until")
            query.lastEntries = p.int("lastentries")
            query.startCursor = p["startcursor"]
            query.endCursor = p["endcursor"]
            for name in ["startcursor", "endcursor"] {
                if let cursor = p[name], cursor.contains(where: { $0.isNewline || $0 == "\0" }) {
                    throw VireoError.parameter(name, "invalid journal cursor")
                }
            }
            return .init(.array(try await request.services.host.journal(query).map { .string($0) }))
        }
    }

    // MARK: - services

    static func registerServices(in registry: inout APIRegistry) {
        registry.register(.get, "/nodes/{node}/services", handles: []) { request in
            .init(.array(try await request.services.host.services().map { .object($0.fields) }))
        }
        registry.register(.get, "/nodes/{node}/services/{service}", handles: []) { request in
            _ = try await request.services.host.service(try request.parameters.require("service"))
            return .init(.array(["state", "start", "stop", "restart", "reload"].map { ["subdir": .string($0)] }))
        }
        registry.register(.get, "/nodes/{node}/services/{service}/state", handles: []) { request in
            .init(.object(try await request.services.host.service(try request.parameters.require("service")).fields))
        }
        for action in ServiceAction.allCases {
            registry.register(.post, "/nodes/{node}/services/{service}/\(action.rawValue)", handles: []) { request in
                let name = try request.parameters.require("service")
                let host = request.services.host
                // Refused before a task starts, so the caller sees why at once.
                let state = try await host.service(name)
                try host.checkControl(state, action)
                let upid = try request.services.tasks.start(
                    type: "srv\(action.rawValue)",
                    id: name,
                    user: request.identity.authID
                ) { log in
                    log.append("\(action.rawValue) service \(name) (\(state.name))")
                    try await host.control(name, action)
                }
                return .init(.string(upid.description))
            }
        }
    }

    // MARK: - subscription

    /// Vireo has no subscriptions: it answers as a Proxmox node without a key does.
    static func registerSubscription(in registry: inout APIRegistry) {
        registry.register(.get, "/nodes/{node}/subscription", handles: []) { _ in
            .init(["status": "notfound", "message": "There is no subscription key"])
        }
        registry.register(.post, "/nodes/{node}/subscription", handles: ["force"]) { _ in .null }
        registry.register(.put, "/nodes/{node}/subscription", handles: ["key"]) { _ in
            throw VireoError.parameter("key", "Vireo has no subscriptions: a Proxmox VE key cannot be activated here")
        }
        registry.register(.delete, "/nodes/{node}/subscription", handles: []) { _ in .null }
    }
}

extension NodeEndpoints {
    /// `/nodes/{node}/certificates/info`: the node's API certificate (and custom ones, once Vireo
    /// takes them).
    static func registerCertificates(in registry: inout APIRegistry) {
        registry.registerIndex("/nodes/{node}/certificates", key: "name")
        registry.register(.get, "/nodes/{node}/certificates/info", handles: []) { request in
            let node = request.services.node
            guard let pem = try await request.services.store.read("nodes/\(node)/pve-ssl.pem")?.content else {
                return .init([])
            }
            let info = try await CertificateInfo.describe(
                pem: pem,
                filename: "pve-ssl.pem",
                host: request.services.host
            )
            return .init([.object(info)])
        }
    }
}
