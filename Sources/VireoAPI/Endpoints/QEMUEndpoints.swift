import Foundation
import VireoAccess
import VireoCore
import VireoHost
import VireoQEMU
import VireoStorage
import VireoStore
import VireoTasks

/// `/nodes/{node}/qemu`: VM configs (create, read, update with `digest`, delete), list and status.
enum QEMUEndpoints {
    /// API parameters that steer an operation and are not config keys.
    static let controlParameters: Set<String> = [
        "node", "vmid", "start", "pool", "storage", "force", "unique", "archive", "live-restore", "bwlimit",
        "import-working-storage", "digest", "delete", "revert", "skiplock", "background_delay", "ha-managed",
    ]

    /// Creating a VM: every config key, and the steering parameters it acts on (`pool`, `start`).
    static let createParameters = HandledParameters.all(except: [
        "archive", "bwlimit", "force", "ha-managed", "import-working-storage", "live-restore", "storage", "unique",
    ])
    /// Changing a VM's config: every config key with `delete`, `revert`, `digest` and `skiplock`.
    static let updateParameters = HandledParameters.all(except: ["background_delay"])

    static func register(in registry: inout APIRegistry) {
        registerPower(in: &registry)
        registerSnapshots(in: &registry)
        registerFeatures(in: &registry)
        registerAgent(in: &registry)
        registerCloudInit(in: &registry)
        registerDiskOperations(in: &registry)
        registerShowCommand(in: &registry)
        registry.register(.get, "/nodes/{node}/qemu", handles: ["full"]) { request in
            let items = try await listEntries(request).map { JSON.object($0.fields) }
            return .init(.array(items))
        }
        registry.register(.post, "/nodes/{node}/qemu", handles: QEMUEndpoints.createParameters) { request in
            let vmid = try request.parameters.vmid()
            let identity = request.identity
            guard
                request.access.permissions.check(identity.authID, path: "/vms/\(vmid)", privileges: ["VM.Allocate"])
                    || (request.parameters["pool"].map {
                        request.access.permissions.check(
                            identity.authID,
                            path: "/pool/\($0)",
                            privileges: ["VM.Allocate"]
                        )
                    } ?? false)
            else { throw VireoError(.permissionDenied, "Permission check failed (/vms/\(vmid), VM.Allocate)") }
            let vms = request.services.vms
            if try await vms.configs.all().contains(where: { $0.vmid == vmid }) {
                throw VireoError.parameter("vmid", "VM \(vmid) already exists")
            }
            var section = try configSection(from: request.parameters)
            try hashCloudInitPassword(&section, ostype: request.parameters["ostype"])
            try checkConfigPrivileges(request, vmid: vmid, update: try VMConfigUpdate(changes: section), current: nil)
            try await withClusterMACPrefix(request) { try VMConfigDefaults.addGenerated(to: &section) }
            try await vms.validate(vmid: vmid, config: section)
            let validated = section
            let pool = request.parameters.optionalPool("pool")
            let startAfterCreate = request.parameters.bool("start", default: false)
            let access = request.services.access
            let runtime = runtime(request)
            let upid = try request.services.tasks.start(type: "qmcreate", id: String(vmid), user: identity.authID) {
                log in
                var config = validated
                try await vms.allocateDisks(vmid: vmid, config: &config)
                do {
                    try await vms.configs.create(vmid, config: VMConfig(main: config))
                } catch {
                    for volid in VMManager.ownedVolumes(vmid: vmid, config: VMConfig(main: config)) {
                        try? await vms.free(volid)
                    }
                    throw error
                }
                log.append("VM \(vmid) created")
                if let pool {
                    try await access.modifyUsers { users in
                        guard users.pools[pool.description] != nil else {
                            throw VireoError.parameter("pool", "pool '\(pool)' does not exist")
                        }
                        users.pools[pool.description]?.vms.append(vmid.value)
                    }
                    log.append("VM \(vmid) added to pool '\(pool)'")
                }
                if startAfterCreate {
                    try await runtime.start(vmid) { log.append($0) }
                }
            }
            return .init(.string(upid.description))
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}", handles: []) { request in
            _ = try await request.services.vms.configs.read(try request.parameters.vmid())
            return .init(.array(["config", "pending", "status"].map { ["subdir": .string($0)] }))
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}/config", handles: ["current"]) { request in
            let (config, digest) = try await request.services.vms.configs.read(try request.parameters.vmid())
            var section = config.main
            if request.parameters.bool("current") != true, let pending = config.pending {
                for entry in pending.entries where entry.key != "delete" { try section.set(entry.key, entry.value) }
            }
            var object = configJSON(section)
            object["digest"] = .string(digest)
            return .init(.object(object))
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}/pending", handles: []) { request in
            let (config, _) = try await request.services.vms.configs.read(try request.parameters.vmid())
            var keys = Set(config.main.keys)
            let pending = config.pending
            for key in pending?.keys ?? [] where key != "delete" { keys.insert(key) }
            let deletions = Set(pending?.pendingDeletions.map(\.key) ?? [])
            return .init(
                .array(
                    keys.sorted().map { key in
                        var item: [String: JSON] = ["key": .string(key)]
                        if let value = config.main[key] { item["value"] = .string(masked(key, value)) }
                        if let value = pending?[key] { item["pending"] = .string(masked(key, value)) }
                        if deletions.contains(key) { item["delete"] = 1 }
                        return .object(item)
                    }
                )
            )
        }
        let update: @Sendable (APIRequest) async throws -> Void = { request in
            let vmid = try request.parameters.vmid()
            var changes = try configSection(from: request.parameters)
            if changes["cipassword"] != nil {
                var ostype = request.parameters["ostype"]
                if ostype == nil { ostype = try await request.services.vms.configs.read(vmid).config.main["ostype"] }
                try hashCloudInitPassword(&changes, ostype: ostype)
            }
            let update = try VMConfigUpdate(
                changes: changes,
                deletions: request.parameters.list("delete"),
                reverts: request.parameters.list("revert")
            )
            try await withClusterMACPrefix(request) {
                try await VMConfigUpdater(runtime: runtime(request)).update(
                    vmid,
                    update,
                    digest: request.parameters["digest"],
                    skipLock: request.parameters.bool("skiplock", default: false)
                ) { current in
                    try checkConfigPrivileges(request, vmid: vmid, update: update, current: current)
                }
            }
        }
        registry.register(.put, "/nodes/{node}/qemu/{vmid}/config", handles: QEMUEndpoints.updateParameters) {
            request in
            try await update(request)
            return .null
        }
        registry.register(.post, "/nodes/{node}/qemu/{vmid}/config", handles: QEMUEndpoints.updateParameters) {
            request in
            try await update(request)
            let upid = try request.services.tasks.start(
                type: "qmconfig",
                id: String(try request.parameters.vmid()),
                user: request.identity.authID
            ) {
                log in log.append("update VM \(try request.parameters.vmid()): config changed")
            }
            return .init(.string(upid.description))
        }
        registry.register(.delete, "/nodes/{node}/qemu/{vmid}", handles: ["purge", "skiplock"]) { request in
            let vmid = try request.parameters.vmid()
            let vms = request.services.vms
            let (config, _) = try await vms.configs.read(vmid)
            if vms.runningPID(vmid) != nil { throw VireoError.conflict("VM \(vmid) is running - destroy failed") }
            if config.main.isProtected { throw VireoError.conflict("VM \(vmid) is protected") }
            if let lock = config.main.lock, !request.parameters.bool("skiplock", default: false) {
                throw VireoError.conflict("VM is locked (\(lock))")
            }
            if config.main.isTemplate, let clone = try await linkedCloneUsing(config.main, vms: vms) {
                throw VireoError.conflict(
                    "base volume '\(clone.base)' is still in use by linked clone VM \(clone.vmid)"
                )
            }
            let purge = request.parameters.bool("purge", default: false)
            let upid = try request.services.tasks.start(
                type: "qmdestroy",
                id: String(vmid),
                user: request.identity.authID
            ) {
                log in
                for volid in VMManager.ownedVolumes(vmid: vmid, config: config) {
                    do {
                        try await vms.free(volid)
                        log.append("Removed volume '\(volid)'")
                    } catch {
                        log.warn("could not remove volume '\(volid)': \(error)")
                    }
                }
                try await vms.configs.delete(vmid)
                // Its firewall file goes with it, as in Proxmox (a new VM with this ID starts clean).
                if try await request.services.store.read("firewall/\(vmid).fw") != nil {
                    try await request.services.store.delete("firewall/\(vmid).fw", condition: .any)
                }
                // And its own event history (the node's keeps its lines): a new VM starts with none.
                vms.events?.forget(vmid)
                if purge {
                    try await request.services.access.modifyUsers { users in
                        users.acl.removeAll { $0.path == "/vms/\(vmid)" }
                        for pool in users.pools.keys { users.pools[pool]?.vms.removeAll { $0 == vmid.value } }
                    }
                }
                log.append("VM \(vmid) destroyed")
            }
            return .init(.string(upid.description))
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}/status", handles: []) { request in
            _ = try await request.services.vms.configs.read(try request.parameters.vmid())
            let names = ["current", "reboot", "reset", "resume", "shutdown", "start", "stop", "suspend"]
            return .init(.array(names.map { ["subdir": .string($0)] }))
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}/status/current", handles: []) { request in
            let vmid = try request.parameters.vmid()
            let vms = request.services.vms
            let (config, _) = try await vms.configs.read(vmid)
            var object = statusFields(vmid: vmid, config: config.main, pid: vms.runningPID(vmid), vms: vms)
            if let live = await runtime(request).liveStatus(vmid) {
                object["qmpstatus"] = .string(live.status)
                object["diskread"] = .int(live.diskRead)
                object["diskwrite"] = .int(live.diskWritten)
            }
            object["ha"] = ["managed": 0]
            object["agent"] = .flag(config.main.agentEnabled)
            return .init(.object(object))
        }
    }

    // MARK: - Helpers

    /// The per-key privileges of a config change (Proxmox checks them after the endpoint's "any
    /// VM.Config.*"), and `Datastore.AllocateSpace` for every disk to be allocated.
    static func checkConfigPrivileges(
        _ request: APIRequest,
        vmid: VMID,
        update: VMConfigUpdate,
        current: VMConfig.Section?
    ) throws {
        let identity = request.identity
        let permissions = request.access.permissions
        for (key, value) in update.touchedKeys(current: current) {
            guard let privilege = VMConfigPrivileges.required(for: key, value: value) else {
                guard identity.userID == "root@pam" else {
                    throw VireoError(.permissionDenied, "only root can set '\(key)' config")
                }
                continue
            }
            guard permissions.check(identity.authID, path: "/vms/\(vmid)", privileges: [privilege]) else {
                throw VireoError(.permissionDenied, "Permission check failed (/vms/\(vmid), \(privilege))")
            }
            if let value, VMManager.isDiskKey(key), let allocation = try? DiskAllocation(key: key, value: value) {
                let path = "/storage/\(allocation.storage)"
                guard permissions.check(identity.authID, path: path, privileges: ["Datastore.AllocateSpace"]) else {
                    throw VireoError(.permissionDenied, "Permission check failed (\(path), Datastore.AllocateSpace)")
                }
            }
        }
    }

    /// A VM whose disk is a linked clone of one of this template's base images.
    static func linkedCloneUsing(
        _ template: VMConfig.Section,
        vms: VMManager
    ) async throws -> (vmid: VMID, base: String)? {
        let bases = template.disks.map { ($0.volid, "\($0.storage):" + $0.volname + "/") }
        for (vmid, config) in try await vms.configs.readAllOnNode() {
            for section in [config.main] + config.snapshots.map(\.section) {
                for disk in section.disks {
                    if let base = bases.first(where: { disk.volid.hasPrefix($0.1) }) { return (vmid, base.0) }
                }
            }
        }
        return nil
    }

    /// The config keys among the parameters, in parameter order sorted by key.
    static func configSection(from parameters: Parameters) throws -> VMConfig.Section {
        var section = VMConfig.Section()
        for given in parameters.values.keys.sorted() where !controlParameters.contains(given) {
            guard let givenValue = parameters.values[given], !givenValue.isEmpty else { continue }
            let (key, value) = VMManager.canonicalEntry(key: given, value: givenValue)
            if key == "hookscript" {
                throw VireoError.parameter(key, "hook scripts are not supported by Vireo (it would never run them)")
            }
            if key == "description" {
                section.description = value
                continue
            }
            do { try section.set(key, value) } catch let error as VireoError {
                throw VireoError.parameter(given, error.message)
            }
        }
        return section
    }

    /// Runs `body` with the cluster's MAC prefix (datacenter.cfg `mac_prefix`) for the NICs it makes.
    static func withClusterMACPrefix<T>(_ request: APIRequest, _ body: () async throws -> T) async throws -> T {
        try await VMConfigDefaults.$macPrefix.withValue(try await clusterMACPrefix(request), operation: body)
    }

    static func clusterMACPrefix(_ request: APIRequest) async throws -> String {
        try await DatacenterConfig.read(request.services.store)["mac_prefix"] ?? VMConfigDefaults.defaultMACPrefix
    }

    /// Proxmox stores a cloud-init password as a SHA-256 crypt hash, except for Windows guests
    /// (cloudbase-init needs it in clear); a value that is a hash already stays as it is.
    static func hashCloudInitPassword(_ section: inout VMConfig.Section, ostype: String?) throws {
        guard let password = section["cipassword"], !PasswordHasher.looksHashed(password) else { return }
        let windows = ["wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11"].contains(ostype ?? "")
        if !windows { try section.set("cipassword", try PasswordHasher.sha256Crypt(password)) }
    }

    /// What the API shows of a secret config value.
    static func masked(_ key: String, _ value: String) -> String { key == "cipassword" ? "**********" : value }

    static func configJSON(_ section: VMConfig.Section) -> [String: JSON] {
        var object: [String: JSON] = [:]
        let integers: Set<String> = [
            "cores", "sockets", "vcpus", "balloon", "cpuunits", "template", "kvm", "onboot", "acpi", "tablet",
            "protection", "numa", "cpulimit",
        ]
        for entry in section.entries {
            if integers.contains(entry.key), let number = section.integer(entry.key) {
                object[entry.key] = .int(number)
            } else {
                object[entry.key] = .string(masked(entry.key, entry.value))
            }
        }
        if let description = section.description { object["description"] = .string(description) }
        return object
    }

    /// The fields a VM has in `/nodes/{node}/qemu` and `status/current`.
    /// The VMs of this node the caller may audit, with their list fields: one store read and one
    /// look at the run directory for all of them.
    static func listEntries(
        _ request: APIRequest
    ) async throws -> [(
        vmid: VMID, config: VMConfig.Section, fields: [String: JSON]
    )] {
        let vms = request.services.vms
        let running = vms.runningPIDs()
        let permissions = request.access.permissions
        let authID = request.identity.authID
        return try await vms.configs.readAllOnNode().compactMap { vmid, config in
            guard permissions.check(authID, path: "/vms/\(vmid)", privileges: ["VM.Audit"]) else { return nil }
            return (vmid, config.main, statusFields(vmid: vmid, config: config.main, pid: running[vmid], vms: vms))
        }
    }

    static func statusFields(vmid: VMID, config: VMConfig.Section, pid: Int?, vms: VMManager) -> [String: JSON] {
        let memory = config.memoryMiB
        let maxdisk = config.bootDiskBytes
        let cpus = config.cpuCount
        let figures = pid.map { vms.stats.figures(vmid: vmid, pid: $0, cpus: cpus) }
        var object: [String: JSON] = [
            "vmid": .int(vmid.value), "name": .string(config.name ?? "VM \(vmid)"),
            "status": pid == nil ? "stopped" : "running", "cpus": .int(cpus),
            "maxmem": .int(memory * 1024 * 1024), "mem": .int(figures?.mem ?? 0), "maxdisk": .int(maxdisk),
            "disk": 0, "cpu": .double(figures?.cpu ?? 0), "netin": .int(figures?.netin ?? 0),
            "netout": .int(figures?.netout ?? 0), "diskread": 0, "diskwrite": 0,
            "uptime": .int(pid.map(VMManager.uptime) ?? 0),
        ]
        object["qmpstatus"] = object["status"]
        if let pid { object["pid"] = .int(pid) }
        if config.isTemplate { object["template"] = 1 }
        if let lock = config.lock { object["lock"] = .string(lock) }
        if let tags = config.tags { object["tags"] = .string(tags) }
        return object
    }
}
