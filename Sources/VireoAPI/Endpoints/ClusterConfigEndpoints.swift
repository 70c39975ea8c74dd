import Foundation
import VireoAccess
import VireoCluster
import VireoCore
import VireoNetwork
import VireoStore
import VireoTasks

/// `/cluster/config`: forming a cluster, its member list and what a joining node needs.
enum ClusterConfigEndpoints {
    static func register(in registry: inout APIRegistry) {
        registry.register(.get, "/cluster/config", handles: []) { request in
            .init(.array(request.routeChildren.filter { !$0.hasPrefix("{") }.map { ["name": .string($0)] }))
        }
        registry.register(.get, "/cluster/config/apiversion", handles: []) { _ in .init(.int(ClusterJoin.apiVersion)) }
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
        registry.register(.get, "/cluster/config/join", handles: ["node"]) { request in
            guard let config = try await ClusterConfigFile.read(request.services.store),
                let file = try await request.services.store.read(ClusterConfigFile.path)
            else { throw VireoError.invalid("node is not in a cluster, no join info available!") }
            var nodelist: [JSON] = []
            for (name, member) in config.nodes.sorted(by: { $0.value.nodeid < $1.value.nodeid }) {
                let certificate = try await request.services.store.read("nodes/\(name)/pve-ssl.pem")
                nodelist.append([
                    "name": .string(name), "nodeid": .int(member.nodeid), "quorum_votes": .int(member.quorumVotes),
                    "pve_addr": .string(member.address), "ring0_addr": .string(member.address),
                    "pve_fp": .string(
                        certificate.flatMap { try? CertificateFingerprint.sha256(pem: $0.content) } ?? ""
                    ),
                ])
            }
            return .init([
                "nodelist": .array(nodelist),
                "preferred_node": .string(request.parameters["node"] ?? request.services.node),
                "totem": ["cluster_name": .string(config.name), "config_version": .int(config.configVersion)],
                "config_digest": .string(file.digest),
            ])
        }
        registry.register(
            .post,
            "/cluster/config/join",
            handles: ["hostname", "fingerprint", "password", "link0", "nodeid", "votes", "force"]
        ) { request in
            let cluster = request.services.cluster
            guard let dataDir = cluster.dataDir else {
                throw VireoError(.notImplemented, "this node cannot join a cluster (no data directory)")
            }
            let p = request.parameters
            let (host, port) = try peerAddress(p["hostname"] ?? "")
            let joining = ClusterJoin(node: request.services.node, dataDir: dataDir, logger: request.services.logger)
            let store = request.services.store
            // Refusals a caller can act on come as the answer, before a task starts.
            try await joining.preflight(store)
            let join = ClusterJoin.Request(
                host: host,
                port: port,
                password: p["password"] ?? "",
                fingerprint: p["fingerprint"] ?? "",
                address: try linkAddress(p["link0"]) ?? cluster.address,
                nodeid: p.int("nodeid"),
                votes: p.int("votes"),
                force: p.bool("force", default: false)
            )
            let storePath = request.services.storePath
            let upid = try request.services.tasks.start(type: "clusterjoin", id: "", user: request.identity.authID) {
                log in
                try await joining.join(join, from: store) { log.append($0) }
                // As Proxmox backs up and drops its config.db: this node's own tree is set aside.
                if let storePath {
                    let aside = storePath + ".before-join"
                    for suffix in ["", "-wal", "-shm"] {
                        try? FileManager.default.removeItem(atPath: aside + suffix)
                        rename(storePath + suffix, aside + suffix)
                    }
                    log.append("the standalone configuration is kept in \(aside)")
                }
                log.append("vireod restarts on the cluster's store")
                cluster.restart.request()
            }
            return .init(.string(upid.description))
        }
        registry.register(
            .post,
            "/cluster/config/nodes/{node}",
            handles: ["new_node_ip", "link0", "nodeid", "votes", "force", "apiversion"]
        ) { request in
            guard let etcd = request.services.cluster.etcd else {
                throw VireoError.invalid("this node is not part of a cluster - create one first (pvecm create)")
            }
            let p = request.parameters
            guard let address = try linkAddress(p["link0"]) ?? p["new_node_ip"] else {
                throw VireoError.parameter("new_node_ip", "the joining node's address is required")
            }
            if let version = p.int("apiversion"), version < ClusterJoin.apiVersion {
                throw VireoError.parameter(
                    "apiversion",
                    "join API version \(version) is older than \(ClusterJoin.apiVersion)"
                )
            }
            let info = try await ClusterJoin.addNode(
                p["node"] ?? "",
                address: address,
                nodeid: p.int("nodeid"),
                votes: p.int("votes") ?? 1,
                force: p.bool("force", default: false),
                store: etcd
            )
            return .init(info.json)
        }
        registry.register(.delete, "/cluster/config/nodes/{node}", handles: []) { request in
            guard let etcd = request.services.cluster.etcd else {
                throw VireoError.invalid("this node is not part of a cluster")
            }
            try await ClusterJoin.deleteNode(
                request.parameters["node"] ?? "",
                local: request.services.node,
                store: etcd
            )
            return .null
        }
    }

    /// A member's API address: a host name or IP, with an optional port (Vireo's addition, for
    /// nodes that do not serve on 8006).
    static func peerAddress(_ text: String) throws -> (host: String, port: Int) {
        var host = text
        var port = 8006
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let value = Int(rest.dropFirst()), (1...65535).contains(value) else {
                    throw VireoError.parameter("hostname", "'\(text)' has an invalid port")
                }
                port = value
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            guard let value = Int(text[text.index(after: colon)...]), (1...65535).contains(value) else {
                throw VireoError.parameter("hostname", "'\(text)' has an invalid port")
            }
            host = String(text[..<colon])
            port = value
        }
        let isName =
            !host.isEmpty && host.count <= 253
            && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
        guard IPText.isIPv4(host) || IPText.isIPv6(host) || isName else {
            throw VireoError.parameter("hostname", "'\(text)' is not a host name or IP address")
        }
        return (host, port)
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
