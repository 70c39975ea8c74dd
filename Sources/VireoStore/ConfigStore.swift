public import VireoCore

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
    /// A stream of committed changes from now on.
    func changes() -> AsyncStream<ConfigChange>
    /// The version of the last committed change in the whole store.
    func currentVersion() async throws -> Int64
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
        while true {
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
    }
}
