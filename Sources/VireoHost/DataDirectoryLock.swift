import Glibc

/// One daemon per data directory: an exclusive `flock` on `<dir>/vireod.lock`, held while the
/// process lives (the kernel drops it when the process dies, also on SIGKILL). The embedded
/// store's locks live in memory on the strength of this.
public struct DataDirectoryLock: ~Copyable {
    private let fd: Int32

    /// - Throws: a message naming the directory when another process holds it.
    public init(directory: String) throws {
        let path = directory + "/vireod.lock"
        // Close-on-exec: QEMU and the tools the daemon runs must not inherit (and keep) the lock.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DataDirectoryLockError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw DataDirectoryLockError("another vireod is using the data directory \(directory) (\(path) is locked)")
        }
        self.fd = fd
    }

    deinit { close(fd) }
}

public struct DataDirectoryLockError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
