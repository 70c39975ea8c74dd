/// A QMP connection to one QEMU process.
///
/// Call `connect()` once, then `execute` (or a typed helper) from any number of tasks; replies are
/// matched to callers by `id`. Asynchronous events go to `events`. When QEMU hangs up, waiting and
/// later calls fail with `QMPError.disconnected`. Call `close()` when done.
public actor QMPClient {
    /// A caller waiting for the reply with its `id`, and the timer that gives up on it.
    private struct Pending {
        var continuation: CheckedContinuation<Result<QMPValue, QMPError>, Never>
        var timer: Task<Void, Never>
    }

    private enum Phase {
        case idle
        case connecting
        case ready
        case closed
    }

    /// The `pending` key under which `connect()` waits for the greeting; command ids start at 1.
    private static let greetingID = 0

    private let transport: any QMPTransport
    private var phase = Phase.idle
    private var pending: [Int: Pending] = [:]
    private var lastID = greetingID
    private var ioTask: Task<Void, Never>?
    private let outgoing: AsyncStream<[UInt8]>
    private let outgoingContinuation: AsyncStream<[UInt8]>.Continuation
    private let eventContinuation: AsyncStream<QMPEvent>.Continuation

    /// Asynchronous events in arrival order; finishes when the connection ends.
    /// Single consumer: iterate it from one task. The oldest events are dropped when the buffer is full.
    public nonisolated let events: AsyncStream<QMPEvent>

    /// What QEMU announced; nil until `connect()` has read it.
    public private(set) var greeting: QMPGreeting?

    /// Creates a client over `transport`; nothing is read until `connect()`.
    /// - Parameter eventBufferLimit: events kept for a slow `events` consumer before the oldest are dropped.
    public init(transport: any QMPTransport, eventBufferLimit: Int = 1024) {
        self.transport = transport
        (outgoing, outgoingContinuation) = AsyncStream.makeStream(of: [UInt8].self)
        (events, eventContinuation) = AsyncStream.makeStream(
            of: QMPEvent.self,
            bufferingPolicy: .bufferingNewest(eventBufferLimit)
        )
    }

    /// Connects to QEMU's QMP socket at `path` (retrying until it appears) and negotiates capabilities.
    /// - Parameter timeout: covers waiting for the socket, the greeting and `qmp_capabilities`.
    public static func connect(
        unixSocket path: String,
        timeout: Duration = .seconds(10)
    ) async throws(QMPError) -> QMPClient {
        let start = ContinuousClock.now
        let transport = try await UnixSocketQMPTransport.connect(path: path, timeout: timeout)
        let client = QMPClient(transport: transport)
        try await client.connect(timeout: timeout - (ContinuousClock.now - start))
        return client
    }

    deinit {
        ioTask?.cancel()
        outgoingContinuation.finish()
        eventContinuation.finish()
    }

    /// Whether `connect()` succeeded and the connection has not ended since.
    public var isConnected: Bool {
        if case .ready = phase { return true }
        return false
    }

    /// Reads the greeting and sends `qmp_capabilities`; afterwards commands may be executed.
    /// - Throws: `.timeout` when QEMU does not greet and answer within `timeout`, `.disconnected` when it hangs
    ///   up, `.misuse` when called twice. On any failure the client is closed.
    @discardableResult
    public func connect(timeout: Duration = .seconds(10)) async throws(QMPError) -> QMPGreeting {
        switch phase {
        case .idle: break
        case .closed: throw .disconnected
        case .connecting, .ready: throw .misuse("connect() called twice")
        }
        phase = .connecting
        let deadline = ContinuousClock.now + timeout
        do throws(QMPError) {
            // Reading starts only once the greeting has a waiter.
            let announced = try await awaitReply(id: Self.greetingID, timeout: timeout) { startIO() }.get()
            let greeting = try QMPGreeting(reply: announced)
            self.greeting = greeting
            _ = try await send("qmp_capabilities", arguments: nil, timeout: deadline - ContinuousClock.now)
            // close() may have run while we waited.
            guard case .connecting = phase else { throw .disconnected }
            phase = .ready
            return greeting
        } catch {
            await shutdown()
            throw error
        }
    }

    /// Sends `command` and returns its `return` value.
    /// - Throws: `.commandFailed` for an error reply, `.timeout`, `.disconnected` (also before `connect()`
    ///   and after `close()`), `.cancelled`.
    @discardableResult
    public func execute(
        _ command: String,
        arguments: [String: QMPValue]? = nil,
        timeout: Duration = .seconds(10)
    ) async throws(QMPError) -> QMPValue {
        guard case .ready = phase else { throw .disconnected }
        return try await send(command, arguments: arguments, timeout: timeout)
    }

    /// Ends the connection: waiting calls fail with `.disconnected`, `events` finishes. Idempotent.
    public func close() async {
        await shutdown()
        ioTask?.cancel()
    }

    // MARK: - Plumbing

    private func send(
        _ command: String,
        arguments: [String: QMPValue]?,
        timeout: Duration
    ) async throws(QMPError) -> QMPValue {
        lastID += 1
        let id = lastID
        var message: [String: QMPValue] = ["execute": .string(command), "id": .int(id)]
        if let arguments { message["arguments"] = .object(arguments) }
        var bytes = try QMPValue.object(message).jsonBytes()
        bytes.append(UInt8(ascii: "\n"))
        return try await awaitReply(id: id, timeout: timeout) { outgoingContinuation.yield(bytes) }.get()
    }

    /// Registers a waiter for reply `id`, then runs `start` (which sends the request), so no reply arrives
    /// unclaimed.
    private func awaitReply(
        id: Int,
        timeout: Duration,
        then start: () -> Void
    ) async -> Result<QMPValue, QMPError> {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<QMPValue, QMPError>, Never>) in
                if case .closed = phase {
                    continuation.resume(returning: .failure(.disconnected))
                    return
                }
                if Task.isCancelled {
                    continuation.resume(returning: .failure(.cancelled))
                    return
                }
                let timer = Task { [weak self] in
                    guard (try? await Task.sleep(for: timeout)) != nil else { return }
                    await self?.resolve(id, with: .failure(.timeout))
                }
                pending[id] = Pending(continuation: continuation, timer: timer)
                start()
            }
        } onCancel: {
            Task { [weak self] in await self?.resolve(id, with: .failure(.cancelled)) }
        }
    }

    private func resolve(_ id: Int, with result: Result<QMPValue, QMPError>) {
        guard let waiter = pending.removeValue(forKey: id) else { return }
        waiter.timer.cancel()
        waiter.continuation.resume(returning: result)
    }

    /// One task writes queued messages while it reads and dispatches incoming ones.
    private func startIO() {
        let transport = self.transport
        let outgoing = self.outgoing
        // Weak, so dropping the client without close() still lets deinit cancel the I/O.
        ioTask = Task { [weak self] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [weak self] in
                    for await message in outgoing {
                        do {
                            try await transport.send(message)
                        } catch {
                            await self?.shutdown()
                            return
                        }
                    }
                }
                do {
                    while let message = try await transport.receive() {
                        guard let self else { break }
                        await self.handle(message)
                    }
                } catch {
                    // A read error ends the connection like a hang-up does.
                }
                group.cancelAll()
            }
            await self?.shutdown()
        }
    }

    private func handle(_ bytes: [UInt8]) {
        guard let message = try? QMPValue(json: bytes), message.objectValue != nil else {
            // Nothing can be matched to an unparsable line; only the greeting is required to parse.
            if case .connecting = phase, greeting == nil {
                resolve(Self.greetingID, with: .failure(.invalidMessage("bad greeting")))
            }
            return
        }
        if case .connecting = phase, greeting == nil, pending[Self.greetingID] != nil {
            guard let announced = message["QMP"] else {
                resolve(Self.greetingID, with: .failure(.invalidMessage("expected a greeting, got \(message)")))
                return
            }
            resolve(Self.greetingID, with: .success(announced))
            return
        }
        if let event = QMPEvent(message: message) {
            eventContinuation.yield(event)
            return
        }
        guard let id = message["id"]?.intValue, id != Self.greetingID else { return }
        if let value = message["return"] {
            resolve(id, with: .success(value))
        } else if let error = message["error"] {
            let failure = QMPError.commandFailed(
                class: error["class"]?.stringValue ?? "GenericError",
                description: error["desc"]?.stringValue ?? "\(error)"
            )
            resolve(id, with: .failure(failure))
        } else {
            resolve(id, with: .failure(.invalidMessage("reply without return or error: \(message)")))
        }
    }

    /// Fails every waiter with `.disconnected`, finishes the streams and closes the transport, once.
    private func shutdown() async {
        if case .closed = phase { return }
        phase = .closed
        outgoingContinuation.finish()
        eventContinuation.finish()
        let waiters = pending
        pending = [:]
        for waiter in waiters.values {
            waiter.timer.cancel()
            waiter.continuation.resume(returning: .failure(.disconnected))
        }
        await transport.close()
    }
}
