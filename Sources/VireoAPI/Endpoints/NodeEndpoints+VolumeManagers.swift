import VireoAccess
import VireoCore
import VireoHost
import VireoStorage
import VireoTasks

/// `/nodes/{node}/disks/{lvm,lvmthin,zfs}`: storages made of whole disks.
extension NodeEndpoints {
    static func registerVolumeManagers(in registry: inout APIRegistry) {
        registry.register(.get, "/nodes/{node}/disks/lvm", handles: []) { request in
            .init(try await request.services.host.volumeGroups())
        }
        registry.register(.post, "/nodes/{node}/disks/lvm", handles: ["name", "device", "add_storage"]) { request in
            try await diskStorageTask(request, task: "lvmcreate", storageType: "lvm") { host, name, disk in
                try await host.createVolumeGroup(name, on: disk)
                return ("created volume group '\(name)' on \(disk)", [.init("vgname", name)])
            }
        }
        registry.register(.delete, "/nodes/{node}/disks/lvm/{name}", handles: ["cleanup-config", "cleanup-disks"]) {
            request in
            let (name, cleanupConfig, cleanupDisks) = try removalOptions(request)
            let host = request.services.host
            let storage = request.services.storage
            let upid = try request.services.tasks.start(type: "lvmremove", id: name, user: request.identity.authID) {
                log in
                let volumes = try await host.removeVolumeGroup(name)
                log.append("removed volume group '\(name)'")
                if cleanupConfig { try await removeStorages(storage, where: { $0["vgname"] == name }, log: log) }
                if cleanupDisks { try await wipeDevices(host, volumes, log: log) }
            }
            return .init(.string(upid.description))
        }
        registry.register(.get, "/nodes/{node}/disks/lvmthin", handles: []) { request in
            .init(.array(try await request.services.host.thinPools()))
        }
        registry.register(.post, "/nodes/{node}/disks/lvmthin", handles: ["name", "device", "add_storage"]) {
            request in
            try await diskStorageTask(request, task: "lvmthincreate", storageType: "lvmthin") { host, name, disk in
                try await host.createThinPool(name, on: disk)
                return ("created thin pool '\(name)' on \(disk)", [.init("thinpool", name), .init("vgname", name)])
            }
        }
        registry.register(
            .delete,
            "/nodes/{node}/disks/lvmthin/{name}",
            handles: ["cleanup-config", "cleanup-disks", "volume-group"]
        ) { request in
            let (name, cleanupConfig, cleanupDisks) = try removalOptions(request)
            let group = try request.parameters.require("volume-group")
            guard (try? StorageID(validating: group)) != nil else {
                throw VireoError.parameter("volume-group", "invalid volume group name '\(group)'")
            }
            let host = request.services.host
            let storage = request.services.storage
            let upid = try request.services.tasks.start(type: "lvmthinremove", id: name, user: request.identity.authID)
            {
                log in
                try await host.removeThinPool(name, volumeGroup: group)
                log.append("removed thin pool '\(group)/\(name)'")
                if cleanupConfig {
                    try await removeStorages(
                        storage,
                        where: { $0["thinpool"] == name && $0["vgname"] == group },
                        log: log
                    )
                }
                if cleanupDisks { try await wipeDevices(host, try await host.removeVolumeGroup(group), log: log) }
            }
            return .init(.string(upid.description))
        }
        registry.register(.get, "/nodes/{node}/disks/zfs", handles: []) { request in
            .init(.array(try await request.services.host.zfsPools()))
        }
        registry.register(.get, "/nodes/{node}/disks/zfs/{name}", handles: []) { request in
            .init(try await request.services.host.zfsPoolStatus(try storageName(request.parameters)))
        }
        registry.register(
            .post,
            "/nodes/{node}/disks/zfs",
            handles: ["name", "devices", "raidlevel", "ashift", "compression", "add_storage"]
        ) { request in
            let p = request.parameters
            let host = request.services.host
            let name = try storageName(p)
            let addStorage = p.bool("add_storage", default: false)
            if addStorage { try requireStorageAllocate(request) }
            var disks: [String] = []
            for path in p.list("devices") {
                let (disk, devices) = try await host.wholeDisk(path, parameter: "devices")
                try await refuseUsed(request, disk, devices)
                if let use = devices.hostUse(of: disk) ?? devices.usage(of: disk) {
                    throw VireoError.conflict("device '\(disk.path)' is already in use (\(use))")
                }
                disks.append(disk.path)
            }
            let level = try p.require("raidlevel")
            let minimum = ["single": 1, "mirror": 2, "raid10": 4, "raidz": 3, "raidz2": 4, "raidz3": 5][level] ?? 1
            guard disks.count >= minimum, level != "raid10" || disks.count % 2 == 0 else {
                throw VireoError.parameter(
                    "devices",
                    "\(level) needs at least \(minimum) devices\(level == "raid10" ? ", an even number" : "")"
                )
            }
            guard level == "single" ? disks.count == 1 : true else {
                throw VireoError.parameter("devices", "single needs exactly one device")
            }
            guard !level.hasPrefix("draid") else {
                throw VireoError.parameter("raidlevel", "Vireo does not create dRAID pools")
            }
            let devices = disks
            let ashift = p.int("ashift") ?? 12
            let compression = p["compression"] ?? "on"
            let storage = request.services.storage
            let node = request.services.node
            let upid = try request.services.tasks.start(type: "zfscreate", id: name, user: request.identity.authID) {
                log in
                try await host.createZFSPool(
                    name,
                    raidLevel: level,
                    devices: devices,
                    ashift: ashift,
                    compression: compression
                )
                log.append("created ZFS pool '\(name)'")
                if addStorage {
                    try await addStorageDefinition(
                        storage,
                        type: "zfspool",
                        id: name,
                        options: [
                            .init("pool", name), .init("content", "images,rootdir"), .init("nodes", node),
                        ],
                        log: log
                    )
                }
            }
            return .init(.string(upid.description))
        }
        registry.register(.delete, "/nodes/{node}/disks/zfs/{name}", handles: ["cleanup-config", "cleanup-disks"]) {
            request in
            let (name, cleanupConfig, _) = try removalOptions(request)
            let host = request.services.host
            let storage = request.services.storage
            let upid = try request.services.tasks.start(type: "zfsremove", id: name, user: request.identity.authID) {
                log in
                try await host.destroyZFSPool(name)
                log.append("destroyed ZFS pool '\(name)'")
                if cleanupConfig { try await removeStorages(storage, where: { $0["pool"] == name }, log: log) }
            }
            return .init(.string(upid.description))
        }
    }

    /// A task that makes a storage of one whole disk with `create` (which says what it did and the
    /// storage options that reach it), and adds the storage definition when asked to.
    static func diskStorageTask(
        _ request: APIRequest,
        task: String,
        storageType: String,
        _ create: @escaping @Sendable (NodeHost, String, String) async throws -> (String, [SectionConfig.Option])
    ) async throws -> APIResult {
        let (name, disk, _, addStorage) = try await prepareDiskStorage(request)
        let host = request.services.host
        let storage = request.services.storage
        let node = request.services.node
        let upid = try request.services.tasks.start(type: task, id: name, user: request.identity.authID) { log in
            let (done, options) = try await create(host, name, disk.path)
            log.append(done)
            guard addStorage else { return }
            try await addStorageDefinition(
                storage,
                type: storageType,
                id: name,
                options: options + [.init("content", "images,rootdir"), .init("nodes", node)],
                log: log
            )
        }
        return .init(.string(upid.description))
    }

    /// The checks before a disk becomes a storage: a valid name, a free whole disk, and the right
    /// to add the storage when asked to.
    static func prepareDiskStorage(_ request: APIRequest) async throws -> (String, BlockDevice, BlockDevices, Bool) {
        let p = request.parameters
        let name = try storageName(p)
        let addStorage = p.bool("add_storage", default: false)
        if addStorage {
            try requireStorageAllocate(request)
            if try await request.services.storage.configuration().config[name] != nil {
                throw VireoError.conflict("storage ID '\(name)' already defined")
            }
        }
        let (disk, devices) = try await request.services.host.wholeDisk(try p.require("device"), parameter: "device")
        try await refuseUsed(request, disk, devices)
        if let use = devices.hostUse(of: disk) ?? devices.usage(of: disk) {
            throw VireoError.conflict("device '\(disk.path)' is already in use (\(use))")
        }
        return (name, disk, devices, addStorage)
    }

    static func removalOptions(_ request: APIRequest) throws -> (String, cleanupConfig: Bool, cleanupDisks: Bool) {
        let p = request.parameters
        let cleanupConfig = p.bool("cleanup-config", default: false)
        if cleanupConfig { try requireStorageAllocate(request) }
        return (try storageName(p), cleanupConfig, p.bool("cleanup-disks", default: false))
    }

    static func addStorageDefinition(
        _ storage: StorageManager,
        type: String,
        id: String,
        options: [SectionConfig.Option],
        log: TaskLog
    ) async throws {
        try await storage.modifyConfiguration { config in
            guard config[id] == nil else { throw VireoError.conflict("storage ID '\(id)' already defined") }
            config.set(try SectionConfig.Section(type: type, id: id, options: options))
        }
        log.append("added storage '\(id)'")
    }

    static func removeStorages(
        _ storage: StorageManager,
        where matches: @escaping @Sendable (SectionConfig.Section) -> Bool,
        log: TaskLog
    ) async throws {
        try await storage.modifyConfiguration { config in
            for section in config.sections where matches(section) {
                _ = config.remove(id: section.id)
                log.append("removed storage '\(section.id)'")
            }
        }
    }

    static func wipeDevices(_ host: NodeHost, _ paths: [String], log: TaskLog) async throws {
        let devices = try await BlockDevices.read(host.runner)
        for path in paths {
            guard let device = devices.device(path: path) else { continue }
            try await host.wipe(device, in: devices) { log.append($0) }
        }
    }
}
