public import HTTPTypes
public import NIOCore
public import NIOWebSocket

/// What runs over a connection upgraded to a WebSocket (a console relay).
public protocol WebSocketSession: Sendable {
    func run(_ socket: WebSocketIO) async
}

/// Decides whether a request head may become a WebSocket, and what then runs on it.
public protocol WebSocketUpgrading: Sendable {
    func webSocketDecision(for head: HTTPRequest) async -> WebSocketDecision
}

public enum WebSocketDecision: Sendable {
    case accept(any WebSocketSession)
    /// The HTTP answer instead: status, reason phrase, JSON body.
    case refuse(status: Int, reason: String, body: [UInt8])
}

/// An upgraded connection as messages: control frames (ping, close) are answered here, fragments
/// are joined, and a session reads whole messages and writes binary ones.
public struct WebSocketIO: Sendable {
    private let inbound: NIOAsyncChannelInboundStream<WebSocketFrame>
    private let outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>
    private let allocator: ByteBufferAllocator
    /// Larger messages end the connection (Proxmox's proxy caps frames at 128 KiB).
    static let maxMessage = 1 << 20

    init(
        inbound: NIOAsyncChannelInboundStream<WebSocketFrame>,
        outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>,
        allocator: ByteBufferAllocator
    ) {
        self.inbound = inbound
        self.outbound = outbound
        self.allocator = allocator
    }

    /// Runs `session` over `channel` and closes it afterwards.
    static func serve(_ channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, _ session: any WebSocketSession) async
    {
        let allocator = channel.channel.allocator
        try? await channel.executeThenClose { inbound, outbound in
            await session.run(WebSocketIO(inbound: inbound, outbound: outbound, allocator: allocator))
            outbound.finish()
        }
    }

    /// The client's messages (text or binary, as bytes), until it closes or breaks the protocol.
    public var messages: AsyncStream<ByteBuffer> {
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(64))
        let task = Task { [inbound, outbound, allocator] in
            var message: ByteBuffer?
            do {
                for try await frame in inbound {
                    switch frame.opcode {
                    case .ping:
                        try await outbound.write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
                    case .connectionClose:
                        var data = allocator.buffer(capacity: 2)
                        data.write(webSocketErrorCode: .normalClosure)
                        try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
                        continuation.finish()
                        return
                    case .text, .binary, .continuation:
                        var payload = frame.unmaskedData
                        if frame.opcode != .continuation { message = nil }
                        if message == nil { message = payload } else { message?.writeBuffer(&payload) }
                        guard (message?.readableBytes ?? 0) <= Self.maxMessage else {
                            continuation.finish()
                            return
                        }
                        if frame.fin, let whole = message {
                            message = nil
                            // Bounded buffer: a client faster than QEMU waits here, not in memory.
                            while case .dropped = continuation.yield(whole) {
                                try await Task.sleep(for: .milliseconds(5))
                            }
                        }
                    default: break
                    }
                }
            } catch {}
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Sends `bytes` as one binary message.
    public func send(_ bytes: ByteBuffer) async throws {
        try await outbound.write(WebSocketFrame(fin: true, opcode: .binary, data: bytes))
    }

    public func send(_ bytes: some Sequence<UInt8>) async throws {
        try await send(allocator.buffer(bytes: bytes))
    }

    /// Ends the connection with a close frame (`reason` for the client's console).
    public func close(_ code: WebSocketErrorCode = .normalClosure, reason: String = "") async {
        var data = allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(String(reason.utf8.prefix(120)) ?? "")
        try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
    }
}
