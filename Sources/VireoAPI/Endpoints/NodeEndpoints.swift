import VireoAccess
import VireoCore
import VireoHost
import VireoTasks

/// `/version`, `/nodes`, `/nodes/{node}`, `/nodes/{node}/status`, `/nodes/{node}/tasks/*`.
enum NodeEndpoints {
    static let version = "9.0.0"
    static let release = "9.0"
    static let repoid = "vireo"

    static func register(in registry: inout APIRegistry) {
        registry.register(.get, "/version", handles: []) { _ in
            .init([
                "version": .string(version), "release": .string(release), "repoid": .string(repoid), "console": "html5",
            ])
        }
        registry.register(.get, "/nodes", handles: []) { request in
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
        registry.register(.get, "/nodes/{node}", handles: []) { request in
            .init(.array(request.routeChildren.filter { !$0.hasPrefix("{") }.map { ["name": .string($0)] }))
        }
        registry.register(.get, "/nodes/{node}/status", handles: []) { request in
            .init(NodeStatus.current().statusJSON())
        }
        registry.register(.post, "/nodes/{node}/status", handles: ["command"]) { request in
            throw VireoError(.notImplemented, "node power management is not supported by Vireo yet")
        }
        TaskEndpoints.register(in: &registry)
        registerSystem(in: &registry)
        registerHardware(in: &registry)
        registerDisks(in: &registry)
        registerBatch(in: &registry)
    }
}
