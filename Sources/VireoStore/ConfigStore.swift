import VireoCore

/// One file of the configuration tree, as the store holds it.
public struct StoredFile: Sendable, Equatable {
    public var path: String
    public var content: String
    /// Store-wide monotonic version of this file's last write; the compare-and-swap token.
    public var version: Int64
    /// Seconds since the epoch of the last write.
    public var mtime: Int64

    public init(path: String, content: String, version: Int64, mtime: Int64) {
        self.path = path
        self.content = content
        self.version = version
        self.mtime = mtime
    }

    /// SHA-1 hex of the content: Proxmox's `digest`.
    public var digest: String { ConfigDigest.sha1Hex(content) }
}

/// What a write expects to find, for compare-and-swap.
public enum WriteCondition: Sendable, Equatable {
    /// Write whatever is there.
    case any
    /// The file must not exist yet.
    case absent
    /// The file must be at exactly this version.
    case version(Int64)
}

extension WriteCondition {
    /// Throws `.conflict`, in the words every backend uses, when the condition does not hold for
    /// `existing` (nil: the file is absent).
    func check(existing: StoredFile?, path: String) throws {
        switch self {
        case .any:
            return
        case .absent:
            if existing != nil { throw VireoError.conflict("config file '\(path)' already exists") }
        case .version(let expected):
            guard let existing else { throw VireoError.conflict("config file '\(path)' does not exist any more") }
            if existing.version != expected {
                throw VireoError.conflict("config file '\(path)' was changed concurrently")
            }
        }
    }
}

/// A change to the tree, delivered to watchers after it is committed.
public struct ConfigChange: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case written, deleted }
    public var path: String
    public var kind: Kind
    public var version: Int64

    public init(path: String, kind: Kind, version: Int64) {
        self.path = path
        self.kind = kind
        self.version = version
    }
}

/// The path-addressed tree of small text files that plays pmxcfs's role (`/etc/pve`).
///
/// Paths are relative (`nodes/pve1/qemu-server/100.conf`, `priv/shadow.cfg`) and validated by
/// ``ConfigPath``. Every backend gives the same guarantees: atomic writes, compare-and-swap on
/// ``StoredFile/version``, and change notifications after commit.
public protocol ConfigStore: Sendable {
    func read(_ path: String) async throws -> StoredFile?
    /// Writes atomically. - Throws: `.conflict` when `condition` does not hold.
    @discardableResult
    func write(_ path: String, content: String, condition: WriteCondition) async throws -> StoredFile
    /// Names of the files and directories directly under `directory` ("" for the root), sorted.
    func list(_ directory: String) async throws -> [String]
    /// Every file directly in `directory`, sorted by path, read in one consistent snapshot
    /// (listing 1,000 VM configs must not take 1,000 round trips).
    func readAll(_ directory: String) async throws -> [StoredFile]
    /// - Throws: `.notFound` when absent, `.conflict` when `condition` does not hold.
    func delete(_ path: String, condition: WriteCondition) async throws
    /// Moves a file; fails when the source is missing or the target exists.
    func rename(_ from: String, to: String) async throws
    /// Applies every operation or none: all conditions are checked first, in one transaction.
    /// - Throws: `.conflict` naming the first path whose condition does not hold.
    @discardableResult
    func commit(_ operations: [StoreOperation]) async throws -> Int64
    /// Committed changes after `version` (nil: from now on). A subscriber that cannot be given
    /// every change gets `.lost` and must re-read what it caches; nothing is dropped silently.
    func changes(after version: Int64?) -> ConfigChangeStream
    /// The version of the last committed change in the whole store.
    func currentVersion() async throws -> Int64

    /// Takes lock `name` for `holder` until `ttl` from now, unless another holder's lease on it is
    /// alive: then nil. Taking a lock whose holder's lease expired fences that holder out.
    func acquireLock(_ name: String, holder: String, ttl: Duration) async throws -> StoreLease?
    /// Extends a lease. - Throws: `.conflict` when it expired or was taken over.
    func renewLock(_ lease: StoreLease, ttl: Duration) async throws
    /// Gives a lock up; a lease already lost is ignored.
    func releaseLock(_ lease: StoreLease) async throws
    /// The live lease on `name`, if any.
    func lockHolder(_ name: String) async throws -> StoreLease?
}

extension ConfigStore {
    /// Committed changes from now on.
    public func changes() -> ConfigChangeStream { changes(after: nil) }

    /// Runs `body` holding the store lock `name` (the role of pmxcfs's `lock-*` directories).
    ///
    /// Waits up to `timeout` for the lock; the lease lasts `ttl` and is renewed while `body`
    /// runs. Every store write inside `body` is fenced by the lease: should it be lost (this
    /// process stalled past its expiry and another holder took the lock) the write is refused.
    /// Reentrant within a task: code under a lock may take the same lock again.
    @discardableResult
    public func withLock<T: Sendable>(
        _ name: String,
        holder: String = StoreLease.processHolder,
        timeout: Duration = .seconds(10),
        ttl: Duration = .seconds(30),
        _ body: () async throws -> T
    ) async throws -> T {
        if StoreLease.held.contains(where: { $0.name == name }) { return try await body() }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var pause = Duration.milliseconds(2)
        var lease: StoreLease?
        while lease == nil {
            lease = try await acquireLock(name, holder: holder, ttl: ttl)
            if lease != nil { break }
            guard clock.now < deadline else {
                throw VireoError(.timeout, "can't lock '\(name)' - got timeout").at(.store)
            }
            try await Task.sleep(for: min(pause, deadline - clock.now))
            pause = min(pause * 2, .milliseconds(100))
        }
        guard let lease else { throw VireoError(.timeout, "can't lock '\(name)' - got timeout").at(.store) }
        let renewal = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: ttl / 3)
                try await renewLock(lease, ttl: ttl)
            }
        }
        defer { renewal.cancel() }
        do {
            let result = try await StoreLease.$held.withValue(StoreLease.held + [lease]) { try await body() }
            try? await releaseLock(lease)
            return result
        } catch {
            try? await releaseLock(lease)
            throw error
        }
    }
}

extension ConfigStore {
    /// Read-modify-write with compare-and-swap, retried on concurrent change.
    ///
    /// `transform` gets the current content (nil when absent) and returns the new content, or nil
    /// to leave the file unchanged. When `digest` is given it must match the file as first read,
    /// which is how API writes with Proxmox's `digest` parameter detect lost updates.
    @discardableResult
    public func update(
        _ path: String,
        digest: String? = nil,
        _ transform: (String?) throws -> String?
    ) async throws -> StoredFile? {
        var first = true
        // Each retry means another writer committed in between; a file that never settles is an
        // error worth reporting, not a loop that spins forever.
        for _ in 0..<Self.updateAttempts {
            let current = try await read(path)
            if first, let digest, !digest.isEmpty {
                let actual = current?.digest ?? ConfigDigest.sha1Hex("")
                guard actual == digest.lowercased() else { throw VireoError.modifiedConfiguration }
            }
            first = false
            guard let next = try transform(current?.content) else { return current }
            let condition: WriteCondition = current.map { .version($0.version) } ?? .absent
            do {
                return try await write(path, content: next, condition: condition)
            } catch let error as VireoError where error.code == .conflict && digest == nil {
                continue
            } catch let error as VireoError where error.code == .conflict {
                // With a digest the caller asked for exactly the state it saw; a race means it changed.
                throw VireoError.modifiedConfiguration
            }
        }
        throw VireoError.conflict("config file '\(path)' kept changing - gave up after \(Self.updateAttempts) attempts")
    }

    static var updateAttempts: Int { 64 }
}

extension ConfigStore {
    /// Every file of the tree, directory by directory (copying a tree into another backend).
    public func allFiles(under directory: String = "") async throws -> [StoredFile] {
        let files = try await readAll(directory)
        let fileNames = Set(files.map { String($0.path.split(separator: "/").last ?? "") })
        var result = files
        for name in try await list(directory) where !fileNames.contains(name) {
            result += try await allFiles(under: directory.isEmpty ? name : directory + "/" + name)
        }
        return result
    }
}
