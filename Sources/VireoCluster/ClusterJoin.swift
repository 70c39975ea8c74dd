public import Foundation
public import Logging
import NIOHTTP1
public import VireoCore
public import VireoStore

/// `pvecm add`: both halves of a node joining a cluster.
///
/// The joining node logs in to a member as root@pam over HTTPS pinned to the fingerprint the
/// operator gave, and asks it to add the node (`POST /cluster/config/nodes/{node}`). The member
/// adds an etcd learner for it, lists it in `cluster.conf` and hands back the cluster CA, a
/// certificate for the node's etcd member and where the members are. The joining node keeps
/// those, sets its own tree aside and restarts on the cluster's; its member catches up as a
/// learner, which costs the cluster no quorum, and is then promoted to a voting member.
public struct ClusterJoin: Sendable {
    public static let apiVersion = 1

    public let node: String
    public let dataDir: URL
    public let logger: Logger

    public init(node: String, dataDir: URL, logger: Logger) {
        self.node = node
        self.dataDir = dataDir
        self.logger = logger
    }

    var files: ClusterLocalConfig.Files { ClusterLocalConfig.Files(dataDir: dataDir) }

    /// What the joining node sends and checks before anything else: refused with nothing changed.
    public struct Request: Sendable {
        public var host: String
        public var port: Int
        public var password: String
        public var fingerprint: String
        public var address: String
        public var nodeid: Int?
        public var votes: Int?
        public var force: Bool

        public init(
            host: String,
            port: Int,
            password: String,
            fingerprint: String,
            address: String,
            nodeid: Int?,
            votes: Int?,
            force: Bool
        ) {
            self.host = host
            self.port = port
            self.password = password
            self.fingerprint = fingerprint
            self.address = address
            self.nodeid = nodeid
            self.votes = votes
            self.force = force
        }
    }

    /// The joining node's checks: standalone and without guests (as Proxmox: a guest's VMID could
    /// collide with the cluster's, and its config would be lost with the local tree).
    public func preflight(_ store: any ConfigStore) async throws {
        try await ClusterFormation(node: node, dataDir: dataDir, logger: logger).requireStandalone(store)
        let guests = try await store.list("nodes/\(node)/qemu-server").filter { $0.hasSuffix(".conf") }
        guard guests.isEmpty else {
            let ids = guests.map { String($0.dropLast(5)) }.sorted().joined(separator: ", ")
            throw VireoError.invalid(
                "this host already contains virtual guests (\(ids)) - a node with guests cannot join a cluster"
            )
            .at(.cluster)
        }
    }

    /// The joining node's half. On success the caller restarts the daemon.
    public func join(
        _ request: Request,
        from store: any ConfigStore,
        log: @escaping @Sendable (String) -> Void
    )
        async throws
    {
        try await preflight(store)
        let peer = PinnedHTTPSClient(host: request.host, port: request.port, fingerprint: request.fingerprint)
        log("logging in to \(request.host) as root@pam (fingerprint checked)")
        let login = try await peer.send(
            .POST,
            "/api2/json/access/ticket",
            form: [("username", "root@pam"), ("password", request.password)]
        )
        if login.status == 401 {
            throw VireoError(
                .unauthenticated,
                "authentication failed for root@pam on \(request.host) - wrong password?"
            )
            .at(.cluster)
        }
        let ticket = try login.data(from: request.host)
        guard let cookie = ticket["ticket"]?.stringValue, let csrf = ticket["CSRFPreventionToken"]?.stringValue else {
            throw VireoError(.unavailable, "\(request.host) gave no ticket").at(.cluster)
        }
        let headers = [("Cookie", "PVEAuthCookie=\(cookie)"), ("CSRFPreventionToken", csrf)]
        let version =
            try await peer.send(.GET, "/api2/json/cluster/config/apiversion", headers: headers)
            .data(from: request.host).intValue ?? 0
        guard version >= Self.apiVersion else {
            throw VireoError.invalid(
                "\(request.host) speaks join API version \(version), this node needs \(Self.apiVersion)"
            )
            .at(.cluster)
        }
        var form = [("new_node_ip", request.address), ("apiversion", String(Self.apiVersion))]
        if let nodeid = request.nodeid { form.append(("nodeid", String(nodeid))) }
        if let votes = request.votes { form.append(("votes", String(votes))) }
        if request.force { form.append(("force", "1")) }
        log("asking \(request.host) to add node \(node) (\(request.address))")
        let answer = try await peer.send(.POST, "/api2/json/cluster/config/nodes/\(node)", form: form, headers: headers)
            .data(from: request.host)
        let info = try JoinInfo(answer)
        do {
            let local = ClusterLocalConfig(
                cluster: info.cluster,
                node: node,
                nodeid: info.nodeid,
                address: request.address,
                initialCluster: info.initialCluster,
                initialState: "existing",
                endpoints: info.endpoints,
                memberID: info.memberID
            )
            try local.save(files, ca: info.ca, certificate: info.certificate, key: info.key)
            log(
                "joined cluster '\(info.cluster)' as node ID \(info.nodeid); this node's own configuration is set aside"
            )
        } catch {
            // Undo the member's half, so the cluster does not wait for a node that never comes.
            _ = try? await peer.send(.DELETE, "/api2/json/cluster/config/nodes/\(node)", headers: headers)
            try? FileManager.default.removeItem(at: files.directory)
            throw error
        }
    }

    /// What the member hands the joining node.
    public struct JoinInfo: Sendable {
        public var cluster: String
        public var nodeid: Int
        public var ca: String
        public var certificate: String
        public var key: String
        public var initialCluster: String
        public var endpoints: [String]
        public var memberID: String

        public init(
            cluster: String,
            nodeid: Int,
            ca: String,
            certificate: String,
            key: String,
            initialCluster: String,
            endpoints: [String],
            memberID: String
        ) {
            self.cluster = cluster
            self.nodeid = nodeid
            self.ca = ca
            self.certificate = certificate
            self.key = key
            self.initialCluster = initialCluster
            self.endpoints = endpoints
            self.memberID = memberID
        }

        init(_ json: JSON) throws {
            guard let cluster = json["cluster"]?.stringValue, let nodeid = json["nodeid"]?.intValue,
                let ca = json["ca"]?.stringValue, let certificate = json["certificate"]?.stringValue,
                let key = json["key"]?.stringValue, let initial = json["initial_cluster"]?.stringValue,
                let memberID = json["member_id"]?.stringValue
            else { throw VireoError(.unavailable, "the cluster's join answer is incomplete").at(.cluster) }
            self.init(
                cluster: cluster,
                nodeid: nodeid,
                ca: ca,
                certificate: certificate,
                key: key,
                initialCluster: initial,
                endpoints: (json["endpoints"]?.arrayValue ?? []).compactMap(\.stringValue),
                memberID: memberID
            )
        }

        /// The answer of `POST /cluster/config/nodes/{node}`, with Proxmox's fields (empty: there
        /// is no corosync) next to Vireo's.
        public var json: JSON {
            [
                "cluster": .string(cluster), "nodeid": .int(nodeid), "ca": .string(ca),
                "certificate": .string(certificate), "key": .string(key), "initial_cluster": .string(initialCluster),
                "endpoints": .array(endpoints.map { .string($0) }), "member_id": .string(memberID),
                "corosync_authkey": "", "corosync_conf": "", "warnings": [],
            ]
        }
    }

    /// The member's half (`addnode`): the learner, the certificate, `cluster.conf`.
    public static func addNode(
        _ name: String,
        address: String,
        nodeid: Int?,
        votes: Int,
        force: Bool,
        store: EtcdConfigStore
    ) async throws -> JoinInfo {
        guard var config = try await ClusterConfigFile.read(store) else {
            throw VireoError.invalid("this node is not part of a cluster").at(.cluster)
        }
        if config.nodes[name] != nil, !force {
            throw VireoError.conflict("node '\(name)' is already a member of cluster '\(config.name)'").at(.cluster)
        }
        let id = nodeid ?? config.nextNodeID
        if let holder = config.nodes.first(where: { $0.value.nodeid == id && $0.key != name }) {
            throw VireoError.conflict("node ID \(id) is already used by node '\(holder.key)'").at(.cluster)
        }
        guard IPAddressBytes.parse(address) != nil else {
            throw VireoError.parameter("new_node_ip", "'\(address)' is not an IP address")
        }
        guard let caCertificate = try await store.read("pve-root-ca.pem"),
            let caKey = try await store.read("priv/pve-root-ca.key")
        else { throw VireoError(.internalError, "the cluster CA is missing from the tree").at(.cluster) }
        let ca = try ClusterCA(certificatePEM: caCertificate.content, keyPEM: caKey.content)
        let issued = try ca.issue(node: name, addresses: [address])
        let member = ClusterLocalConfig(
            cluster: config.name,
            node: name,
            nodeid: id,
            address: address,
            initialCluster: "",
            initialState: "existing",
            endpoints: []
        )
        let etcd = store.client
        let members = try await EtcdMembers.list(etcd)
        if let stale = members.first(where: { $0.peerURLs.contains(member.peerURL) }) {
            // A previous attempt of this node that never started (or `force`): replace it.
            try await EtcdMembers.remove(etcd, id: stale.id)
        }
        let added = try await EtcdMembers.addLearner(etcd, peerURL: member.peerURL)
        let current = try await EtcdMembers.list(etcd)
        let initialCluster = current.compactMap { entry -> String? in
            let memberName = entry.id == added ? name : entry.name
            guard !memberName.isEmpty, let peer = entry.peerURLs.first else { return nil }
            return "\(memberName)=\(peer)"
        }.joined(separator: ",")
        config.nodes[name] = .init(
            nodeid: id,
            quorumVotes: votes,
            address: address,
            etcdMemberID: added,
            peerURL: member.peerURL,
            clientURL: member.clientURL
        )
        config.configVersion += 1
        let updated = config
        try await store.update(ClusterConfigFile.path) { _ in updated.serialized() }
        return JoinInfo(
            cluster: config.name,
            nodeid: id,
            ca: ca.certificatePEM,
            certificate: issued.certificate,
            key: issued.key,
            initialCluster: initialCluster,
            endpoints: current.flatMap(\.clientURLs),
            memberID: added
        )
    }

    /// `delnode`: the node leaves etcd and `cluster.conf`; its files in the tree stay (as Proxmox).
    public static func deleteNode(_ name: String, local: String, store: EtcdConfigStore) async throws {
        guard name != local else {
            throw VireoError.invalid(
                "cannot delete the local node '\(name)' from the cluster - run delnode on another node"
            )
            .at(.cluster)
        }
        guard var config = try await ClusterConfigFile.read(store) else {
            throw VireoError.invalid("this node is not part of a cluster").at(.cluster)
        }
        guard let member = config.nodes[name] else {
            throw VireoError.notFound("node '\(name)' is not a member of cluster '\(config.name)'").at(.cluster)
        }
        let members = try await EtcdMembers.list(store.client)
        if let entry = members.first(where: { $0.id == member.etcdMemberID || $0.peerURLs.contains(member.peerURL) }) {
            try await EtcdMembers.remove(store.client, id: entry.id)
        }
        config.nodes[name] = nil
        config.configVersion += 1
        let updated = config
        try await store.update(ClusterConfigFile.path) { _ in updated.serialized() }
    }
}

/// etcd's member API (`/v3/cluster/member/…`); IDs in hex, as etcdctl shows them.
public enum EtcdMembers {
    public struct Member: Sendable {
        public var id: String
        public var name: String
        public var peerURLs: [String]
        public var clientURLs: [String]
        public var isLearner: Bool
    }

    public static func list(_ client: EtcdClient) async throws -> [Member] {
        let answer = try await client.call("/v3/cluster/member/list", [:], timeout: .seconds(5))
        return (answer["members"]?.arrayValue ?? []).map { member in
            Member(
                id: hex(member["ID"]),
                name: member["name"]?.stringValue ?? "",
                peerURLs: (member["peerURLs"]?.arrayValue ?? []).compactMap(\.stringValue),
                clientURLs: (member["clientURLs"]?.arrayValue ?? []).compactMap(\.stringValue),
                isLearner: member["isLearner"] == .bool(true)
            )
        }
    }

    /// Adds a non-voting member; returns its ID. etcd refuses ("unhealthy cluster") while a
    /// member that just joined has been connected for less than its health interval (5 s):
    /// retried until `timeout`.
    public static func addLearner(
        _ client: EtcdClient,
        peerURL: String,
        timeout: Duration = .seconds(30)
    ) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            do {
                let answer = try await client.call(
                    "/v3/cluster/member/add",
                    ["peerURLs": [.string(peerURL)], "isLearner": true],
                    timeout: .seconds(5)
                )
                return hex(answer["member"]?["ID"])
            } catch EtcdError.refused(_, _, let message) where message.contains("unhealthy cluster") {
                guard ContinuousClock.now < deadline else {
                    throw VireoError(
                        .unavailable,
                        "the cluster's etcd is not healthy enough to add a member: \(message)"
                    )
                    .at(.cluster)
                }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    public static func remove(_ client: EtcdClient, id: String) async throws {
        _ = try await client.call("/v3/cluster/member/remove", ["ID": decimal(id)], timeout: .seconds(5))
    }

    /// Promotes a learner once it has caught up with the leader, retrying until `timeout`.
    public static func promote(_ client: EtcdClient, id: String, timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            do {
                _ = try await client.call("/v3/cluster/member/promote", ["ID": decimal(id)], timeout: .seconds(5))
                return
            } catch let error as EtcdError {
                // Already a voter: promoted at an earlier start.
                if case .refused(_, _, let message) = error, message.contains("can only promote a learner member"),
                    !message.contains("in sync")
                {
                    return
                }
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    static func hex(_ json: JSON?) -> String {
        json?.stringValue.flatMap { UInt64($0) }.map { String($0, radix: 16) } ?? ""
    }

    static func decimal(_ hex: String) -> JSON { .string(UInt64(hex, radix: 16).map { String($0) } ?? "0") }
}
