import Foundation
import VireoAccess
import VireoCore
import VireoHost
import VireoQEMU
import VireoStorage
import VireoTasks

/// `/nodes/{node}/disks/*`: the node's disks, and the storages Proxmox makes on them.
extension NodeEndpoints {
    static func registerDisks(in registry: inout APIRegistry) {
        registry.registerIndex("/nodes/{node}/disks", key: "name")
        registry.register(.get, "/nodes/{node}/disks/list", handles: ["include-partitions", "skipsmart", "type"]) {
            request in
            let p = request.parameters
            let devices = try await BlockDevices.read(request.services.host.runner)
            let users = try await diskUsers(request, devices)
            var items: [JSON] = []
            for disk in devices.disks {
                let used = users[disk.path] ?? devices.usage(of: disk)
                if p["type"] == "unused", used != nil { continue }
                if p["type"] == "journal_disks" { continue }
                items.append(.object(diskFields(disk, used: used, devices: devices)))
                if p.bool("include-partitions", default: false) {
                    for part in devices.partitions(of: disk) {
                        var fields = diskFields(part, used: users[part.path] ?? part.fstype, devices: devices)
                        fields["type"] = "partition"
                        fields["parent"] = .string(disk.path)
                        items.append(.object(fields))
                    }
                }
            }
            return .init(.array(items))
        }
        registry.register(.get, "/nodes/{node}/disks/smart", handles: ["disk", "healthonly"]) { request in
            let (disk, _) = try await request.services.host.wholeDisk(try request.parameters.require("disk"))
            return .init(
                .object(
                    try await smart(request, disk, healthOnly: request.parameters.bool("healthonly", default: false))
                )
            )
        }
        registry.register(.post, "/nodes/{node}/disks/initgpt", handles: ["disk", "uuid"]) { request in
            let p = request.parameters
            let host = request.services.host
            let (disk, devices) = try await host.wholeDisk(try p.require("disk"))
            if let uuid = p["uuid"], UUID(uuidString: uuid) == nil {
                throw VireoError.parameter("uuid", "invalid UUID '\(uuid)'")
            }
            try await refuseUsed(request, disk, devices)
            if let use = devices.hostUse(of: disk) ?? devices.usage(of: disk) {
                throw VireoError.conflict("disk \(disk.path) already in use (\(use))")
            }
            let upid = try request.services.tasks.start(type: "diskinit", id: disk.name, user: request.identity.authID)
            {
                log in
                log.append("initializing a GPT on \(disk.path)")
                try await host.initializeGPT(disk, in: devices, uuid: p["uuid"])
            }
            return .init(.string(upid.description))
        }
        registry.register(.put, "/nodes/{node}/disks/wipedisk", handles: ["disk"]) { request in
            let host = request.services.host
            let path = try request.parameters.require("disk")
            let devices = try await BlockDevices.read(host.runner)
            let (disk, _) = try await host.wholeDisk(path)
            try await refuseUsed(request, disk, devices)
            for device in [disk] + devices.partitions(of: disk) {
                if !device.mountpoints.isEmpty {
                    throw VireoError.conflict("disk/partition '\(device.path)' is mounted")
                }
            }
            let upid = try request.services.tasks.start(type: "wipedisk", id: disk.name, user: request.identity.authID)
            {
                log in
                log.append("wiping \(disk.path)")
                try await host.wipe(disk, in: devices) { log.append($0) }
            }
            return .init(.string(upid.description))
        }
        registerDirectoryStorage(in: &registry)
        registerVolumeManagers(in: &registry)
    }

    static func diskFields(_ disk: BlockDevice, used: String?, devices: BlockDevices) -> [String: JSON] {
        var fields: [String: JSON] = [
            "devpath": .string(disk.path), "size": .int(disk.size), "vendor": .string(disk.vendor ?? "unknown"),
            "model": .string(disk.model ?? ""), "serial": .string(disk.serial ?? "unknown"),
            "gpt": .flag(disk.partitionTable == "gpt"), "rpm": .int(disk.rotational ? -1 : 0),
            "type": .string(
                disk.transport == "usb" ? "usb" : disk.transport == "nvme" ? "nvme" : disk.rotational ? "hdd" : "ssd"
            ),
            "wwn": .string(disk.wwn ?? "unknown"), "health": "UNKNOWN", "wearout": "N/A", "osdid": -1,
            "mounted": .flag(!disk.mountpoints.isEmpty), "osdid-list": [],
        ]
        if disk.type == "loop" { fields["type"] = "unknown" }
        if let used { fields["used"] = .string(used) }
        return fields
    }

    /// What Vireo itself has on each device: VM disks passed through by path, storages whose
    /// path is a mount of the device.
    static func diskUsers(_ request: APIRequest, _ devices: BlockDevices) async throws -> [String: String] {
        var users: [String: String] = [:]
        let (configs, _) = try await request.services.vms.configs.loadAllOnNode()
        for loaded in configs {
            for entry in loaded.config.main.entries where VMManager.isDiskKey(entry.key) {
                // `scsi1: /dev/sdb,…` or `file=/dev/sdb`: the drive's path, compared whole.
                guard let drive = try? PropertyString(parsing: entry.value),
                    let path = drive.defaultValue ?? drive["file"], path.hasPrefix("/dev/"),
                    let device = devices.device(path: path)
                else { continue }
                let owner = device.parent.flatMap { name in devices.devices.first { $0.name == name } } ?? device
                users[owner.path] = "VM \(loaded.vmid) (\(entry.key))"
            }
        }
        for definition in try await request.services.storage.definitions() {
            guard let path = definition.path else { continue }
            for device in devices.devices where device.mountpoints.contains(where: { path.hasPrefix($0) && $0 != "/" })
            {
                let owner = device.parent.flatMap { name in devices.devices.first { $0.name == name } } ?? device
                users[owner.path] = "storage '\(definition.id)'"
            }
        }
        return users
    }

    static func refuseUsed(_ request: APIRequest, _ disk: BlockDevice, _ devices: BlockDevices) async throws {
        if let user = try await diskUsers(request, devices)[disk.path] {
            throw VireoError.conflict("disk \(disk.path) is used by \(user)")
        }
    }

    static func smart(_ request: APIRequest, _ disk: BlockDevice, healthOnly: Bool) async throws -> [String: JSON] {
        let text = await request.services.host.smartReport(disk.path, healthOnly: healthOnly) ?? ""
        guard let json = try? JSON.parse(text) else { return ["health": "UNKNOWN"] }
        var result: [String: JSON] = ["health": "UNKNOWN"]
        if case .bool(let passed)? = json["smart_status"]?["passed"] { result["health"] = passed ? "PASSED" : "FAILED" }
        if !healthOnly, let table = json["ata_smart_attributes"]?["table"]?.arrayValue {
            result["type"] = "ata"
            result["attributes"] = .array(
                table.map { row in
                    [
                        "id": .string(row["id"]?.stringValue ?? ""), "name": row["name"] ?? .null,
                        "value": row["value"] ?? .null, "worst": row["worst"] ?? .null,
                        "threshold": row["thresh"] ?? .null, "raw": .string(row["raw"]?["string"]?.stringValue ?? ""),
                        "flags": .string(row["flags"]?["string"]?.stringValue ?? ""), "fail": "-",
                    ]
                }
            )
        }
        return result
    }

    // MARK: - directory storage

    static func registerDirectoryStorage(in registry: inout APIRegistry) {
        registry.register(.get, "/nodes/{node}/disks/directory", handles: []) { request in
            .init(.array(request.services.host.directoryMounts().map { .object($0.fields) }))
        }
        registry.register(
            .post,
            "/nodes/{node}/disks/directory",
            handles: ["name", "device", "filesystem", "add_storage"]
        ) { request in
            let p = request.parameters
            let host = request.services.host
            let (name, disk, devices, addStorage) = try await prepareDiskStorage(request)
            let filesystem = p["filesystem"] ?? "ext4"
            let node = request.services.node
            let storage = request.services.storage
            let upid = try request.services.tasks.start(type: "dircreate", id: name, user: request.identity.authID) {
                log in
                let path = try await host.createDirectoryStorage(
                    name: name,
                    disk: disk,
                    in: devices,
                    filesystem: filesystem
                ) { log.append($0) }
                guard addStorage else { return }
                try await addStorageDefinition(
                    storage,
                    type: "dir",
                    id: name,
                    options: [
                        .init("path", path), .init("content", "images,iso,backup,vztmpl,snippets,rootdir"),
                        .init("is_mountpoint", "1"), .init("nodes", node),
                    ],
                    log: log
                )
            }
            return .init(.string(upid.description))
        }
        registry.register(
            .delete,
            "/nodes/{node}/disks/directory/{name}",
            handles: ["cleanup-config", "cleanup-disks"]
        ) { request in
            let p = request.parameters
            let host = request.services.host
            let name = try storageName(p)
            guard host.directoryMounts().contains(where: { $0.path == host.directoryStoragePath(name) }) else {
                throw VireoError.notFound("no directory storage mount unit for '\(name)'")
            }
            let cleanupConfig = p.bool("cleanup-config", default: false)
            if cleanupConfig { try requireStorageAllocate(request) }
            let cleanupDisks = p.bool("cleanup-disks", default: false)
            let storage = request.services.storage
            let upid = try request.services.tasks.start(type: "dirremove", id: name, user: request.identity.authID) {
                log in
                let device = try await host.removeDirectoryStorage(name: name)
                log.append("unmounted and removed the mount unit of '\(name)'")
                if cleanupConfig {
                    let path = host.directoryStoragePath(name)
                    try await removeStorages(storage, where: { $0["path"] == path }, log: log)
                }
                if cleanupDisks {
                    let devices = try await BlockDevices.read(host.runner)
                    if let partition = devices.device(path: device) {
                        try await host.wipe(partition, in: devices) { log.append($0) }
                    }
                }
            }
            return .init(.string(upid.description))
        }
    }

    /// The `name` of a disk storage: a storage ID, checked by the registry (`pve-storage-id`).
    static func storageName(_ p: Parameters) throws -> String { try p.storage("name").description }

    /// Adding or removing a storage also needs `Datastore.Allocate` on `/storage`.
    static func requireStorageAllocate(_ request: APIRequest) throws {
        guard
            request.access.permissions.check(
                request.identity.authID,
                path: "/storage",
                privileges: ["Datastore.Allocate"]
            )
        else {
            throw VireoError(.permissionDenied, "Permission check failed (/storage, Datastore.Allocate)")
        }
    }
}
