import VireoAccess
import VireoCore
import VireoHost

/// `/cluster`, `/cluster/status`, `/cluster/resources`, `/cluster/nextid`.
enum ClusterEndpoints {
    static func register(in registry: inout APIRegistry) {
        registry.register(.get, "/cluster") { _ in
            .init(.array(["nextid", "resources", "status", "tasks"].map { ["name": .string($0)] }))
        }
        registry.register(.get, "/cluster/status") { request in
            let node = request.services.node
            return .init([
                [
                    "type": "node", "id": .string("node/\(node)"), "name": .string(node), "nodeid": 0,
                    "ip": "127.0.0.1", "local": 1, "online": 1, "level": "",
                ]
            ])
        }
        registry.register(.get, "/cluster/resources") { request in
            var items: [JSON] = []
            let node = request.services.node
            let type = request.parameters["type"]
            if type == nil || type == "node",
                request.access.permissions.check(
                    request.identity.authID,
                    path: "/nodes/\(node)",
                    privileges: ["Sys.Audit"]
                )
            {
                items.append(.object(NodeStatus.current().resourceFields(node: node, listForm: false)))
            }
            return .init(.array(items))
        }
        registry.register(.get, "/cluster/nextid") { request in
            // No guests exist yet; the lowest free VMID is the answer until the VM store arrives.
            if let wanted = request.parameters.int("vmid") {
                return .init(.string(String(wanted)))
            }
            return .init("100")
        }
    }
}
