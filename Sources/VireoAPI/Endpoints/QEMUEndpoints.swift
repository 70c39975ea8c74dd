import Foundation
import VireoAccess
import VireoCore
import VireoQEMU
import VireoStorage
import VireoTasks

/// `/nodes/{node}/qemu`: VM configs (create, read, update with `digest`, delete), list and status.
enum QEMUEndpoints {
    /// Keys a running VM takes at once (they change nothing QEMU was given); others wait in `pending`.
    static let fastPlugKeys: Set<String> = [
        "name", "description", "onboot", "protection", "tags", "startup", "vmstatestorage", "hookscript",
    ]

    /// API parameters that steer an operation and are not config keys.
    static let controlParameters: Set<String> = [
        "node", "vmid", "start", "pool", "storage", "force", "unique", "archive", "live-restore", "bwlimit",
        "import-working-storage", "digest", "delete", "revert", "skiplock", "background_delay", "ha-managed",
    ]

    static func vmid(_ request: APIRequest) throws -> Int {
        guard let vmid = request.parameters.int("vmid") else {
            throw VireoError.parameter("vmid", "property is missing")
        }
        return vmid
    }

    static func register(in registry: inout APIRegistry) {
        registerPower(in: &registry)
        registerSnapshots(in: &registry)
        registerDiskOperations(in: &registry)
        registerShowCommand(in: &registry)
        registry.register(.get, "/nodes/{node}/qemu") { request in
            _ = try NodeEndpoints.checkNode(request)
            let items = try await listEntries(request).map { JSON.object($0.fields) }
            return .init(.array(items))
        }
        registry.register(.post, "/nodes/{node}/qemu") { request in
            _ = try NodeEndpoints.checkNode(request)
            let vmid = try vmid(request)
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
            try checkConfigPrivileges(request, vmid: vmid, changes: section, deletions: [], current: nil)
            try addGeneratedValues(&section)
            try await vms.validate(vmid: vmid, config: section)
            let validated = section
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
            }
            return .init(.string(upid.description))
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}") { request in
            _ = try NodeEndpoints.checkNode(request)
            _ = try await request.services.vms.configs.read(try vmid(request))
            return .init(.array(["config", "pending", "status"].map { ["subdir": .string($0)] }))
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}/config") { request in
            _ = try NodeEndpoints.checkNode(request)
            let (config, digest) = try await request.services.vms.configs.read(try vmid(request))
            var section = config.main
            if request.parameters.bool("current") != true, let pending = config.pending {
                for entry in pending.entries where entry.key != "delete" { try section.set(entry.key, entry.value) }
            }
            var object = configJSON(section)
            object["digest"] = .string(digest)
            return .init(.object(object))
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}/pending") { request in
            _ = try NodeEndpoints.checkNode(request)
            let (config, _) = try await request.services.vms.configs.read(try vmid(request))
            var keys = Set(config.main.keys)
            let pending = config.pending
            for key in pending?.keys ?? [] where key != "delete" { keys.insert(key) }
            let deletions = Set((pending?["delete"] ?? "").split(separator: ",").map { String($0.drop { $0 == "!" }) })
            return .init(
                .array(
                    keys.sorted().map { key in
                        var item: [String: JSON] = ["key": .string(key)]
                        if let value = config.main[key] { item["value"] = .string(value) }
                        if let value = pending?[key] { item["pending"] = .string(value) }
                        if deletions.contains(key) { item["delete"] = 1 }
                        return .object(item)
                    }
                )
            )
        }
        let update: @Sendable (APIRequest) async throws -> Void = { request in
            _ = try NodeEndpoints.checkNode(request)
            let vmid = try vmid(request)
            let vms = request.services.vms
            let changes = try configSection(from: request.parameters)
            let deletions = request.parameters.list("delete")
            let reverts = request.parameters.list("revert")
            for key in deletions where changes[key] != nil || (key == "description" && changes.description != nil) {
                throw VireoError.parameter("delete", "cannot set and delete '\(key)' at the same time")
            }
            for key in reverts where changes[key] != nil || deletions.contains(key) {
                throw VireoError.parameter("revert", "cannot set, delete and revert '\(key)' at the same time")
            }
            let running = vms.runningPID(vmid) != nil
            try await vms.configs.modify(vmid, digest: request.parameters["digest"]) { config in
                try checkConfigPrivileges(
                    request,
                    vmid: vmid,
                    changes: changes,
                    deletions: deletions,
                    current: config.main
                )
                if let lock = config.main["lock"], !request.parameters.bool("skiplock", default: false) {
                    throw VireoError.conflict("VM is locked (\(lock))")
                }
                // A stopped VM has nothing to wait for: earlier pending changes apply now.
                if !running { try config.applyPending() }
                var main = config.main
                var pending = config.pending ?? VMConfig.Section()
                let deferred = { (key: String) in running && !fastPlugKeys.contains(key) }
                for key in reverts {
                    _ = pending.remove(key)
                    try dropPendingDeletion(key, from: &pending)
                }
                for key in deletions {
                    if key == "description" {
                        main.description = nil
                    } else if deferred(key) {
                        let current = (pending["delete"] ?? "").split(separator: ",").map(String.init)
                        if !current.contains(key) {
                            try pending.set("delete", (current + [key]).joined(separator: ","))
                        }
                        _ = pending.remove(key)
                    } else {
                        try main.detachOrRemove(key)
                    }
                }
                if let description = changes.description { main.description = description }
                var nicChanges: [(key: String, old: String, new: String)] = []
                for entry in changes.entries {
                    if running, entry.key.hasPrefix("net"), let old = main[entry.key] {
                        nicChanges.append((entry.key, old, entry.value))
                    }
                    if deferred(entry.key) {
                        try pending.set(entry.key, entry.value)
                    } else {
                        try main.set(entry.key, entry.value)
                    }
                }
                try addGeneratedValues(&main, creating: false)
                try addGeneratedValues(&pending, creating: false)
                // Judge the config the VM will have once every change applies.
                var effective = VMConfig(main: main, pending: pending.isEmpty ? nil : pending)
                try effective.applyPending()
                try await vms.validate(vmid: vmid, config: effective.main)
                try await vms.allocateDisks(vmid: vmid, config: &main)
                try await vms.allocateDisks(vmid: vmid, config: &pending)
                // A NIC moved to another bridge or with its link toggled changes at once, after the
                // whole change was found valid; anything else about a NIC waits for the next start.
                for nic in nicChanges
                where try await runtime(request).updateNICLive(vmid, key: nic.key, from: nic.old, to: nic.new) {
                    try main.set(nic.key, nic.new)
                    _ = pending.remove(nic.key)
                }
                // NIC hotplug (Proxmox's default `hotplug: network,disk,usb`): a new NIC is added to the
                // running VM and a deleted one removed, instead of waiting for the next start.
                let hotplug = (main["hotplug"] ?? "network,disk,usb").split(separator: ",")
                if running, hotplug.contains("network") || hotplug.contains("1") {
                    let runtime = runtime(request)
                    for entry in changes.entries where entry.key.hasPrefix("net") && config.main[entry.key] == nil {
                        guard let value = pending[entry.key] else { continue }
                        try await runtime.hotplugNIC(vmid, key: entry.key, value: value) { _ in }
                        try main.set(entry.key, value)
                        _ = pending.remove(entry.key)
                    }
                    for key in deletions where key.hasPrefix("net") && main[key] != nil {
                        try await runtime.unplugNIC(vmid, key: key)
                        _ = main.remove(key)
                        try dropPendingDeletion(key, from: &pending)
                    }
                }
                // Disk hotplug likewise, for virtio disks and SCSI disks on an existing controller.
                if running, hotplug.contains("disk") || hotplug.contains("1") {
                    let runtime = runtime(request)
                    for entry in changes.entries where VMManager.isDiskKey(entry.key) && config.main[entry.key] == nil {
                        guard let value = pending[entry.key],
                            VMRuntime.canHotplugDisk(entry.key, value: value, current: config.main)
                        else { continue }
                        try await runtime.hotplugDisk(vmid, key: entry.key, value: value, current: config.main)
                        try main.set(entry.key, value)
                        _ = pending.remove(entry.key)
                    }
                    for key in deletions where VMManager.isDiskKey(key) && main[key] != nil {
                        guard let value = main[key], VMRuntime.canHotplugDisk(key, value: value, current: config.main)
                        else { continue }
                        try await runtime.unplugDisk(vmid, key: key)
                        try main.detachOrRemove(key)
                        try dropPendingDeletion(key, from: &pending)
                    }
                }
                config.main = main
                config.pending = pending.isEmpty ? nil : pending
            }
        }
        registry.register(.put, "/nodes/{node}/qemu/{vmid}/config") { request in
            try await update(request)
            return .null
        }
        registry.register(.post, "/nodes/{node}/qemu/{vmid}/config") { request in
            try await update(request)
            let upid = try request.services.tasks.start(
                type: "qmconfig",
                id: String(try vmid(request)),
                user: request.identity.authID
            ) {
                log in log.append("update VM \(try vmid(request)): config changed")
            }
            return .init(.string(upid.description))
        }
        registry.register(.delete, "/nodes/{node}/qemu/{vmid}") { request in
            _ = try NodeEndpoints.checkNode(request)
            let vmid = try vmid(request)
            let vms = request.services.vms
            let (config, _) = try await vms.configs.read(vmid)
            if vms.runningPID(vmid) != nil { throw VireoError.conflict("VM \(vmid) is running - destroy failed") }
            if config.main["protection"] == "1" { throw VireoError.conflict("VM \(vmid) is protected") }
            if let lock = config.main["lock"] { throw VireoError.conflict("VM is locked (\(lock))") }
            if config.main["template"] == "1", let clone = try await linkedCloneUsing(config.main, vms: vms) {
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
                if purge {
                    try await request.services.access.modifyUsers { users in
                        users.acl.removeAll { $0.path == "/vms/\(vmid)" }
                        for pool in users.pools.keys { users.pools[pool]?.vms.removeAll { $0 == vmid } }
                    }
                }
                log.append("VM \(vmid) destroyed")
            }
            return .init(.string(upid.description))
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}/status") { request in
            _ = try NodeEndpoints.checkNode(request)
            _ = try await request.services.vms.configs.read(try vmid(request))
            let names = ["current", "reboot", "reset", "resume", "shutdown", "start", "stop", "suspend"]
            return .init(.array(names.map { ["subdir": .string($0)] }))
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}/status/current") { request in
            _ = try NodeEndpoints.checkNode(request)
            let vmid = try vmid(request)
            let vms = request.services.vms
            let (config, _) = try await vms.configs.read(vmid)
            var object = statusFields(vmid: vmid, config: config.main, pid: vms.runningPID(vmid), vms: vms)
            if let live = await runtime(request).liveStatus(vmid) {
                object["qmpstatus"] = .string(live.status)
                object["diskread"] = .int(live.diskRead)
                object["diskwrite"] = .int(live.diskWritten)
            }
            object["ha"] = ["managed": 0]
            object["agent"] = .flag(config.main["agent"].map { $0.hasPrefix("1") || $0.contains("enabled=1") } ?? false)
            return .init(.object(object))
        }
    }

    // MARK: - Helpers

    /// Takes `key` off the pending section's `delete` list.
    static func dropPendingDeletion(_ key: String, from pending: inout VMConfig.Section) throws {
        let kept = (pending["delete"] ?? "").split(separator: ",").filter { $0.drop { $0 == "!" } != key }
        if kept.isEmpty { _ = pending.remove("delete") } else { try pending.set("delete", kept.joined(separator: ",")) }
    }

    /// The per-key privileges of a config change (Proxmox checks them after the endpoint's "any
    /// VM.Config.*"), and `Datastore.AllocateSpace` for every disk to be allocated.
    static func checkConfigPrivileges(
        _ request: APIRequest,
        vmid: Int,
        changes: VMConfig.Section,
        deletions: [String],
        current: VMConfig.Section?
    ) throws {
        let identity = request.identity
        let permissions = request.access.permissions
        var keys = changes.entries.map { ($0.key, Optional($0.value)) }
        keys += deletions.map { ($0, current?[$0]) }
        if changes.description != nil { keys.append(("description", nil)) }
        for (key, value) in keys {
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
    ) async throws -> (vmid: Int, base: String)? {
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

    /// What Proxmox fills in: MAC addresses, SMBIOS UUID, VM generation ID, creation meta.
    static func addGeneratedValues(_ section: inout VMConfig.Section, creating: Bool = true) throws {
        for entry in section.entries where entry.key.hasPrefix("net") {
            guard var net = try? PropertyString(parsing: entry.value) else { continue }
            let hasMAC = net["macaddr"] != nil || net.entries.contains { $0.value.contains(":") && $0.key != "bridge" }
            if !hasMAC {
                let model = net.defaultValue ?? net["model"] ?? "virtio"
                let mac = VMManager.randomMAC()
                var rebuilt = try PropertyString(defaultValue: nil, [:])
                try rebuilt.set(model, to: mac)
                for item in net.entries where item.key != "model" { try rebuilt.set(item.key, to: item.value) }
                net = rebuilt
                try section.set(entry.key, net.description)
            }
        }
        guard creating else { return }
        if section["smbios1"] == nil { try section.set("smbios1", "uuid=\(UUID().uuidString.lowercased())") }
        if section["vmgenid"] == nil || section["vmgenid"] == "1" {
            try section.set("vmgenid", UUID().uuidString.lowercased())
        }
        if section["meta"] == nil {
            try section.set("meta", "creation-qemu=vireo,ctime=\(Int(Date().timeIntervalSince1970))")
        }
    }

    static func configJSON(_ section: VMConfig.Section) -> [String: JSON] {
        var object: [String: JSON] = [:]
        let integers: Set<String> = [
            "cores", "sockets", "vcpus", "balloon", "cpuunits", "template", "kvm", "onboot", "acpi", "tablet",
            "protection", "numa", "cpulimit",
        ]
        for entry in section.entries {
            if integers.contains(entry.key), let number = Int(entry.value) {
                object[entry.key] = .int(number)
            } else {
                object[entry.key] = .string(entry.value)
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
        vmid: Int, config: VMConfig.Section, fields: [String: JSON]
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

    static func statusFields(vmid: Int, config: VMConfig.Section, pid: Int?, vms: VMManager) -> [String: JSON] {
        let memory = VMManager.memoryMiB(config)
        let sockets = Int(config["sockets"] ?? "1") ?? 1
        let cores = Int(config["cores"] ?? "1") ?? 1
        var maxdisk = 0
        if let bootDisk = ["scsi0", "virtio0", "sata0", "ide0"].compactMap({ config[$0] }).first(where: {
            !$0.contains("media=cdrom")
        }),
            let size = (try? PropertyString(parsing: bootDisk))?["size"], let bytes = ByteSize(size)
        {
            maxdisk = bytes.bytes
        }
        let cpus = Int(config["vcpus"] ?? "") ?? sockets * cores
        let figures = pid.map { vms.stats.figures(vmid: vmid, pid: $0, cpus: cpus) }
        var object: [String: JSON] = [
            "vmid": .int(vmid), "name": .string(config["name"] ?? "VM \(vmid)"),
            "status": pid == nil ? "stopped" : "running", "cpus": .int(cpus),
            "maxmem": .int(memory * 1024 * 1024), "mem": .int(figures?.mem ?? 0), "maxdisk": .int(maxdisk),
            "disk": 0, "cpu": .double(figures?.cpu ?? 0), "netin": .int(figures?.netin ?? 0),
            "netout": .int(figures?.netout ?? 0), "diskread": 0, "diskwrite": 0,
            "uptime": .int(pid.map(VMManager.uptime) ?? 0),
        ]
        object["qmpstatus"] = object["status"]
        if let pid { object["pid"] = .int(pid) }
        if config["template"] == "1" { object["template"] = 1 }
        if let lock = config["lock"] { object["lock"] = .string(lock) }
        if let tags = config["tags"] { object["tags"] = .string(tags) }
        return object
    }
}
