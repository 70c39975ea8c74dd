import Foundation
public import Logging
import Synchronization
public import VireoCore
public import VireoHost
public import VireoStore

/// The storages of this node: `storage.cfg` in the config store, a plugin per entry, per-storage
/// locks, and the checks that keep volumes safe (in use by a VM, protected).
public final class StorageManager: Sendable {
    public static let configPath = "storage.cfg"

    public typealias PluginFactory = @Sendable (StorageDefinition, any CommandRunner) throws -> any StoragePlugin

    public let store: any ConfigStore
    public let node: String
    public let runner: any CommandRunner
    let logger: Logger
    let locks: StoreLocks
    let factories: [String: PluginFactory]
    /// When each definition was last activated: activation (mkdir, mount and VG checks) runs at
    /// most every few seconds per configuration, not on every request.
    let activated = Mutex<[StorageDefinition: ContinuousClock.Instant]>([:])
    /// Status figures by storage, at most a second old: dashboards poll them constantly.
    let statusCache = Mutex<[String: (at: ContinuousClock.Instant, status: StorageStatus)]>([:])

    public init(
        store: any ConfigStore,
        node: String,
        runner: any CommandRunner,
        logger: Logger,
        factories: [String: PluginFactory] = StorageManager.defaultFactories
    ) {
        self.store = store
        locks = StoreLocks(store: store)
        self.node = node
        self.runner = runner
        self.logger = logger
        self.factories = factories
    }

    public static let defaultFactories: [String: PluginFactory] = [
        "dir": { try DirPlugin(definition: $0, runner: $1) },
        "btrfs": { try BtrfsPlugin(definition: $0, runner: $1) },
        "lvm": { LVMPlugin(definition: $0, runner: $1) },
        "lvmthin": { LVMThinPlugin(definition: $0, runner: $1) },
        "zfspool": { ZFSPoolPlugin(definition: $0, runner: $1) },
        "rbd": { RBDPlugin(definition: $0, runner: $1) },
    ]

    /// Defines `local` (dir under `localPath`) on first start, unless a config exists.
    public func bootstrap(localPath: String) async throws {
        try await store.update(Self.configPath) { existing in
            guard existing == nil else { return nil }
            let local = try SectionConfig.Section(
                type: "dir",
                id: "local",
                options: [.init("path", localPath), .init("content", "backup,images,import,iso,snippets,vztmpl")]
            )
            return try SectionConfig(sections: [local]).description
        }
    }

    // MARK: - Configuration

    /// The parsed file and its digest.
    public func configuration() async throws -> (config: SectionConfig, digest: String) {
        let file = try await store.read(Self.configPath)
        return (try SectionConfig(parsing: file?.content ?? ""), file?.digest ?? ConfigDigest.sha1Hex(""))
    }

    public func definitions() async throws -> [StorageDefinition] {
        try await configuration().config.sections.map(StorageDefinition.init)
    }

    public func definition(_ id: String) async throws -> StorageDefinition {
        guard let section = try await configuration().config[id] else {
            throw VireoError.notFound("storage '\(id)' does not exist")
        }
        return StorageDefinition(section: section)
    }

    /// Read-modify-write of `storage.cfg` under its lock; `digest` must match the file as read.
    @discardableResult
    public func modifyConfiguration<T: Sendable>(
        digest: String? = nil,
        _ change: @Sendable (inout SectionConfig) async throws -> T
    ) async throws -> T {
        try await locks.withLock("storage.cfg") {
            let file = try await store.read(Self.configPath)
            if let digest, !digest.isEmpty, (file?.digest ?? "") != digest.lowercased() {
                throw VireoError.modifiedConfiguration
            }
            var config = try SectionConfig(parsing: file?.content ?? "")
            let result = try await change(&config)
            let condition: WriteCondition = file.map { .version($0.version) } ?? .absent
            try await store.write(Self.configPath, content: config.description, condition: condition)
            return result
        }
    }

    // MARK: - Plugins

    public func plugin(for definition: StorageDefinition) throws -> any StoragePlugin {
        guard let factory = factories[definition.type] else {
            throw VireoError.invalid("storage '\(definition.id)': type '\(definition.type)' is not supported by Vireo")
        }
        return try factory(definition, runner)
    }

    /// The plugin of an enabled storage, activated.
    public func activePlugin(_ id: String) async throws -> any StoragePlugin {
        let definition = try await definition(id)
        guard definition.isEnabled(on: node) else {
            throw VireoError.invalid("storage '\(id)' is not enabled on node '\(node)'")
        }
        let plugin = try plugin(for: definition)
        try await activate(plugin)
        return plugin
    }

    private func activate(_ plugin: any StoragePlugin) async throws {
        let now = ContinuousClock.now
        if let last = activated.withLock({ $0[plugin.definition] }), now - last < .seconds(5) { return }
        try await plugin.activate()
        activated.withLock { $0[plugin.definition] = now }
    }

    /// Runs `body` holding the storage's lock (allocation, free, snapshot: one at a time per storage).
    public func withLock<T: Sendable>(_ id: String, _ body: () async throws -> T) async throws -> T {
        try await locks.withLock("storage-\(id)", timeout: .seconds(60), body)
    }

    public func status(of definition: StorageDefinition) async -> StorageStatus {
        guard definition.isEnabled(on: node), let plugin = try? plugin(for: definition) else { return .inactive }
        let now = ContinuousClock.now
        if let cached = statusCache.withLock({ $0[definition.id] }), now - cached.at < .seconds(1) {
            return cached.status
        }
        do {
            try await activate(plugin)
            let status = try await plugin.status()
            statusCache.withLock { $0[definition.id] = (now, status) }
            return status
        } catch {
            logger.warning("storage status failed", metadata: ["storage": "\(definition.id)", "error": "\(error)"])
            return .inactive
        }
    }

    // MARK: - Safety

    /// The VM config that uses `volid`, if any (a disk, `unusedN` or a snapshot's disk).
    public func user(of volid: String) async throws -> String? {
        for directory in try await store.list("nodes") {
            let base = "nodes/\(directory)/qemu-server"
            for name in try await store.list(base) where name.hasSuffix(".conf") {
                guard let text = try await store.read("\(base)/\(name)")?.content else { continue }
                for line in text.split(separator: "\n") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let value = line[line.index(after: colon)...].drop { $0 == " " }
                    let volume = value.prefix { $0 != "," }
                    if volume == volid || value.hasPrefix("volume=\(volid),") || value.contains("file=\(volid)") {
                        return "VM \(name.dropLast(5))"
                    }
                }
            }
        }
        return nil
    }
}
