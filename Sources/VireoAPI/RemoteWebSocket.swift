import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import Synchronization

/// A console WebSocket (`…/vncwebsocket`) of a guest on another node: this node opens the same
/// upgrade on that node's API with the caller's credentials, and only once that node accepted
/// does it accept the caller's, then relays messages both ways (pveproxy does the same). What
/// that node refuses is refused here with its status and message.
final class RemoteWebSocket: WebSocketSession {
    private let channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>
    /// Set once the caller's connection is upgraded and the relay runs.
    private let started = Atomic(false)

    private init(channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>) { self.channel = channel }

    /// A session dropped unrun (the caller went away before its own upgrade completed) does not
    /// leave the other node's connection open.
    deinit {
        if !started.load(ordering: .acquiring) { channel.channel.close(promise: nil) }
    }

    private enum Upgrade: Sendable {
        case accepted(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case refused(NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>)
    }

    /// Opens the upgrade on `host` (an address) and returns the session to run once the caller's
    /// connection is upgraded too.
    /// - Throws: ``APIFailure`` with the other node's answer, or 595 when it cannot be reached.
    static func open(
        host: String,
        port: Int,
        uri: String,
        headers: HTTPHeaders,
        tls: NIOSSLContext,
        node: String
    ) async throws -> RemoteWebSocket {
        let upgrade: Upgrade
        do {
            upgrade = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(3))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // No host name: the certificate is checked against the address dialled.
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: nil)
                        )
                        let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(maxFrameSize: 1 << 20) { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                .accepted(try NIOAsyncChannel(wrappingChannelSynchronously: channel))
                            }
                        }
                        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers)
                        head.headers.replaceOrAdd(
                            name: "Host",
                            value: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
                        )
                        let configuration = NIOTypedHTTPClientUpgradeConfiguration<Upgrade>(
                            upgradeRequestHead: head,
                            upgraders: [upgrader],
                            notUpgradingCompletionHandler: { channel in
                                channel.eventLoop.makeCompletedFuture {
                                    .refused(try NIOAsyncChannel(wrappingChannelSynchronously: channel))
                                }
                            }
                        )
                        return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                            configuration: .init(upgradeConfiguration: configuration)
                        )
                    }
                }.get()
        } catch {
            throw APIFailure(
                status: 595,
                message: "Errors during connection establishment, proxy handshake: node '\(node)' (\(host)): \(error)"
            )
        }
        switch upgrade {
        case .accepted(let channel):
            return RemoteWebSocket(channel: channel)
        case .refused(let channel):
            throw await refusal(channel, node: node)
        }
    }

    /// The other node's answer to a refused upgrade, as an error to pass on.
    private static func refusal(
        _ channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>,
        node: String
    ) async -> APIFailure {
        var status = 502
        var body = ByteBuffer()
        try? await channel.executeThenClose { inbound, _ in
            reading: for try await part in inbound {
                switch part {
                case .head(let head): status = Int(head.status.code)
                case .body(var chunk): if body.readableBytes < 64 << 10 { body.writeBuffer(&chunk) }
                case .end: break reading
                }
            }
        }
        let message = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])?[
            "message"
        ]
        return APIFailure(
            status: status,
            message: (message as? String) ?? "node '\(node)' refused the WebSocket (HTTP \(status))"
        )
    }

    func run(_ socket: WebSocketIO) async {
        started.store(true, ordering: .releasing)
        let allocator = ByteBufferAllocator()
        try? await channel.executeThenClose { inbound, outbound in
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    // The caller's messages to the other node (a client's frames are masked).
                    for await message in socket.messages {
                        let frame = WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: message)
                        do { try await outbound.write(frame) } catch { return }
                    }
                    var data = allocator.buffer(capacity: 2)
                    data.write(webSocketErrorCode: .normalClosure)
                    try? await outbound.write(
                        WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data)
                    )
                }
                group.addTask {
                    // The other node's messages to the caller, fragments joined.
                    var message = ByteBuffer()
                    do {
                        for try await frame in inbound {
                            switch frame.opcode {
                            case .ping:
                                try await outbound.write(
                                    WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.data)
                                )
                            case .connectionClose:
                                var data = frame.data
                                let code = data.readWebSocketErrorCode() ?? .normalClosure
                                await socket.close(code, reason: data.readString(length: data.readableBytes) ?? "")
                                return
                            case .text, .binary, .continuation:
                                var payload = frame.data
                                message.writeBuffer(&payload)
                                guard message.readableBytes <= WebSocketIO.maxMessage else { throw CancellationError() }
                                if frame.fin {
                                    try await socket.send(message)
                                    message.clear()
                                }
                            default: break
                            }
                        }
                    } catch {}
                    await socket.close()
                }
                await group.next()
                group.cancelAll()
            }
            outbound.finish()
        }
    }
}
