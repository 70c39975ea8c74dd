import Glibc
import Synchronization

/// A connected non-blocking stream socket, served by one I/O thread that runs `run()`.
///
/// Only the I/O thread touches the socket and closes the descriptors; other threads hand it work
/// under `state`'s lock and wake it through a pipe, which they write only while `finished` is false
/// (checked under the same lock), so no descriptor is used after close.
final class SocketConnection: Sendable {
    private struct PendingWrite {
        var bytes: [UInt8]
        var continuation: CheckedContinuation<Void, any Error>
    }

    private enum End {
        case hungUp
        case failed(QMPError)
    }

    private struct State {
        var lines: [[UInt8]] = []
        var receiver: CheckedContinuation<[UInt8]?, any Error>?
        var writes: [PendingWrite] = []
        var closeRequested = false
        /// Set by the I/O thread when it stops; descriptors are closed right after.
        var end: End?
    }

    /// A line longer than this (no newline seen) ends the connection.
    static let maximumMessageSize = 16 << 20

    private let socket: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let state = Mutex(State())

    /// Takes ownership of `socket` (already non-blocking).
    init(socket: Int32) throws(QMPError) {
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else {
            let reason = errnoText()
            Glibc.close(socket)
            throw .io("pipe: \(reason)")
        }
        for fd in pipeFDs {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        self.socket = socket
        self.wakeRead = pipeFDs[0]
        self.wakeWrite = pipeFDs[1]
    }

    // MARK: - Called from tasks

    func send(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let accepted = state.withLock { state in
                guard !state.closeRequested, state.end == nil else { return false }
                state.writes.append(PendingWrite(bytes: bytes, continuation: continuation))
                wake()
                return true
            }
            if !accepted { continuation.resume(throwing: QMPError.disconnected) }
        }
    }

    func receive() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, any Error>) in
                let ready: Result<[UInt8]?, any Error>? = state.withLock { state in
                    if !state.lines.isEmpty { return .success(state.lines.removeFirst()) }
                    switch state.end {
                    case .failed(let error): return .failure(error)
                    case .hungUp: return .success(nil)
                    case nil: break
                    }
                    if state.closeRequested { return .success(nil) }
                    if state.receiver != nil { return .failure(QMPError.misuse("concurrent receive() calls")) }
                    // Checked under the lock: a cancellation handler that ran earlier found no receiver.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.receiver = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let receiver = state.withLock { state in
                defer { state.receiver = nil }
                return state.receiver
            }
            receiver?.resume(throwing: CancellationError())
        }
    }

    /// Asks the I/O thread to stop; idempotent and callable from any thread.
    func close() {
        state.withLock { state in
            guard !state.closeRequested, state.end == nil else { return }
            state.closeRequested = true
            wake()
        }
    }

    /// Call with the lock held and `end == nil`, so `wakeWrite` is still open.
    private func wake() {
        var byte: UInt8 = 1
        // A full pipe already wakes the thread, so EAGAIN is fine to ignore.
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    // MARK: - The I/O thread

    /// Serves the socket until hang-up, error or `close()`; then fails what waits and closes descriptors.
    func run() {
        var partial: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var writeOffset = 0
        let end: End
        loop: while true {
            let (closing, wantsWrite) = state.withLock { ($0.closeRequested, !$0.writes.isEmpty) }
            if closing {
                end = .hungUp
                break
            }
            var fds = [
                pollfd(fd: socket, events: Int16(POLLIN) | (wantsWrite ? Int16(POLLOUT) : 0), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                end = .failed(.io("poll: \(errnoText())"))
                break
            }
            if fds[1].revents != 0 { drainWakePipe(into: &chunk) }
            let socketEvents = Int32(fds[0].revents)
            if socketEvents & (POLLIN | POLLHUP | POLLERR) != 0 {
                if let readEnd = readAvailable(into: &partial, chunk: &chunk) {
                    end = readEnd
                    break
                }
            }
            if socketEvents & POLLOUT != 0 {
                if let writeError = writePending(offset: &writeOffset) {
                    end = .failed(writeError)
                    break loop
                }
            }
        }
        finish(end)
    }

    /// Reads until the socket would block; returns how the connection ended, or nil while it lives.
    private func readAvailable(into partial: inout [UInt8], chunk: inout [UInt8]) -> End? {
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(socket, $0.baseAddress, $0.count) }
            if count == 0 { return .hungUp }
            if count < 0 {
                switch errno {
                case EINTR: continue
                case EAGAIN: return nil
                case ECONNRESET: return .hungUp
                default: return .failed(.io("read: \(errnoText())"))
                }
            }
            let scanFrom = partial.count
            partial.append(contentsOf: chunk[0..<count])
            var lines: [[UInt8]] = []
            var lineStart = 0
            var index = scanFrom
            while index < partial.count {
                if partial[index] == UInt8(ascii: "\n") {
                    var line = partial[lineStart..<index]
                    if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                    if !line.isEmpty { lines.append(Array(line)) }
                    lineStart = index + 1
                }
                index += 1
            }
            partial.removeFirst(lineStart)
            if partial.count > Self.maximumMessageSize {
                return .failed(.invalidMessage("message longer than \(Self.maximumMessageSize) bytes"))
            }
            deliver(lines)
        }
    }

    private func deliver(_ lines: [[UInt8]]) {
        guard let first = lines.first else { return }
        let receiver = state.withLock { state -> CheckedContinuation<[UInt8]?, any Error>? in
            guard let receiver = state.receiver else {
                state.lines.append(contentsOf: lines)
                return nil
            }
            state.receiver = nil
            state.lines.append(contentsOf: lines.dropFirst())
            return receiver
        }
        receiver?.resume(returning: first)
    }

    /// Writes queued messages until the socket would block; returns an error that ends the connection.
    private func writePending(offset: inout Int) -> QMPError? {
        while let bytes = state.withLock({ $0.writes.first?.bytes }) {
            let written = bytes.withUnsafeBytes {
                Glibc.send(socket, $0.baseAddress.map { $0 + offset }, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                switch errno {
                case EINTR: continue
                case EAGAIN: return nil
                default:
                    let error = QMPError.io("write: \(errnoText())")
                    let failed = state.withLock { $0.writes.removeFirst() }
                    failed.continuation.resume(throwing: error)
                    return error
                }
            }
            offset += written
            if offset == bytes.count {
                offset = 0
                let done = state.withLock { $0.writes.removeFirst() }
                done.continuation.resume()
            }
        }
        return nil
    }

    private func drainWakePipe(into buffer: inout [UInt8]) {
        while buffer.withUnsafeMutableBytes({ Glibc.read(wakeRead, $0.baseAddress, $0.count) }) > 0 {}
    }

    private func finish(_ end: End) {
        let (receiver, writes) = state.withLock { state in
            state.end = end
            let receiver = state.lines.isEmpty ? state.receiver : nil
            if receiver != nil { state.receiver = nil }
            defer { state.writes = [] }
            return (receiver, state.writes)
        }
        Glibc.close(socket)
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
        switch end {
        case .hungUp: receiver?.resume(returning: nil)
        case .failed(let error): receiver?.resume(throwing: error)
        }
        for write in writes { write.continuation.resume(throwing: QMPError.disconnected) }
    }
}
