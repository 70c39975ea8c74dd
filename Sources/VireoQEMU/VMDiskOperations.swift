import Foundation
import QMP
public import VireoCore
import VireoStorage

/// Operations on a VM's disks that change its config too: template, clone, resize, move, unlink.
/// Each checks the VM's `lock`, and sets one while it runs where Proxmox does (`clone`, `template`).
public struct VMDiskOperations: Sendable {
    public let runtime: VMRuntime
    var manager: VMManager { runtime.manager }

    public init(runtime: VMRuntime) { self.runtime = runtime }

    public typealias Log = VMRuntime.Log

    // MARK: - Template

    /// Turns a stopped VM into a template: every disk becomes a read-only base image.
    public func template(_ vmid: VMID, log: Log) async throws {
        try await manager.configs.withLock(vmid) {
            let (config, _) = try await manager.configs.read(vmid)
            try VMSnapshots.checkUnlocked(config)
            if config.main.isTemplate {
                throw VireoError.conflict("you can't convert a template to a template")
            }
            if manager.runningPID(vmid) != nil {
                throw VireoError.conflict("you can't convert a running VM to a template")
            }
            if !config.snapshots.isEmpty {
                throw VireoError.conflict("you can't convert a VM to a template if it has snapshots")
            }
            try await manager.configs.modify(vmid) { try $0.main.set("lock", "template") }
            do {
                var main = config.main
                for disk in config.main.disks {
                    let plugin = try await manager.storage.activePlugin(disk.storage)
                    let base = try await manager.storage.withLock(disk.storage) {
                        try await plugin.createBase(disk.volname)
                    }
                    log("converted '\(disk.volid)' to base image '\(disk.storage):\(base)'")
                    var options = disk.options
                    try options.setDefaultValue("\(disk.storage):\(base)")
                    try main.set(disk.key, options.description)
                }
                try main.set("template", "1")
                try await manager.configs.modify(vmid) { $0.main = main }
            } catch {
                await undoStep("remove the lock of VM \(vmid)", log: log) {
                    try await manager.configs.modify(vmid) { _ = $0.main.remove("lock") }
                }
                throw error
            }
        }
    }

    // MARK: - Clone

    public struct CloneRequest: Sendable {
        public var newid: VMID
        public var name: String?
        public var description: String?
        /// nil: full for VMs, linked for templates (Proxmox's default).
        public var full: Bool?
        public var storage: String?
        public var format: String?

        public init(newid: VMID, name: String?, description: String?, full: Bool?, storage: String?, format: String?) {
            self.newid = newid
            self.name = name
            self.description = description
            self.full = full
            self.storage = storage
            self.format = format
        }
    }

    /// A new VM from a stopped VM or a template. Linked clones share the template's base images;
    /// full clones copy every disk. The new VM's config exists from the start with `lock: clone`,
    /// which reserves its VMID; a failure removes it and every volume made.
    public func clone(_ vmid: VMID, _ request: CloneRequest, log: Log) async throws {
        let (source, full) = try await checkClone(vmid, request)
        var main = source.main
        for key in ["lock", "template", "parent"] { _ = main.remove(key) }
        for key in main.keys where key.hasPrefix("unused") { _ = main.remove(key) }
        try main.set("name", request.name ?? "Copy-of-VM-\(source.main["name"] ?? String(vmid))")
        if let description = request.description { main.description = description }
        try VMConfigDefaults.regenerateIdentity(&main)
        var placeholder = main
        try placeholder.set("lock", "clone")
        try await manager.configs.create(request.newid, config: VMConfig(main: placeholder))
        var made: [String] = []
        do {
            for disk in source.main.disks {
                let volid: String
                if full, manager.runningPID(vmid) != nil {
                    log("create full clone of drive \(disk.key) (\(disk.volid)) from the running VM")
                    let target = try await manager.storage.allocateCopyTarget(
                        of: disk.volid,
                        to: request.storage,
                        vmid: request.newid.value,
                        format: request.format
                    )
                    volid = target.volid
                    made.append(volid)
                    // Mirrored, then cancelled once in sync: the copy is the disk at that moment.
                    try await mirror(vmid, disk, to: target, pivot: false, log: log)
                } else if full {
                    log("create full clone of drive \(disk.key) (\(disk.volid))")
                    volid = try await manager.storage.copyVolume(
                        disk.volid,
                        to: request.storage,
                        vmid: request.newid.value,
                        format: request.format
                    )
                } else {
                    log("create linked clone of drive \(disk.key) (\(disk.volid))")
                    let plugin = try await manager.storage.activePlugin(disk.storage)
                    let volname = try await manager.storage.withLock(disk.storage) {
                        try await plugin.linkedClone(disk.volname, vmid: request.newid.value, snapshot: nil)
                    }
                    volid = "\(disk.storage):\(volname)"
                }
                if !made.contains(volid) { made.append(volid) }
                var options = disk.options
                try options.setDefaultValue(volid)
                if full, request.format != nil { _ = options.remove("format") }
                try main.set(disk.key, options.description)
            }
            // A clone gets a cloud-init drive of its own: its data (ID, addresses) is not the source's.
            for drive in VMCloudInit.drives(vmid: vmid, config: source.main) {
                let storage = (full ? request.storage : nil) ?? String(drive.volid.prefix { $0 != ":" })
                var entry = VMConfig.Section()
                try entry.set(drive.key, "\(storage):cloudinit")
                made += try await manager.allocateDisks(vmid: request.newid, config: &entry)
                try main.set(drive.key, entry[drive.key] ?? "")
                log("created cloud-init drive \(drive.key) of VM \(request.newid)")
            }
            try await manager.configs.modify(request.newid) { $0.main = main }
        } catch {
            log("clone failed - removing VM \(request.newid) again: \(error)")
            for volid in made { await undoStep("free '\(volid)'", log: log) { try await manager.free(volid) } }
            await undoStep("remove VM \(request.newid)", log: log) { try await manager.configs.delete(request.newid) }
            throw error
        }
    }

    /// What makes a clone impossible, found before any work starts. Returns the source and
    /// whether the clone is full.
    @discardableResult
    public func checkClone(_ vmid: VMID, _ request: CloneRequest) async throws -> (source: VMConfig, full: Bool) {
        let (source, _) = try await manager.configs.read(vmid)
        let isTemplate = source.main.isTemplate
        let full = request.full ?? !isTemplate
        if !full, !isTemplate { throw VireoError.parameter("full", "linked clones can only be made from templates") }
        if !full, request.storage != nil || request.format != nil {
            throw VireoError.parameter("storage", "a linked clone stays on its template's storage")
        }
        if let lock = source.main.lock { throw VireoError.conflict("VM is locked (\(lock))") }
        return (source, full)
    }

    // MARK: - Resize

    /// `size` is absolute (`10G`) or an increase (`+1G`); disks only grow.
    public func resize(
        _ vmid: VMID,
        disk key: String,
        size: String,
        digest: String?,
        skipLock: Bool,
        log: Log
    ) async throws {
        try await manager.configs.withLock(vmid) {
            let (_, disk) = try await diskToChange(vmid, key, digest: digest, checkLock: !skipLock)
            let plugin = try await manager.storage.activePlugin(disk.storage)
            let current = try await plugin.info(disk.volname).size
            let target = try Self.targetSize(size, current: current)
            guard target >= current else {
                throw VireoError.parameter("size", "shrinking disks is not supported (\(current) -> \(target) bytes)")
            }
            if target == current {
                log("disk '\(key)' already has \(ByteSize(bytes: current))")
                return
            }
            if manager.runningPID(vmid) != nil {
                try await runtime.qmp(vmid) {
                    try await $0.execute(
                        "block_resize",
                        arguments: ["device": .string(disk.driveID), "size": .int(target)]
                    )
                }
            } else {
                try await manager.storage.withLock(disk.storage) {
                    try await plugin.resize(disk.volname, sizeBytes: target)
                }
            }
            log("resized '\(key)' (\(disk.volid)) from \(ByteSize(bytes: current)) to \(ByteSize(bytes: target))")
            try await manager.configs.modify(vmid) { config in
                guard var options = config.main[key].flatMap({ try? PropertyString(parsing: $0) }) else { return }
                try options.set("size", to: ByteSize(bytes: target))
                try config.main.set(key, options.description)
            }
        }
    }

    static func targetSize(_ text: String, current: Int) throws -> Int {
        let relative = text.hasPrefix("+")
        guard let amount = ByteSize(String(relative ? text.dropFirst() : text[...])) else {
            throw VireoError.parameter("size", "unable to parse size '\(text)'")
        }
        return relative ? current + amount.bytes : amount.bytes
    }

    // MARK: - Move

    /// Copies a stopped VM's disk to another storage (or format) and points the config at the copy;
    /// the old volume becomes `unusedN`, or is removed with `delete`.
    public func moveDisk(
        _ vmid: VMID,
        disk key: String,
        storage target: String,
        format: String?,
        delete: Bool,
        digest: String?,
        log: Log
    ) async throws {
        try await manager.configs.withLock(vmid) {
            let (config, disk) = try await diskToChange(vmid, key, digest: digest, checkLock: true)
            if disk.storage == target, format == nil || format == disk.format {
                throw VireoError.parameter("storage", "unable to move disk '\(key)' to the same storage and format")
            }
            let referencedBySnapshot = config.snapshots.contains {
                $0.section.disks.contains { $0.volid == disk.volid }
            }
            if delete, referencedBySnapshot {
                throw VireoError.conflict("you can't move a disk with snapshots and delete the source")
            }
            try await manager.configs.modify(vmid) { try $0.main.set("lock", "disk") }
            var moved: String?
            do {
                log("moving disk '\(key)' (\(disk.volid)) to storage '\(target)'")
                let copy: String
                if manager.runningPID(vmid) != nil {
                    let mirrorTarget = try await manager.storage.allocateCopyTarget(
                        of: disk.volid,
                        to: target,
                        vmid: vmid.value,
                        format: format
                    )
                    moved = mirrorTarget.volid
                    try await mirror(vmid, disk, to: mirrorTarget, pivot: true, log: log)
                    copy = mirrorTarget.volid
                } else {
                    copy = try await manager.storage.copyVolume(
                        disk.volid,
                        to: target,
                        vmid: vmid.value,
                        format: format
                    )
                }
                moved = copy
                try await manager.configs.modify(vmid) { config in
                    var options = disk.options
                    try options.setDefaultValue(copy)
                    _ = options.remove("format")
                    try config.main.set(key, options.description)
                    if !delete, let unused = config.main.freeKey("unused") { try config.main.set(unused, disk.volid) }
                    _ = config.main.remove("lock")
                }
                log("disk '\(key)' is now '\(copy)'")
            } catch {
                if let moved { await undoStep("free '\(moved)'", log: log) { try await manager.free(moved) } }
                await undoStep("remove the lock of VM \(vmid)", log: log) {
                    try await manager.configs.modify(vmid) { _ = $0.main.remove("lock") }
                }
                throw error
            }
            if delete {
                try await manager.free(disk.volid)
                log("removed '\(disk.volid)'")
            }
        }
    }

    /// The config and the disk `key` names, after the checks every disk change makes.
    private func diskToChange(
        _ vmid: VMID,
        _ key: String,
        digest: String?,
        checkLock: Bool
    ) async throws -> (VMConfig, VMConfig.Section.Disk) {
        let (config, currentDigest) = try await manager.configs.read(vmid)
        if let digest, !digest.isEmpty, digest.lowercased() != currentDigest { throw VireoError.modifiedConfiguration }
        if checkLock { try VMSnapshots.checkUnlocked(config) }
        guard let disk = config.main.disks.first(where: { $0.key == key }) else {
            throw VireoError.parameter("disk", "no disk '\(key)' in VM \(vmid)")
        }
        return (config, disk)
    }

    // MARK: - Mirror

    /// Copies a disk of a running VM with QEMU's `drive-mirror` into `target` while the guest keeps
    /// writing. Once in sync, `pivot` switches the VM over to the copy (a live disk move);
    /// otherwise the job is cancelled, which leaves the copy as the disk was at that moment.
    func mirror(
        _ vmid: VMID,
        _ disk: VMConfig.Section.Disk,
        to target: StorageManager.CopyTarget,
        pivot: Bool,
        log: Log
    ) async throws {
        let job = "mirror-\(disk.key)"
        try await runtime.qmp(vmid) {
            try await $0.execute(
                "drive-mirror",
                arguments: [
                    "job-id": .string(job), "device": .string(disk.driveID), "target": .string(target.path),
                    "format": .string(target.format.rawValue), "mode": "existing", "sync": "full",
                    "auto-dismiss": false,
                ]
            )
        }
        do {
            var lastQuarter = -1
            while true {
                let info = try await runtime.qmp(vmid) { try await $0.queryJobs() }.first { $0.id == job }
                guard let info else { throw VireoError(.internalError, "mirror job of '\(disk.key)' vanished") }
                if info.isConcluded { break }  // failed early: waitForJob below reports why
                let percent = info.totalProgress > 0 ? info.currentProgress * 100 / info.totalProgress : 0
                if percent / 25 != lastQuarter {
                    log("\(disk.key): transferred \(info.currentProgress) of \(info.totalProgress) bytes (\(percent)%)")
                    lastQuarter = percent / 25
                }
                if info.status == "ready" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            try await runtime.qmp(vmid) { client in
                if try await client.queryJobs().first(where: { $0.id == job })?.isConcluded == false {
                    try await client.execute(
                        pivot ? "block-job-complete" : "block-job-cancel",
                        arguments: ["device": .string(job)]
                    )
                }
                try await client.waitForJob(id: job)
            }
            log("\(disk.key): mirror \(pivot ? "completed, the VM now uses" : "finished, the copy is") \(target.volid)")
        } catch {
            _ = try? await runtime.qmp(vmid) { client in
                try await client.execute("block-job-cancel", arguments: ["device": .string(job), "force": true])
                try? await client.waitForJob(id: job, timeout: .seconds(30))
            }
            throw error
        }
    }

    // MARK: - Unlink

    /// Removes disks from the config: `unusedN` entries are always deleted from storage, attached
    /// disks become `unusedN` unless `force` removes them too. A volume a snapshot still uses is kept.
    public func unlink(_ vmid: VMID, keys: [String], force: Bool) async throws {
        var freed: [String] = []
        try await manager.configs.modify(vmid) { config in
            try VMSnapshots.checkUnlocked(config)
            let running = manager.runningPID(vmid) != nil
            for key in keys {
                if key.hasPrefix("unused") {
                    guard let volid = config.main.remove(key) else { continue }
                    freed.append(volid)
                    continue
                }
                guard VMManager.isDiskKey(key) else { throw VireoError.parameter("idlist", "'\(key)' is not a disk") }
                guard config.main[key] != nil else { continue }
                if running { throw VireoError.conflict("disk '\(key)' is in use by the running VM \(vmid)") }
                let volid = config.main.disks.first { $0.key == key }?.volid
                if force, let volid {
                    _ = config.main.remove(key)
                    freed.append(volid)
                } else {
                    try config.main.detachOrRemove(key)
                }
            }
            freed.removeAll { config.referencedVolumes.contains($0) }
        }
        for volid in freed { try await manager.free(volid) }
    }
}
