import VireoAccess
import VireoCore
import VireoQEMU
import VireoStorage
import VireoTasks

/// `clone`, `template`, `resize`, `move_disk` and `unlink` of `/nodes/{node}/qemu/{vmid}`.
extension QEMUEndpoints {
    static func diskOperations(_ request: APIRequest) -> VMDiskOperations {
        VMDiskOperations(runtime: runtime(request))
    }

    static func registerDiskOperations(in registry: inout APIRegistry) {
        let base = "/nodes/{node}/qemu/{vmid}"
        registry.register(.post, base + "/template", handles: ["disk"]) { request in
            if let disk = request.parameters["disk"] {
                throw VireoError.parameter(
                    "disk",
                    "converting only '\(disk)' is not supported by Vireo - convert the whole VM"
                )
            }
            let operations = diskOperations(request)
            return try await vmTask(request, type: "qmtemplate") { vmid, log in
                try await operations.template(vmid) { log.append($0) }
            }
        }
        registry.register(
            .post,
            base + "/clone",
            handles: ["description", "format", "full", "name", "newid", "pool", "snapname", "storage", "target"]
        ) { request in
            let p = request.parameters
            let newid = try p.vmid("newid")
            if let target = p["target"], target != request.services.vms.node, target != "localhost" {
                throw VireoError.parameter("target", "cloning to another node is not supported by Vireo yet")
            }
            if p["snapname"] != nil {
                throw VireoError.parameter("snapname", "cloning from a snapshot is not supported by Vireo yet")
            }
            let vms = request.services.vms
            if try await vms.configs.all().contains(where: { $0.vmid == newid }) {
                throw VireoError.parameter("newid", "VM \(newid) already exists")
            }
            if let storage = p["storage"] { _ = try await vms.storage.definition(storage) }
            let clone = VMDiskOperations.CloneRequest(
                newid: newid,
                name: p["name"],
                description: p["description"],
                full: p.bool("full"),
                storage: p["storage"],
                format: p["format"]
            )
            let operations = diskOperations(request)
            try await operations.checkClone(try request.parameters.vmid(), clone)
            let pool = p["pool"]
            let access = request.services.access
            // Tasks run detached: the clone's new MACs get the cluster's prefix explicitly.
            let macPrefix = try await clusterMACPrefix(request)
            return try await vmTask(request, type: "qmclone") { vmid, log in
                try await VMConfigDefaults.$macPrefix.withValue(macPrefix) {
                    try await operations.clone(vmid, clone) { log.append($0) }
                }
                if let pool {
                    try await access.modifyUsers { users in
                        guard users.pools[pool] != nil else {
                            throw VireoError.parameter("pool", "pool '\(pool)' does not exist")
                        }
                        users.pools[pool]?.vms.append(newid.value)
                    }
                }
                log.append("VM \(newid) created as a clone of VM \(vmid)")
            }
        }
        registry.register(.put, base + "/resize", handles: ["digest", "disk", "size", "skiplock"]) { request in
            let p = request.parameters
            let disk = try p.require("disk")
            let size = try p.require("size")
            let digest = p["digest"]
            let skipLock = p.bool("skiplock", default: false)
            let operations = diskOperations(request)
            return try await vmTask(request, type: "qmresize") { vmid, log in
                try await operations.resize(vmid, disk: disk, size: size, digest: digest, skipLock: skipLock) {
                    log.append($0)
                }
            }
        }
        registry.register(
            .post,
            base + "/move_disk",
            handles: ["delete", "digest", "disk", "format", "storage", "target-disk", "target-vmid"]
        ) { request in
            let p = request.parameters
            if p["target-vmid"] != nil || p["target-disk"] != nil {
                throw VireoError.parameter(
                    "target-vmid",
                    "reassigning a disk to another VM is not supported by Vireo yet"
                )
            }
            let disk = try p.require("disk")
            guard let storage = p["storage"] else { throw VireoError.parameter("storage", "property is missing") }
            _ = try await request.services.vms.storage.definition(storage)
            let format = p["format"]
            let delete = p.bool("delete", default: false)
            let digest = p["digest"]
            let operations = diskOperations(request)
            return try await vmTask(request, type: "qmmove") { vmid, log in
                try await operations.moveDisk(
                    vmid,
                    disk: disk,
                    storage: storage,
                    format: format,
                    delete: delete,
                    digest: digest
                ) { log.append($0) }
            }
        }
        registry.register(.put, base + "/unlink", handles: ["force", "idlist"]) { request in
            let keys = request.parameters.list("idlist")
            guard !keys.isEmpty else { throw VireoError.parameter("idlist", "property is missing") }
            try await diskOperations(request).unlink(
                try request.parameters.vmid(),
                keys: keys,
                force: request.parameters.bool("force", default: false)
            )
            return .null
        }
    }
}
