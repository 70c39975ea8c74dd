@testable import QMP

/// A QMP peer in memory: greets, answers commands from a script, records them, emits events, hangs up.
actor ScriptedQMPTransport: QMPTransport {
    /// How the transport answers one command.
    enum Reply: Sendable {
        /// `{"return": value}`.
        case value(QMPValue)
        /// `{"error": {"class": …, "desc": …}}`.
        case error(class: String, desc: String)
        /// Never answers.
        case none
        /// Answers `{"return": value}` only on `releaseHeld`.
        case held(QMPValue)
        /// Answers the n-th call with the n-th element; the last one repeats.
        case sequence([Reply])
    }

    /// One command as the client sent it.
    struct Command: Equatable, Sendable {
        var name: String
        var arguments: QMPValue?
    }

    static let defaultGreeting: QMPValue = [
        "QMP": [
            "version": ["qemu": ["major": 9, "minor": 2, "micro": 0], "package": "pve-qemu-kvm_9.2.0-5"],
            "capabilities": ["oob"],
        ]
    ]

    private(set) var commands: [Command] = []
    private(set) var rawMessages: [[UInt8]] = []
    private var replies: [String: Reply]
    private var callCounts: [String: Int] = [:]
    private var heldReplies: [[UInt8]] = []
    private var inbox: [[UInt8]] = []
    private var waiter: CheckedContinuation<[UInt8]?, Never>?
    private var hungUp = false

    /// - Parameter greeting: nil sends no greeting at all.
    init(greeting: QMPValue? = defaultGreeting, replies: [String: Reply] = [:]) {
        self.replies = replies
        if let greeting, let bytes = try? greeting.jsonBytes() { inbox.append(bytes) }
    }

    func setReply(_ reply: Reply, for command: String) {
        replies[command] = reply
    }

    func send(_ message: [UInt8]) async throws {
        guard !hungUp else { throw QMPError.disconnected }
        rawMessages.append(message)
        let request = try QMPValue(json: message)
        let name = request["execute"]?.stringValue ?? ""
        commands.append(Command(name: name, arguments: request["arguments"]))
        let count = callCounts[name, default: 0]
        callCounts[name] = count + 1
        let id = request["id"] ?? .null
        switch resolve(replies[name] ?? .value([:]), call: count) {
        case .value(let value): deliver(["return": value, "id": id])
        case .error(let errorClass, let desc):
            deliver(["error": ["class": .string(errorClass), "desc": .string(desc)], "id": id])
        case .held(let value): heldReplies.append(try QMPValue.object(["return": value, "id": id]).jsonBytes())
        case .none, .sequence: break
        }
    }

    func receive() async -> [UInt8]? {
        if !inbox.isEmpty { return inbox.removeFirst() }
        if hungUp { return nil }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { waiter = $0 }
        } onCancel: {
            Task { await self.hangUp() }
        }
    }

    func close() async {
        hangUp()
    }

    /// Sends `{"event": name, "data": data, "timestamp": {"seconds": 1700000000, "microseconds": 250000}}`.
    func emit(_ name: String, data: QMPValue = [:]) {
        deliver([
            "event": .string(name), "data": data, "timestamp": ["seconds": 1_700_000_000, "microseconds": 250_000],
        ])
    }

    /// Ends the connection as if QEMU exited.
    func hangUp() {
        hungUp = true
        waiter?.resume(returning: nil)
        waiter = nil
    }

    /// Sends the held replies, last held first when `reversed`.
    func releaseHeld(reversed: Bool) {
        let replies = reversed ? heldReplies.reversed() : heldReplies
        heldReplies = []
        for reply in replies { deliverRaw(reply) }
    }

    /// Waits until `count` commands were sent (or about two seconds passed).
    func waitForCommands(_ count: Int) async {
        for _ in 0..<2000 where commands.count < count {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    private func resolve(_ reply: Reply, call: Int) -> Reply {
        guard case .sequence(let steps) = reply, let last = steps.last else { return reply }
        return resolve(call < steps.count ? steps[call] : last, call: call)
    }

    private func deliver(_ message: QMPValue) {
        guard let bytes = try? message.jsonBytes() else { return }
        deliverRaw(bytes)
    }

    private func deliverRaw(_ bytes: [UInt8]) {
        guard !hungUp else { return }
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: bytes)
        } else {
            inbox.append(bytes)
        }
    }
}
