import VireoCore
public import VireoHost

/// Thick LVM (`lvm` in storage.cfg): every disk is a plain LV `vm-<vmid>-…` in the volume group
/// `vgname`, opened by QEMU as `/dev/<vg>/<name>`. Raw only; no snapshots, templates or linked clones.
public struct LVMPlugin: StoragePlugin {
    public let definition: StorageDefinition
    let backend: BlockBackend

    public init(definition: StorageDefinition, runner: any CommandRunner) {
        self.definition = definition
        backend = BlockBackend(definition: definition, runner: runner)
    }

    public var capabilities: StorageCapabilities { BlockBackend.capabilities(of: "lvm") }

    /// The volume group, checked so it can only be one argument.
    func volumeGroup() throws -> String { try backend.checkBackendName(definition["vgname"], option: "vgname") }

    func parse(_ volname: String) throws -> BlockVolumeName { try BlockVolumeName(parsing: volname, kinds: [.vm]) }

    // MARK: Shared with lvmthin

    func volumeGroups() async throws -> [LVMReport.VolumeGroup] {
        LVMReport.volumeGroups(try await backend.run("listing volume groups", "vgs", LVMReport.volumeGroupsArguments))
    }

    func logicalVolumes(vg: String) async throws -> [LVMReport.LogicalVolume] {
        let text = try await backend.run(
            "listing logical volumes of '\(vg)'",
            "lvs",
            LVMReport.logicalVolumesArguments(vg: vg)
        )
        return LVMReport.logicalVolumes(text).filter { $0.vg == vg }
    }

    /// Makes the volume group visible: `vgscan --mknodes` only when `vgs` does not show it.
    func activateVolumeGroup(_ vg: String) async throws {
        if try await volumeGroups().contains(where: { $0.name == vg }) { return }
        try await backend.run("scanning for volume groups", "vgscan", ["--ignorelockingfailure", "--mknodes"])
        guard try await volumeGroups().contains(where: { $0.name == vg }) else {
            throw VireoError(.unavailable, "storage '\(id)' is not online (volume group '\(vg)' not found)").at(
                .storageBackend
            )
        }
    }

    func extend(vg: String, name: String, sizeBytes: Int) async throws {
        guard sizeBytes > 0 else { throw VireoError.invalid("invalid size \(sizeBytes) for '\(backend.volid(name))'") }
        try await backend.run(
            "resizing '\(name)'",
            "lvextend",
            ["-L", "\(BlockBackend.kibibytes(sizeBytes))k", "/dev/\(vg)/\(name)"],
            timeout: BlockBackend.changeTimeout
        )
    }

    func volumeInfo(
        _ lv: LVMReport.LogicalVolume,
        volname: String,
        vmid: Int,
        content: ContentType = .images,
        used: Int? = nil
    ) -> VolumeInfo {
        VolumeInfo(
            volid: backend.volid(volname),
            content: content,
            format: VolumeFormat.raw.rawValue,
            size: lv.size,
            used: used,
            vmid: vmid,
            ctime: lv.ctime
        )
    }

    // MARK: StoragePlugin

    public func activate() async throws {
        try await activateVolumeGroup(try volumeGroup())
    }

    public func status() async throws -> StorageStatus {
        let vg = try volumeGroup()
        guard let group = try await volumeGroups().first(where: { $0.name == vg }) else { return .inactive }
        return StorageStatus(total: group.size, used: group.size - group.free, available: group.free, active: true)
    }

    public func list(content: ContentType?, vmid: Int?) async throws -> [VolumeInfo] {
        let vg = try volumeGroup()
        let taggedOnly = definition.flag("tagged_only")
        return try await logicalVolumes(vg: vg).compactMap { lv -> VolumeInfo? in
            guard let volume = try? parse(lv.name), vmid == nil || volume.vmid == vmid,
                "-mMrR".contains(lv.type), !taggedOnly || lv.tags.contains("pve-vm-\(volume.vmid)"),
                let listed = BlockBackend.listedContent(kind: volume.kind, filter: content)
            else { return nil }
            return volumeInfo(lv, volname: volume.volname, vmid: volume.vmid, content: listed)
        }.sorted { $0.volid < $1.volid }
    }

    public func allocate(_ request: AllocationRequest) async throws -> String {
        try backend.checkAllocation(request, formats: [.raw], kind: .vm)
        let vg = try volumeGroup()
        guard let group = try await volumeGroups().first(where: { $0.name == vg }) else {
            throw VireoError(.unavailable, "storage '\(id)': volume group '\(vg)' not found").at(.storageBackend)
        }
        try backend.checkSpace(requested: request.sizeKiB * 1024, available: group.free)
        let existing = try await logicalVolumes(vg: vg).map(\.name)
        let name = try backend.newName(
            request.name,
            kind: .vm,
            vmid: request.vmid,
            existing: existing,
            counting: [.vm, .base]
        )
        try await backend.run(
            "creating '\(name)'",
            "lvcreate",
            [
                "-aly", "-Wy", "--yes", "--size", "\(request.sizeKiB)k", "--name", name, "--setautoactivation", "n",
                "--addtag", "pve-vm-\(request.vmid)", vg,
            ],
            timeout: BlockBackend.changeTimeout
        )
        return name
    }

    public func free(_ volname: String) async throws {
        let volume = try parse(volname)
        let vg = try volumeGroup()
        guard definition.flag("saferemove") else {
            try await backend.run(
                "removing '\(volume.name)'",
                "lvremove",
                ["-f", "\(vg)/\(volume.name)"],
                timeout: BlockBackend.removeTimeout
            )
            return
        }
        // Zero the blocks so the next LV cut from them cannot read this guest's data; the `del-`
        // name hides it from listings meanwhile.
        let doomed = "del-\(volume.name)"
        try await backend.run(
            "renaming '\(volume.name)' for removal",
            "lvrename",
            [vg, volume.name, doomed],
            timeout: BlockBackend.changeTimeout
        )
        try await backend.run(
            "activating '\(doomed)'",
            "lvchange",
            ["-aly", "\(vg)/\(doomed)"],
            timeout: BlockBackend.changeTimeout
        )
        try await backend.run(
            "zeroing '\(doomed)'",
            "blkdiscard",
            ["--zeroout", "/dev/\(vg)/\(doomed)"],
            timeout: .seconds(24 * 3600)
        )
        try await backend.run(
            "removing '\(doomed)'",
            "lvremove",
            ["-f", "\(vg)/\(doomed)"],
            timeout: BlockBackend.removeTimeout
        )
    }

    public func resize(_ volname: String, sizeBytes: Int) async throws {
        let volume = try parse(volname)
        try await extend(vg: try volumeGroup(), name: volume.name, sizeBytes: sizeBytes)
    }

    public func path(_ volname: String) throws -> String {
        let volume = try parse(volname)
        return "/dev/\(try volumeGroup())/\(volume.name)"
    }

    public func info(_ volname: String) async throws -> VolumeInfo {
        let volume = try parse(volname)
        guard let lv = try await logicalVolumes(vg: try volumeGroup()).first(where: { $0.name == volume.name }) else {
            throw VireoError.notFound("volume '\(backend.volid(volname))' does not exist")
        }
        return volumeInfo(lv, volname: volume.volname, vmid: volume.vmid)
    }

    public func createSnapshot(_ volname: String, name: String) async throws {
        _ = try parse(volname)
        throw unsupported("snapshots")
    }

    public func rollbackSnapshot(_ volname: String, name: String) async throws {
        _ = try parse(volname)
        throw unsupported("snapshots")
    }

    public func deleteSnapshot(_ volname: String, name: String) async throws {
        _ = try parse(volname)
        throw unsupported("snapshots")
    }

    public func createBase(_ volname: String) async throws -> String {
        _ = try parse(volname)
        throw unsupported("templates")
    }

    public func linkedClone(_ volname: String, vmid: Int, snapshot: String?) async throws -> String {
        _ = try parse(volname)
        throw unsupported("linked clones")
    }

    public func rename(_ volname: String, toVMID vmid: Int, name: String?) async throws -> String {
        let volume = try parse(volname)
        try BlockBackend.checkRenameTarget(vmid: vmid, name: name, kind: .vm)
        let vg = try volumeGroup()
        let existing = try await logicalVolumes(vg: vg).map(\.name)
        guard existing.contains(volume.name) else {
            throw VireoError.notFound("volume '\(backend.volid(volname))' does not exist")
        }
        let target = try backend.newName(name, kind: .vm, vmid: vmid, existing: existing, counting: [.vm, .base])
        try await backend.run(
            "renaming '\(volume.name)' to '\(target)'",
            "lvrename",
            [vg, volume.name, target],
            timeout: BlockBackend.changeTimeout
        )
        guard vmid != volume.vmid else { return target }
        // The owner tag decides what `tagged_only` lists.
        do {
            try await backend.run(
                "retagging '\(target)'",
                "lvchange",
                ["--deltag", "pve-vm-\(volume.vmid)", "--addtag", "pve-vm-\(vmid)", "\(vg)/\(target)"],
                timeout: BlockBackend.changeTimeout
            )
        } catch {
            _ = try? await backend.run("renaming '\(target)' back", "lvrename", [vg, target, volume.name])
            throw error
        }
        return target
    }
}
