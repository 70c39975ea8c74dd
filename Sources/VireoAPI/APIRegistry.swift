public import Hummingbird
public import VireoAccess
public import VireoCore

/// What a handler returns: the `data` of the envelope, and `total` for paged lists.
public struct APIResult: Sendable {
    public var data: JSON
    public var total: Int?
    /// Other top-level members next to `data` (the network list's `changes`).
    public var extra: [String: JSON] = [:]
    /// An answer that is not the JSON envelope (the event stream).
    public var stream: Response?
    /// What runs when the request upgrades its connection to a WebSocket (consoles).
    public var webSocket: (any WebSocketSession)?
    public init(_ data: JSON, total: Int? = nil, extra: [String: JSON] = [:]) {
        self.data = data
        self.total = total
        self.extra = extra
    }
    public static let null = APIResult(.null)
}

/// A validated, authenticated, authorised call, as a handler sees it.
public struct APIRequest: Sendable {
    public let identity: AuthIdentity
    public let parameters: Parameters
    public let access: AccessSnapshot
    public let services: APIServices
    /// The route's own node in the registry, for directory indexes.
    let routeChildren: [String]
    /// The request body, for endpoints that stream it (uploads).
    let body: StreamedBody?
    let schema: EndpointSchema
    /// Calls other endpoints as this caller (`execute`).
    let dispatcher: APIDispatcher?

    /// Validates parameters a streaming handler read from the body, with the path's parameters.
    func validate(_ fromBody: RawParameters) throws -> Parameters {
        var raw = fromBody
        for (name, value) in parameters.values { raw[name] = .text(value) }
        return try ParameterValidator().validate(raw, against: schema)
    }
}

/// A body left unread by the responder.
public struct StreamedBody: Sendable {
    public let contentType: String?
    public let body: RequestBody
}

/// The schema parameters a handler acts on. The registry refuses any other schema parameter a
/// caller sends (501, naming it), so no parameter is ever silently ignored.
public struct HandledParameters: Sendable, ExpressibleByArrayLiteral {
    let names: Set<String>?
    let except: Set<String>
    private init(names: Set<String>?, except: Set<String> = []) {
        self.names = names
        self.except = except
    }
    public init(arrayLiteral elements: String...) { self.init(names: Set(elements)) }
    /// Every schema parameter: the handler maps them all itself (a VM's config keys).
    public static let all = HandledParameters(names: nil)
    /// Every schema parameter but these.
    public static func all(except: Set<String>) -> HandledParameters { HandledParameters(names: nil, except: except) }
}

public typealias APIHandler = @Sendable (APIRequest) async throws -> APIResult

/// One endpoint: method, path, schema (parameters, permission, flags, return type) and handler.
public struct Endpoint: Sendable {
    public let method: APIMethod
    public let path: String
    public let schema: EndpointSchema
    public let handler: APIHandler
}

/// The single declaration point of the API: routing, validation, permission checks, the CLI's
/// `pvesh` and the OpenAPI document all come from here.
public struct APIRegistry: Sendable {
    final class Node: @unchecked Sendable {
        // Built once before the server starts and only read afterwards.
        var literal: [String: Node] = [:]
        var capture: (name: String, node: Node)?
        var endpoints: [APIMethod: Endpoint] = [:]
        var childNames: [String] {
            literal.keys.sorted() + (capture.map { ["{\($0.name)}"] } ?? [])
        }
    }

    private let root = Node()
    public private(set) var endpoints: [Endpoint] = []

    public init() {}

    /// Declares an endpoint. The schema defaults to Proxmox's for this method and path; `permission`
    /// replaces the schema's where Proxmox checks more in code than its schema declares.
    public mutating func register(
        _ method: APIMethod,
        _ path: String,
        schema: EndpointSchema? = nil,
        permission: PermissionCheck? = nil,
        handles: HandledParameters,
        _ handler: @escaping APIHandler
    ) {
        guard var schema = schema ?? APISchema.pveEndpoint(method, path) else {
            preconditionFailure("no schema for \(method.rawValue) \(path)")
        }
        if let permission { schema.permission = permission }
        schema.rootOnly = RootOnlyPolicy.rules["\(method.rawValue) \(path)"]
        for name in Self.multiLineParameters["\(method.rawValue) \(path)"] ?? [] {
            guard let index = schema.parameters.firstIndex(where: { $0.name == name }) else { continue }
            schema.parameters[index].multiLine = true
        }
        let captures = Set(Self.captureNames(path))
        let names = Set(schema.parameters.map(\.name))
        let handled = handles.names ?? names.subtracting(handles.except)
        precondition(
            handled.isSubset(of: names),
            "\(method.rawValue) \(path) handles parameters not in its schema: \(handled.subtracting(names))"
        )
        schema.unhandled = names.subtracting(handled).subtracting(captures)
        for spec in schema.parameters {
            guard let text = spec.defaultValue, let value = try? ParameterValidator.parse(text, spec: spec) else {
                continue
            }
            schema.parsedDefaults[spec.name] = value
        }
        var node = root
        for segment in path.split(separator: "/") {
            if segment.hasPrefix("{"), segment.hasSuffix("}") {
                let name = String(segment.dropFirst().dropLast())
                if let capture = node.capture {
                    precondition(capture.name == name, "conflicting captures at \(path)")
                    node = capture.node
                } else {
                    let child = Node()
                    node.capture = (name, child)
                    node = child
                }
            } else {
                let key = String(segment)
                let child = node.literal[key] ?? Node()
                node.literal[key] = child
                node = child
            }
        }
        let endpoint = Endpoint(method: method, path: path, schema: schema, handler: handler)
        precondition(node.endpoints[method] == nil, "duplicate endpoint \(method.rawValue) \(path)")
        node.endpoints[method] = endpoint
        endpoints.append(endpoint)
    }

    /// Parameters that hold a whole file or a multi-line text, beyond the free-text names every
    /// endpoint allows (``ParameterValidator/multiLineParameters``).
    static let multiLineParameters: [String: [String]] = [
        "POST /nodes/{node}/hosts": ["data"],
        "POST /nodes/{node}/qemu/{vmid}/agent/file-write": ["content"],
        "POST /nodes/{node}/qemu/{vmid}/agent/exec": ["input-data"],
        "POST /nodes/{node}/execute": ["commands"],
    ]

    /// A GET that lists the subdirectories under `path` (`[{subdir: …}]`), Proxmox's index endpoints.
    public mutating func registerIndex(_ path: String, key: String = "subdir") {
        register(.get, path, handles: []) { request in
            .init(.array(request.routeChildren.filter { !$0.hasPrefix("{") }.map { .object([key: .string($0)]) }))
        }
    }

    /// `["node", "vmid"]` for `/nodes/{node}/qemu/{vmid}`.
    static func captureNames(_ path: String) -> [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") && $0.hasSuffix("}") }.map {
            String($0.dropFirst().dropLast())
        }
    }

    public enum Match {
        case found(Endpoint, captures: [String: String], children: [String])
        /// The path exists but not with this method.
        case methodNotAllowed
        case notFound
    }

    /// Captures that may span several path segments: Proxmox matches `{volume}` with `\S+`, so
    /// `…/content/local:100/vm-100-disk-0.qcow2` names one volume, and an ipset entry
    /// `…/ipset/lan/10.0.0.0/8` one network (clients send the slash unencoded).
    static let multiSegmentCaptures: Set<String> = ["volume", "cidr"]

    public func match(_ method: APIMethod, _ path: Substring) -> Match {
        let segments = path.split(separator: "/").map(String.init)
        var captures: [String: String] = [:]
        guard let node = Self.walk(root, segments[...], &captures) else { return .notFound }
        guard let endpoint = node.endpoints[method] else {
            return node.endpoints.isEmpty ? .notFound : .methodNotAllowed
        }
        return .found(endpoint, captures: captures, children: node.childNames)
    }

    /// Literal segments first, then a capture; a multi-segment capture tries the shortest span
    /// that lets the rest of the path match.
    private static func walk(_ node: Node, _ rest: ArraySlice<String>, _ captures: inout [String: String]) -> Node? {
        guard let segment = rest.first else { return node }
        if let child = node.literal[segment], let found = walk(child, rest.dropFirst(), &captures),
            !found.endpoints.isEmpty
        {
            return found
        }
        guard let capture = node.capture else { return nil }
        let spans = multiSegmentCaptures.contains(capture.name) ? rest.count : 1
        for length in 1...spans {
            var attempt = captures
            attempt[capture.name] = PercentEncoding.decode(rest.prefix(length).joined(separator: "/"))
            if let found = walk(capture.node, rest.dropFirst(length), &attempt), !found.endpoints.isEmpty {
                captures = attempt
                return found
            }
        }
        return nil
    }
}
