import Foundation
import GRDB
import Glibc

/// What the diagnosis can learn about the embedded store without writing to it: whether a fresh
/// connection reads it, and who holds its write lock (WAL mode: a POSIX lock on byte 120 of the
/// `-shm` file, queried with F_GETLK, which never takes it).
public enum SQLiteStoreProbe {
    public struct Result: Sendable, Equatable {
        public var readable: Bool
        public var error: String?
        public var files: Int?
        /// Another process holding the write lock, by PID (the prober's own locks never show).
        public var writeLockHolder: Int?
    }

    public static func probe(path: String) -> Result {
        var result = Result(readable: false, error: nil, files: nil, writeLockHolder: writeLockHolder(path: path))
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(1)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            result.files = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM files") }
            result.readable = true
            try queue.close()
        } catch {
            result.error = "\(error)"
        }
        return result
    }

    /// SQLite's WAL write lock: byte 120 of the shared-memory file.
    static let walWriteLockOffset = 120

    static func writeLockHolder(path: String) -> Int? {
        let fd = open(path + "-shm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var query = flock()
        query.l_type = Int16(F_WRLCK)
        query.l_whence = Int16(SEEK_SET)
        query.l_start = off_t(walWriteLockOffset)
        query.l_len = 1
        guard fcntl(fd, F_GETLK, &query) == 0, query.l_type != Int16(F_UNLCK), query.l_pid > 0 else { return nil }
        return Int(query.l_pid)
    }
}
