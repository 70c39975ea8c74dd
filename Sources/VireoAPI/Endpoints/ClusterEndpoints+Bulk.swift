import VireoAccess
import VireoCore
import VireoQEMU
import VireoTasks

/// `/cluster/bulk-action/guest/*`: power actions on many guests as one task.
extension ClusterEndpoints {
    static func registerBulkActions(in registry: inout APIRegistry) {
        registry.registerIndex("/cluster/bulk-action", key: "name")
        registry.registerIndex("/cluster/bulk-action/guest", key: "name")
        let permission = QEMUEndpoints.bulkPowerPermission
        registry.register(
            .post,
            "/cluster/bulk-action/guest/start",
            permission: permission,
            handles: ["vms", "max-workers", "maxworkers"]
        ) { request in
            try bulkTask(request, type: "bulkstart", .start)
        }
        registry.register(
            .post,
            "/cluster/bulk-action/guest/shutdown",
            permission: permission,
            handles: ["vms", "timeout", "force-stop", "max-workers", "maxworkers"]
        ) { request in
            let p = request.parameters
            let action = VMBulkActions.Action.shutdown(
                timeout: p.int("timeout") ?? 180,
                forceStop: p.bool("force-stop", default: true)
            )
            return try bulkTask(request, type: "bulkshutdown", action)
        }
        registry.register(
            .post,
            "/cluster/bulk-action/guest/suspend",
            permission: permission,
            handles: ["vms", "to-disk", "max-workers", "maxworkers"]
        ) { request in
            if request.parameters.bool("to-disk", default: false) {
                throw VireoError.parameter("to-disk", "suspending to disk is not supported by Vireo yet")
            }
            return try bulkTask(request, type: "bulksuspend", .suspend)
        }
        registry.register(
            .post,
            "/cluster/bulk-action/guest/migrate",
            permission: permission,
            handles: ["target", "vms", "online", "with-local-disks", "max-workers", "maxworkers"]
        ) { request in
            let target = try request.parameters.require("target")
            guard target != request.services.node else {
                throw VireoError.parameter("target", "target node '\(target)' is the local node")
            }
            throw VireoError.parameter("target", "no such cluster node '\(target)'")
        }
    }

    static func bulkTask(_ request: APIRequest, type: String, _ action: VMBulkActions.Action) throws -> APIResult {
        let p = request.parameters
        let vms = p.list("vms")
        var only: Set<VMID>?
        if !vms.isEmpty {
            only = Set(
                try vms.map { text -> VMID in
                    guard let number = Int(text), let vmid = VMID(number) else {
                        throw VireoError.parameter("vms", "invalid VM ID '\(text)'")
                    }
                    return vmid
                }
            )
        }
        let workers = p.int("max-workers") ?? p.int("maxworkers") ?? 4
        let bulk = VMBulkActions(runtime: QEMUEndpoints.runtime(request))
        let selected = only
        let upid = try request.services.tasks.start(type: type, id: "", user: request.identity.authID) { log in
            try await bulk.run(action, only: selected, maxWorkers: workers) { log.append($0) }
        }
        return .init(.string(upid.description))
    }
}
