import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import VireoCore
import VireoQEMU

/// Relays a console's WebSocket to QEMU's unix socket: the VNC byte stream as it is, a serial
/// port through Proxmox's termproxy framing (a `user:ticket` line, `OK`, then the guest's output
/// one way and `0:LEN:DATA` input the other), with the serial backlog first.
struct ConsoleRelay: WebSocketSession {
    let consoles: VMConsoles
    let vmid: VMID
    let port: Int
    let user: String
    let runDirectory: String
    let verifyTermproxyLine: @Sendable (String) async -> Bool
    let logger: Logger
    /// The client's `user:ticket` line must come within this.
    static let handshakeWithin: Duration = .seconds(10)

    func run(_ socket: WebSocketIO) async {
        guard let grant = consoles.take(port: port, vmid: vmid, user: user) else {
            await socket.close(.policyViolation, reason: "console ticket used already or expired")
            return
        }
        defer { consoles.end(port: port) }
        let messages = socket.messages
        switch grant.kind {
        case .vnc:
            guard let qemu = await connect(VMConsoles.vncSocket(runDirectory: runDirectory, vmid: vmid), socket) else {
                return
            }
            await relay(socket, messages, qemu, framed: false, backlog: [])
        case .serial(let index):
            // The handshake comes before QEMU is reached: what the guest prints meanwhile is in
            // its log, so it arrives once, in the backlog.
            guard let rest = await handshake(socket, messages) else { return }
            let path = QEMUCommandBuilder.serialSocket(runDirectory: runDirectory, vmid: vmid, index: index)
            guard let qemu = await connect(path, socket) else { return }
            // QEMU writes each output both to its log and to us: a moment for what it wrote
            // before we connected to reach the log, which then becomes the backlog.
            try? await Task.sleep(for: .milliseconds(50))
            let log = VMConsoles.serialLog(runDirectory: runDirectory, vmid: vmid, index: index)
            let backlog = await BlockingPool.shared.run { VMConsoles.backlog(path: log) }
            await relay(socket, messages, qemu, framed: true, backlog: backlog, pendingInput: rest)
        }
        await socket.close()
    }

    /// Reads the `user:ticket` line (within ``handshakeWithin``) and answers `OK`; returns what
    /// came after the line, or nil when the connection is to end.
    private func handshake(_ socket: WebSocketIO, _ messages: AsyncStream<ByteBuffer>) async -> [UInt8]? {
        let line: [UInt8]? = await withTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                var line: [UInt8] = []
                for await message in messages {
                    line += message.readableBytesView
                    if line.contains(0x0A) { return line }
                    if line.count > 1024 { return nil }
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: Self.handshakeWithin)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let line, let newline = line.firstIndex(of: 0x0A),
            await verifyTermproxyLine(String(decoding: line[..<newline], as: UTF8.self))
        else {
            await socket.close(.policyViolation, reason: "authentication failed")
            return nil
        }
        do { try await socket.send(Array("OK".utf8)) } catch { return nil }
        return Array(line[(newline + 1)...])
    }

    private func connect(_ path: String, _ socket: WebSocketIO) async -> NIOAsyncChannel<ByteBuffer, ByteBuffer>? {
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel(wrappingChannelSynchronously: channel) }
                }
        } catch {
            logger.warning("console: cannot reach QEMU", metadata: ["vmid": "\(vmid)", "error": "\(error)"])
            await socket.close(.unexpectedServerError, reason: "cannot connect to the console of VM \(vmid)")
            return nil
        }
    }

    /// Pumps both ways until either side ends. `framed`: the client's bytes are termproxy
    /// messages. The backlog goes first; output QEMU had already sent us repeats the backlog's
    /// end and is sent only past it.
    private func relay(
        _ socket: WebSocketIO,
        _ messages: AsyncStream<ByteBuffer>,
        _ qemu: NIOAsyncChannel<ByteBuffer, ByteBuffer>,
        framed: Bool,
        backlog: [UInt8],
        pendingInput: [UInt8] = []
    ) async {
        try? await qemu.executeThenClose { fromQEMU, toQEMU in
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    var input = TermproxyInput()
                    var bytes = pendingInput
                    var incoming = messages.makeAsyncIterator()
                    repeat {
                        let toSend = framed ? input.feed(bytes).flatMap(\.inputBytes) : bytes
                        if !toSend.isEmpty {
                            do { try await toQEMU.write(ByteBuffer(bytes: toSend)) } catch { return }
                        }
                        guard let message = await incoming.next() else { return }
                        bytes = Array(message.readableBytesView)
                    } while true
                }
                group.addTask {
                    do {
                        if !backlog.isEmpty { try await socket.send(backlog) }
                        var output = fromQEMU.makeAsyncIterator()
                        let waiting = ContinuousClock.now
                        guard let first = try await output.next() else { return }
                        var bytes = Array(first.readableBytesView)
                        // At once means it was already buffered when we looked at the log.
                        if ContinuousClock.now - waiting < .milliseconds(5) {
                            bytes.removeFirst(Self.overlap(of: backlog, with: bytes))
                        }
                        if !bytes.isEmpty { try await socket.send(bytes) }
                        while let chunk = try await output.next() { try await socket.send(chunk) }
                    } catch {}
                }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// The length of the longest end of `earlier` that `later` starts with.
    static func overlap(of earlier: [UInt8], with later: [UInt8]) -> Int {
        let longest = min(earlier.count, later.count, 8192)
        for length in stride(from: longest, to: 0, by: -1)
        where earlier[(earlier.count - length)...].elementsEqual(later[..<length]) {
            return length
        }
        return 0
    }
}

/// Proxmox's termproxy client framing, read from a byte stream (message boundaries do not
/// matter): `0:LEN:DATA` input, `1:COLS:ROWS:` resize, `2` ping; unknown bytes are skipped.
struct TermproxyInput {
    enum Command: Equatable {
        case input([UInt8])
        case resize(columns: Int, rows: Int)
        case ping

        var inputBytes: [UInt8] {
            if case .input(let bytes) = self { return bytes }
            return []
        }
    }

    private var pending: [UInt8] = []
    /// A longer announced input is not waited for (it ends the parse of that message).
    static let maxInput = 64 * 1024

    mutating func feed(_ bytes: [UInt8]) -> [Command] {
        pending += bytes
        var commands: [Command] = []
        var index = 0
        parsing: while index < pending.count {
            switch pending[index] {
            case UInt8(ascii: "0"):
                switch numbers(after: index, count: 1) {
                case .incomplete: break parsing
                case .invalid: index += 1
                case .numbers(let values, let end):
                    let length = values[0]
                    guard length <= Self.maxInput else {
                        index += 1
                        continue
                    }
                    guard end + length <= pending.count else { break parsing }
                    commands.append(.input(Array(pending[end..<end + length])))
                    index = end + length
                }
            case UInt8(ascii: "1"):
                switch numbers(after: index, count: 2) {
                case .incomplete: break parsing
                case .invalid: index += 1
                case .numbers(let values, let end):
                    commands.append(.resize(columns: values[0], rows: values[1]))
                    index = end
                }
            case UInt8(ascii: "2"):
                commands.append(.ping)
                index += 1
            default:
                index += 1
            }
        }
        pending.removeFirst(index)
        return commands
    }

    private enum Numbers {
        case numbers([Int], end: Int)
        case incomplete
        case invalid
    }

    /// `:N1:N2:` after the type byte at `start`; `end` is just past the last colon.
    private func numbers(after start: Int, count: Int) -> Numbers {
        var index = start + 1
        guard index < pending.count else { return .incomplete }
        guard pending[index] == UInt8(ascii: ":") else { return .invalid }
        index += 1
        var values: [Int] = []
        while values.count < count {
            var value = 0
            var digits = 0
            while index < pending.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(pending[index]) {
                value = value * 10 + Int(pending[index] - UInt8(ascii: "0"))
                digits += 1
                index += 1
                if digits > 9 { return .invalid }
            }
            guard index < pending.count else { return .incomplete }
            guard digits > 0, pending[index] == UInt8(ascii: ":") else { return .invalid }
            values.append(value)
            index += 1
        }
        return .numbers(values, end: index)
    }
}
