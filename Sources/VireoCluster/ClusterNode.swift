public import Foundation
public import VireoStore

/// This node's place in a cluster, as the API and the daemon see it: standalone (no `local`
/// config, SQLite) or a member (etcd), with what forming or joining a cluster needs.
public final class ClusterNode: Sendable {
    public let node: String
    /// The address other nodes reach this node on (its API and, once clustered, its etcd member).
    public let address: String
    /// The data directory (nil in unit tests, where clusters cannot be formed).
    public let dataDir: URL?
    /// The node's cluster config; nil while standalone.
    public let local: ClusterLocalConfig?
    /// The etcd store when clustered: its quorum state is the cluster's.
    public let etcd: EtcdConfigStore?
    /// Every node's live status, when clustered.
    public let board: ClusterStatusBoard?
    public let restart: NodeRestart
    /// The port every node's API listens on (Proxmox: 8006 everywhere).
    public let apiPort: Int

    public init(
        node: String,
        address: String,
        dataDir: URL?,
        local: ClusterLocalConfig? = nil,
        etcd: EtcdConfigStore? = nil,
        board: ClusterStatusBoard? = nil,
        restart: NodeRestart = NodeRestart(),
        apiPort: Int = 8006
    ) {
        self.apiPort = apiPort
        self.board = board
        self.node = node
        self.address = address
        self.dataDir = dataDir
        self.local = local
        self.etcd = etcd
        self.restart = restart
    }

    /// A node that is not and cannot become a cluster member (unit tests).
    public static func standalone(node: String) -> ClusterNode {
        ClusterNode(node: node, address: "127.0.0.1", dataDir: nil)
    }

    public var isClustered: Bool { local != nil }

    /// The cluster CA's file, which verifies the other nodes' API certificates.
    public var caFile: String? {
        guard local != nil, let dataDir else { return nil }
        return ClusterLocalConfig.Files(dataDir: dataDir).caCertificate.path
    }

    /// False only for a cluster node whose etcd cannot reach quorum.
    public var isQuorate: Bool { etcd?.isQuorate ?? true }

    /// Whether `name` is up as far as this node can tell: itself always; another node while
    /// its status lease lives and this node has quorum (without it, nothing it sees is current).
    public func isOnline(_ name: String) -> Bool {
        if name == node { return true }
        return isQuorate && (board?.isOnline(name) ?? false)
    }
}
