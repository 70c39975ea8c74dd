import Foundation
import Glibc

/// A `QMPTransport` over QEMU's `-qmp unix:<path>,server=on,wait=off` socket.
///
/// All socket I/O runs on the process's one QMP I/O thread (non-blocking fds and `poll`), so no
/// task of the cooperative pool ever blocks in a syscall, and no connection costs a thread.
public final class UnixSocketQMPTransport: QMPTransport {
    /// The socket path this transport connected to.
    public let path: String
    private let connection: SocketConnection

    private init(path: String, connection: SocketConnection) {
        self.path = path
        self.connection = connection
    }

    /// Connects to `path`, retrying every `retryInterval` while the socket does not exist yet or refuses
    /// connections (QEMU creates it a moment after it starts).
    /// - Throws: `.connectionFailed` when `timeout` passes or on any other error, `.cancelled`.
    public static func connect(
        path: String,
        timeout: Duration = .seconds(10),
        retryInterval: Duration = .milliseconds(50)
    ) async throws(QMPError) -> UnixSocketQMPTransport {
        let deadline = ContinuousClock.now + timeout
        while true {
            switch try attemptConnect(path: path) {
            case .connected(let fd):
                let connection = try SocketConnection(socket: fd)
                return UnixSocketQMPTransport(path: path, connection: connection)
            case .notYet(let reason):
                guard ContinuousClock.now < deadline else {
                    throw .connectionFailed(path: path, reason: "gave up after \(timeout): \(reason)")
                }
                do {
                    try await Task.sleep(for: retryInterval)
                } catch {
                    throw .cancelled
                }
            }
        }
    }

    /// Takes over a connected socket, e.g. one a listener accepted from a QEMU that connects out
    /// (`-chardev socket,…,reconnect=N`). The transport owns and closes `fd`.
    public static func adopt(socket fd: Int32, path: String) throws(QMPError) -> UnixSocketQMPTransport {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let connection = try SocketConnection(socket: fd)
        return UnixSocketQMPTransport(path: path, connection: connection)
    }

    deinit {
        connection.close()
    }

    /// Queues `message` for the I/O thread and returns once it was written.
    /// - Throws: `.disconnected` after `close()` or a hang-up, `.io` when the write fails.
    public func send(_ message: [UInt8]) async throws {
        try await connection.send(message)
    }

    /// Returns the next line, without `\r\n`, or nil once QEMU hung up or `close()` was called.
    /// - Throws: `.io` on a read error, `.invalidMessage` for a line over the size limit,
    ///   `CancellationError` when the calling task is cancelled.
    public func receive() async throws -> [UInt8]? {
        try await connection.receive()
    }

    /// Closes the socket; pending calls end as after a hang-up.
    public func close() async {
        connection.close()
    }

    // MARK: - Connecting

    private enum Attempt {
        case connected(Int32)
        case notYet(String)
    }

    private static func attemptConnect(path: String) throws(QMPError) -> Attempt {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .connectionFailed(
                path: path,
                reason: "path longer than \(MemoryLayout.size(ofValue: address.sun_path) - 1) bytes"
            )
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(AF_UNIX, type, 0)
        guard fd >= 0 else { throw .connectionFailed(path: path, reason: "socket: \(errnoText())") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result == 0 { return .connected(fd) }
        let code = errno
        Glibc.close(fd)
        switch code {
        // Not created yet, not listening yet, or its backlog is full: QEMU is still starting.
        case ENOENT, ECONNREFUSED, EAGAIN, EINTR:
            return .notYet(errnoText(code))
        default:
            throw .connectionFailed(path: path, reason: errnoText(code))
        }
    }
}

/// `strerror` for `code`, by default the current `errno`.
func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
