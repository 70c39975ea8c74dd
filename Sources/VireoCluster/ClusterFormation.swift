public import Foundation
public import Logging
import VireoCore
public import VireoStore

/// `pvecm create`: a standalone node becomes the first member of a new cluster.
///
/// The node's tree moves from its SQLite file into a new etcd member, a cluster CA is made and
/// signs the node's API and etcd certificates, and `cluster.conf` lists the node. The daemon
/// then restarts in place on the etcd store. Should any step fail, the node stays standalone
/// and unchanged: the cluster directory goes, the SQLite tree was only read.
public struct ClusterFormation: Sendable {
    public let node: String
    public let dataDir: URL
    public let logger: Logger

    public init(node: String, dataDir: URL, logger: Logger) {
        self.node = node
        self.dataDir = dataDir
        self.logger = logger
    }

    var files: ClusterLocalConfig.Files { ClusterLocalConfig.Files(dataDir: dataDir) }

    /// Refuses when this node already belongs to a cluster.
    public func requireStandalone(_ store: any ConfigStore) async throws {
        let inTree = try await store.read(ClusterConfigFile.path) != nil
        if try ClusterLocalConfig.load(files) != nil || inTree {
            throw VireoError.invalid("this node is already part of a cluster - cluster config already exists").at(
                .cluster
            )
        }
    }

    public func create(
        name: String,
        address: String,
        nodeid: Int,
        votes: Int,
        from standalone: any ConfigStore,
        log: @escaping @Sendable (String) -> Void
    ) async throws {
        try await requireStandalone(standalone)
        guard IPAddressBytes.parse(address) != nil else {
            throw VireoError.parameter("link0", "'\(address)' is not an IP address")
        }
        let config = ClusterLocalConfig(
            cluster: name,
            node: node,
            nodeid: nodeid,
            address: address,
            initialCluster: "",
            initialState: "new",
            endpoints: []
        )
        let local = ClusterLocalConfig(
            cluster: name,
            node: node,
            nodeid: nodeid,
            address: address,
            initialCluster: "\(node)=\(config.peerURL)",
            initialState: "new",
            endpoints: [config.clientURL]
        )
        log("creating the cluster CA")
        let ca = try ClusterCA.create(cluster: name)
        let etcdCertificate = try ca.issue(node: node, addresses: [address])
        let member = EtcdMember(config: local, files: files, logger: logger)
        do {
            try local.save(
                files,
                ca: ca.certificatePEM,
                certificate: etcdCertificate.certificate,
                key: etcdCertificate.key
            )
            log("starting etcd member \(node) on \(local.clientURL)")
            guard try await member.start() else {
                throw VireoError(.unavailable, "the new etcd member does not answer (see \(files.etcdLog.path))").at(
                    .cluster
                )
            }
            let store = try await EtcdConfigStore.open(local.connection(files))
            do {
                let memberID = try await Self.ownMemberID(store.client, name: node)
                let copied = try await copyTree(from: standalone, to: store)
                log("copied the configuration tree: \(copied) files")
                let apiCertificate = try ca.issue(node: node, addresses: [address])
                let cluster = ClusterConfigFile(
                    name: name,
                    nodes: [
                        node: .init(
                            nodeid: nodeid,
                            quorumVotes: votes,
                            address: address,
                            etcdMemberID: memberID,
                            peerURL: local.peerURL,
                            clientURL: local.clientURL
                        )
                    ]
                )
                try await store.commit([
                    .write("pve-root-ca.pem", content: ca.certificatePEM, condition: .any),
                    .write("priv/pve-root-ca.key", content: ca.keyPEM, condition: .any),
                    .write("nodes/\(node)/pve-ssl.pem", content: apiCertificate.certificate, condition: .any),
                    .write("nodes/\(node)/pve-ssl.key", content: apiCertificate.key, condition: .any),
                    .write(ClusterConfigFile.path, content: cluster.serialized(), condition: .absent),
                ])
                log("node certificate signed by the cluster CA")
                await store.close()
            } catch {
                await store.close()
                throw error
            }
            await member.stop()
        } catch {
            await member.stop()
            try? FileManager.default.removeItem(at: files.directory)
            throw error
        }
    }

    /// Copies every file, in transactions of at most 100 (etcd's limit is 128 operations).
    func copyTree(from source: any ConfigStore, to target: any ConfigStore) async throws -> Int {
        let files = try await source.allFiles()
        var start = 0
        while start < files.count {
            let batch = files[start..<min(start + 100, files.count)]
            try await target.commit(batch.map { .write($0.path, content: $0.content, condition: .any) })
            start += batch.count
        }
        return files.count
    }

    /// This member's ID (hex, as etcdctl prints it) by its name.
    static func ownMemberID(_ client: EtcdClient, name: String) async throws -> String {
        let answer = try await client.call("/v3/cluster/member/list", [:], timeout: .seconds(5))
        for member in answer["members"]?.arrayValue ?? [] where member["name"]?.stringValue == name {
            if let id = member["ID"]?.stringValue, let value = UInt64(id) { return String(value, radix: 16) }
        }
        throw VireoError(.internalError, "etcd does not list member '\(name)'").at(.cluster)
    }
}
