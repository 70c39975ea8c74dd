import VireoCore
import VireoQEMU
import VireoStorage
import VireoTasks

/// `/nodes/{node}/qemu/{vmid}/snapshot`: list, create (with or without RAM state), per-snapshot
/// config, rollback and delete.
extension QEMUEndpoints {
    static func snapshots(_ request: APIRequest) -> VMSnapshots { VMSnapshots(runtime: runtime(request)) }

    static func snapshotName(_ request: APIRequest) throws -> String { try request.parameters.require("snapname") }

    static func registerSnapshots(in registry: inout APIRegistry) {
        let base = "/nodes/{node}/qemu/{vmid}/snapshot"
        registry.register(.get, base, handles: []) { request in
            let vmid = try request.parameters.vmid()
            let (config, digest) = try await request.services.vms.configs.read(vmid)
            var items: [JSON] = config.snapshots.map { snapshot in
                var item: [String: JSON] = ["name": .string(snapshot.name)]
                let section = snapshot.section
                item["description"] = .string(section.description ?? "")
                if let time = section["snaptime"].flatMap(Int.init) { item["snaptime"] = .int(time) }
                item["vmstate"] = .flag(section["vmstate"] != nil)
                if let parent = section["parent"] { item["parent"] = .string(parent) }
                if let state = section["snapstate"] { item["snapstate"] = .string(state) }
                return .object(item)
            }
            var current: [String: JSON] = [
                "name": "current", "description": "You are here!", "digest": .string(digest),
                "running": .flag(request.services.vms.runningPID(vmid) != nil),
            ]
            if let parent = config.main["parent"] { current["parent"] = .string(parent) }
            items.append(.object(current))
            return .init(.array(items))
        }
        registry.register(.post, base, handles: ["description", "snapname", "vmstate"]) { request in
            let name = try snapshotName(request)
            if name == "current" || name == "pending" {
                throw VireoError.parameter("snapname", "unable to use snapshot name '\(name)' (reserved name)")
            }
            // Checked here too, so a plain mistake gets its 400 instead of a failed task.
            let (config, _) = try await request.services.vms.configs.read(try request.parameters.vmid())
            if config[snapshot: name] != nil {
                throw VireoError.parameter("snapname", "snapshot name '\(name)' already used")
            }
            if let lock = config.main.lock { throw VireoError.conflict("VM is locked (\(lock))") }
            let vmstate = request.parameters.bool("vmstate", default: false)
            let description = request.parameters["description"]
            let snapshots = snapshots(request)
            return try await vmTask(request, type: "qmsnapshot") { vmid, log in
                try await snapshots.create(vmid, name: name, vmstate: vmstate, description: description) {
                    log.append($0)
                }
            }
        }
        registry.register(.get, base + "/{snapname}", handles: []) { request in
            _ = try await existingSnapshot(request)
            return .init(.array(["config", "rollback"].map { ["subdir": .string($0)] }))
        }
        registry.register(.get, base + "/{snapname}/config", handles: []) { request in
            var object = configJSON(try await existingSnapshot(request))
            object["description"] = object["description"] ?? ""
            return .init(.object(object))
        }
        registry.register(.put, base + "/{snapname}/config", handles: ["description"]) { request in
            _ = try await existingSnapshot(request)
            let name = try snapshotName(request)
            try await request.services.vms.configs.modify(try request.parameters.vmid()) { config in
                guard var section = config[snapshot: name] else {
                    throw VireoError.notFound("snapshot '\(name)' does not exist")
                }
                if let description = request.parameters["description"] { section.description = description }
                try config.setSnapshot(name, section)
            }
            return .null
        }
        registry.register(.post, base + "/{snapname}/rollback", handles: ["start"]) { request in
            let name = try snapshotName(request)
            _ = try await existingSnapshot(request)
            let start = request.parameters.bool("start", default: false)
            let snapshots = snapshots(request)
            return try await vmTask(request, type: "qmrollback") { vmid, log in
                try await snapshots.rollback(vmid, name: name, start: start) { log.append($0) }
            }
        }
        registry.register(.delete, base + "/{snapname}", handles: ["force"]) { request in
            let name = try snapshotName(request)
            _ = try await existingSnapshot(request)
            let force = request.parameters.bool("force", default: false)
            let snapshots = snapshots(request)
            return try await vmTask(request, type: "qmdelsnapshot") { vmid, log in
                try await snapshots.delete(vmid, name: name, force: force) { log.append($0) }
            }
        }
    }

    /// The snapshot's section; 404 when the VM or the snapshot does not exist.
    static func existingSnapshot(_ request: APIRequest) async throws -> VMConfig.Section {
        let name = try snapshotName(request)
        let (config, _) = try await request.services.vms.configs.read(try request.parameters.vmid())
        guard let section = config[snapshot: name] else {
            throw VireoError.notFound("snapshot '\(name)' does not exist")
        }
        return section
    }
}
