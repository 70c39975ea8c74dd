import VireoAccess
import VireoCore
import VireoTasks

/// `/nodes/{node}/tasks/*` and `/cluster/tasks`.
enum TaskEndpoints {
    static func taskJSON(_ record: TaskRegistry.Record, detail: Bool) -> JSON {
        let upid = record.upid
        var object: [String: JSON] = [
            "upid": .string(upid.description), "node": .string(upid.node), "pid": .int(upid.pid),
            "pstart": .int(upid.pstart), "starttime": .int(upid.starttime), "type": .string(upid.type),
            "id": .string(upid.id), "user": .string(upid.user),
        ]
        if let endtime = record.endtime { object["endtime"] = .int(endtime) }
        if let exit = record.exitStatus {
            object[detail ? "exitstatus" : "status"] = .string(exit)
        }
        if detail { object["status"] = record.isRunning ? "running" : "stopped" }
        return .object(object)
    }

    /// Only the task's owner, or someone with Sys.Audit on the node, may read a task.
    static func mayRead(_ record: TaskRegistry.Record, _ request: APIRequest) -> Bool {
        let identity = request.identity
        if record.upid.user == identity.authID || record.upid.user == identity.userID { return true }
        return request.access.permissions.check(
            identity.authID,
            path: "/nodes/\(record.upid.node)",
            privileges: ["Sys.Audit"]
        )
    }

    static func record(_ request: APIRequest) throws -> TaskRegistry.Record {
        let text = try request.parameters.require("upid")
        guard let upid = try? UPID(validating: text) else {
            throw VireoError.parameter("upid", "unable to parse worker upid '\(text)'")
        }
        guard let record = request.services.tasks.record(upid.description) else {
            throw VireoError.notFound("no such task '\(text)'")
        }
        guard mayRead(record, request) else {
            throw VireoError(.permissionDenied, "Permission check failed (/nodes/\(upid.node), Sys.Audit)")
        }
        return record
    }

    static func register(in registry: inout APIRegistry) {
        registry.register(
            .get,
            "/nodes/{node}/tasks",
            handles: [
                "errors", "limit", "since", "source", "start", "statusfilter", "typefilter", "until", "userfilter",
                "vmid",
            ]
        ) { request in
            let p = request.parameters
            let start = p.int("start") ?? 0
            let limit = p.int("limit") ?? 50
            let errorsOnly = p.bool("errors", default: false)
            let statusFilter = Set(p.list("statusfilter"))
            let all = request.services.tasks.list().filter { record in
                guard mayRead(record, request) else { return false }
                if let userfilter = p["userfilter"], !record.upid.user.contains(userfilter) { return false }
                if let type = p["typefilter"], record.upid.type != type { return false }
                if let vmid = p["vmid"], record.upid.id != vmid { return false }
                if let since = p.int("since"), record.upid.starttime < since { return false }
                if let until = p.int("until"), record.upid.starttime > until { return false }
                if p.bool("source").map({ _ in false }) ?? false { return false }
                if p["source"] == "active", !record.isRunning { return false }
                if p["source"] == "archive", record.isRunning { return false }
                let status = record.exitStatus ?? "running"
                if errorsOnly, record.isRunning || status == "OK" || status.hasPrefix("WARNINGS") { return false }
                if !statusFilter.isEmpty {
                    let kind =
                        record.isRunning
                        ? "running" : status == "OK" ? "ok" : status.hasPrefix("WARNINGS") ? "warning" : "error"
                    if !statusFilter.contains(kind) { return false }
                }
                return true
            }
            let page = all.dropFirst(start).prefix(limit)
            return .init(.array(page.map { taskJSON($0, detail: false) }), total: all.count)
        }
        registry.register(.get, "/nodes/{node}/tasks/{upid}", handles: []) { request in
            _ = try record(request)
            return .init([["subdir": "log"], ["subdir": "status"]])
        }
        registry.register(.get, "/nodes/{node}/tasks/{upid}/status", handles: []) { request in
            .init(taskJSON(try record(request), detail: true))
        }
        registry.register(.get, "/nodes/{node}/tasks/{upid}/log", handles: ["limit", "start"]) { request in
            let task = try record(request)
            let start = request.parameters.int("start") ?? 0
            let limit = request.parameters.int("limit") ?? 50
            let (lines, total) = try request.services.tasks.log(task.upid, start: start, limit: limit)
            return .init(.array(lines.map { ["n": .int($0.0), "t": .string($0.1)] }), total: total)
        }
        registry.register(.delete, "/nodes/{node}/tasks/{upid}", handles: []) { request in
            let task = try record(request)
            let identity = request.identity
            let owner = task.upid.user == identity.authID
            guard
                owner
                    || request.access.permissions.check(
                        identity.authID,
                        path: "/nodes/\(task.upid.node)",
                        privileges: ["Sys.Modify"]
                    )
            else {
                throw VireoError(.permissionDenied, "Permission check failed (/nodes/\(task.upid.node), Sys.Modify)")
            }
            _ = request.services.tasks.stop(task.upid.description)
            return .null
        }
        registry.register(.get, "/cluster/tasks", handles: []) { request in
            let records = request.services.tasks.list().filter { mayRead($0, request) }.prefix(2000)
            var tasks = records.map { taskJSON($0, detail: false) }
            for (name, status) in try await ClusterViews.otherNodes(request) {
                tasks += ClusterViews.tasks(of: name, status: status, request: request)
            }
            // Newest first over all nodes, as Proxmox lists them.
            tasks.sort { ($0["starttime"]?.intValue ?? 0) > ($1["starttime"]?.intValue ?? 0) }
            return .init(.array(tasks))
        }
    }
}
