import Foundation
import GRDB
import Synchronization
import VireoCore

/// The embedded backend: one SQLite file in WAL mode.
///
/// Every write is one SQLite transaction with `synchronous=FULL`, so a crash (kill -9, power loss)
/// leaves either the old or the new content of a file, never a torn one, and the database opens.
public final class SQLiteConfigStore: ConfigStore {
    private let pool: DatabasePool
    private let feed: ChangeFeed
    /// In memory: the embedded store belongs to one daemon (vireod holds the data dir's lock).
    private let leases = LeaseTable()

    /// Opens (creating when missing) the store at `path`; the change feed keeps at least
    /// `changeHistory` changes for subscribers that fall behind.
    /// `readOnly` opens an existing store for reading only, without waiting on its write lock (the
    /// diagnosis of a node whose daemon is down).
    public init(path: String, changeHistory: Int = 4096, readOnly: Bool = false) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(readOnly ? 1 : 10)
        configuration.readonly = readOnly
        if !readOnly {
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            if !readOnly { try Self.createTables(pool) }
            feed = ChangeFeed(
                startingAt: try pool.read { db in
                    try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'version'") ?? 0
                },
                capacity: changeHistory
            )
        } catch {
            throw VireoError(.unavailable, "config store '\(path)' cannot be opened: \(error)", underlying: error).at(
                .store
            )
        }
    }

    private static func createTables(_ pool: DatabasePool) throws {
        try pool.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS files (
                        path TEXT PRIMARY KEY NOT NULL,
                        content TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        mtime INTEGER NOT NULL
                    );
                    CREATE TABLE IF NOT EXISTS meta (
                        key TEXT PRIMARY KEY NOT NULL,
                        value INTEGER NOT NULL
                    );
                    INSERT OR IGNORE INTO meta (key, value) VALUES ('version', 0);
                    """
            )
        }
    }

    public func read(_ path: String) async throws -> StoredFile? {
        let path = try ConfigPath.normalize(path)
        return try await storeCall {
            try await pool.read { db in try Self.fetch(db, path) }
        }
    }

    @discardableResult
    public func write(_ path: String, content: String, condition: WriteCondition) async throws -> StoredFile {
        let path = try ConfigPath.normalize(path)
        let now = Int64(Date().timeIntervalSince1970)
        let held = StoreLease.held
        let file: StoredFile = try await storeCall {
            try await pool.write { [leases] db in
                try leases.check(held)
                let existing = try Self.fetch(db, path)
                try condition.check(existing: existing, path: path)
                if existing == nil, try Self.isDirectory(db, path) {
                    throw VireoError.conflict("config path '\(path)' is a directory")
                }
                let version = try Self.bumpVersion(db)
                try db.execute(
                    sql: "INSERT OR REPLACE INTO files (path, content, version, mtime) VALUES (?, ?, ?, ?)",
                    arguments: [path, content, version, now]
                )
                return StoredFile(path: path, content: content, version: version, mtime: now)
            }
        }
        feed.publish([ConfigChange(path: path, kind: .written, version: file.version)])
        return file
    }

    public func list(_ directory: String) async throws -> [String] {
        let directory = try ConfigPath.normalize(directory, allowRoot: true)
        let prefix = directory.isEmpty ? "" : directory + "/"
        let paths: [String] = try await storeCall {
            try await pool.read { db in
                // `path >= prefix AND path < prefix + U+FFFF` is an index range scan for the prefix.
                try String.fetchAll(
                    db,
                    sql: "SELECT path FROM files WHERE path >= ? AND path < ? ORDER BY path",
                    arguments: [prefix, prefix + "\u{FFFF}"]
                )
            }
        }
        var names: [String] = []
        for path in paths {
            let rest = path.dropFirst(prefix.count)
            let name = String(rest.prefix { $0 != "/" })
            if names.last != name { names.append(name) }
        }
        return names
    }

    public func readAll(_ directory: String) async throws -> [StoredFile] {
        let directory = try ConfigPath.normalize(directory, allowRoot: true)
        let prefix = directory.isEmpty ? "" : directory + "/"
        // The rows become `StoredFile`s inside the read: the closure's result must be Sendable, or
        // Swift picks GRDB's blocking `read` and parks a cooperative thread on the reader pool.
        let files: [StoredFile] = try await storeCall {
            try await pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: "SELECT path, content, version, mtime FROM files WHERE path >= ? AND path < ? ORDER BY path",
                    arguments: [prefix, prefix + "\u{FFFF}"]
                ).map { row in
                    StoredFile(path: row["path"], content: row["content"], version: row["version"], mtime: row["mtime"])
                }
            }
        }
        // Only files directly in the directory, not in its subdirectories.
        return files.filter { !$0.path.dropFirst(prefix.count).contains("/") }
    }

    public func delete(_ path: String, condition: WriteCondition) async throws {
        let path = try ConfigPath.normalize(path)
        let held = StoreLease.held
        let version: Int64 = try await storeCall {
            try await pool.write { [leases] db in
                try leases.check(held)
                guard let existing = try Self.fetch(db, path) else {
                    throw VireoError.notFound("config file '\(path)' does not exist")
                }
                try condition.check(existing: existing, path: path)
                let version = try Self.bumpVersion(db)
                try db.execute(sql: "DELETE FROM files WHERE path = ?", arguments: [path])
                return version
            }
        }
        feed.publish([ConfigChange(path: path, kind: .deleted, version: version)])
    }

    public func rename(_ from: String, to: String) async throws {
        let from = try ConfigPath.normalize(from)
        let to = try ConfigPath.normalize(to)
        let held = StoreLease.held
        let (deleted, written): (Int64, Int64) = try await storeCall {
            try await pool.write { [leases] db in
                try leases.check(held)
                guard try Self.fetch(db, from) != nil else {
                    throw VireoError.notFound("config file '\(from)' does not exist")
                }
                guard try Self.fetch(db, to) == nil else {
                    throw VireoError.conflict("config file '\(to)' already exists")
                }
                // Two versions, so a subscriber resuming between them misses neither change.
                let deleted = try Self.bumpVersion(db)
                let written = try Self.bumpVersion(db)
                try db.execute(
                    sql: "UPDATE files SET path = ?, version = ? WHERE path = ?",
                    arguments: [to, written, from]
                )
                return (deleted, written)
            }
        }
        feed.publish([
            ConfigChange(path: from, kind: .deleted, version: deleted),
            ConfigChange(path: to, kind: .written, version: written),
        ])
    }

    @discardableResult
    public func commit(_ operations: [StoreOperation]) async throws -> Int64 {
        let operations = try operations.map { try $0.normalized() }
        let now = Int64(Date().timeIntervalSince1970)
        let held = StoreLease.held
        let changes: [ConfigChange] = try await storeCall {
            try await pool.write { [leases] db in
                try leases.check(held)
                for operation in operations {
                    let existing = try Self.fetch(db, operation.path)
                    switch operation {
                    case .write(let path, _, let condition), .check(let path, let condition):
                        try condition.check(existing: existing, path: path)
                    case .delete(let path, let condition):
                        guard existing != nil else { throw VireoError.notFound("config file '\(path)' does not exist") }
                        try condition.check(existing: existing, path: path)
                    }
                }
                var changes: [ConfigChange] = []
                for operation in operations {
                    switch operation {
                    case .write(let path, let content, _):
                        let version = try Self.bumpVersion(db)
                        try db.execute(
                            sql: "INSERT OR REPLACE INTO files (path, content, version, mtime) VALUES (?, ?, ?, ?)",
                            arguments: [path, content, version, now]
                        )
                        changes.append(ConfigChange(path: path, kind: .written, version: version))
                    case .delete(let path, _):
                        let version = try Self.bumpVersion(db)
                        try db.execute(sql: "DELETE FROM files WHERE path = ?", arguments: [path])
                        changes.append(ConfigChange(path: path, kind: .deleted, version: version))
                    case .check:
                        break
                    }
                }
                return changes
            }
        }
        feed.publish(changes)
        if let last = changes.last { return last.version }
        return try await currentVersion()
    }

    public func changes(after version: Int64?) -> ConfigChangeStream { feed.subscribe(after: version) }

    public func acquireLock(_ name: String, holder: String, ttl: Duration) async throws -> StoreLease? {
        leases.acquire(name, holder: holder, ttl: ttl)
    }

    public func renewLock(_ lease: StoreLease, ttl: Duration) async throws { try leases.renew(lease, ttl: ttl) }

    public func releaseLock(_ lease: StoreLease) async throws { leases.release(lease) }

    public func lockHolder(_ name: String) async throws -> StoreLease? { leases.holder(name) }

    public func currentVersion() async throws -> Int64 {
        try await storeCall {
            try await pool.read { db in
                try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'version'") ?? 0
            }
        }
    }

    /// Checks the database file's integrity (`PRAGMA integrity_check`); true when sound.
    public func integrityCheck() async throws -> Bool {
        try await pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok" }
    }

    // MARK: - Helpers

    private static func fetch(_ db: Database, _ path: String) throws -> StoredFile? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: "SELECT content, version, mtime FROM files WHERE path = ?",
                arguments: [path]
            )
        else { return nil }
        return StoredFile(path: path, content: row["content"], version: row["version"], mtime: row["mtime"])
    }

    private static func isDirectory(_ db: Database, _ path: String) throws -> Bool {
        let prefix = path + "/"
        return try Bool.fetchOne(
            db,
            sql: "SELECT EXISTS (SELECT 1 FROM files WHERE path >= ? AND path < ?)",
            arguments: [prefix, prefix + "\u{FFFF}"]
        ) ?? false
    }

    private static func bumpVersion(_ db: Database) throws -> Int64 {
        try db.execute(sql: "UPDATE meta SET value = value + 1 WHERE key = 'version'")
        return try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'version'") ?? 0
    }

    /// Lets our own errors through and wraps database failures as `.unavailable`.
    private func storeCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as VireoError {
            throw error
        } catch {
            throw VireoError(.unavailable, "config store failure: \(error)", underlying: error).at(.store)
        }
    }
}
