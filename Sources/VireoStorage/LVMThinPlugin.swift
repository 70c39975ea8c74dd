import VireoCore
public import VireoHost

/// LVM thin provisioning (`lvmthin` in storage.cfg): disks are thin LVs in the pool `thinpool` of
/// `vgname`; a snapshot is a read-only thin snapshot LV `snap_<volname>_<snap>`, a template a
/// read-only `base-…` LV, a linked clone a writable thin snapshot of it (which does not record its
/// base, so a base can be removed under its clones).
public struct LVMThinPlugin: StoragePlugin {
    public let definition: StorageDefinition
    // The VG-level work (reports, activation, lvextend) is thick LVM's.
    let lvm: LVMPlugin
    var backend: BlockBackend { lvm.backend }

    public init(definition: StorageDefinition, runner: any CommandRunner) {
        self.definition = definition
        lvm = LVMPlugin(definition: definition, runner: runner)
    }

    public var capabilities: StorageCapabilities { BlockBackend.capabilities(of: "lvmthin") }

    func parse(_ volname: String) throws -> BlockVolumeName {
        try BlockVolumeName(parsing: volname, kinds: [.vm, .base])
    }

    func thinPool() throws -> String { try backend.checkBackendName(definition["thinpool"], option: "thinpool") }

    static func snapshotLV(_ volume: String, _ snapshot: String) -> String { "snap_\(volume)_\(snapshot)" }

    /// The snapshot LVs of a volume, by name.
    static func snapshotLVs(of volume: String, in lvs: [LVMReport.LogicalVolume]) -> [String] {
        lvs.map(\.name).filter { $0.hasPrefix("snap_\(volume)_") }
    }

    func lvchange(_ what: String, _ arguments: [String]) async throws {
        try await backend.run(what, "lvchange", arguments, timeout: BlockBackend.changeTimeout)
    }

    func lvremove(_ vg: String, _ name: String) async throws {
        try await backend.run(
            "removing '\(name)'",
            "lvremove",
            ["-f", "\(vg)/\(name)"],
            timeout: BlockBackend.removeTimeout
        )
    }

    // MARK: StoragePlugin

    public func activate() async throws {
        let vg = try lvm.volumeGroup()
        let pool = try thinPool()
        try await lvm.activateVolumeGroup(vg)
        try await lvchange("activating thin pool '\(pool)'", ["-ay", "-K", "\(vg)/\(pool)"])
    }

    public func status() async throws -> StorageStatus {
        let vg = try lvm.volumeGroup()
        let pool = try thinPool()
        guard let lv = try await lvm.logicalVolumes(vg: vg).first(where: { $0.name == pool && $0.type == "t" }) else {
            return .inactive
        }
        let used = lv.usedBytes ?? 0
        return StorageStatus(total: lv.size, used: used, available: lv.size - used, active: lv.isActive)
    }

    public func list(content: ContentType?, vmid: Int?) async throws -> [VolumeInfo] {
        let vg = try lvm.volumeGroup()
        let pool = try thinPool()
        return try await lvm.logicalVolumes(vg: vg).compactMap { lv -> VolumeInfo? in
            guard lv.type == "V", lv.pool == pool, let volume = try? parse(lv.name), vmid == nil || volume.vmid == vmid,
                let listed = BlockBackend.listedContent(kind: volume.kind, filter: content)
            else { return nil }
            return lvm.volumeInfo(lv, volname: volume.volname, vmid: volume.vmid, content: listed, used: lv.usedBytes)
        }.sorted { $0.volid < $1.volid }
    }

    public func allocate(_ request: AllocationRequest) async throws -> String {
        try backend.checkAllocation(request, formats: [.raw], kind: .vm)
        let vg = try lvm.volumeGroup()
        let pool = try thinPool()
        let lvs = try await lvm.logicalVolumes(vg: vg)
        guard let poolLV = lvs.first(where: { $0.name == pool && $0.type == "t" }) else {
            throw VireoError(.unavailable, "storage '\(id)': thin pool '\(vg)/\(pool)' not found").at(.storageBackend)
        }
        try backend.checkSpace(requested: request.sizeKiB * 1024, available: poolLV.size - (poolLV.usedBytes ?? 0))
        let name = try backend.newName(
            request.name,
            kind: .vm,
            vmid: request.vmid,
            existing: lvs.map(\.name),
            counting: [.vm, .base]
        )
        try await backend.run(
            "creating '\(name)'",
            "lvcreate",
            ["-aly", "-V", "\(request.sizeKiB)k", "--name", name, "--thinpool", "\(vg)/\(pool)"],
            timeout: BlockBackend.changeTimeout
        )
        do {
            try await lvchange("disabling autoactivation of '\(name)'", ["--setautoactivation", "n", "\(vg)/\(name)"])
        } catch {
            try? await lvremove(vg, name)
            throw error
        }
        return name
    }

    public func free(_ volname: String) async throws {
        let volume = try parse(volname)
        let vg = try lvm.volumeGroup()
        // Snapshots first: they would otherwise outlive their volume as orphans.
        for snapshot in Self.snapshotLVs(of: volume.name, in: try await lvm.logicalVolumes(vg: vg)) {
            try await lvremove(vg, snapshot)
        }
        try await lvremove(vg, volume.name)
    }

    public func resize(_ volname: String, sizeBytes: Int) async throws {
        let volume = try parse(volname)
        try await lvm.extend(vg: try lvm.volumeGroup(), name: volume.name, sizeBytes: sizeBytes)
    }

    public func path(_ volname: String) throws -> String {
        let volume = try parse(volname)
        return "/dev/\(try lvm.volumeGroup())/\(volume.name)"
    }

    public func info(_ volname: String) async throws -> VolumeInfo {
        let volume = try parse(volname)
        guard let lv = try await lvm.logicalVolumes(vg: try lvm.volumeGroup()).first(where: { $0.name == volume.name })
        else { throw VireoError.notFound("volume '\(backend.volid(volname))' does not exist") }
        return lvm.volumeInfo(lv, volname: volume.volname, vmid: volume.vmid, used: lv.usedBytes)
    }

    public func createSnapshot(_ volname: String, name: String) async throws {
        let volume = try parse(volname)
        try BlockVolumeName.validateSnapshotName(name)
        let vg = try lvm.volumeGroup()
        try await backend.run(
            "creating snapshot '\(name)' of '\(volume.name)'",
            "lvcreate",
            ["-n", Self.snapshotLV(volume.name, name), "-pr", "-s", "\(vg)/\(volume.name)"],
            timeout: BlockBackend.changeTimeout
        )
    }

    public func rollbackSnapshot(_ volname: String, name: String) async throws {
        let volume = try parse(volname)
        try BlockVolumeName.validateSnapshotName(name)
        let vg = try lvm.volumeGroup()
        let snapshot = Self.snapshotLV(volume.name, name)
        // Rollback removes the volume before recreating it: make sure there is something to recreate it from.
        guard try await lvm.logicalVolumes(vg: vg).contains(where: { $0.name == snapshot }) else {
            throw VireoError.notFound("snapshot '\(name)' of '\(backend.volid(volname))' does not exist")
        }
        try await lvremove(vg, volume.name)
        try await backend.run(
            "rolling '\(volume.name)' back to '\(name)'",
            "lvcreate",
            ["-kn", "-n", volume.name, "-s", "\(vg)/\(snapshot)"],
            timeout: BlockBackend.changeTimeout
        )
    }

    public func deleteSnapshot(_ volname: String, name: String) async throws {
        let volume = try parse(volname)
        try BlockVolumeName.validateSnapshotName(name)
        try await lvremove(try lvm.volumeGroup(), Self.snapshotLV(volume.name, name))
    }

    public func createBase(_ volname: String) async throws -> String {
        let volume = try parse(volname)
        guard !volume.isBase else { throw VireoError.conflict("volume '\(backend.volid(volname))' is already a base") }
        let vg = try lvm.volumeGroup()
        let lvs = try await lvm.logicalVolumes(vg: vg)
        guard lvs.contains(where: { $0.name == volume.name }) else {
            throw VireoError.notFound("volume '\(backend.volid(volname))' does not exist")
        }
        guard Self.snapshotLVs(of: volume.name, in: lvs).isEmpty else {
            throw VireoError.conflict("can't create a base from '\(backend.volid(volname))': it has snapshots")
        }
        let base = volume.objectName(as: .base)
        guard !lvs.contains(where: { $0.name == base }) else {
            throw VireoError.conflict("volume '\(backend.volid(base))' already exists")
        }
        try await backend.run(
            "renaming '\(volume.name)' to '\(base)'",
            "lvrename",
            [vg, volume.name, base],
            timeout: BlockBackend.changeTimeout
        )
        do {
            try await lvchange("making '\(base)' read-only", ["-pr", "-ky", "\(vg)/\(base)"])
        } catch {
            _ = try? await backend.run("renaming '\(base)' back", "lvrename", [vg, base, volume.name])
            throw error
        }
        // A base left active is harmless (read-only, skipped at boot), so a failure here is not one of the template.
        try? await lvchange("deactivating '\(base)'", ["-an", "\(vg)/\(base)"])
        return base
    }

    public func linkedClone(_ volname: String, vmid: Int, snapshot: String?) async throws -> String {
        let volume = try parse(volname)
        guard VMID(vmid) != nil else { throw VireoError.invalid("invalid VMID \(vmid)") }
        let source: String
        if let snapshot {
            try BlockVolumeName.validateSnapshotName(snapshot)
            source = Self.snapshotLV(volume.name, snapshot)
        } else {
            guard volume.isBase else {
                throw VireoError.invalid("linked clones can only be made from a base volume or a snapshot")
            }
            source = volume.name
        }
        let vg = try lvm.volumeGroup()
        let lvs = try await lvm.logicalVolumes(vg: vg)
        guard lvs.contains(where: { $0.name == source }) else {
            throw VireoError.notFound("'\(vg)/\(source)' does not exist on storage '\(id)'")
        }
        let name = try backend.newName(nil, kind: .vm, vmid: vmid, existing: lvs.map(\.name), counting: [.vm, .base])
        try await backend.run(
            "cloning '\(source)' to '\(name)'",
            "lvcreate",
            ["-n", name, "-prw", "-kn", "-s", "\(vg)/\(source)"],
            timeout: BlockBackend.changeTimeout
        )
        return name
    }

    public func rename(_ volname: String, toVMID vmid: Int, name: String?) async throws -> String {
        let volume = try parse(volname)
        try BlockBackend.checkRenameTarget(vmid: vmid, name: name, kind: volume.kind)
        let vg = try lvm.volumeGroup()
        let lvs = try await lvm.logicalVolumes(vg: vg)
        guard lvs.contains(where: { $0.name == volume.name }) else {
            throw VireoError.notFound("volume '\(backend.volid(volname))' does not exist")
        }
        // Snapshot LVs are named after their volume; they would be orphaned.
        guard Self.snapshotLVs(of: volume.name, in: lvs).isEmpty else {
            throw VireoError.conflict("can't rename '\(backend.volid(volname))': it has snapshots")
        }
        let target = try backend.newName(
            name,
            kind: volume.kind,
            vmid: vmid,
            existing: lvs.map(\.name),
            counting: [.vm, .base]
        )
        try await backend.run(
            "renaming '\(volume.name)' to '\(target)'",
            "lvrename",
            [vg, volume.name, target],
            timeout: BlockBackend.changeTimeout
        )
        return target
    }
}
