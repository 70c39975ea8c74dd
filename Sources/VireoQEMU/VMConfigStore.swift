import Foundation
import Synchronization
public import VireoCore
public import VireoStore

/// VM configs in the config store, as pmxcfs keeps them: `nodes/<node>/qemu-server/<vmid>.conf`.
/// VMIDs are unique across all nodes; every change runs under the VM's lock and checks `digest`.
public final class VMConfigStore: Sendable {
    public let store: any ConfigStore
    public let node: String
    /// A VM's lock is this node's alone, as Proxmox's local flock on the config: only the node
    /// whose directory holds a config changes it, and a VMID's uniqueness across nodes is one
    /// store transaction. (A cluster-wide lease would cost four etcd round trips per change.)
    /// Shared by every instance in the process, so two of them cannot both hold one VM.
    static let locks = NamedLocks()
    /// Parsed configs by path and store version: listing 1,000 VMs parses only what changed.
    private let parsed = Mutex<[String: (version: Int64, config: VMConfig)]>([:])

    public init(store: any ConfigStore, node: String) {
        self.store = store
        self.node = node
    }

    public func path(_ vmid: VMID, node: String? = nil) -> String {
        "nodes/\(node ?? self.node)/qemu-server/\(vmid).conf"
    }

    /// Every VMID defined on any node, with its node.
    public func all() async throws -> [(vmid: VMID, node: String)] {
        var result: [(VMID, String)] = []
        for node in try await store.list("nodes") {
            for name in try await store.list("nodes/\(node)/qemu-server") where name.hasSuffix(".conf") {
                if let vmid = VMID(String(name.dropLast(5))) { result.append((vmid, node)) }
            }
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// The config of a VM on this node and its digest.
    /// - Throws: `.notFound` ("Configuration file '…' does not exist").
    public func read(_ vmid: VMID) async throws -> (config: VMConfig, digest: String) {
        let loaded = try await load(vmid)
        return (loaded.config, loaded.digest)
    }

    /// The config of a VM on this node with the store version it was read at, so a request that
    /// read it once can write it back (or confirm it unchanged) without reading it again.
    public func load(_ vmid: VMID) async throws -> LoadedVMConfig {
        guard let file = try await store.read(path(vmid)) else {
            throw VireoError.notFound("Configuration file 'nodes/\(node)/qemu-server/\(vmid).conf' does not exist")
        }
        do {
            return LoadedVMConfig(
                vmid: vmid,
                config: try VMConfig(parsing: file.content),
                digest: file.digest,
                version: file.version
            )
        } catch let error as VireoError {
            throw VireoError(.internalError, "VM \(vmid): config file is broken: \(error.message)", underlying: error)
                .at(.store)
        }
    }

    /// Writes `config` if the file is still at `loaded`'s version, or only confirms that it is when
    /// nothing changed. - Returns: false when another writer changed the file in between.
    public func commit(_ config: VMConfig, over loaded: LoadedVMConfig) async throws -> Bool {
        let operation: StoreOperation =
            config == loaded.config
            ? .check(path(loaded.vmid), condition: .version(loaded.version))
            : .write(path(loaded.vmid), content: config.description, condition: .version(loaded.version))
        do {
            try await store.commit([operation])
            return true
        } catch let error as VireoError where error.code == .conflict {
            return false
        }
    }

    /// Every VM config of this node, in one store read; broken files are skipped.
    public func readAllOnNode() async throws -> [(vmid: VMID, config: VMConfig)] {
        let files = try await store.readAll("nodes/\(node)/qemu-server")
        return parsed.withLock { cache in
            var seen: Set<String> = []
            let result: [(vmid: VMID, config: VMConfig)] = files.compactMap { file in
                let name = file.path[
                    (file.path.lastIndex(of: "/").map(file.path.index(after:)) ?? file.path.startIndex)...
                ]
                guard name.hasSuffix(".conf"), let vmid = VMID(String(name.dropLast(5))) else { return nil }
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

    /// Every VM config of this node with its version, in one store read, and the files that do
    /// not parse (with the reason): for work over all VMs that must say what it skipped.
    public func loadAllOnNode() async throws -> (loaded: [LoadedVMConfig], broken: [(vmid: VMID, reason: String)]) {
        var loaded: [LoadedVMConfig] = []
        var broken: [(vmid: VMID, reason: String)] = []
        for file in try await store.readAll("nodes/\(node)/qemu-server") {
            let name = file.path[(file.path.lastIndex(of: "/").map(file.path.index(after:)) ?? file.path.startIndex)...]
            guard name.hasSuffix(".conf"), let vmid = VMID(String(name.dropLast(5))) else { continue }
            do {
                let config = try VMConfig(parsing: file.content)
                loaded.append(LoadedVMConfig(vmid: vmid, config: config, digest: file.digest, version: file.version))
            } catch {
                broken.append((vmid, "\(error)"))
            }
        }
        return (loaded, broken)
    }

    /// Creates a new VM config; fails when the VMID exists on any node.
    public func create(_ vmid: VMID, config: VMConfig) async throws {
        try await Self.locks.withLock("\(node)/vm-\(vmid)") {
            // One transaction: the VMID is absent on every node when this node's file appears.
            let nodes = try await store.list("nodes")
            let absentEverywhere = Set(nodes + [node]).sorted().map {
                StoreOperation.check(path(vmid, node: $0), condition: .absent)
            }
            do {
                try await store.commit(
                    absentEverywhere + [.write(path(vmid), content: config.description, condition: .absent)]
                )
            } catch let error as VireoError where error.code == .conflict {
                throw VireoError.parameter("vmid", "VM \(vmid) already exists")
            }
        }
    }

    /// Read-modify-write under the VM's lock; `digest` must match the file as read.
    @discardableResult
    public func modify<T: Sendable>(
        _ vmid: VMID,
        digest: String? = nil,
        _ change: (inout VMConfig) async throws -> T
    ) async throws -> T {
        try await Self.locks.withLock("\(node)/vm-\(vmid)") {
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

    public func delete(_ vmid: VMID) async throws {
        try await Self.locks.withLock("\(node)/vm-\(vmid)") { try await store.delete(path(vmid), condition: .any) }
    }

    /// Runs `body` under the VM's lock (start, stop, migrate must not interleave).
    @discardableResult
    public func withLock<T: Sendable>(
        _ vmid: VMID,
        timeout: Duration = .seconds(10),
        _ body: () async throws -> T
    ) async throws -> T {
        try await Self.locks.withLock("\(node)/vm-\(vmid)", timeout: timeout, body)
    }
}

/// A VM config as read from the store, with the version it was read at.
public struct LoadedVMConfig: Sendable {
    public let vmid: VMID
    public let config: VMConfig
    public let digest: String
    public let version: Int64
}
