import Foundation
import VireoAccess
import VireoCore
import VireoHost
import VireoQEMU
import VireoStore

/// `/cluster/metrics`: external metric servers (`status.cfg`) and the metrics export.
extension ClusterEndpoints {
    static let metricsPath = "status.cfg"

    /// The options each metric server type takes, besides `server`, `port`, `disable`, `mtu`.
    static let metricOptions: [String: Set<String>] = [
        "graphite": ["path", "proto", "timeout"],
        "influxdb": [
            "influxdbproto", "organization", "bucket", "token", "api-path-prefix", "max-body-size",
            "verify-certificate",
            "timeout",
        ],
        "opentelemetry": [
            "otel-protocol", "otel-path", "otel-timeout", "otel-headers", "otel-verify-ssl", "otel-max-body-size",
            "otel-resource-attributes", "otel-compression",
        ],
    ]
    static let commonMetricOptions: Set<String> = ["server", "port", "disable", "mtu"]
    static let metricFlags: Set<String> = ["disable", "verify-certificate", "otel-verify-ssl"]

    /// Tokens are secrets: kept apart from status.cfg and never returned.
    static func metricTokenPath(_ id: String) -> String { "priv/metricserver/\(id).pw" }

    static func registerMetrics(in registry: inout APIRegistry) {
        registry.registerIndex("/cluster/metrics")
        registry.register(.get, "/cluster/metrics/server", handles: []) { request in
            let config = try await metricsConfig(request)
            return .init(
                .array(
                    config.sections.map { section in
                        [
                            "id": .string(section.id), "type": .string(section.type),
                            "server": .string(section["server"] ?? ""), "port": .int(Int(section["port"] ?? "") ?? 0),
                            "disable": .flag(section["disable"] == "1"),
                        ]
                    }
                )
            )
        }
        registry.register(.get, "/cluster/metrics/server/{id}", handles: []) { request in
            let id = try request.parameters.require("id")
            let file = try await request.services.store.read(metricsPath)
            let config = try SectionConfig(parsing: file?.content ?? "")
            guard let section = config[id] else { throw VireoError.notFound("metric server '\(id)' does not exist") }
            var fields: [String: JSON] = [
                "id": .string(id), "type": .string(section.type),
                "digest": .string(file?.digest ?? ConfigDigest.sha1Hex("")),
            ]
            for option in section.options {
                let value = option.value ?? "1"
                fields[option.key] =
                    metricFlags.contains(option.key)
                    ? .flag(value == "1") : Int(value).map { .int($0) } ?? .string(value)
            }
            return .init(.object(fields))
        }
        registry.register(.post, "/cluster/metrics/server/{id}", handles: .all) { request in
            let p = request.parameters
            let id = try p.require("id")
            let type = try p.require("type")
            let options = try metricValues(p, type: type)
            try await request.services.store.update(metricsPath) { text in
                var config = try SectionConfig(parsing: text ?? "")
                guard config[id] == nil else { throw VireoError.conflict("metric server '\(id)' already exists") }
                config.set(try SectionConfig.Section(type: type, id: id, options: options))
                return config.description
            }
            if let token = p["token"] { try await storeToken(request, id: id, token: token) }
            return .null
        }
        registry.register(.put, "/cluster/metrics/server/{id}", handles: .all) { request in
            let p = request.parameters
            let id = try p.require("id")
            let deletions = p.list("delete")
            let type = try await metricsConfig(request)[id]?.type
            guard let type else { throw VireoError.notFound("metric server '\(id)' does not exist") }
            let allowed = (metricOptions[type] ?? []).union(["disable", "mtu"])
            for key in deletions where !allowed.contains(key) {
                throw VireoError.parameter("delete", "cannot delete option '\(key)'")
            }
            let options = try metricValues(p, type: type)
            try await request.services.store.update(metricsPath, digest: p["digest"]) { text in
                var config = try SectionConfig(parsing: text ?? "")
                guard var section = config[id] else {
                    throw VireoError.notFound("metric server '\(id)' does not exist")
                }
                for key in deletions { _ = section.remove(key) }
                for option in options { try section.set(option.key, option.value) }
                config.set(section)
                return config.description
            }
            if deletions.contains("token") {
                try await request.services.store.delete(metricTokenPath(id), condition: .any)
            }
            if let token = p["token"] { try await storeToken(request, id: id, token: token) }
            return .null
        }
        registry.register(.delete, "/cluster/metrics/server/{id}", handles: []) { request in
            let id = try request.parameters.require("id")
            try await request.services.store.update(metricsPath) { text in
                var config = try SectionConfig(parsing: text ?? "")
                guard config.remove(id: id) != nil else {
                    throw VireoError.notFound("metric server '\(id)' does not exist")
                }
                return config.description
            }
            try? await request.services.store.delete(metricTokenPath(id), condition: .any)
            return .null
        }
        registry.register(
            .get,
            "/cluster/metrics/export",
            handles: ["history", "local-only", "node-list", "start-time"]
        ) {
            request in
            let p = request.parameters
            let nodes = p["node-list"].map { $0.split(separator: ",").map(String.init) }
            if let nodes, !nodes.contains(request.services.node) { return .init(["data": []]) }
            // Vireo keeps no metric history yet: every export is the current sample.
            let since = p.int("start-time") ?? 0
            let samples = try await metricSamples(request)
            return .init(["data": .array(samples.filter { ($0["timestamp"]?.intValue ?? 0) >= since })])
        }
    }

    static func metricsConfig(_ request: APIRequest) async throws -> SectionConfig {
        try SectionConfig(parsing: try await request.services.store.read(metricsPath)?.content ?? "")
    }

    static func storeToken(_ request: APIRequest, id: String, token: String) async throws {
        guard !token.contains(where: \.isNewline) else { throw VireoError.parameter("token", "must be one line") }
        try await request.services.store.update(metricTokenPath(id)) { _ in token }
    }

    static func metricValues(_ p: Parameters, type: String) throws -> [SectionConfig.Option] {
        guard let typeOptions = metricOptions[type] else {
            throw VireoError.parameter("type", "unknown metric server type '\(type)'")
        }
        var options: [SectionConfig.Option] = []
        let ignored: Set<String> = ["id", "type", "delete", "digest", "token"]
        for (key, value) in p.values.sorted(by: { $0.key < $1.key }) where !ignored.contains(key) {
            guard commonMetricOptions.contains(key) || typeOptions.contains(key) else {
                throw VireoError.parameter(key, "option '\(key)' is not valid for metric server type '\(type)'")
            }
            guard !value.contains(where: \.isNewline) else { throw VireoError.parameter(key, "must be one line") }
            if key == "port", !(1...65535).contains(Int(value) ?? 0) {
                throw VireoError.parameter(key, "port must be between 1 and 65535")
            }
            options.append(.init(key, value))
        }
        return options
    }

    /// The node's and its guests' current figures as `{metric, id, timestamp, type, value}`.
    static func metricSamples(_ request: APIRequest) async throws -> [JSON] {
        let node = request.services.node
        let now = Int(Date().timeIntervalSince1970)
        let status = NodeStatus.current()
        var samples: [JSON] = []
        func add(_ id: String, _ metric: String, _ value: JSON, type: String = "gauge") {
            samples.append([
                "id": .string(id), "metric": .string(metric), "timestamp": .int(now), "type": .string(type),
                "value": value,
            ])
        }
        let nodeID = "node/\(node)"
        add(nodeID, "cpu_current", .double(status.cpu))
        add(nodeID, "cpu_max", .int(status.cpuCount))
        add(nodeID, "mem_used", .int(status.memoryUsed))
        add(nodeID, "mem_total", .int(status.memoryTotal))
        add(nodeID, "uptime", .int(status.uptime))
        for (vmid, _, fields) in try await QEMUEndpoints.listEntries(request) {
            let id = "qemu/\(vmid)"
            for (metric, key) in [
                ("cpu_current", "cpu"), ("cpu_max", "cpus"), ("mem_used", "mem"), ("mem_total", "maxmem"),
                ("disk_read", "diskread"), ("disk_write", "diskwrite"), ("net_in", "netin"), ("net_out", "netout"),
                ("uptime", "uptime"),
            ] {
                if let value = fields[key] {
                    add(
                        id,
                        metric,
                        value,
                        type: ["disk_read", "disk_write", "net_in", "net_out"].contains(metric) ? "derive" : "gauge"
                    )
                }
            }
        }
        return samples
    }
}
