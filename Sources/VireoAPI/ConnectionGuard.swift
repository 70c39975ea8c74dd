public import NIOCore
import NIOHTTP1
import Synchronization

/// Limits that keep idle, slow and numerous connections from one client from starving the others.
public struct ConnectionLimits: Sendable {
    /// From accepting a connection to a complete request head, TLS handshake included (slowloris).
    public var headerTimeout: TimeAmount
    /// Between two chunks of a request body.
    public var bodyTimeout: TimeAmount
    /// A kept-alive connection with no request.
    public var idleTimeout: TimeAmount
    /// Open connections from one client address; nil for none (the local socket).
    public var perClient: Int?

    public init(headerTimeout: TimeAmount, bodyTimeout: TimeAmount, idleTimeout: TimeAmount, perClient: Int?) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.perClient = perClient
    }

    public static let `default` = ConnectionLimits(
        headerTimeout: .seconds(10),
        bodyTimeout: .seconds(60),
        idleTimeout: .seconds(30),
        perClient: 128
    )
}

/// Counts open connections per client address.
final class ClientConnectionCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Takes a slot for the address; false when it has `limit` already.
    func acquire(_ address: String, limit: Int) -> Bool {
        counts.withLock { counts in
            guard counts[address, default: 0] < limit else { return false }
            counts[address, default: 0] += 1
            return true
        }
    }

    func release(_ address: String) {
        counts.withLock { counts in
            let left = counts[address, default: 1] - 1
            counts[address] = left > 0 ? left : nil
        }
    }
}

/// One deadline at a time per connection: the request head must arrive within `headerTimeout` of
/// the connection (or of the last response), the body must keep coming, and a connection is closed
/// after its response when the client did not ask to keep it (HTTP/1.0, `Connection: close`).
/// No deadline runs while a handler works on a request.
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let limits: ConnectionLimits
    private var deadline: Scheduled<Void>?
    private var closeAfterResponse = false
    /// Requests read and not answered yet (a pipelining client may send the next before the answer).
    private var unanswered = 0

    init(limits: ConnectionLimits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(context, limits.headerTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) { cancel() }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            closeAfterResponse = !head.isKeepAlive
            unanswered += 1
            arm(context, limits.bodyTimeout)
        case .body:
            arm(context, limits.bodyTimeout)
        case .end:
            cancel()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where closeAfterResponse:
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where closeAfterResponse:
            let written = promise ?? context.eventLoop.makePromise()
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
            context.write(data, promise: written)
        case .end:
            context.write(data, promise: promise)
            unanswered = max(0, unanswered - 1)
            if unanswered == 0 { arm(context, limits.idleTimeout) }
        default:
            context.write(data, promise: promise)
        }
    }

    private func arm(_ context: ChannelHandlerContext, _ timeout: TimeAmount) {
        cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    private func cancel() {
        deadline?.cancel()
        deadline = nil
    }
}
