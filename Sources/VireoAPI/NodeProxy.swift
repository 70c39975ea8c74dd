import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOSSL
import VireoAccess
import VireoCluster
import VireoCore

/// Any node answers for every node: a call to `/nodes/{other}/…` goes on, as it came, to that
/// node's API (pveproxy's `proxyto`). The caller's credentials travel with it — tickets and
/// tokens hold on every node, their keys being in the shared tree — and a call from the local
/// root socket carries a ticket for root@pam made here. Bodies stream both ways (uploads, task
/// logs). A node that cannot be reached answers 595, as Proxmox's proxy does.
public final class NodeProxy: Sendable {
    private let http: HTTPClient
    private let port: Int
    /// For console WebSockets, which go on outside the HTTP client.
    private let webSocketTLS: NIOSSLContext

    /// `caFile`: the cluster CA, which signed every node's API certificate. The daemon makes one
    /// for its responders and shuts it down when it stops.
    public init(caFile: String, port: Int) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, timeout: .init(connect: .seconds(3)))
        configuration.decompression = .disabled
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        webSocketTLS = try NIOSSLContext(configuration: tls)
        self.port = port
    }

    /// Set on answers given without quorum (from the node's last copy of the tree).
    static let staleHeader = HTTPField.Name("X-Vireo-Stale") ?? .cacheControl

    /// The header a proxied call carries, so it is never passed on a second time.
    static let marker = "x-vireo-proxied-by"

    static let hopByHop: Set<String> = ["connection", "keep-alive", "transfer-encoding", "upgrade", "host", "te"]

    /// What the other node answered: an HTTP response, or the console session to run once the
    /// caller's connection is upgraded too.
    enum Answer {
        case response(Response)
        case webSocket(any WebSocketSession)
    }

    /// Passes `request` on to `node` (at `address`).
    func pass(
        _ request: Request,
        to address: String,
        node: String,
        identity: AuthIdentity,
        mintTicket: Bool,
        tickets: TicketAuthority
    ) async throws -> Answer {
        let headers = try Self.headers(of: request, identity: identity, mintTicket: mintTicket, tickets: tickets)
        if request.headers[.upgrade]?.lowercased() == "websocket" {
            // A console: opened on that node first, then relayed.
            return .webSocket(
                try await RemoteWebSocket.open(
                    host: address,
                    port: port,
                    uri: request.uri.string,
                    headers: headers,
                    tls: webSocketTLS,
                    node: node
                )
            )
        }
        return .response(try await forward(request, to: address, node: node, headers: headers))
    }

    private func forward(
        _ request: Request,
        to address: String,
        node: String,
        headers: HTTPHeaders
    ) async throws
        -> Response
    {
        let host = address.contains(":") ? "[\(address)]" : address
        var outgoing = HTTPClientRequest(url: "https://\(host):\(port)\(request.uri.string)")
        outgoing.method = .init(rawValue: request.method.rawValue)
        outgoing.headers = headers
        let length = request.headers[.contentLength].flatMap { Int64($0) }
        if request.method != .get, request.method != .head {
            outgoing.body = .stream(request.body, length: length.map { .known($0) } ?? .unknown)
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(outgoing, deadline: .now() + .hours(2))
        } catch {
            throw APIFailure(
                status: 595,
                message:
                    "Errors during connection establishment, proxy handshake: node '\(node)' (\(address)): \(Self.describe(error))"
            )
        }
        var headers = HTTPFields()
        for (name, value) in response.headers where !Self.hopByHop.contains(name.lowercased()) {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        return Response(
            status: .init(code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase),
            headers: headers,
            body: ResponseBody(asyncSequence: response.body)
        )
    }

    /// What goes on with a forwarded call: its own headers but the hop-by-hop ones, its
    /// credentials, and the marker.
    private static func headers(
        of request: Request,
        identity: AuthIdentity,
        mintTicket: Bool,
        tickets: TicketAuthority
    ) throws -> HTTPHeaders {
        var headers = HTTPHeaders()
        for field in request.headers where !hopByHop.contains(field.name.canonicalName) {
            // The WebSocket handshake's own fields are the upgrader's to make.
            guard !field.name.canonicalName.hasPrefix("sec-websocket-") else { continue }
            headers.add(name: field.name.rawName, value: field.value)
        }
        if mintTicket, request.headers[.cookie] == nil, request.headers[.authorization] == nil {
            // The local root socket has no credential to pass on: root@pam's ticket, made here.
            let ticket = try tickets.issueTicket(for: identity.authID)
            headers.add(name: "Cookie", value: "PVEAuthCookie=\(ticket)")
            headers.add(name: "CSRFPreventionToken", value: tickets.csrfToken(for: identity.authID))
        }
        headers.add(name: marker, value: "1")
        return headers
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError, error == .deadlineExceeded { return "no answer in time" }
        if let error = error as? HTTPClientError, error == .connectTimeout { return "connection timed out" }
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "Connection refused" }
        return text
    }

    public func shutdown() async { try? await http.shutdown() }
}
