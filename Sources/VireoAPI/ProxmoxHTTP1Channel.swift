import HTTPTypes
public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTP1
public import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 channel plus one handler: Proxmox clients read the error message from the
/// HTTP reason phrase (`401 No ticket`), which the HTTPTypes→NIO conversion replaces by the
/// standard phrase. Responses carry the phrase in an internal header that ``ReasonPhraseHandler``
/// moves into the status line.
public struct ProxmoxHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    public typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>
    public let responder: HTTPChannelHandler.Responder
    let limits: ConnectionLimits
    let clients: ClientConnectionCounter

    init(
        responder: @escaping HTTPChannelHandler.Responder,
        limits: ConnectionLimits,
        clients: ClientConnectionCounter
    ) {
        self.responder = responder
        self.limits = limits
        self.clients = clients
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
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false,
                withErrorHandling: false,
                withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: decoderLimits
            )
            try channel.pipeline.syncOperations.addHandler(ConnectionDeadlineHandler(limits: limits))
            try channel.pipeline.syncOperations.addHandler(ReasonPhraseHandler())
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(
                wrappingChannelSynchronously: channel,
                configuration: .init(isOutboundHalfClosureEnabled: true)
            )
        }
    }

    public func handle(value asyncChannel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

struct TooManyConnections: Error {}

extension HTTPServerBuilder {
    /// HTTP/1 with Proxmox's reason phrases, and the connection limits.
    public static func proxmoxHTTP1(limits: ConnectionLimits = .default) -> HTTPServerBuilder {
        let clients = ClientConnectionCounter()
        return .init { responder in ProxmoxHTTP1Channel(responder: responder, limits: limits, clients: clients) }
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
