import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import Synchronization
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
        let (path, backlog): (String, String?) =
            switch grant.kind {
            case .vnc: (VMConsoles.vncSocket(runDirectory: runDirectory, vmid: vmid), nil)
            case .serial(let index):
                (
                    QEMUCommandBuilder.serialSocket(runDirectory: runDirectory, vmid: vmid, index: index),
                    VMConsoles.serialLog(runDirectory: runDirectory, vmid: vmid, index: index)
                )
            }
        let qemu: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            qemu = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel(wrappingChannelSynchronously: channel) }
                }
        } catch {
            logger.warning("console: cannot reach QEMU", metadata: ["vmid": "\(vmid)", "error": "\(error)"])
            await socket.close(.unexpectedServerError, reason: "cannot connect to the console of VM \(vmid)")
            return
        }
        let serial = backlog != nil
        try? await qemu.executeThenClose { fromQEMU, toQEMU in
            // Output waits for the handshake (serial) so `OK` comes first, then the backlog.
            let (opened, open) = AsyncStream.makeStream(of: Void.self)
            let authenticated = Flag()
            if !serial { open.finish() }
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    var handshake: [UInt8]? = serial ? [] : nil
                    var input = TermproxyInput()
                    for await message in socket.messages {
                        var bytes = Array(message.readableBytesView)
                        if var line = handshake {
                            line += bytes
                            guard let newline = line.firstIndex(of: 0x0A) else {
                                guard line.count < 1024 else { return }
                                handshake = line
                                continue
                            }
                            guard await verifyTermproxyLine(String(decoding: line[..<newline], as: UTF8.self)) else {
                                await socket.close(.policyViolation, reason: "authentication failed")
                                return
                            }
                            handshake = nil
                            try? await socket.send(Array("OK".utf8))
                            authenticated.set()
                            open.finish()
                            bytes = Array(line[(newline + 1)...])
                        }
                        let toSend = serial ? input.feed(bytes).flatMap(\.inputBytes) : bytes
                        if !toSend.isEmpty {
                            do { try await toQEMU.write(ByteBuffer(bytes: toSend)) } catch { return }
                        }
                    }
                }
                group.addTask {
                    for await _ in opened {}
                    guard !Task.isCancelled else { return }
                    if let backlog {
                        let earlier = VMConsoles.backlog(path: backlog)
                        if !earlier.isEmpty { try? await socket.send(earlier) }
                    }
                    do {
                        for try await chunk in fromQEMU { try await socket.send(chunk) }
                    } catch {}
                }
                if serial {
                    group.addTask {
                        // Unauthenticated connections do not stay.
                        try? await Task.sleep(for: Self.handshakeWithin)
                        while authenticated.isSet, !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                    }
                }
                await group.next()
                open.finish()
                group.cancelAll()
            }
        }
        await socket.close()
    }
}

/// A one-way switch shared by the relay's tasks.
private final class Flag: Sendable {
    private let value = Atomic(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
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
