import VireoCore
public import VireoStore

/// The cluster's member list in the shared tree (`cluster.conf`, corosync.conf's role): the
/// cluster's name, a version bumped by every change, and each node with its ID, votes, address,
/// API certificate fingerprint and etcd member ID. JSON, since no tool but Vireo edits it.
public struct ClusterConfigFile: Sendable, Equatable {
    public static let path = "cluster.conf"

    public var name: String
    public var configVersion: Int
    public var nodes: [String: Member]

    public struct Member: Sendable, Equatable {
        public var nodeid: Int
        public var quorumVotes: Int
        /// The address of the node's API (8006) and etcd member.
        public var address: String
        public var etcdMemberID: String
        public var peerURL: String
        public var clientURL: String

        public init(
            nodeid: Int,
            quorumVotes: Int = 1,
            address: String,
            etcdMemberID: String,
            peerURL: String,
            clientURL: String
        ) {
            self.nodeid = nodeid
            self.quorumVotes = quorumVotes
            self.address = address
            self.etcdMemberID = etcdMemberID
            self.peerURL = peerURL
            self.clientURL = clientURL
        }

    }

    public init(name: String, configVersion: Int = 1, nodes: [String: Member]) {
        self.name = name
        self.configVersion = configVersion
        self.nodes = nodes
    }

    /// The lowest node ID not taken (Proxmox's choice for a joining node).
    public var nextNodeID: Int {
        let taken = Set(nodes.values.map(\.nodeid))
        var id = 1
        while taken.contains(id) { id += 1 }
        return id
    }

    public func serialized() -> String {
        let members: [String: JSON] = nodes.mapValues { member in
            [
                "nodeid": .int(member.nodeid), "quorum_votes": .int(member.quorumVotes),
                "address": .string(member.address), "etcd_member_id": .string(member.etcdMemberID),
                "peer_url": .string(member.peerURL), "client_url": .string(member.clientURL),
            ]
        }
        let document: JSON = ["name": .string(name), "config_version": .int(configVersion), "nodes": .object(members)]
        return document.serialized(pretty: true) + "\n"
    }

    public static func parse(_ text: String) throws -> ClusterConfigFile {
        do {
            let json = try JSON.parse(text)
            guard let name = json["name"]?.stringValue, let version = json["config_version"]?.intValue,
                case .object(let nodes)? = json["nodes"]
            else { throw VireoError(.internalError, "missing name, config_version or nodes") }
            var members: [String: Member] = [:]
            for (node, member) in nodes {
                guard let nodeid = member["nodeid"]?.intValue, let address = member["address"]?.stringValue else {
                    throw VireoError(.internalError, "node '\(node)' has no nodeid or address")
                }
                members[node] = Member(
                    nodeid: nodeid,
                    quorumVotes: member["quorum_votes"]?.intValue ?? 1,
                    address: address,
                    etcdMemberID: member["etcd_member_id"]?.stringValue ?? "",
                    peerURL: member["peer_url"]?.stringValue ?? "",
                    clientURL: member["client_url"]?.stringValue ?? ""
                )
            }
            return ClusterConfigFile(name: name, configVersion: version, nodes: members)
        } catch let error as VireoError {
            throw VireoError(.internalError, "\(path) is damaged: \(error.message)").at(.cluster)
        } catch {
            throw VireoError(.internalError, "\(path) is damaged: \(error)").at(.cluster)
        }
    }

    /// The cluster's member list, or nil on a standalone node.
    public static func read(_ store: any ConfigStore) async throws -> ClusterConfigFile? {
        guard let file = try await store.read(path) else { return nil }
        return try parse(file.content)
    }
}
