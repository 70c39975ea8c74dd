import VireoCore
public import VireoHost

/// A ZFS dataset as storage (`zfspool` in storage.cfg): VM disks are zvols `<pool>/vm-<vmid>-…`
/// (QEMU opens `/dev/zvol/<pool>/<name>`), container volumes are filesystems `<pool>/subvol-<vmid>-…`
/// with a `refquota`. A template is renamed to `base-…`/`basevol-…` and snapshotted as `@__base__`;
/// linked clones are `zfs clone`s of that snapshot, named `<base>/<clone>`. Rollback only to the
/// newest snapshot.
public struct ZFSPoolPlugin: StoragePlugin {
    public let definition: StorageDefinition
    let backend: BlockBackend

    /// How often `zfs destroy` is retried while the dataset is busy (udev, a closing QEMU).
    static let destroyAttempts = 6
    static let busyRetryDelay: Duration = .seconds(1)
    static let baseSnapshot = "__base__"

    public init(definition: StorageDefinition, runner: any CommandRunner) {
        self.definition = definition
        backend = BlockBackend(definition: definition, runner: runner)
    }

    public var capabilities: StorageCapabilities { BlockBackend.capabilities(of: "zfspool") }

    static let allKinds: Set<BlockVolumeName.Kind> = [.vm, .base, .subvol, .basevol]

    func parse(_ volname: String) throws -> BlockVolumeName {
        try BlockVolumeName(parsing: volname, kinds: Self.allKinds, allowsBase: true)
    }

    /// `pool` of storage.cfg, a pool or a dataset in it (`rpool/data`).
    func pool() throws -> String { try backend.checkBackendName(definition["pool"], option: "pool", allowsSlash: true) }

    func dataset(_ volume: BlockVolumeName) throws -> String { "\(try pool())/\(volume.name)" }

    static func isFilesystem(_ kind: BlockVolumeName.Kind) -> Bool { kind == .subvol || kind == .basevol }

    @discardableResult
    func zfs(
        _ what: String,
        _ arguments: [String],
        timeout: Duration = BlockBackend.changeTimeout
    ) async throws
        -> String
    {
        try await backend.run(what, "zfs", arguments, timeout: timeout)
    }

    /// Runs `zfs`; a "does not exist" failure becomes `.notFound` naming the volume.
    @discardableResult
    func zfsOnVolume(
        _ what: String,
        _ volname: String,
        _ arguments: [String],
        timeout: Duration = BlockBackend.changeTimeout
    ) async throws -> String {
        do throws(CommandError) {
            return try await backend.attempt("zfs", arguments, timeout: timeout).standardOutput
        } catch {
            if case .failed(_, _, let stderr, _) = error, stderr.contains("does not exist") {
                throw VireoError(
                    .notFound,
                    "volume '\(backend.volid(volname))' does not exist: \(error)",
                    underlying: error
                )
            }
            throw backend.failure(what, error)
        }
    }

    func datasets() async throws -> [ZFSReport.Dataset] {
        let pool = try pool()
        let text = try await zfs(
            "listing volumes",
            [
                "list", "-o", ZFSReport.listColumns.joined(separator: ","), "-t", "volume,filesystem", "-d1", "-Hp",
                pool,
            ],
            timeout: BlockBackend.queryTimeout
        )
        return ZFSReport.datasets(text).filter { $0.name.hasPrefix(pool + "/") }
    }

    /// `available` and `used` of the pool dataset.
    func space() async throws -> (available: Int, used: Int)? {
        let pool = try pool()
        do throws(CommandError) {
            let text = try await backend.attempt("zfs", ["get", "-o", "value", "-Hp", "available,used", pool])
                .standardOutput
            let values = ZFSReport.values(text).compactMap { Int($0) }
            return values.count == 2 ? (values[0], values[1]) : nil
        } catch {
            throw backend.failure("reading the space of the pool", error)
        }
    }

    /// A listed dataset as a volume, or nil when it is not one of ours.
    func volumeInfo(_ dataset: ZFSReport.Dataset, filter: ContentType?) -> VolumeInfo? {
        guard let (kind, vmid) = BlockVolumeName.parseObjectName(dataset.shortName),
            dataset.type == (Self.isFilesystem(kind) ? "filesystem" : "volume"),
            let content = BlockBackend.listedContent(kind: kind, filter: filter)
        else { return nil }
        // A clone's origin is `<pool>/<base>@__base__`; its volname records the base.
        var base: String?
        if let origin = dataset.origin, origin.hasSuffix("@\(Self.baseSnapshot)") {
            let originName = String(origin.dropLast(Self.baseSnapshot.count + 1).split(separator: "/").last ?? "")
            if let (baseKind, _) = BlockVolumeName.parseObjectName(originName), baseKind.isBase { base = originName }
        }
        let volume = BlockVolumeName(kind: kind, vmid: vmid, name: dataset.shortName, base: base)
        let size = Self.isFilesystem(kind) ? dataset.refquota ?? 0 : dataset.volsize ?? 0
        return VolumeInfo(
            volid: backend.volid(volume.volname),
            content: content,
            format: Self.isFilesystem(kind) ? VolumeFormat.subvol.rawValue : VolumeFormat.raw.rawValue,
            size: size,
            used: dataset.used,
            vmid: vmid,
            parent: base,
            ctime: dataset.creation
        )
    }

    /// KiB rounded up to whole MiB, as zvol sizes must be.
    static func zvolKiB(_ kib: Int) -> Int { (kib + 1023) / 1024 * 1024 }

    // MARK: StoragePlugin

    public func activate() async throws {
        let pool = try pool()
        let poolName = String(pool.prefix { $0 != "/" })
        do throws(CommandError) {
            _ = try await backend.attempt("zpool", ["list", "-o", "name", "-H", poolName])
        } catch {
            guard case .failed = error else { throw backend.failure("checking pool '\(poolName)'", error) }
            try await backend.run(
                "importing pool '\(poolName)'",
                "zpool",
                ["import", "-d", "/dev/disk/by-id/", "-o", "cachefile=none", poolName],
                timeout: BlockBackend.removeTimeout
            )
        }
        try await zfs("mounting datasets", ["mount", "-a"], timeout: BlockBackend.removeTimeout)
    }

    public func status() async throws -> StorageStatus {
        // Like Proxmox: a pool whose properties cannot be read is inactive, not an error.
        guard let space = try? await space() else { return .inactive }
        return StorageStatus(
            total: space.available + space.used,
            used: space.used,
            available: space.available,
            active: true
        )
    }

    public func list(content: ContentType?, vmid: Int?) async throws -> [VolumeInfo] {
        try await datasets().compactMap { volumeInfo($0, filter: content) }
            .filter { vmid == nil || $0.vmid == vmid }
            .sorted { $0.volid < $1.volid }
    }

    public func allocate(_ request: AllocationRequest) async throws -> String {
        let kind: BlockVolumeName.Kind = request.format == .subvol ? .subvol : .vm
        try backend.checkAllocation(request, formats: [.raw, .subvol], kind: kind)
        let pool = try pool()
        let blocksize = try definition["blocksize"].map { try Self.checkBlocksize($0) }
        let kib = kind == .vm ? Self.zvolKiB(request.sizeKiB) : request.sizeKiB
        guard let space = try await space() else {
            throw VireoError(.unavailable, "storage '\(id)': unable to read the free space of '\(pool)'").at(
                .storageBackend
            )
        }
        try backend.checkSpace(requested: kib * 1024, available: space.available)
        let name = try backend.newName(
            request.name,
            kind: kind,
            vmid: request.vmid,
            existing: try await datasets().map(\.shortName),
            counting: Self.allKinds
        )
        if kind == .subvol {
            try await zfs(
                "creating '\(name)'",
                [
                    "create", "-o", "acltype=posixacl", "-o", "xattr=sa", "-o",
                    "refquota=\(kib > 0 ? "\(kib)k" : "none")",
                    "\(pool)/\(name)",
                ]
            )
            return name
        }
        var arguments = ["create"]
        if definition.flag("sparse") { arguments.append("-s") }
        if let blocksize { arguments += ["-b", blocksize] }
        arguments += ["-V", "\(kib)k", "\(pool)/\(name)"]
        try await zfs("creating '\(name)'", arguments)
        // udev makes the /dev/zvol link a moment later; waiting here saves the first VM start a failure.
        // A slow udev is no reason to call the allocation failed, so this is best effort.
        _ = try? await backend.run(
            "waiting for the device of '\(name)'",
            "udevadm",
            ["settle", "--timeout=10", "--exit-if-exists=/dev/zvol/\(pool)/\(name)"],
            timeout: .seconds(15)
        )
        return name
    }

    /// `blocksize` as `zfs create -b` takes it (`8k`, `16K`, `131072`).
    static func checkBlocksize(_ text: String) throws -> String {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let suffix = text.dropFirst(digits.count)
        guard !digits.isEmpty, !digits.hasPrefix("0"), suffix.isEmpty || ["k", "K", "m", "M"].contains(suffix) else {
            throw VireoError.parameter("blocksize", "invalid block size '\(text)'")
        }
        return text
    }

    public func free(_ volname: String) async throws {
        let volume = try parse(volname)
        let dataset = try dataset(volume)
        for attempt in 1...Self.destroyAttempts {
            do throws(CommandError) {
                _ = try await backend.attempt("zfs", ["destroy", "-r", dataset], timeout: BlockBackend.removeTimeout)
                return
            } catch {
                guard case .failed(_, _, let stderr, _) = error else {
                    throw backend.failure("removing '\(volname)'", error)
                }
                if stderr.contains("does not exist") { return }
                guard stderr.contains("dataset is busy"), attempt < Self.destroyAttempts else {
                    throw backend.failure("removing '\(volname)'", error)
                }
            }
            try await Task.sleep(for: Self.busyRetryDelay)
        }
    }

    public func resize(_ volname: String, sizeBytes: Int) async throws {
        let volume = try parse(volname)
        guard sizeBytes > 0 else {
            throw VireoError.invalid("invalid size \(sizeBytes) for '\(backend.volid(volname))'")
        }
        let current = try await info(volname).size
        // A smaller volsize cuts off the end of the disk; nothing asks for that on purpose.
        guard sizeBytes >= current else {
            throw VireoError.invalid("shrinking '\(backend.volid(volname))' is not supported")
        }
        let kib = BlockBackend.kibibytes(sizeBytes)
        let property = Self.isFilesystem(volume.kind) ? "refquota=\(kib)k" : "volsize=\(Self.zvolKiB(kib))k"
        try await zfsOnVolume("resizing '\(volname)'", volname, ["set", property, try dataset(volume)])
    }

    public func path(_ volname: String) throws -> String {
        let volume = try parse(volname)
        let pool = try pool()
        guard Self.isFilesystem(volume.kind) else { return "/dev/zvol/\(pool)/\(volume.name)" }
        var mountpoint = "/\(pool)"
        if let configured = definition["mountpoint"] {
            guard configured.hasPrefix("/"), !configured.split(separator: "/").contains("..") else {
                throw VireoError.parameter("mountpoint", "storage '\(id)': invalid mountpoint '\(configured)'")
            }
            mountpoint = configured.count > 1 && configured.hasSuffix("/") ? String(configured.dropLast()) : configured
        }
        return mountpoint == "/" ? "/\(volume.name)" : "\(mountpoint)/\(volume.name)"
    }

    public func info(_ volname: String) async throws -> VolumeInfo {
        let volume = try parse(volname)
        let text = try await zfsOnVolume(
            "reading '\(volname)'",
            volname,
            ["list", "-o", ZFSReport.infoColumns.joined(separator: ","), "-Hp", try dataset(volume)],
            timeout: BlockBackend.queryTimeout
        )
        guard let dataset = ZFSReport.datasets(text, columns: ZFSReport.infoColumns).first,
            let info = volumeInfo(dataset, filter: nil)
        else { throw VireoError.notFound("volume '\(backend.volid(volname))' does not exist") }
        return info
    }

    public func createSnapshot(_ volname: String, name: String) async throws {
        let volume = try parse(volname)
        try BlockVolumeName.validateSnapshotName(name)
        let dataset = try dataset(volume)
        var arguments = ["snapshot"]
        if Self.isFilesystem(volume.kind) {
            // The quota is not part of a snapshot; keep it with one so rollback can restore it.
            let refquota =
                ZFSReport.values(
                    try await zfsOnVolume(
                        "reading the quota of '\(volname)'",
                        volname,
                        ["get", "-Hp", "-o", "value", "refquota", dataset],
                        timeout: BlockBackend.queryTimeout
                    )
                ).first ?? "0"
            arguments += ["-o", "pve-storage:refquota=\(refquota)"]
        }
        try await zfsOnVolume(
            "creating snapshot '\(name)' of '\(volname)'",
            volname,
            arguments + ["\(dataset)@\(name)"]
        )
    }

    public func rollbackSnapshot(_ volname: String, name: String) async throws {
        let volume = try parse(volname)
        try BlockVolumeName.validateSnapshotName(name)
        let dataset = try dataset(volume)
        let snapshots = ZFSReport.snapshotNames(
            try await zfsOnVolume(
                "listing snapshots of '\(volname)'",
                volname,
                ["list", "-H", "-t", "snapshot", "-o", "name", "-s", "creation", "-d", "1", dataset],
                timeout: BlockBackend.queryTimeout
            )
        )
        guard snapshots.contains(name) else {
            throw VireoError.notFound("snapshot '\(name)' of '\(backend.volid(volname))' does not exist")
        }
        // `zfs rollback` to an older snapshot would destroy the newer ones.
        guard snapshots.last == name else {
            throw VireoError.conflict("can't rollback, '\(name)' is not most recent snapshot on '\(volname)'")
        }
        try await zfs("rolling '\(volname)' back to '\(name)'", ["rollback", "\(dataset)@\(name)"])
        guard Self.isFilesystem(volume.kind) else { return }
        let saved = ZFSReport.values(
            try await zfs(
                "reading the saved quota of '\(name)'",
                ["get", "-Hp", "-o", "value", "pve-storage:refquota", "\(dataset)@\(name)"],
                timeout: BlockBackend.queryTimeout
            )
        ).first
        if let saved, let quota = Int(saved) {
            try await zfs("restoring the quota of '\(volname)'", ["set", "refquota=\(quota)", dataset])
        }
        // Remounting drops what the kernel cached of the rolled-back files.
        try await zfs("unmounting '\(volname)'", ["unmount", dataset])
        try await zfs("mounting '\(volname)'", ["mount", dataset])
    }

    public func deleteSnapshot(_ volname: String, name: String) async throws {
        let volume = try parse(volname)
        try BlockVolumeName.validateSnapshotName(name)
        try await zfsOnVolume(
            "removing snapshot '\(name)' of '\(volname)'",
            volname,
            ["destroy", "\(try dataset(volume))@\(name)"],
            timeout: BlockBackend.removeTimeout
        )
    }

    public func createBase(_ volname: String) async throws -> String {
        let volume = try parse(volname)
        guard !volume.isBase else { throw VireoError.conflict("volume '\(backend.volid(volname))' is already a base") }
        let pool = try pool()
        let base = volume.objectName(as: volume.kind.baseKind)
        try await zfsOnVolume(
            "renaming '\(volname)' to '\(base)'",
            volname,
            ["rename", "\(pool)/\(volume.name)", "\(pool)/\(base)"]
        )
        do {
            try await zfs(
                "creating the base snapshot of '\(base)'",
                ["snapshot", "\(pool)/\(base)@\(Self.baseSnapshot)"]
            )
        } catch {
            _ = try? await zfs("renaming '\(base)' back", ["rename", "\(pool)/\(base)", "\(pool)/\(volume.name)"])
            throw error
        }
        return volume.base.map { "\($0)/\(base)" } ?? base
    }

    public func linkedClone(_ volname: String, vmid: Int, snapshot: String?) async throws -> String {
        let volume = try parse(volname)
        guard snapshot == nil else { throw unsupported("linked clones from a snapshot") }
        guard volume.isBase else {
            throw VireoError.invalid("linked clones can only be made from a base volume, not '\(volname)'")
        }
        guard VMID(vmid) != nil else { throw VireoError.invalid("invalid VMID \(vmid)") }
        let pool = try pool()
        let kind = volume.kind.volumeKind
        let name = try backend.newName(
            nil,
            kind: kind,
            vmid: vmid,
            existing: try await datasets().map(\.shortName),
            counting: Self.allKinds
        )
        var arguments = ["clone"]
        if Self.isFilesystem(kind) {
            let refquota =
                ZFSReport.values(
                    try await zfsOnVolume(
                        "reading the quota of '\(volname)'",
                        volname,
                        ["get", "-Hp", "-o", "value", "refquota", "\(pool)/\(volume.name)"],
                        timeout: BlockBackend.queryTimeout
                    )
                ).first ?? "0"
            arguments += ["-o", "refquota=\(refquota)"]
        }
        arguments += ["\(pool)/\(volume.name)@\(Self.baseSnapshot)", "\(pool)/\(name)"]
        try await zfsOnVolume("cloning '\(volname)' to '\(name)'", volname, arguments)
        return "\(volume.name)/\(name)"
    }

    public func rename(_ volname: String, toVMID vmid: Int, name: String?) async throws -> String {
        let volume = try parse(volname)
        try BlockBackend.checkRenameTarget(vmid: vmid, name: name, kind: volume.kind)
        let pool = try pool()
        let existing = try await datasets().map(\.shortName)
        guard existing.contains(volume.name) else {
            throw VireoError.notFound("volume '\(backend.volid(volname))' does not exist")
        }
        let target = try backend.newName(
            name,
            kind: volume.kind,
            vmid: vmid,
            existing: existing,
            counting: Self.allKinds
        )
        try await zfs(
            "renaming '\(volname)' to '\(target)'",
            ["rename", "\(pool)/\(volume.name)", "\(pool)/\(target)"]
        )
        return volume.base.map { "\($0)/\(target)" } ?? target
    }
}
