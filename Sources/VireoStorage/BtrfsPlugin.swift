import Foundation
import VireoCore
public import VireoHost

/// `btrfs`: each raw disk lives in its own subvolume `images/<vmid>/vm-<vmid>-disk-<n>/disk.raw`
/// (volname `<vmid>/vm-<vmid>-disk-<n>.raw`); snapshots are read-only subvolume snapshots
/// `<subvol>@<snap>`; a template is a read-only `base-` subvolume and a linked clone a writable
/// snapshot of it (an independent copy-on-write volume).
public struct BtrfsPlugin: StoragePlugin {
    public let definition: StorageDefinition
    public var capabilities: StorageCapabilities { StorageTypes.all["btrfs"]?.capabilities ?? DirPlugin.fallback }
    let storage: PathStorage
    let btrfs: Btrfs

    public init(definition: StorageDefinition, runner: any CommandRunner) throws {
        self.definition = definition
        storage = try PathStorage(definition: definition, runner: runner)
        btrfs = Btrfs(runner: runner)
    }

    public func activate() async throws {
        try storage.activate()
        let type = FileSystemInfo.mountType(of: storage.root)
        guard type == "btrfs" else {
            throw VireoError(.unavailable, "storage '\(id)': '\(storage.root)' is not on btrfs (\(type ?? "unknown"))")
                .at(.storageBackend)
        }
    }

    public func status() async throws -> StorageStatus { try storage.status() }

    public func list(content: ContentType?, vmid: Int?) async throws -> [VolumeInfo] {
        var result: [VolumeInfo] = []
        if content == nil || content == .images || content == .rootdir, definition.content.contains(.images) {
            for owner in try vmid.map({ [$0] }) ?? storage.imageOwners() {
                for entry in try storage.imageNames(vmid: owner).sorted()
                where !entry.contains("@") && !entry.contains(".tmp.") {
                    guard let volume = try? PathVolume(parsing: "\(owner)/\(entry).raw"),
                        FileManager.default.fileExists(atPath: try diskFile(volume))
                    else { continue }
                    result.append(try info(of: volume))
                }
            }
        }
        return result + (try storage.listFiles(content: content, vmid: vmid))
    }

    public func allocate(_ request: AllocationRequest) async throws -> String {
        guard request.format == .raw else { throw unsupported("format '\(request.format.rawValue)'") }
        let stem =
            try request.name.map { name -> String in
                let volume = try PathVolume(parsing: "\(request.vmid)/\(name)")
                guard volume.format == .raw else {
                    throw VireoError.parameter("filename", "btrfs images must be raw ('\(name)')")
                }
                return volume.stem
            } ?? PathStorage.nextDiskName(vmid: request.vmid, used: storage.imageNames(vmid: request.vmid))
        let volume = try PathVolume(parsing: "\(request.vmid)/\(stem).raw")
        let subvolume = try self.subvolume(volume)
        guard !FileManager.default.fileExists(atPath: subvolume) else {
            throw VireoError.conflict("volume '\(id):\(volume.volname)' already exists")
        }
        try storage.checkSpace(bytes: request.sizeKiB * 1024)
        try FileManager.default.createDirectory(
            atPath: (subvolume as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        do {
            try await btrfs.createSubvolume(subvolume)
        } catch { throw storage.failure("creating subvolume for '\(volume.volname)'", error) }
        do {
            let file = subvolume + "/disk.raw"
            guard FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o640])
            else {
                throw VireoError(.internalError, "storage '\(id)': cannot create '\(file)'").at(.storageBackend)
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
            defer { try? handle.close() }
            try handle.truncate(atOffset: UInt64(request.sizeKiB) * 1024)
        } catch {
            // Leave nothing half made behind.
            try? await btrfs.deleteSubvolume(subvolume)
            storage.removeEmptyImageDirectory(vmid: request.vmid)
            throw storage.failure("allocating '\(volume.volname)'", error)
        }
        return volume.volname
    }

    public func free(_ volname: String) async throws {
        let volume = try PathVolume(parsing: volname)
        guard let vmid = volume.vmid else { return try storage.removeFile(volume) }
        let subvolume = try existingSubvolume(volume)
        if volume.isBase {
            // Btrfs clones are independent copies; nothing depends on the base.
            try? await btrfs.setReadOnly(subvolume, false)
        }
        do {
            for snapshot in try snapshots(of: volume) {
                try await btrfs.deleteSubvolume(subvolume + "@" + snapshot)
            }
            try await btrfs.deleteSubvolume(subvolume)
        } catch { throw storage.failure("removing '\(volname)'", error) }
        storage.removeEmptyImageDirectory(vmid: vmid)
    }

    public func resize(_ volname: String, sizeBytes: Int) async throws {
        let volume = try imageVolume(volname)
        let file = try diskFile(volume)
        _ = try existingSubvolume(volume)
        let current = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        guard sizeBytes >= current else {
            throw VireoError.invalid(
                "volume '\(id):\(volname)': shrinking from \(current) to \(sizeBytes) bytes is not allowed"
            )
        }
        try storage.checkSpace(bytes: sizeBytes - current)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        try handle.truncate(atOffset: UInt64(sizeBytes))
    }

    public func path(_ volname: String) throws -> String {
        let volume = try PathVolume(parsing: volname)
        return volume.vmid == nil ? try storage.absolute(volume.relativePath) : try diskFile(volume)
    }

    public func info(_ volname: String) async throws -> VolumeInfo {
        let volume = try PathVolume(parsing: volname)
        guard volume.vmid != nil else {
            return try storage.fileInfo(volume)
        }
        _ = try existingSubvolume(volume)
        return try info(of: volume)
    }

    public func exists(_ volname: String) async throws -> Bool {
        FileManager.default.fileExists(atPath: try path(volname))
    }

    public func createSnapshot(_ volname: String, name: String) async throws {
        let volume = try imageVolume(volname)
        let subvolume = try existingSubvolume(volume)
        try Self.checkSnapshotName(name)
        guard !FileManager.default.fileExists(atPath: subvolume + "@" + name) else {
            throw VireoError.conflict("snapshot '\(name)' of '\(id):\(volname)' already exists")
        }
        do { try await btrfs.snapshot(subvolume, to: subvolume + "@" + name, readOnly: true) } catch {
            throw storage.failure("snapshot '\(name)' of '\(volname)'", error)
        }
    }

    public func rollbackSnapshot(_ volname: String, name: String) async throws {
        let volume = try imageVolume(volname)
        let subvolume = try existingSubvolume(volume)
        try Self.checkSnapshotName(name)
        let snapshot = subvolume + "@" + name
        guard FileManager.default.fileExists(atPath: snapshot) else {
            throw VireoError.notFound("snapshot '\(name)' of '\(id):\(volname)' does not exist")
        }
        let staged = subvolume + ".tmp.\(getpid())"
        let old = subvolume + ".old.\(getpid())"
        do {
            try await btrfs.snapshot(snapshot, to: staged, readOnly: false)
            // Swap in the writable copy, then drop the replaced state.
            try FileManager.default.moveItem(atPath: subvolume, toPath: old)
            try FileManager.default.moveItem(atPath: staged, toPath: subvolume)
            try await btrfs.deleteSubvolume(old)
        } catch {
            if !FileManager.default.fileExists(atPath: subvolume), FileManager.default.fileExists(atPath: old) {
                try? FileManager.default.moveItem(atPath: old, toPath: subvolume)
            }
            try? await btrfs.deleteSubvolume(staged)
            throw storage.failure("rollback of '\(volname)' to '\(name)'", error)
        }
    }

    public func deleteSnapshot(_ volname: String, name: String) async throws {
        let volume = try imageVolume(volname)
        let subvolume = try existingSubvolume(volume)
        try Self.checkSnapshotName(name)
        guard FileManager.default.fileExists(atPath: subvolume + "@" + name) else {
            throw VireoError.notFound("snapshot '\(name)' of '\(id):\(volname)' does not exist")
        }
        do { try await btrfs.deleteSubvolume(subvolume + "@" + name) } catch {
            throw storage.failure("deleting snapshot '\(name)' of '\(volname)'", error)
        }
    }

    public func createBase(_ volname: String) async throws -> String {
        let volume = try imageVolume(volname)
        guard volume.name.hasPrefix("vm-") else {
            throw VireoError.invalid("volume '\(id):\(volname)' is already a base")
        }
        var base = volume
        base.name = "base-" + volume.name.dropFirst(3)
        let from = try existingSubvolume(volume)
        let to = try subvolume(base)
        guard !FileManager.default.fileExists(atPath: to) else {
            throw VireoError.conflict("volume '\(id):\(base.volname)' already exists")
        }
        try FileManager.default.moveItem(atPath: from, toPath: to)
        do { try await btrfs.setReadOnly(to, true) } catch {
            throw storage.failure("making '\(base.volname)' read-only", error)
        }
        return base.volname
    }

    public func linkedClone(_ volname: String, vmid: Int, snapshot: String?) async throws -> String {
        let source = try imageVolume(volname)
        var from = try existingSubvolume(source)
        if let snapshot {
            try Self.checkSnapshotName(snapshot)
            from += "@" + snapshot
        } else if !source.isBase {
            throw VireoError.invalid(
                "linked clone of '\(id):\(volname)': the source must be a base volume or a snapshot"
            )
        }
        let stem = try PathStorage.nextDiskName(vmid: vmid, used: storage.imageNames(vmid: vmid))
        let clone = try PathVolume(parsing: "\(vmid)/\(stem).raw")
        let target = try subvolume(clone)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        do { try await btrfs.snapshot(from, to: target, readOnly: false) } catch {
            storage.removeEmptyImageDirectory(vmid: vmid)
            throw storage.failure("linked clone of '\(volname)'", error)
        }
        return clone.volname
    }

    public func rename(_ volname: String, toVMID vmid: Int, name: String?) async throws -> String {
        let volume = try imageVolume(volname)
        let from = try existingSubvolume(volume)
        let stem =
            try name.map { try PathVolume(parsing: "\(vmid)/\($0)").stem }
            ?? PathStorage.nextDiskName(vmid: vmid, used: storage.imageNames(vmid: vmid))
        let target = try PathVolume(parsing: "\(vmid)/\(stem).raw")
        let to = try subvolume(target)
        guard !FileManager.default.fileExists(atPath: to) else {
            throw VireoError.conflict("volume '\(id):\(target.volname)' already exists")
        }
        guard try snapshots(of: volume).isEmpty else {
            throw VireoError.conflict("volume '\(id):\(volname)' has snapshots")
        }
        try FileManager.default.createDirectory(
            atPath: (to as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try FileManager.default.moveItem(atPath: from, toPath: to)
        if let old = volume.vmid { storage.removeEmptyImageDirectory(vmid: old) }
        return target.volname
    }

    // MARK: - Helpers

    /// The subvolume directory of a raw disk: `images/<vmid>/<stem>`.
    private func subvolume(_ volume: PathVolume) throws -> String {
        try storage.absolute("images/\(volume.vmid ?? 0)/\(volume.stem)")
    }

    private func diskFile(_ volume: PathVolume) throws -> String { try subvolume(volume) + "/disk.raw" }

    private func existingSubvolume(_ volume: PathVolume) throws -> String {
        let path = try subvolume(volume)
        guard FileManager.default.fileExists(atPath: path) else {
            throw VireoError.notFound("volume '\(id):\(volume.volname)' does not exist")
        }
        return path
    }

    private func imageVolume(_ volname: String) throws -> PathVolume {
        let volume = try PathVolume(parsing: volname)
        guard volume.vmid != nil, volume.format == .raw, volume.base == nil else {
            throw VireoError.invalid("volume '\(id):\(volname)' is not a btrfs disk image")
        }
        return volume
    }

    private func snapshots(of volume: PathVolume) throws -> [String] {
        let prefix = volume.stem + "@"
        return try storage.imageNames(vmid: volume.vmid ?? 0).filter { $0.hasPrefix(prefix) }.map {
            String($0.dropFirst(prefix.count))
        }
    }

    static func checkSnapshotName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 40,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }),
            name.first?.isLetter == true
        else { throw VireoError.parameter("snapname", "invalid snapshot name '\(name)'") }
    }

    private func info(of volume: PathVolume) throws -> VolumeInfo {
        let file = try diskFile(volume)
        var info = stat()
        stat(file, &info)
        return VolumeInfo(
            volid: "\(id):\(volume.volname)",
            content: .images,
            format: "raw",
            size: Int(info.st_size),
            used: Int(info.st_blocks) * 512,
            vmid: volume.vmid,
            ctime: Int(info.st_ctim.tv_sec)
        )
    }
}
