import Foundation
import NFTables
import VireoAccess
import VireoCore
import VireoFirewall

/// Vireo's own firewall calls, for `pve-firewall` (Proxmox has no API for them: its CLI reads the
/// node's files itself). Under `/nodes/{node}/vireo/firewall` so they never collide with
/// Proxmox's paths.
extension FirewallEndpoints {
    static let servicePath = "/nodes/{node}/vireo/firewall"

    static func serviceSchema(_ privilege: String, path: String, returns: String) -> EndpointSchema {
        EndpointSchema(
            parameters: [ParameterSpec("node", .string, format: "pve-node")],
            permission: .perm(path, [privilege], any: false, requireParam: nil),
            returns: returns
        )
    }

    static func registerService(in registry: inout APIRegistry) {
        let audit = serviceSchema("Sys.Audit", path: "/nodes/{node}", returns: "object")
        registry.register(.get, servicePath + "/compile", schema: audit, handles: []) { request in
            let firewall = try service(request)
            let compilation = try await firewall.compile()
            let bytes = try compilation.ruleset.replacingTablesCommand()
            return .init([
                "ruleset": try JSON.parse(String(decoding: bytes, as: UTF8.self)),
                "skipped": .array(compilation.skipped.map { .string($0) }),
            ])
        }
        registry.register(.get, servicePath + "/status", schema: audit, handles: []) { request in
            let firewall = try service(request)
            let inputs = try await firewall.inputs()
            let enabled = ClusterFirewallOptions(inputs.cluster.options, now: inputs.now).enable
            var status: [String: JSON] = [
                "enable": .int(enabled ? 1 : 0),
                "status": .string(await firewall.stopped ? "stopped" : "running"),
                "kernel": .int(firewall.kernel ? 1 : 0),
                "skipped": .array(await firewall.lastSkipped.map { .string($0) }),
            ]
            if let error = await firewall.lastError { status["error"] = .string(error) }
            return .init(.object(status))
        }
        registry.register(.get, servicePath + "/localnet", schema: audit, handles: []) { request in
            let inputs = try await service(request).inputs()
            let alias = inputs.cluster.alias(named: "local_network")
            let local = alias.map { [$0.cidr] } ?? inputs.localNetworks.map(\.description)
            let management = inputs.cluster.ipset(named: "management")?.entries.map {
                ($0.nomatch ? "!" : "") + $0.cidr
            }
            return .init([
                "local_network": .array(local.map { .string($0) }),
                "source": .string(alias == nil ? "detected" : "alias"),
                "detected": .array(inputs.localNetworks.map { .string($0.description) }),
                "management": .array((management ?? []).map { .string($0) }),
            ])
        }
        let modify = serviceSchema("Sys.Modify", path: "/", returns: "null")
        registry.register(.post, servicePath + "/start", schema: modify, handles: []) { request in
            try await service(request).start()
            return .null
        }
        registry.register(.post, servicePath + "/stop", schema: modify, handles: []) { request in
            try await service(request).stop()
            return .null
        }
    }

    static func service(_ request: APIRequest) throws -> FirewallService {
        guard let firewall = request.services.firewall else {
            throw VireoError(.unavailable, "this node runs no firewall service")
        }
        return firewall
    }
}
