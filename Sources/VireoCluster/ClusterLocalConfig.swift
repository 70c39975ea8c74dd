public import Foundation
import VireoCore
public import VireoStore

/// What a cluster node keeps in its own data directory (`cluster/`), because it is needed
/// before the shared tree can be read: the cluster's name, this node's etcd member and how to
/// reach the others, and the TLS files etcd and `vireod` use. Its presence is what makes a node
/// a cluster node; without it the node is standalone (SQLite, no etcd).
public struct ClusterLocalConfig: Codable, Sendable, Equatable {
    public var cluster: String
    public var node: String
    public var nodeid: Int
    /// The address other nodes reach this node's API and etcd member on.
    public var address: String
    public var clientPort: Int
    public var peerPort: Int
    /// etcd's `--initial-cluster` (`name=https://addr:port,…`), used only on the member's first start.
    public var initialCluster: String
    /// `new` for the node that made the cluster, `existing` for a node that joined it.
    public var initialState: String
    /// Client URLs of the members, this node's first.
    public var endpoints: [String]
    /// This node's etcd member ID (hex), once known: a joining node starts as a learner and
    /// promotes this member when it has caught up.
    public var memberID: String?

    public init(
        cluster: String,
        node: String,
        nodeid: Int,
        address: String,
        clientPort: Int = 2379,
        peerPort: Int = 2380,
        initialCluster: String,
        initialState: String,
        endpoints: [String],
        memberID: String? = nil
    ) {
        self.memberID = memberID
        self.cluster = cluster
        self.node = node
        self.nodeid = nodeid
        self.address = address
        self.clientPort = clientPort
        self.peerPort = peerPort
        self.initialCluster = initialCluster
        self.initialState = initialState
        self.endpoints = endpoints
    }

    public var clientURL: String { "https://\(URLHost.bracketed(address)):\(clientPort)" }
    public var peerURL: String { "https://\(URLHost.bracketed(address)):\(peerPort)" }

    /// Where the files are, under a node's data directory.
    public struct Files: Sendable {
        public let directory: URL
        public init(dataDir: URL) { directory = dataDir.appendingPathComponent("cluster") }
        public var config: URL { directory.appendingPathComponent("node.json") }
        public var caCertificate: URL { directory.appendingPathComponent("ca.pem") }
        public var certificate: URL { directory.appendingPathComponent("etcd.pem") }
        public var key: URL { directory.appendingPathComponent("etcd.key") }
        public var etcdData: URL { directory.appendingPathComponent("etcd") }
        public var etcdLog: URL { directory.appendingPathComponent("etcd.log") }
        /// The node's own copy of the tree, for a start without quorum.
        public var treeCopy: URL { directory.appendingPathComponent("tree-copy.json") }
        public var tls: EtcdConnection.TLSFiles {
            .init(caFile: caCertificate.path, certificateFile: certificate.path, keyFile: key.path)
        }
    }

    /// The node's cluster config, or nil for a standalone node.
    public static func load(_ files: Files) throws -> ClusterLocalConfig? {
        guard let data = FileManager.default.contents(atPath: files.config.path) else { return nil }
        do {
            return try JSONDecoder().decode(ClusterLocalConfig.self, from: data)
        } catch {
            throw VireoError(.internalError, "cluster config '\(files.config.path)' is unreadable: \(error)").at(
                .cluster
            )
        }
    }

    /// Writes the config and the TLS files, readable by root only.
    public func save(_ files: Files, ca: String, certificate: String, key: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(
            at: files.directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        for (url, data) in [
            (files.caCertificate, Data(ca.utf8)), (files.certificate, Data(certificate.utf8)),
            (files.key, Data(key.utf8)),
            (files.config, try encoder.encode(self)),
        ] {
            // Written aside and renamed: a crash leaves the old file or the new, never half of one.
            let temporary = url.appendingPathExtension("new")
            guard manager.createFile(atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600])
            else {
                throw VireoError(.internalError, "cannot write '\(temporary.path)'").at(.cluster)
            }
            guard rename(temporary.path, url.path) == 0 else {
                throw VireoError(
                    .internalError,
                    "cannot rename '\(temporary.path)': \(String(cString: strerror(errno)))"
                ).at(.cluster)
            }
        }
    }

    /// How `vireod` connects to etcd: its own member first, then the others.
    public func connection(_ files: Files) -> EtcdConnection {
        EtcdConnection(endpoints: [clientURL] + endpoints.filter { $0 != clientURL }, tls: files.tls)
    }
}

enum URLHost {
    static func bracketed(_ address: String) -> String { address.contains(":") ? "[\(address)]" : address }
}
