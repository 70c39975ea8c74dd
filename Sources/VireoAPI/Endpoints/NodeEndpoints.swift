import VireoAccess
import VireoCore
import VireoHost
import VireoTasks

/// `/version`, `/nodes`, `/nodes/{node}`, `/nodes/{node}/status`, `/nodes/{node}/tasks/*`.
enum NodeEndpoints {
    static let version = "9.0.0"
    static let release = "9.0"
    static let repoid = "vireo"

    static func checkNode(_ request: APIRequest) throws -> String {
        let node = try request.parameters.require("node")
        // `localhost` names the node that answers, as on Proxmox.
        guard node == request.services.node || node == "localhost" else {
            throw VireoError.notFound("no such node '\(node)'")
        }
        return node
    }

    static func register(in registry: inout APIRegistry) {
        registry.register(.get, "/version") { _ in
            .init([
                "version": .string(version), "release": .string(release), "repoid": .string(repoid), "console": "html5",
            ])
        }
        registry.register(.get, "/nodes") { request in
            let node = request.services.node
            guard
                request.access.permissions.check(
                    request.identity.authID,
                    path: "/nodes/\(node)",
                    privileges: ["Sys.Audit"]
                )
                    || request.identity.authID == "root@pam"
            else {
                return .init(
                    .array([["node": .string(node), "status": "online", "type": "node", "id": .string("node/\(node)")]])
                )
            }
            return .init(.array([.object(NodeStatus.current().resourceFields(node: node, listForm: true))]))
        }
        registry.register(.get, "/nodes/{node}") { request in
            _ = try checkNode(request)
            let names = ["status", "storage", "tasks"]
            return .init(.array(names.map { ["name": .string($0)] }))
        }
        registry.register(.get, "/nodes/{node}/status") { request in
            _ = try checkNode(request)
            return .init(NodeStatus.current().statusJSON())
        }
        registry.register(.post, "/nodes/{node}/status") { request in
            _ = try checkNode(request)
            throw VireoError(.notImplemented, "node power management is not supported by Vireo yet")
        }
        TaskEndpoints.register(in: &registry)
    }
}
