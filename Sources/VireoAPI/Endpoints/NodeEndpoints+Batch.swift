import Foundation
import VireoAccess
import VireoCore
import VireoHost
import VireoQEMU
import VireoTasks

/// `execute` (a batch of API calls), `suspendall` and `query-url-metadata`.
extension NodeEndpoints {
    static func registerBatch(in registry: inout APIRegistry) {
        registry.register(.post, "/nodes/{node}/execute", handles: ["commands"]) { request in
            guard let dispatcher = request.dispatcher else { throw VireoError(.internalError, "no dispatcher") }
            let text = try request.parameters.require("commands")
            guard case .array(let commands)? = try? JSON.parse(text) else {
                throw VireoError.parameter("commands", "commands param did not contain valid JSON array")
            }
            var results: [JSON] = []
            for command in commands {
                results.append(await executeOne(command, request: request, dispatcher: dispatcher))
            }
            return .init(.array(results))
        }
        registry.register(
            .post,
            "/nodes/{node}/suspendall",
            permission: QEMUEndpoints.bulkPowerPermission,
            handles: ["vms", "max-workers"]
        ) { request in
            let only = QEMUEndpoints.vmidList(request.parameters)
            let workers = request.parameters.int("max-workers") ?? 4
            let bulk = VMBulkActions(runtime: QEMUEndpoints.runtime(request))
            let upid = try request.services.tasks.start(type: "suspendall", id: "", user: request.identity.authID) {
                log in try await bulk.run(.suspend, only: only, maxWorkers: workers) { log.append($0) }
            }
            return .init(.string(upid.description))
        }
        registry.register(.get, "/nodes/{node}/query-url-metadata", handles: ["url", "verify-certificates"]) {
            request in
            let p = request.parameters
            let url = try checkedURL(p)
            let metadata = try await request.services.host.urlMetadata(
                url,
                verifyCertificates: p.bool("verify-certificates", default: true)
            )
            var fields: [String: JSON] = [:]
            if let filename = metadata.filename { fields["filename"] = .string(filename) }
            if let size = metadata.size { fields["size"] = .int(size) }
            if let mimeType = metadata.mimeType { fields["mimetype"] = .string(mimeType) }
            return .init(.object(fields))
        }
    }

    /// An http(s) URL on one line, without credentials in it.
    static func checkedURL(_ p: Parameters) throws -> String {
        let url = try p.require("url")
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
            parsed.host?.isEmpty == false, !url.contains(where: { $0.isWhitespace || $0.isNewline })
        else { throw VireoError.parameter("url", "invalid URL '\(url)' (http or https only)") }
        return url
    }

    /// One command of a batch: `{path, method, args}`, the path under `/nodes/<node>/`.
    static func executeOne(_ command: JSON, request: APIRequest, dispatcher: APIDispatcher) async -> JSON {
        do {
            guard case .string(let relative)? = command["path"] else {
                throw VireoError.invalid("command has no 'path'")
            }
            let methodText = command["method"]?.stringValue?.uppercased() ?? "GET"
            guard let method = APIMethod(rawValue: methodText) else {
                throw VireoError.invalid("invalid method '\(methodText)'")
            }
            let path = "/nodes/\(request.services.node)/" + relative.drop { $0 == "/" }
            var raw = RawParameters()
            if let args = command["args"], args != .null {
                guard case .object = args else { throw VireoError.invalid("'args' must be an object") }
                try raw.merge(jsonBody: args.serializedBytes())
            }
            let result = try await dispatcher.call(method, path, raw, identity: request.identity)
            return ["status": 200, "data": result.data]
        } catch {
            let failure =
                (error as? APIFailure) ?? (error as? VireoError).map(APIFailure.init)
                ?? APIFailure(status: 500, message: "internal error: \(error)")
            var fields: [String: JSON] = ["status": .int(failure.status), "message": .string(failure.message)]
            if !failure.errors.isEmpty { fields["errors"] = .object(failure.errors.mapValues { .string($0) }) }
            return .object(fields)
        }
    }
}
