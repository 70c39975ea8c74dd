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
            func audits(_ name: String) -> Bool {
                request.access.permissions.check(
                    request.identity.authID,
                    path: "/nodes/\(name)",
                    privileges: ["Sys.Audit"]
                )
                    || request.identity.authID == "root@pam"
            }
            func bare(_ name: String, _ status: String) -> JSON {
                ["node": .string(name), "status": .string(status), "type": "node", "id": .string("node/\(name)")]
            }
            var nodes: [JSON] = [
                audits(node)
                    ? .object(NodeStatus.current().resourceFields(node: node, listForm: true)) : bare(node, "online")
            ]
            // Every cluster member, with its figures as it last published them.
            for (name, status) in try await ClusterViews.otherNodes(request) {
                guard case .object(var fields)? = status?["node"], audits(name) else {
                    nodes.append(bare(name, status == nil ? "offline" : "online"))
                    continue
                }
                fields["ip"] = nil
                fields["ssl_fingerprint"] = ""
                nodes.append(.object(fields))
            }
            return .init(.array(nodes))
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
