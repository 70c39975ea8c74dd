import Glibc
import Synchronization

/// A connected non-blocking stream socket, served by the shared ``SocketReactor`` thread.
///
/// Only the reactor thread touches the socket and closes it; tasks hand it work under `state`'s
/// lock and wake the reactor. No thread per connection: a node with hundreds of running VMs
/// holds hundreds of QMP connections on one I/O thread.
final class SocketConnection: Sendable {
    private struct PendingWrite {
        var bytes: [UInt8]
        var continuation: CheckedContinuation<Void, any Error>
    }

    enum End {
        case hungUp
        case failed(QMPError)
    }

    private struct State {
        var lines: [[UInt8]] = []
        var receiver: CheckedContinuation<[UInt8]?, any Error>?
        var writes: [PendingWrite] = []
        var closeRequested = false
        /// Set by the reactor when the connection ends; the socket is closed right after.
        var end: End?
    }

    /// What only the reactor thread uses: the unfinished line and the progress of the first write.
    private struct IOState {
        var partial: [UInt8] = []
        var writeOffset = 0
    }

    /// A line longer than this (no newline seen) ends the connection.
    static let maximumMessageSize = 16 << 20

    let socket: Int32
    private let state = Mutex(State())
    private let io = Mutex(IOState())
    private let reactor: SocketReactor

    /// Takes ownership of `socket` (already non-blocking) and hands it to the reactor.
    init(socket: Int32, reactor: SocketReactor = .shared) throws(QMPError) {
        self.socket = socket
        self.reactor = reactor
        reactor.register(self)
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

    private func wake() { reactor.wake() }

    // MARK: - The reactor thread

    /// What the reactor should poll for; `closing` when `close()` was called.
    func interest() -> (closing: Bool, wantsWrite: Bool) {
        state.withLock { ($0.closeRequested, !$0.writes.isEmpty) }
    }

    /// Handles poll events; returns how the connection ended, or nil while it lives.
    func service(_ events: Int32, chunk: inout [UInt8]) -> End? {
        io.withLock { io in
            if events & (POLLIN | POLLHUP | POLLERR) != 0 {
                if let end = readAvailable(into: &io.partial, chunk: &chunk) { return end }
            }
            if events & POLLOUT != 0, let error = writePending(offset: &io.writeOffset) { return .failed(error) }
            return nil
        }
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

    /// Fails what waits and closes the socket; called once, by the reactor.
    func finish(_ end: End) {
        let (receiver, writes) = state.withLock { state in
            state.end = end
            let receiver = state.lines.isEmpty ? state.receiver : nil
            if receiver != nil { state.receiver = nil }
            defer { state.writes = [] }
            return (receiver, state.writes)
        }
        Glibc.close(socket)
        switch end {
        case .hungUp: receiver?.resume(returning: nil)
        case .failed(let error): receiver?.resume(throwing: error)
        }
        for write in writes { write.continuation.resume(throwing: QMPError.disconnected) }
    }
}
