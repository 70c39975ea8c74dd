import Foundation
import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
import VireoAccess
import VireoCluster
import VireoCore
import VireoStore

/// Serves `/api2/json/...` from the registry with Proxmox's wire behaviour: authentication, CSRF,
/// parameter merging and validation, permission check, then the handler; errors as Proxmox sends them.
public struct APIResponder<Context: RequestContext>: HTTPResponder, WebSocketUpgrading {
    let registry: APIRegistry
    let services: APIServices
    /// Requests on the root-only local socket act as root@pam (as `pvesh` does on a PVE node).
    let localRoot: Bool
    private let dispatcher: APIDispatcher
    static var maxBody: Int { 512 * 1024 }

    /// `/nodes/<node>/lxc/…`: Vireo lists no containers and refuses every other container call.
    static func isContainerPath(_ path: Substring) -> Bool {
        let segments = path.split(separator: "/")
        return segments.count >= 3 && segments[0] == "nodes" && segments[2] == "lxc"
    }

    /// Calls that need no credentials at all (the VNC ticket check proves itself with the ticket).
    static var unauthenticatedCalls: Set<String> {
        ["GET /access/domains", "GET /access/ticket", "POST /access/ticket", "POST /access/vncticket"]
    }

    /// The OpenAPI document, rendered once.
    private let openAPI: String
    /// Passes calls for other nodes on; nil on a standalone node.
    private let proxy: NodeProxy?
    /// The web UI at `/`; nil on the local socket, and where it is not installed.
    let ui: WebUI?
    let servesUI: Bool

    /// `servesUI`: answer `/` and `/ui/…` (with `ui`, or saying it is not installed).
    /// `proxy`: passes calls for other nodes on (a cluster node's; nil standalone).
    public init(
        registry: APIRegistry,
        services: APIServices,
        localRoot: Bool,
        ui: WebUI? = nil,
        servesUI: Bool = false,
        proxy: NodeProxy? = nil
    ) {
        self.registry = registry
        self.services = services
        self.localRoot = localRoot
        self.ui = ui
        self.servesUI = servesUI
        dispatcher = APIDispatcher(registry: registry, services: services)
        self.proxy = proxy
        openAPI = OpenAPIDocument.make(registry).serialized()
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        if servesUI, WebUI.serves(request.uri.path) {
            return ui?.respond(path: request.uri.path, method: request.method) ?? WebUI.missing()
        }
        let started = ContinuousClock.now
        do {
            return try await ReadSession.run(atLeast: Self.readPoint(request.method)) { try await handle(request) }
        } catch {
            return await failure(error, path: request.uri.path, started: started).response
        }
    }

    /// How new a call's store reads must be (see ``ReadSession``). A read (GET) sees every write
    /// that completed anywhere before it: one barrier for all its reads. A change reads the node's
    /// copy, as pmxcfs serves every read: its write is compare-and-swap on what it read, so a copy
    /// that trailed etcd (by the watch's delay) fails the write as a conflict and never loses a
    /// change, and a guest's config is written only by the node that runs it.
    static func readPoint(_ method: HTTPRequest.Method) -> Int64? {
        method == .get || method == .head ? nil : 0
    }

    /// The answer to a failed call.
    private func failure(_ error: any Error, path: String, started: ContinuousClock.Instant) async -> APIFailure {
        let failure: APIFailure
        switch error {
        case let error as APIFailure: failure = error
        case let error as VireoError: failure = APIFailure(error)
        default:
            services.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(path)"])
            // The cause stays in the answer (and the log): "internal error" alone helps nobody triage.
            failure = APIFailure(VireoError(.internalError, "internal error: \(error)", underlying: error))
        }
        // Every 401 leaves at the same time after its request came in, whatever failed and however
        // long finding out took: against password guessing and probing for user names.
        if failure.status == 401 { try? await Task.sleep(until: started + services.authFailureDelay) }
        return failure
    }

    /// What a request resolves to: an answer of its own (the schema, metrics), or a handler's result.
    private enum Resolution {
        case response(Response)
        case result(APIResult)
    }

    private func handle(_ request: Request) async throws -> Response {
        switch try await resolve(request) {
        case .response(let response): return response
        case .result(let result):
            if let stream = result.stream { return stream }
            var envelope: [String: JSON] = result.extra
            envelope["data"] = result.data
            if let total = result.total { envelope["total"] = .int(total) }
            var response = Self.jsonResponse(status: .ok, bytes: JSON.object(envelope).serializedBytes())
            // Without quorum this node answers from its last copy of the tree, and says so.
            if services.cluster.isClustered, !services.cluster.isQuorate {
                response.headers[NodeProxy.staleHeader] = "no quorum - the cluster configuration may be stale"
            }
            return response
        }
    }

    /// A WebSocket upgrade (`…/vncwebsocket`) goes through everything an ordinary call does
    /// (credentials, parameters, permission, the handler's ticket check); the handler's session
    /// then runs on the upgraded connection. A refusal is answered as the call's error.
    public func webSocketDecision(for head: HTTPRequest) async -> WebSocketDecision {
        let started = ContinuousClock.now
        let path = head.path.map { String($0.prefix { $0 != "?" }) } ?? ""
        do {
            let request = Request(head: head, body: .init(buffer: ByteBuffer()))
            guard case .result(let result) = try await ReadSession.run({ try await resolve(request) }),
                let session = result.webSocket
            else { throw APIFailure(status: 400, message: "'\(path)' does not upgrade to a WebSocket") }
            return .accept(session)
        } catch {
            let failure = await failure(error, path: path, started: started)
            return .refuse(status: failure.status, reason: failure.reasonPhrase, body: failure.bodyBytes)
        }
    }

    private func resolve(_ request: Request) async throws -> Resolution {
        let path = request.uri.path
        let method = APIMethod(rawValue: request.method.rawValue)
        let afterPrefix = path.hasPrefix("/api2/") ? path.dropFirst("/api2/".count) : nil
        let format = afterPrefix?.prefix { $0 != "/" }
        let apiPath = format == "json" ? afterPrefix?.dropFirst("json".count) : nil
        let match = method.flatMap { method in apiPath.map { registry.match(method, $0) } } ?? .notFound
        var open = false
        if case .found(let endpoint, _, _) = match, let method {
            open = Self.unauthenticatedCalls.contains("\(method.rawValue) \(endpoint.path)")
        }
        // Authentication comes before routing and parameters: an unauthenticated caller cannot tell
        // an implemented path or method from an unknown one, and learns nothing from parameter errors.
        let identity: AuthIdentity? = localRoot ? .root : open ? nil : try await authenticate(request)

        guard let method else {
            throw APIFailure(status: 501, message: "method '\(request.method.rawValue)' not available")
        }
        if path == "/api2/openapi.json", method == .get {
            return .response(Self.jsonResponse(status: .ok, body: openAPI))
        }
        if path == "/metrics", let identity {
            guard method == .get else {
                throw APIFailure(status: 501, message: "Method '\(method.rawValue) /metrics' not implemented")
            }
            return .response(try await PrometheusEndpoint.respond(identity: identity, services: services))
        }
        guard format != nil, let apiPath else {
            let message: String =
                if let format, !format.isEmpty { "no formatter for uri \(path)" } else { "no such uri" }
            throw APIFailure(status: 501, message: message)
        }
        let (endpoint, captures, children): (Endpoint, [String: String], [String])
        switch match {
        case .found(let e, let c, let ch): (endpoint, captures, children) = (e, c, ch)
        case .notFound, .methodNotAllowed:
            if Self.isContainerPath(apiPath) {
                throw APIFailure(
                    status: 501,
                    message: "Vireo does not run containers (LXC): only virtual machines (qemu)"
                )
            }
            throw APIFailure(
                status: 501,
                message: "Method '\(method.rawValue) \(apiPath.isEmpty ? "/" : String(apiPath))' not implemented"
            )
        }
        if let identity, identity.viaTicket, method != .get,
            !csrfValid(request.headers[.csrfPreventionToken], identity)
        {
            throw APIFailure(status: 401, message: "Permission denied - invalid csrf token", emptyBody: true)
        }
        if let identity, identity.isToken, !endpoint.schema.allowToken {
            throw APIFailure(
                status: 403,
                message: "Permission check failed (URI '\(apiPath)' not available with API token, need proper ticket.)"
            )
        }

        if endpoint.path.hasPrefix("/nodes/{node}"), let node = captures["node"], node != services.node,
            node != "localhost", let proxy
        {
            // Passed on once: the receiving node answers for itself or not at all.
            guard !request.headers.contains(where: { $0.name.canonicalName == NodeProxy.marker }),
                let member = try await ClusterConfigFile.read(services.store)?.nodes[node]
            else { throw VireoError.notFound("no such node '\(node)'") }
            switch try await proxy.pass(
                request,
                to: member.address,
                node: node,
                identity: identity ?? .root,
                mintTicket: identity != nil,
                tickets: services.access.tickets
            ) {
            case .response(let response):
                return .response(response)
            case .webSocket(let session):
                var result = APIResult.null
                result.webSocket = session
                return .result(result)
            }
        }
        // A streamed body (uploads) is the handler's to read; only the URI's parameters are checked here.
        let streamed = endpoint.schema.streamsBody
        let raw = try await rawParameters(request, method: method, captures: captures, readBody: !streamed)
        let parameters = try ParameterValidator().validate(
            raw,
            against: streamed ? endpoint.schema.uriOnly : endpoint.schema
        )
        let result = try await dispatcher.invoke(
            endpoint,
            parameters: parameters,
            captures: captures,
            children: children,
            identity: identity,
            body: streamed ? StreamedBody(contentType: request.headers[.contentType], body: request.body) : nil
        )
        return .result(result)
    }

    // MARK: - Credentials

    private func authenticate(_ request: Request) async throws -> AuthIdentity {
        let cookie = request.headers[.cookie].flatMap { Self.credential(named: "PVEAuthCookie", in: $0) }
        let authorization = request.headers[.authorization]
        do {
            if let ticket = cookie ?? authorization.flatMap({ Self.credential(named: "PVEAuthCookie", in: $0) }) {
                return try await services.access.identity(ticket: ticket)
            }
            if let authorization, let token = Self.credential(named: "PVEAPIToken", in: authorization) {
                // The token ID and the secret are split at the last `=`.
                guard let equals = token.lastIndex(of: "=") else { throw VireoError(.unauthenticated, "bad token") }
                return try await services.access.identity(
                    tokenID: String(token[..<equals]),
                    secret: String(token[token.index(after: equals)...])
                )
            }
        } catch let error as VireoError where error.code == .unauthenticated {
            throw APIFailure(status: 401, message: "Authentication failed!", emptyBody: true)
        }
        throw APIFailure(status: 401, message: "No ticket", emptyBody: true)
    }

    private func csrfValid(_ token: String?, _ identity: AuthIdentity) -> Bool {
        guard let token else { return false }
        return services.access.tickets.verifyCSRFToken(token, userid: identity.authID)
    }

    /// `(?:^|\s)NAME(?:=| )([^;]*)`, then `%XX`-decoded (tickets hold `+ / =` sent raw).
    static func credential(named name: String, in header: String) -> String? {
        var searchStart = header.startIndex
        while let range = header.range(of: name, range: searchStart..<header.endIndex) {
            let atBoundary =
                range.lowerBound == header.startIndex
                || header[header.index(before: range.lowerBound)].isWhitespace
                || header[header.index(before: range.lowerBound)] == ";"
            if atBoundary, range.upperBound < header.endIndex,
                header[range.upperBound] == "=" || header[range.upperBound] == " "
            {
                let valueStart = header.index(after: range.upperBound)
                let value = header[valueStart...].prefix { $0 != ";" }
                return PercentEncoding.decode(String(value))
            }
            searchStart = range.upperBound
        }
        return nil
    }

    // MARK: - Parameters

    private func rawParameters(
        _ request: Request,
        method: APIMethod,
        captures: [String: String],
        readBody: Bool
    ) async throws -> RawParameters {
        var raw = RawParameters()
        if !readBody { return try merge(query: request.uri.query, captures: captures, into: raw) }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBody)
        } catch is NIOTooManyBytesError {
            // Proxmox answers 501 here; a client's mistake is a 4xx in Vireo.
            throw APIFailure(status: 413, message: "request entity too large (limit \(Self.maxBody / 1024) KiB)")
        }
        if method == .get || method == .delete {
            if body.readableBytes > 0 {
                throw APIFailure(status: 501, message: "Unexpected content for method '\(method.rawValue)'")
            }
        } else if body.readableBytes > 0 {
            let bytes = Array(body.readableBytesView)
            let contentType = request.headers[.contentType]?.lowercased() ?? ""
            if contentType.hasPrefix("application/json") {
                try raw.merge(jsonBody: bytes)
            } else if contentType.isEmpty || contentType.hasPrefix("application/x-www-form-urlencoded") {
                raw.merge(formEncoded: Substring(String(decoding: bytes, as: UTF8.self)))
            } else {
                throw APIFailure(status: 415, message: "unsupported content type '\(contentType)'")
            }
        }
        return try merge(query: request.uri.query, captures: captures, into: raw)
    }

    /// Query parameters override the body; path captures must agree with both.
    private func merge(query: String?, captures: [String: String], into base: RawParameters) throws -> RawParameters {
        var raw = base
        if let query, !query.isEmpty {
            var fromQuery = RawParameters()
            fromQuery.merge(formEncoded: Substring(query))
            for (key, value) in fromQuery.values { raw[key] = value }
        }
        for (name, value) in captures {
            if let given = raw[name], given != .text(value), given != .json(.string(value)) {
                // Clients repeat path parameters in bodies; only a conflicting value is an error.
                if case .json(let json) = given, json.stringValue == value { continue }
                throw VireoError(
                    .invalidArgument,
                    "Parameter verification failed.",
                    parameterErrors: [name: "duplicate parameter (already defined in URI) with conflicting values!"]
                )
            }
            raw[name] = .text(value)
        }
        return raw
    }

    static func jsonResponse(status: HTTPResponse.Status, body: String) -> Response {
        jsonResponse(status: status, bytes: Array(body.utf8))
    }

    static func jsonResponse(status: HTTPResponse.Status, bytes: [UInt8]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json;charset=UTF-8"
        headers[.server] = "pve-api-daemon/3.0"
        headers[.cacheControl] = "max-age=0"
        headers[.pragma] = "no-cache"
        headers[.expires] = "Thu, 01 Jan 1970 00:00:00 GMT"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// An error answer: status, reason phrase (the message's first line) and Proxmox's error body.
struct APIFailure: Error {
    let status: Int
    let message: String
    var errors: [String: String] = [:]
    var emptyBody = false
    /// Where the failure lives (`vireo-fault` beside Proxmox's `message` and `errors`).
    var fault: Fault

    init(
        status: Int,
        message: String,
        errors: [String: String] = [:],
        emptyBody: Bool = false,
        fault: Fault? = nil
    ) {
        self.status = status
        self.message = message
        self.errors = errors
        self.emptyBody = emptyBody
        self.fault = fault ?? Fault(status == 401 || status == 403 ? .auth : .api)
    }

    init(_ error: VireoError) {
        let status: Int =
            switch error.code {
            case .invalidArgument: 400
            case .unauthenticated: 401
            case .permissionDenied: 403
            case .notFound: 404
            case .conflict: 409
            case .notImplemented: 501
            case .unavailable: 503
            default: 500
            }
        self.init(status: status, message: error.message, errors: error.parameterErrors, fault: Fault.of(error))
    }

    /// The message's first line, printable ASCII only (the HTTP status line's reason).
    var reasonPhrase: String {
        let firstLine = message.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return String(firstLine.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7f }.map(Character.init))
    }

    var bodyBytes: [UInt8] {
        if emptyBody { return [] }
        var body: [String: JSON] = ["data": .null, "message": .string(message + "\n")]
        if !errors.isEmpty { body["errors"] = .object(errors.mapValues { .string($0) }) }
        body["vireo-fault"] = fault.json
        return JSON.object(body).serializedBytes()
    }

    var response: Response {
        let reason = reasonPhrase
        var response = APIResponder<BasicRequestContext>.jsonResponse(
            status: HTTPResponse.Status(code: status, reasonPhrase: reason),
            bytes: bodyBytes
        )
        response.headers[.vireoReason] = reason
        return response
    }
}

extension HTTPField.Name {
    // Valid header names: the initialiser only fails for malformed ones.
    static let csrfPreventionToken = Self("CSRFPreventionToken") ?? .cookie
    static let pragma = Self("Pragma") ?? .cacheControl
    static let vireoReason = Self(ReasonPhraseHandler.header) ?? .server
}
