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

    /// Read from `/proc/locks`, not with F_GETLK: opening and closing the `-shm` file in this
    /// process would drop every POSIX lock the daemon's own SQLite connections hold on it.
    static func writeLockHolder(path: String) -> Int? {
        var info = stat()
        guard stat(path + "-shm", &info) == 0,
            let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8)
        else { return nil }
        return holder(
            locks: locks,
            device: (
                major: Int(info.st_dev >> 8 & 0xfff), minor: Int(info.st_dev & 0xff | (info.st_dev >> 12 & 0xfff00))
            ),
            inode: Int(info.st_ino),
            byte: walWriteLockOffset,
            excluding: Int(getpid())
        )
    }

    /// The PID holding a write lock over `byte` of the file, from `/proc/locks` lines such as
    /// `1: POSIX  ADVISORY  WRITE 4711 08:02:1234 120 120`.
    static func holder(
        locks: String,
        device: (major: Int, minor: Int),
        inode: Int,
        byte: Int,
        excluding ownPID: Int
    ) -> Int? {
        for line in locks.split(separator: "\n") {
            var fields = line.split(separator: " ").map(String.init)
            if fields.first?.hasSuffix(":") == true { fields.removeFirst() }
            if fields.first == "->" { continue }  // a waiter, not a holder
            guard fields.count >= 7, fields[2] == "WRITE", let pid = Int(fields[3]), pid != ownPID else { continue }
            let file = fields[4].split(separator: ":")
            guard file.count == 3, Int(file[0], radix: 16) == device.major, Int(file[1], radix: 16) == device.minor,
                Int(file[2]) == inode, let start = Int(fields[5])
            else { continue }
            let end = fields[6] == "EOF" ? Int.max : Int(fields[6]) ?? -1
            if start <= byte, byte <= end { return pid }
        }
        return nil
    }
}
