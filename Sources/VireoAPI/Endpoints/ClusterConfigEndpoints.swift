import Foundation
import VireoAccess
import VireoCluster
import VireoCore
import VireoNetwork
import VireoStore
import VireoTasks

/// `/cluster/config`: forming a cluster, its member list and what a joining node needs.
enum ClusterConfigEndpoints {
    /// Proxmox's join API version; a joining node checks the cluster speaks it.
    static let apiVersion = 1

    static func register(in registry: inout APIRegistry) {
        registry.register(.get, "/cluster/config", handles: []) { request in
            .init(.array(request.routeChildren.filter { !$0.hasPrefix("{") }.map { ["name": .string($0)] }))
        }
        registry.register(.get, "/cluster/config/apiversion", handles: []) { _ in .init(.int(apiVersion)) }
        registry.register(.post, "/cluster/config", handles: ["clustername", "link0", "nodeid", "votes"]) { request in
            let cluster = request.services.cluster
            guard let dataDir = cluster.dataDir else {
                throw VireoError(.notImplemented, "this node cannot form a cluster (no data directory)")
            }
            let p = request.parameters
            let name = p["clustername"] ?? ""
            let address = try linkAddress(p["link0"]) ?? cluster.address
            let formation = ClusterFormation(
                node: request.services.node,
                dataDir: dataDir,
                logger: request.services.logger
            )
            // Checked before the task starts, so the caller gets the refusal as the answer.
            try await formation.requireStandalone(request.services.store)
            let store = request.services.store
            let upid = try request.services.tasks.start(type: "clustercreate", id: name, user: request.identity.authID)
            {
                log in
                try await formation.create(
                    name: name,
                    address: address,
                    nodeid: p.int("nodeid") ?? 1,
                    votes: p.int("votes") ?? 1,
                    from: store
                ) { log.append($0) }
                log.append("cluster '\(name)' created; vireod restarts on the cluster store")
                cluster.restart.request()
            }
            return .init(.string(upid.description))
        }
        registry.register(.get, "/cluster/config/nodes", handles: []) { request in
            guard let config = try await ClusterConfigFile.read(request.services.store) else { return .init([]) }
            return .init(
                .array(
                    config.nodes.sorted { $0.value.nodeid < $1.value.nodeid }.map { name, member in
                        [
                            "node": .string(name), "name": .string(name), "nodeid": .int(member.nodeid),
                            "quorum_votes": .int(member.quorumVotes), "ring0_addr": .string(member.address),
                        ]
                    }
                )
            )
        }
        registry.register(.get, "/cluster/config/totem", handles: []) { request in
            guard let config = try await ClusterConfigFile.read(request.services.store) else { return .init([:]) }
            return .init(["cluster_name": .string(config.name), "config_version": .int(config.configVersion)])
        }
        registry.register(.get, "/cluster/config/qdevice", handles: []) { _ in .init([:]) }
    }

    /// The address of a `link0` value (`[address=]<IP>[,priority=N]`).
    static func linkAddress(_ value: String?) throws -> String? {
        guard let value, !value.isEmpty else { return nil }
        let first = value.split(separator: ",").first.map(String.init) ?? ""
        let address = first.hasPrefix("address=") ? String(first.dropFirst("address=".count)) : first
        guard IPText.isIPv4(address) || IPText.isIPv6(address) else {
            throw VireoError.parameter("link0", "'\(address)' is not an IP address")
        }
        return address
    }
}
