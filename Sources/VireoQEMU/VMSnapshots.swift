import Foundation
import QMP
public import VireoCore
import VireoStorage

/// VM snapshots as Proxmox keeps them: a `[name]` section with the config at that moment, a
/// snapshot of every disk under the same name, and for `vmstate` the guest's RAM and device state
/// in a volume of its own (`vm-<vmid>-state-<name>.raw`).
///
/// The RAM state is written with QEMU's migration stream (`migrate exec:…`), which every QEMU has;
/// rollback starts QEMU with `-incoming` on that file. The VM is paused while disks and state are
/// saved, so both show the same instant.
public struct VMSnapshots: Sendable {
    public let runtime: VMRuntime
    var manager: VMManager { runtime.manager }

    public init(runtime: VMRuntime) { self.runtime = runtime }

    public typealias Log = VMRuntime.Log

    // MARK: - Create

    public func create(_ vmid: VMID, name: String, vmstate: Bool, description: String?, log: Log) async throws {
        guard name != "current" else { throw VireoError.parameter("snapname", "snapshot name 'current' is reserved") }
        let running = manager.runningPID(vmid) != nil
        let savesState = vmstate && running
        let main = try await manager.configs.modify(vmid) { config -> VMConfig.Section in
            try Self.checkUnlocked(config)
            if config.main.isTemplate {
                throw VireoError.conflict("you can't take a snapshot if it's a template")
            }
            if config[snapshot: name] != nil {
                throw VireoError.parameter("snapname", "snapshot name '\(name)' already used")
            }
            var snapshot = config.main
            snapshot.description = description
            try snapshot.set("snapstate", "prepare")
            try snapshot.set("snaptime", String(Int(Date().timeIntervalSince1970)))
            try config.setSnapshot(name, snapshot)
            try config.main.set("lock", "snapshot")
            return config.main
        }
        var done: [VMConfig.Section.Disk] = []
        var stateVolume: String?
        var paused = false
        do {
            for disk in main.disks { try await checkSnapshotSupport(disk) }
            if running {
                let status = try await runtime.qmp(vmid) { try await $0.queryStatus() }.status
                if status == .running {
                    try await runtime.qmp(vmid) { try await $0.stop() }
                    paused = true
                }
            }
            for disk in main.disks {
                log("snapshotting '\(disk.key)' (\(disk.volid))")
                try await snapshotDisk(vmid, disk, name: name, running: running)
                done.append(disk)
            }
            if savesState {
                let volume = try await allocateStateVolume(vmid, name: name, config: main)
                stateVolume = volume
                log("saving VM state and RAM to '\(volume)'")
                try await saveState(vmid, to: try await manager.path(of: volume), log: log)
            }
            if paused { try await runtime.qmp(vmid) { try await $0.cont() } }
            paused = false
            try await manager.configs.modify(vmid) { config in
                guard var snapshot = config[snapshot: name] else { return }
                _ = snapshot.remove("snapstate")
                _ = snapshot.remove("lock")
                if let stateVolume { try snapshot.set("vmstate", stateVolume) }
                try config.setSnapshot(name, snapshot)
                try config.main.set("parent", name)
                _ = config.main.remove("lock")
            }
        } catch {
            log("snapshot failed - rolling back what was done: \(error)")
            for disk in done.reversed() {
                await undoStep("delete snapshot '\(name)' of \(disk.key)", log: log) {
                    try await deleteDiskSnapshot(vmid, disk, name: name)
                }
            }
            if let stateVolume {
                await undoStep("free '\(stateVolume)'", log: log) { try await manager.free(stateVolume) }
            }
            if paused {
                await undoStep("resume VM \(vmid)", log: log) { try await runtime.qmp(vmid) { try await $0.cont() } }
            }
            await undoStep("remove snapshot '\(name)' from the config", log: log) {
                try await manager.configs.modify(vmid) { config in
                    _ = config.removeSnapshot(name)
                    _ = config.main.remove("lock")
                }
            }
            throw error
        }
    }

    // MARK: - Rollback

    /// Disks back to the snapshot, the config back to the snapshot's; a snapshot with RAM state
    /// resumes where it was taken, otherwise the VM starts only when `start` is set.
    public func rollback(_ vmid: VMID, name: String, start: Bool, log: Log) async throws {
        let snapshot = try await manager.configs.modify(vmid) { config -> VMConfig.Section in
            try Self.checkUnlocked(config)
            guard let snapshot = config[snapshot: name] else {
                throw VireoError.notFound("snapshot '\(name)' does not exist")
            }
            if let state = snapshot["snapstate"] {
                throw VireoError.conflict("unable to rollback to incomplete snapshot (snapstate = \(state))")
            }
            try config.main.set("lock", "rollback")
            return snapshot
        }
        do {
            if manager.runningPID(vmid) != nil {
                log("stopping VM \(vmid)")
                try await runtime.stop(vmid, log: log)
            }
            for disk in snapshot.disks {
                log("rolling back '\(disk.key)' (\(disk.volid)) to '\(name)'")
                let plugin = try await manager.storage.activePlugin(disk.storage)
                try await manager.storage.withLock(disk.storage) {
                    try await plugin.rollbackSnapshot(disk.volname, name: name)
                }
            }
            try await manager.configs.modify(vmid) { config in
                var restored = snapshot
                for key in ["snaptime", "vmstate", "snapstate", "runningmachine", "runningcpu"] {
                    _ = restored.remove(key)
                }
                restored.description = config.main.description
                try restored.set("parent", name)
                config.main = restored
                config.pending = nil
            }
        } catch {
            await undoStep("remove the lock of VM \(vmid)", log: log) {
                try await manager.configs.modify(vmid) { _ = $0.main.remove("lock") }
            }
            throw error
        }
        if let state = snapshot["vmstate"] {
            log("restoring VM state from '\(state)'")
            try await runtime.start(vmid, incomingState: try await manager.path(of: state), log: log)
            try await runtime.waitForIncoming(vmid)
        } else if start {
            try await runtime.start(vmid, log: log)
        }
    }

    // MARK: - Delete

    public func delete(_ vmid: VMID, name: String, force: Bool, log: Log) async throws {
        let snapshot = try await manager.configs.modify(vmid) { config -> VMConfig.Section in
            if !force { try Self.checkUnlocked(config) }
            guard var snapshot = config[snapshot: name] else {
                throw VireoError.notFound("snapshot '\(name)' does not exist")
            }
            try snapshot.set("snapstate", "delete")
            try config.setSnapshot(name, snapshot)
            try config.main.set("lock", "snapshot-delete")
            return snapshot
        }
        let running = manager.runningPID(vmid) != nil
        do {
            for disk in snapshot.disks {
                log("deleting snapshot '\(name)' of '\(disk.key)' (\(disk.volid))")
                do {
                    try await deleteDiskSnapshot(vmid, disk, name: name, running: running)
                } catch  where force {
                    log("warning: \(error)")
                }
            }
            if let state = snapshot["vmstate"] {
                log("removing VM state '\(state)'")
                do { try await manager.free(state) } catch  where force { log("warning: \(error)") }
            }
        } catch {
            await undoStep("remove the lock of VM \(vmid)", log: log) {
                try await manager.configs.modify(vmid) { _ = $0.main.remove("lock") }
            }
            throw error
        }
        try await manager.configs.modify(vmid) { config in
            let parent = snapshot["parent"]
            _ = config.removeSnapshot(name)
            for other in config.snapshots where other.section["parent"] == name {
                var section = other.section
                if let parent { try section.set("parent", parent) } else { _ = section.remove("parent") }
                try config.setSnapshot(other.name, section)
            }
            if config.main["parent"] == name {
                if let parent { try config.main.set("parent", parent) } else { _ = config.main.remove("parent") }
            }
            _ = config.main.remove("lock")
        }
    }

    // MARK: - Disks and state

    static func checkUnlocked(_ config: VMConfig) throws {
        if let lock = config.main.lock { throw VireoError.conflict("VM is locked (\(lock))") }
    }

    private func checkSnapshotSupport(_ disk: VMConfig.Section.Disk) async throws {
        let plugin = try await manager.storage.activePlugin(disk.storage)
        let format = VolumeFormat(rawValue: disk.format) ?? .raw
        guard plugin.capabilities.snapshotFormats.contains(format) else {
            throw VireoError.conflict(
                "snapshot feature is not available for '\(disk.key)' (\(disk.volid): \(disk.format) on \(plugin.definition.type))"
            )
        }
    }

    /// A running VM's qcow2 images are open in QEMU: their internal snapshots go through QMP.
    private func snapshotDisk(_ vmid: VMID, _ disk: VMConfig.Section.Disk, name: String, running: Bool) async throws {
        if running, disk.format == "qcow2" {
            try await runtime.qmp(vmid) {
                try await $0.execute(
                    "blockdev-snapshot-internal-sync",
                    arguments: ["device": .string(disk.driveID), "name": .string(name)]
                )
            }
            return
        }
        let plugin = try await manager.storage.activePlugin(disk.storage)
        try await manager.storage.withLock(disk.storage) { try await plugin.createSnapshot(disk.volname, name: name) }
    }

    private func deleteDiskSnapshot(
        _ vmid: VMID,
        _ disk: VMConfig.Section.Disk,
        name: String,
        running: Bool? = nil
    ) async throws {
        let isRunning = running ?? (manager.runningPID(vmid) != nil)
        if isRunning, disk.format == "qcow2",
            let (config, _) = try? await manager.configs.read(vmid),
            config.main.disks.contains(where: { $0.volid == disk.volid })
        {
            try await runtime.qmp(vmid) {
                try await $0.execute(
                    "blockdev-snapshot-delete-internal-sync",
                    arguments: ["device": .string(disk.driveID), "name": .string(name)]
                )
            }
            return
        }
        let plugin = try await manager.storage.activePlugin(disk.storage)
        try await manager.storage.withLock(disk.storage) { try await plugin.deleteSnapshot(disk.volname, name: name) }
    }

    /// Room for RAM twice over plus device state, on `vmstatestorage` or the first disk's storage.
    private func allocateStateVolume(_ vmid: VMID, name: String, config: VMConfig.Section) async throws -> String {
        let storageID = config["vmstatestorage"] ?? config.disks.first?.storage ?? "local"
        let plugin = try await manager.storage.activePlugin(storageID)
        let memoryMiB = config.memoryMiB
        let volname = try await manager.storage.withLock(storageID) {
            try await plugin.allocate(
                AllocationRequest(
                    vmid: vmid.value,
                    name: "vm-\(vmid)-state-\(name).raw",
                    format: .raw,
                    sizeKiB: (memoryMiB * 2 + 500) * 1024
                )
            )
        }
        return "\(storageID):\(volname)"
    }

    /// QEMU's migration stream into a file; the VM is paused, so the stream is its state right now.
    private func saveState(_ vmid: VMID, to path: String, log: Log) async throws {
        try await runtime.qmp(vmid) { try await $0.migrate(uri: "exec:cat > \(VMRuntime.shellQuoted(path))") }
        let deadline = ContinuousClock.now + .seconds(600)
        while ContinuousClock.now < deadline {
            let info = try await runtime.qmp(vmid) { try await $0.queryMigrate() }
            switch info.status {
            case "completed":
                log("VM state saved (\((info.transferredBytes ?? 0) / 1024 / 1024) MiB)")
                return
            case "failed", "cancelled":
                throw VireoError(.internalError, "saving VM state failed: \(info.errorDescription ?? "unknown error")")
            default:
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        _ = try? await runtime.qmp(vmid) { try await $0.execute("migrate_cancel") }
        throw VireoError(.timeout, "saving VM state timed out")
    }
}

extension VMManager {
    /// The path of a volume given as `storage:volname`.
    public func path(of volid: String) async throws -> String {
        guard let colon = volid.firstIndex(of: ":") else {
            throw VireoError.invalid("unable to parse volume ID '\(volid)'")
        }
        return try await storage.activePlugin(String(volid[..<colon])).path(String(volid[volid.index(after: colon)...]))
    }

    /// Frees a volume given as `storage:volname`.
    public func free(_ volid: String) async throws {
        guard let colon = volid.firstIndex(of: ":") else {
            throw VireoError.invalid("unable to parse volume ID '\(volid)'")
        }
        let id = String(volid[..<colon])
        let plugin = try await storage.activePlugin(id)
        try await storage.withLock(id) { try await plugin.free(String(volid[volid.index(after: colon)...])) }
    }
}
