import VireoAccess
import VireoCore

/// Runs an authenticated call: the node check, the permission check, the root-only rules, then
/// the handler. The responder uses it for HTTP requests; `POST /nodes/{node}/execute` for each
/// command of its batch, with the caller's own identity.
struct APIDispatcher: Sendable {
    let registry: APIRegistry
    let services: APIServices

    func invoke(
        _ endpoint: Endpoint,
        parameters: Parameters,
        captures: [String: String],
        children: [String],
        identity: AuthIdentity?,
        body: StreamedBody? = nil
    ) async throws -> APIResult {
        // `{node}` is this node (or `localhost`, as on Proxmox) before anything reads the store.
        // (`/cluster/config/nodes/{node}` names a cluster member, not the node serving the call.)
        if endpoint.path.hasPrefix("/nodes/{node}"), let node = captures["node"], node != services.node,
            node != "localhost"
        {
            throw VireoError.notFound("no such node '\(node)'")
        }
        let access = try await services.access.snapshot()
        let caller = identity ?? AuthIdentity(authID: "", viaTicket: false)
        if identity != nil {
            switch access.evaluator.evaluate(endpoint.schema.permission, for: caller, parameters: parameters.values) {
            case .allowed: break
            case .missing(let message): throw VireoError.notFound(message)
            case .denied(let detail):
                throw APIFailure(
                    status: 403,
                    message: detail.isEmpty ? "Permission check failed" : "Permission check failed (\(detail))"
                )
            }
            try RootOnlyPolicy.check(
                endpoint: endpoint,
                parameters: parameters,
                identity: caller,
                permissions: access.permissions
            )
        }
        let request = APIRequest(
            identity: caller,
            parameters: parameters,
            access: access,
            services: services,
            routeChildren: children,
            body: body,
            schema: endpoint.schema,
            dispatcher: self
        )
        return try await endpoint.handler(request)
    }

    /// One call of a batch: `method path` with `raw` parameters, as `identity`.
    func call(
        _ method: APIMethod,
        _ path: String,
        _ raw: RawParameters,
        identity: AuthIdentity
    ) async throws
        -> APIResult
    {
        guard case .found(let endpoint, let captures, let children) = registry.match(method, Substring(path)) else {
            throw APIFailure(status: 501, message: "no handler for '\(method.rawValue) \(path)'")
        }
        guard !endpoint.schema.streamsBody else {
            throw APIFailure(status: 501, message: "'\(path)' cannot be called in a batch")
        }
        var merged = raw
        for (name, value) in captures { merged[name] = .text(value) }
        let parameters = try ParameterValidator().validate(merged, against: endpoint.schema)
        return try await invoke(
            endpoint,
            parameters: parameters,
            captures: captures,
            children: children,
            identity: identity
        )
    }
}
