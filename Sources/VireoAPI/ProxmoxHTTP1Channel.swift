import Foundation
import HTTPTypes
public import HummingbirdCore
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOHTTP1
public import NIOHTTPTypes
import NIOHTTPTypesHTTP1
public import NIOWebSocket

/// Hummingbird's HTTP/1 channel, upgradable to a WebSocket, plus one handler: Proxmox clients read the error message from the
/// HTTP reason phrase (`401 No ticket`), which the HTTPTypes→NIO conversion replaces by the
/// standard phrase. Responses carry the phrase in an internal header that ``ReasonPhraseHandler``
/// moves into the status line.
public struct ProxmoxHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    /// The first request of a connection may upgrade it to a WebSocket (consoles); the others
    /// stay HTTP.
    public enum Upgrade: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case webSocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, any WebSocketSession)
        /// An upgrade refused: NIO consumed the request, so its answer is written here.
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, status: Int, reason: String, body: [UInt8])
    }
    /// The connection, and what its first request made of it.
    public struct Value: ServerChildChannelValue {
        public let channel: any Channel
        let upgrade: EventLoopFuture<Upgrade>
    }
    public let responder: HTTPChannelHandler.Responder
    let limits: ConnectionLimits
    let clients: ClientConnectionCounter
    let webSockets: (any WebSocketUpgrading)?

    init(
        responder: @escaping HTTPChannelHandler.Responder,
        limits: ConnectionLimits,
        clients: ClientConnectionCounter,
        webSockets: (any WebSocketUpgrading)?
    ) {
        self.responder = responder
        self.limits = limits
        self.clients = clients
        self.webSockets = webSockets
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            if let limit = limits.perClient, let address = channel.remoteAddress?.ipAddress {
                guard clients.acquire(address, limit: limit) else {
                    logger.warning("too many connections from one client", metadata: ["client": "\(address)"])
                    channel.close(promise: nil)  // a failed setup alone leaves the socket open
                    throw TooManyConnections()
                }
                channel.closeFuture.whenComplete { [clients] _ in clients.release(address) }
            }
            var decoderLimits = NIOHTTPDecoderLimitConfiguration()
            // Proxmox: 64 header lines and 8 KiB of headers; a little headroom for cookies.
            decoderLimits.maxHeaderFieldCount = 100
            decoderLimits.maxHeaderListSize = 16 * 1024
            let deadlines = ConnectionDeadlineHandler(limits: limits)
            let refusal = NIOLockedValueBox<(status: Int, reason: String, body: [UInt8])?>(nil)
            let upgraders = webSockets.map { [webSocketUpgrader($0, refusal: refusal)] } ?? []
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Upgrade>(
                upgradeConfiguration: .init(upgraders: upgraders) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let operations = channel.pipeline.syncOperations
                        try operations.addHandler(ReasonPhraseHandler())
                        try operations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try operations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        if let refused = refusal.withLockedValue({ $0 }) {
                            return .refused(http, status: refused.status, reason: refused.reason, body: refused.body)
                        }
                        return .http(http)
                    }
                }
            )
            configuration.enablePipelining = false
            // A request NIO cannot parse gets a 400 (before the first request is through, a parse
            // error would otherwise only fail the upgrade negotiation and drop the connection).
            configuration.enableErrorHandling = true
            configuration.enableResponseHeaderValidation = false
            configuration.decoderConfiguration = decoderLimits
            let operations = channel.pipeline.syncOperations
            let upgrade = try operations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            // The deadlines watch the first request head too (slowloris), so they sit before the
            // upgrade handler; a WebSocket takes them out (see the upgrader).
            try operations.addHandler(
                deadlines,
                position: .before(try operations.handler(type: NIOTypedHTTPServerUpgradeHandler<Upgrade>.self))
            )
            return Value(channel: channel, upgrade: upgrade)
        }
    }

    /// Asks `webSockets` about each upgrade request; the session it grants runs on the upgraded
    /// channel. The protocol a browser offers is echoed (Chrome fails a handshake without it).
    private func webSocketUpgrader(
        _ webSockets: any WebSocketUpgrading,
        refusal: NIOLockedValueBox<(status: Int, reason: String, body: [UInt8])?>
    ) -> NIOTypedWebSocketServerUpgrader<Upgrade> {
        let granted = NIOLockedValueBox<(any WebSocketSession)?>(nil)
        return NIOTypedWebSocketServerUpgrader<Upgrade>(
            maxFrameSize: 1 << 20,
            shouldUpgrade: { channel, head in
                let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                promise.completeWithTask {
                    guard let request = try? HTTPRequest(head, secure: true, splitCookie: false) else {
                        refusal.withLockedValue { $0 = (400, "bad request", []) }
                        return nil
                    }
                    switch await webSockets.webSocketDecision(for: request) {
                    case .accept(let session): granted.withLockedValue { $0 = session }
                    case .refuse(let status, let reason, let body):
                        refusal.withLockedValue { $0 = (status, reason, body) }
                        return nil
                    }
                    var headers = HTTPHeaders()
                    if let offered = head.headers.first(name: "Sec-WebSocket-Protocol") {
                        let protocols = offered.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                        headers.add(
                            name: "Sec-WebSocket-Protocol",
                            value: protocols.contains("binary") ? "binary" : protocols.first ?? offered
                        )
                    }
                    return headers
                }
                return promise.futureResult
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    // HTTP deadlines and frames do not mix; a console may stay open for hours.
                    let operations = channel.pipeline.syncOperations
                    if let deadlines = try? operations.handler(type: ConnectionDeadlineHandler.self) {
                        operations.removeHandler(deadlines, promise: nil)
                    }
                    guard let session = granted.withLockedValue({ $0 }) else {
                        throw ChannelError.inappropriateOperationForState
                    }
                    return .webSocket(try NIOAsyncChannel(wrappingChannelSynchronously: channel), session)
                }
            }
        )
    }

    public func handle(value: Value, logger: Logger) async {
        switch try? await value.upgrade.get() {
        case .http(let channel): await handleHTTP(asyncChannel: channel, logger: logger)
        case .webSocket(let channel, let session): await WebSocketIO.serve(channel, session)
        case .refused(let channel, let status, let reason, let body):
            try? await channel.executeThenClose { _, outbound in
                var headers = HTTPFields()
                headers[.contentType] = "application/json;charset=UTF-8"
                headers[.contentLength] = String(body.count)
                headers[.connection] = "close"
                headers[.vireoReason] = reason
                try await outbound.write(.head(HTTPResponse(status: .init(code: status), headerFields: headers)))
                try await outbound.write(.body(ByteBuffer(bytes: body)))
                try await outbound.write(.end(nil))
            }
        case nil: break
        }
    }
}

struct TooManyConnections: Error {}

extension HTTPServerBuilder {
    /// HTTP/1 with Proxmox's reason phrases, and the connection limits.
    /// `webSockets` decides the upgrade requests (none without it).
    public static func proxmoxHTTP1(
        limits: ConnectionLimits = .default,
        webSockets: (any WebSocketUpgrading)? = nil
    ) -> HTTPServerBuilder {
        let clients = ClientConnectionCounter()
        return .init { responder in
            ProxmoxHTTP1Channel(responder: responder, limits: limits, clients: clients, webSockets: webSockets)
        }
    }
}

/// Moves the internal reason header into the status line of the outgoing response head.
final class ReasonPhraseHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
    static let header = "x-vireo-reason"

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data), let reason = head.headers.first(name: Self.header) else {
            context.write(data, promise: promise)
            return
        }
        head.headers.remove(name: Self.header)
        head.status = .custom(code: head.status.code, reasonPhrase: reason)
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }
}
