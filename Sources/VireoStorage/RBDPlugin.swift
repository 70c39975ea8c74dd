import Foundation
import VireoCore
public import VireoHost

/// Ceph RBD (`rbd` in storage.cfg): disks are format-2 images `vm-<vmid>-…` in `pool` (and
/// `namespace`), opened by QEMU through librbd. A template is renamed to `base-…` with a protected
/// snapshot `__base__`; linked clones of it are named `<base>/<clone>`; clones of any other
/// snapshot record no base.
public struct RBDPlugin: StoragePlugin {
    public let definition: StorageDefinition
    let backend: BlockBackend
    let fileExists: @Sendable (String) -> Bool

    static let baseSnapshot = "__base__"
    /// Removing an image deletes every object of it; big images take a while.
    static let imageRemoveTimeout: Duration = .seconds(1800)

    public init(definition: StorageDefinition, runner: any CommandRunner) {
        self.init(definition: definition, runner: runner) { FileManager.default.fileExists(atPath: $0) }
    }

    /// `fileExists` says which of the storage's private Ceph files (config, keyring) are there.
    init(definition: StorageDefinition, runner: any CommandRunner, fileExists: @escaping @Sendable (String) -> Bool) {
        self.definition = definition
        backend = BlockBackend(definition: definition, runner: runner)
        self.fileExists = fileExists
    }

    public var capabilities: StorageCapabilities { BlockBackend.capabilities(of: "rbd") }

    func parse(_ volname: String) throws -> BlockVolumeName {
        try BlockVolumeName(parsing: volname, kinds: [.vm, .base], allowsBase: true)
    }

    /// Pool, namespace, monitors and identity from storage.cfg, each checked to be one safe argument.
    func connection() throws -> RBDConnection {
        let pool = try backend.checkBackendName(definition["pool"] ?? "rbd", option: "pool")
        let namespace = try definition["namespace"].map { try backend.checkBackendName($0, option: "namespace") }
        let user = try backend.checkBackendName(definition["username"] ?? "admin", option: "username")
        let monitors = (definition["monhost"] ?? "").split(whereSeparator: { $0 == "," || $0 == ";" || $0 == " " })
            .map(String.init)
        for monitor in monitors
        where monitor.hasPrefix("-")
            || !monitor.unicodeScalars.allSatisfy({
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".:[]/_-".unicodeScalars.contains($0))
            })
        {
            throw VireoError(.invalidArgument, "storage '\(id)': invalid monitor address '\(monitor)' in 'monhost'")
        }
        return RBDConnection(
            storage: id,
            pool: pool,
            namespace: namespace,
            monitors: monitors,
            user: user,
            fileExists: fileExists
        )
    }

    /// Runs `rbd -p <pool> … <arguments>`.
    @discardableResult
    func rbd(
        _ what: String,
        _ arguments: [String],
        timeout: Duration = BlockBackend.changeTimeout
    ) async throws
        -> String
    {
        try await backend.run(what, "rbd", try connection().rbdArguments + arguments, timeout: timeout)
    }

    func images() async throws -> [RBDReport.ListedImage] {
        let text = try await rbd(
            "listing images",
            ["ls", "-l", "--format", "json"],
            timeout: BlockBackend.queryTimeout
        )
        return try RBDReport.decode([RBDReport.ListedImage].self, from: text, empty: [], what: "rbd ls")
            .filter { $0.snapshot == nil }
    }

    func snapshots(of image: String) async throws -> [RBDReport.Snapshot] {
        let text = try await rbd(
            "listing snapshots of '\(image)'",
            ["snap", "ls", "--format", "json", image],
            timeout: BlockBackend.queryTimeout
        )
        return try RBDReport.decode([RBDReport.Snapshot].self, from: text, empty: [], what: "rbd snap ls")
    }

    /// The base a clone's volname records: only a `base-` image's `__base__` snapshot in this pool.
    func recordedBase(_ parent: RBDReport.Parent?, pool: String) -> String? {
        guard let parent, parent.snapshot == Self.baseSnapshot, parent.pool == pool,
            let (kind, _) = BlockVolumeName.parseObjectName(parent.image), kind.isBase
        else { return nil }
        return parent.image
    }

    /// MiB for bytes, rounded up: `rbd` sizes are MiB.
    static func mebibytes(bytes: Int) -> Int { (bytes + (1 << 20) - 1) >> 20 }

    func poolStatus() async throws -> StorageStatus? {
        let connection = try connection()
        let text = try await backend.run(
            "reading cluster usage",
            "ceph",
            connection.clusterArguments + ["df", "--format", "json"]
        )
        let usage = try RBDReport.decode(RBDReport.ClusterUsage.self, from: text, what: "ceph df")
        // Data of images with a data pool lives there; that is the pool that fills up.
        return usage.status(of: definition["data-pool"] ?? connection.pool)
    }

    // MARK: StoragePlugin

    public func activate() async throws {
        // librbd connects per use; there is nothing to mount or import.
        _ = try connection()
    }

    public func status() async throws -> StorageStatus {
        // Like Proxmox: an unreachable cluster makes the storage inactive, not the listing fail.
        (try? await poolStatus()) ?? .inactive
    }

    public func list(content: ContentType?, vmid: Int?) async throws -> [VolumeInfo] {
        let pool = try connection().pool
        return try await images().compactMap { image -> VolumeInfo? in
            guard let (kind, owner) = BlockVolumeName.parseObjectName(image.image), kind == .vm || kind == .base,
                vmid == nil || owner == vmid, let listed = BlockBackend.listedContent(kind: kind, filter: content)
            else { return nil }
            let base = recordedBase(image.parent, pool: pool)
            let volume = BlockVolumeName(kind: kind, vmid: owner, name: image.image, base: base)
            return VolumeInfo(
                volid: backend.volid(volume.volname),
                content: listed,
                format: VolumeFormat.raw.rawValue,
                size: image.size,
                vmid: owner,
                parent: base
            )
        }.sorted { $0.volid < $1.volid }
    }

    public func allocate(_ request: AllocationRequest) async throws -> String {
        try backend.checkAllocation(request, formats: [.raw], kind: .vm)
        let connection = try connection()
        let dataPool = try definition["data-pool"].map { try backend.checkBackendName($0, option: "data-pool") }
        let mib = (request.sizeKiB + 1023) / 1024
        guard let status = try await poolStatus() else {
            throw VireoError(.unavailable, "storage '\(id)': pool '\(dataPool ?? connection.pool)' not found").at(
                .storageBackend
            )
        }
        try backend.checkSpace(requested: mib << 20, available: status.available)
        let name = try backend.newName(
            request.name,
            kind: .vm,
            vmid: request.vmid,
            existing: try await images().map(\.image),
            counting: [.vm, .base]
        )
        var arguments = ["create", "--image-format", "2", "--size", String(mib)]
        if let dataPool { arguments += ["--data-pool", dataPool] }
        try await rbd("creating '\(name)'", arguments + [name])
        return name
    }

    public func free(_ volname: String) async throws {
        let volume = try parse(volname)
        // A protected snapshot blocks the purge; one with clones stays protected and fails here, which
        // keeps a base with linked clones from being removed.
        for snapshot in try await snapshots(of: volume.name) where snapshot.protected {
            try await rbd(
                "unprotecting snapshot '\(snapshot.name)' of '\(volname)'",
                ["snap", "unprotect", "--snap", snapshot.name, volume.name]
            )
        }
        try await rbd(
            "removing the snapshots of '\(volname)'",
            ["snap", "purge", volume.name],
            timeout: BlockBackend.removeTimeout
        )
        try await rbd("removing '\(volname)'", ["rm", volume.name], timeout: Self.imageRemoveTimeout)
    }

    public func resize(_ volname: String, sizeBytes: Int) async throws {
        let volume = try parse(volname)
        guard sizeBytes > 0 else {
            throw VireoError.invalid("invalid size \(sizeBytes) for '\(backend.volid(volname))'")
        }
        // Without --allow-shrink rbd refuses to cut a disk short.
        try await rbd(
            "resizing '\(volname)'",
            ["resize", "--size", String(Self.mebibytes(bytes: sizeBytes)), volume.name]
        )
    }

    public func path(_ volname: String) throws -> String {
        let volume = try parse(volname)
        return try connection().qemuPath(image: volume.name)
    }

    /// `rbd info` of a volume; a missing image is `.notFound`.
    func imageInfo(_ volname: String, _ volume: BlockVolumeName) async throws -> RBDReport.ImageInfo {
        let arguments = try connection().rbdArguments + ["info", "--format", "json", volume.name]
        let text: String
        do throws(CommandError) {
            text = try await backend.attempt("rbd", arguments).standardOutput
        } catch {
            if case .failed(_, _, let stderr, _) = error, stderr.contains("No such file or directory") {
                throw VireoError(
                    .notFound,
                    "volume '\(backend.volid(volname))' does not exist: \(error)",
                    underlying: error
                )
            }
            throw backend.failure("reading '\(volname)'", error)
        }
        return try RBDReport.decode(RBDReport.ImageInfo.self, from: text, what: "rbd info")
    }

    public func info(_ volname: String) async throws -> VolumeInfo {
        let volume = try parse(volname)
        let image = try await imageInfo(volname, volume)
        // `rbd du` walks the image and may be slow or unsupported; the size matters more than the usage.
        let usage = try? RBDReport.decode(
            RBDReport.DiskUsage.self,
            from: try await rbd(
                "measuring '\(volname)'",
                ["du", "--format", "json", volume.name],
                timeout: BlockBackend.queryTimeout
            ),
            what: "rbd du"
        )
        let base = recordedBase(image.parent, pool: try connection().pool)
        return VolumeInfo(
            volid: backend.volid(volname),
            content: .images,
            format: VolumeFormat.raw.rawValue,
            size: image.size,
            used: usage?.used(by: volume.name),
            vmid: volume.vmid,
            parent: base
        )
    }

    public func createSnapshot(_ volname: String, name: String) async throws {
        let volume = try parse(volname)
        try BlockVolumeName.validateSnapshotName(name)
        try await rbd("creating snapshot '\(name)' of '\(volname)'", ["snap", "create", "--snap", name, volume.name])
    }

    public func rollbackSnapshot(_ volname: String, name: String) async throws {
        let volume = try parse(volname)
        try BlockVolumeName.validateSnapshotName(name)
        try await rbd(
            "rolling '\(volname)' back to '\(name)'",
            ["snap", "rollback", "--snap", name, volume.name],
            timeout: BlockBackend.removeTimeout
        )
    }

    public func deleteSnapshot(_ volname: String, name: String) async throws {
        let volume = try parse(volname)
        try BlockVolumeName.validateSnapshotName(name)
        if try await snapshots(of: volume.name).contains(where: { $0.name == name && $0.protected }) {
            try await rbd(
                "unprotecting snapshot '\(name)' of '\(volname)'",
                ["snap", "unprotect", "--snap", name, volume.name]
            )
        }
        try await rbd("removing snapshot '\(name)' of '\(volname)'", ["snap", "rm", "--snap", name, volume.name])
    }

    public func createBase(_ volname: String) async throws -> String {
        let volume = try parse(volname)
        guard !volume.isBase else { throw VireoError.conflict("volume '\(backend.volid(volname))' is already a base") }
        guard try await imageInfo(volname, volume).format == 2 else {
            throw VireoError.invalid(
                "can't create a base from '\(backend.volid(volname))': it is not an image of format 2"
            )
        }
        let base = volume.objectName(as: .base)
        try await rbd("renaming '\(volname)' to '\(base)'", ["rename", volume.name, base])
        do {
            try await rbd(
                "creating the base snapshot of '\(base)'",
                ["snap", "create", "--snap", Self.baseSnapshot, base]
            )
        } catch {
            _ = try? await rbd("renaming '\(base)' back", ["rename", base, volume.name])
            throw error
        }
        do {
            try await rbd(
                "protecting the base snapshot of '\(base)'",
                ["snap", "protect", "--snap", Self.baseSnapshot, base]
            )
        } catch {
            _ = try? await rbd(
                "removing the base snapshot of '\(base)'",
                ["snap", "rm", "--snap", Self.baseSnapshot, base]
            )
            _ = try? await rbd("renaming '\(base)' back", ["rename", base, volume.name])
            throw error
        }
        return volume.base.map { "\($0)/\(base)" } ?? base
    }

    public func linkedClone(_ volname: String, vmid: Int, snapshot: String?) async throws -> String {
        let volume = try parse(volname)
        guard VMID(vmid) != nil else { throw VireoError.invalid("invalid VMID \(vmid)") }
        if let snapshot { try BlockVolumeName.validateSnapshotName(snapshot) }
        guard snapshot != nil || volume.isBase else {
            throw VireoError.invalid("linked clones can only be made from a base volume or a snapshot")
        }
        let connection = try connection()
        let name = try backend.newName(
            nil,
            kind: .vm,
            vmid: vmid,
            existing: try await images().map(\.image),
            counting: [.vm, .base]
        )
        let source = snapshot ?? Self.baseSnapshot
        if let snapshot {
            // Only a protected snapshot can have clones.
            let snapshots = try await snapshots(of: volume.name)
            guard let found = snapshots.first(where: { $0.name == snapshot }) else {
                throw VireoError.notFound("snapshot '\(snapshot)' of '\(backend.volid(volname))' does not exist")
            }
            if !found.protected {
                try await rbd(
                    "protecting snapshot '\(snapshot)' of '\(volname)'",
                    ["snap", "protect", "--snap", snapshot, volume.name]
                )
            }
        }
        try await rbd(
            "cloning '\(volname)' to '\(name)'",
            ["clone", connection.imageSpec(volume.name), "--snap", source, connection.imageSpec(name)]
        )
        // Only a clone of a base's `__base__` records its base; a snapshot clone stands alone.
        return snapshot == nil ? "\(volume.name)/\(name)" : name
    }

    public func rename(_ volname: String, toVMID vmid: Int, name: String?) async throws -> String {
        let volume = try parse(volname)
        try BlockBackend.checkRenameTarget(vmid: vmid, name: name, kind: volume.kind)
        let existing = try await images().map(\.image)
        guard existing.contains(volume.name) else {
            throw VireoError.notFound("volume '\(backend.volid(volname))' does not exist")
        }
        let target = try backend.newName(
            name,
            kind: volume.kind,
            vmid: vmid,
            existing: existing,
            counting: [.vm, .base]
        )
        try await rbd("renaming '\(volname)' to '\(target)'", ["rename", volume.name, target])
        return volume.base.map { "\($0)/\(target)" } ?? target
    }
}
