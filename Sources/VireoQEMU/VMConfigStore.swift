import Foundation
import Synchronization
public import VireoCore
public import VireoStore

/// VM configs in the config store, as pmxcfs keeps them: `nodes/<node>/qemu-server/<vmid>.conf`.
/// VMIDs are unique across all nodes; every change runs under the VM's lock and checks `digest`.
public final class VMConfigStore: Sendable {
    public let store: any ConfigStore
    public let node: String
    let locks = NamedLocks()
    /// Parsed configs by path and store version: listing 1,000 VMs parses only what changed.
    private let parsed = Mutex<[String: (version: Int64, config: VMConfig)]>([:])

    public init(store: any ConfigStore, node: String) {
        self.store = store
        self.node = node
    }

    public func path(_ vmid: Int, node: String? = nil) -> String {
        "nodes/\(node ?? self.node)/qemu-server/\(vmid).conf"
    }

    /// Every VMID defined on any node, with its node.
    public func all() async throws -> [(vmid: Int, node: String)] {
        var result: [(Int, String)] = []
        for node in try await store.list("nodes") {
            for name in try await store.list("nodes/\(node)/qemu-server") where name.hasSuffix(".conf") {
                if let vmid = Int(name.dropLast(5)) { result.append((vmid, node)) }
            }
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// The config of a VM on this node and its digest.
    /// - Throws: `.notFound` ("Configuration file '…' does not exist").
    public func read(_ vmid: Int) async throws -> (config: VMConfig, digest: String) {
        guard let file = try await store.read(path(vmid)) else {
            throw VireoError.notFound("Configuration file 'nodes/\(node)/qemu-server/\(vmid).conf' does not exist")
        }
        do {
            return (try VMConfig(parsing: file.content), file.digest)
        } catch let error as VireoError {
            throw VireoError(.internalError, "VM \(vmid): config file is broken: \(error.message)", underlying: error)
        }
    }

    /// Every VM config of this node, in one store read; broken files are skipped.
    public func readAllOnNode() async throws -> [(vmid: Int, config: VMConfig)] {
        let files = try await store.readAll("nodes/\(node)/qemu-server")
        return parsed.withLock { cache in
            var seen: Set<String> = []
            let result: [(vmid: Int, config: VMConfig)] = files.compactMap { file in
                let name = file.path[
                    (file.path.lastIndex(of: "/").map(file.path.index(after:)) ?? file.path.startIndex)...
                ]
                guard name.hasSuffix(".conf"), let vmid = Int(name.dropLast(5)) else { return nil }
                seen.insert(file.path)
                if let hit = cache[file.path], hit.version == file.version { return (vmid, hit.config) }
                guard let config = try? VMConfig(parsing: file.content) else { return nil }
                cache[file.path] = (file.version, config)
                return (vmid, config)
            }
            if cache.count > seen.count { cache = cache.filter { seen.contains($0.key) } }
            return result
        }
    }

    /// Creates a new VM config; fails when the VMID exists on any node.
    public func create(_ vmid: Int, config: VMConfig) async throws {
        try await locks.withLock("vm-\(vmid)") {
            if try await all().contains(where: { $0.vmid == vmid }) {
                throw VireoError.parameter("vmid", "VM \(vmid) already exists")
            }
            try await store.write(path(vmid), content: config.description, condition: .absent)
        }
    }

    /// Read-modify-write under the VM's lock; `digest` must match the file as read.
    @discardableResult
    public func modify<T: Sendable>(
        _ vmid: Int,
        digest: String? = nil,
        _ change: (inout VMConfig) async throws -> T
    ) async throws -> T {
        try await locks.withLock("vm-\(vmid)") {
            guard let file = try await store.read(path(vmid)) else {
                throw VireoError.notFound("Configuration file 'nodes/\(node)/qemu-server/\(vmid).conf' does not exist")
            }
            if let digest, !digest.isEmpty, file.digest != digest.lowercased() {
                throw VireoError.modifiedConfiguration
            }
            var config = try VMConfig(parsing: file.content)
            let result = try await change(&config)
            // An unchanged config is not rewritten: its digest stays valid for clients holding it.
            let text = config.description
            if text != file.content {
                try await store.write(path(vmid), content: text, condition: .version(file.version))
            }
            return result
        }
    }

    public func delete(_ vmid: Int) async throws {
        try await locks.withLock("vm-\(vmid)") { try await store.delete(path(vmid), condition: .any) }
    }

    /// Runs `body` under the VM's lock (start, stop, migrate must not interleave).
    public func withLock<T: Sendable>(_ vmid: Int, _ body: () async throws -> T) async throws -> T {
        try await locks.withLock("vm-\(vmid)", timeout: .seconds(10), body)
    }
}
