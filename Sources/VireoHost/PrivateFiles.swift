import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Keeps the daemon's secrets private on disk: the data and run directories `0700`, the config
/// store (which holds the ticket signing key, the CSRF secret and the TLS key) and its SQLite side
/// files `0600`, checked at every start, not only the first. A path that is too open is tightened
/// and reported; a path owned by another user, or a symlink, stops the start with its name.
public enum PrivateFiles {
    public struct Tightened: Sendable, Equatable {
        public let path: String
        public let oldMode: UInt32
        public let newMode: UInt32
    }

    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// Makes the directory if it is missing, else checks it; returns what had to be tightened.
    public static func directory(_ path: String) throws -> Tightened? {
        var info = stat()
        if lstat(path, &info) != 0 {
            guard errno == ENOENT else {
                throw Refusal(description: "cannot inspect \(path): \(String(cString: strerror(errno)))")
            }
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            guard lstat(path, &info) == 0 else { throw Refusal(description: "cannot create \(path)") }
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw Refusal(description: "\(path) must be a directory (not a symlink or a file)")
        }
        return try restrict(path, info, to: 0o700)
    }

    /// Creates the file empty if it is missing (so it never exists with a wider mode), else checks it.
    public static func file(_ path: String, create: Bool) throws -> Tightened? {
        var info = stat()
        if lstat(path, &info) != 0 {
            guard errno == ENOENT else {
                throw Refusal(description: "cannot inspect \(path): \(String(cString: strerror(errno)))")
            }
            guard create else { return nil }
            let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard descriptor >= 0 else {
                throw Refusal(description: "cannot create \(path): \(String(cString: strerror(errno)))")
            }
            close(descriptor)
            guard lstat(path, &info) == 0 else { throw Refusal(description: "cannot create \(path)") }
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw Refusal(description: "\(path) must be a regular file (not a symlink)")
        }
        return try restrict(path, info, to: 0o600)
    }

    private static func restrict(_ path: String, _ info: stat, to mode: mode_t) throws -> Tightened? {
        guard info.st_uid == geteuid() else {
            throw Refusal(
                description:
                    "\(path) is owned by uid \(info.st_uid), not by the daemon's user (uid \(geteuid())): refusing to keep secrets there"
            )
        }
        let current = info.st_mode & 0o7777
        guard current & ~mode != 0 else { return nil }
        guard chmod(path, mode) == 0 else {
            throw Refusal(
                description: "cannot restrict \(path) to \(String(mode, radix: 8)): \(String(cString: strerror(errno)))"
            )
        }
        return Tightened(path: path, oldMode: UInt32(current), newMode: UInt32(mode))
    }
}
