import Foundation
import Glibc
import Synchronization

/// One I/O thread for every QMP connection of the process: it polls all sockets and a wake pipe,
/// reads and writes as they become ready, and ends connections that hung up or were closed.
final class SocketReactor: Sendable {
    static let shared = SocketReactor()

    private let connections = Mutex<[ObjectIdentifier: SocketConnection]>([:])
    private let wakeRead: Int32
    private let wakeWrite: Int32

    private init() {
        var pipeFDs: [Int32] = [-1, -1]
        // Without its wake pipe the process cannot talk QMP at all.
        precondition(pipe(&pipeFDs) == 0, "QMP reactor: pipe failed: \(errnoText())")
        for fd in pipeFDs {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
        let thread = Thread { [self] in loop() }
        thread.name = "qmp-io"
        thread.start()
    }

    func register(_ connection: SocketConnection) {
        connections.withLock { $0[ObjectIdentifier(connection)] = connection }
        wake()
    }

    /// Makes the reactor look at its connections again (new work, a close).
    func wake() {
        var byte: UInt8 = 1
        // A full pipe already wakes the thread, so EAGAIN is fine to ignore.
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    private func loop() {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var drain = [UInt8](repeating: 0, count: 256)
        while true {
            let current = connections.withLock { Array($0.values) }
            var active: [SocketConnection] = []
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            for connection in current {
                let (closing, wantsWrite) = connection.interest()
                if closing {
                    end(connection, .hungUp)
                    continue
                }
                active.append(connection)
                let events = Int16(POLLIN) | (wantsWrite ? Int16(POLLOUT) : 0)
                fds.append(pollfd(fd: connection.socket, events: events, revents: 0))
            }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                // EINTR, or a transient failure: look again (a closed connection leaves the set).
                continue
            }
            if fds[0].revents != 0 {
                while drain.withUnsafeMutableBytes({ Glibc.read(wakeRead, $0.baseAddress, $0.count) }) > 0 {}
            }
            for (index, connection) in active.enumerated() where fds[index + 1].revents != 0 {
                if let ending = connection.service(Int32(fds[index + 1].revents), chunk: &chunk) {
                    end(connection, ending)
                }
            }
        }
    }

    private func end(_ connection: SocketConnection, _ how: SocketConnection.End) {
        connections.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(connection)) }
        connection.finish(how)
    }
}
