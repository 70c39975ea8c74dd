import Foundation
import VireoCore
public import VireoHost

/// `dir`: images as raw/qcow2/vmdk files under `images/<vmid>/`, made and changed with `qemu-img`;
/// qcow2 internal snapshots; linked clones as qcow2 overlays on a base with a relative backing path.
public struct DirPlugin: StoragePlugin {
    public let definition: StorageDefinition
    public var capabilities: StorageCapabilities { StorageTypes.all["dir"]?.capabilities ?? Self.fallback }
    let storage: PathStorage
    let qemuImg: QemuImg

    static let fallback = StorageCapabilities(
        formats: [.raw],
        defaultFormat: .raw,
        snapshotFormats: [],
        linkedClones: false,
        templates: false,
        inherentlyShared: false,
        validContent: [.images],
        defaultContent: [.images]
    )

    public init(definition: StorageDefinition, runner: any CommandRunner) throws {
        self.definition = definition
        storage = try PathStorage(definition: definition, runner: runner)
        qemuImg = QemuImg(runner: runner)
    }

    public func activate() async throws { try storage.activate() }

    public func status() async throws -> StorageStatus { try storage.status() }

    public func list(content: ContentType?, vmid: Int?) async throws -> [VolumeInfo] {
        var result: [VolumeInfo] = []
        if content == nil || content == .images || content == .rootdir, definition.content.contains(.images) {
            let owners = try vmid.map { [$0] } ?? storage.imageOwners()
            for owner in owners {
                for name in storage.listableImageNames(vmid: owner) where PathVolume.imageFormat(of: name) != nil {
                    guard let volume = try? PathVolume(parsing: "\(owner)/\(name)") else { continue }
                    result.append(try await info(of: volume))
                }
            }
        }
        result += try storage.listFiles(content: content, vmid: vmid)
        return result
    }

    public func allocate(_ request: AllocationRequest) async throws -> String {
        guard request.format != .subvol else { throw unsupported("subvol allocation") }
        let used = try storage.imageNames(vmid: request.vmid)
        let name =
            try request.name
            ?? (PathStorage.nextDiskName(vmid: request.vmid, used: used) + ".\(request.format.rawValue)")
        let volume = try PathVolume(parsing: "\(request.vmid)/\(name)")
        guard volume.format == request.format else {
            throw VireoError.parameter(
                "filename",
                "extension of '\(name)' does not match format '\(request.format.rawValue)'"
            )
        }
        let path = try storage.absolute(volume.relativePath)
        guard !FileManager.default.fileExists(atPath: path) else {
            throw VireoError.conflict("volume '\(id):\(volume.volname)' already exists")
        }
        try storage.checkSpace(bytes: request.sizeKiB * 1024)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        do {
            try await qemuImg.create(
                at: path,
                format: QemuImg.Format(rawValue: request.format.rawValue) ?? .raw,
                sizeKiB: request.sizeKiB,
                preallocation: preallocation(for: request.format)
            )
        } catch {
            // A failed create must leave nothing behind.
            try? FileManager.default.removeItem(atPath: path)
            storage.removeEmptyImageDirectory(vmid: request.vmid)
            throw storage.failure("allocating '\(volume.volname)'", error)
        }
        return volume.volname
    }

    public func free(_ volname: String) async throws {
        let volume = try PathVolume(parsing: volname)
        guard volume.vmid != nil else { return try storage.removeFile(volume) }
        let path = try storage.absolute(volume.relativePath)
        guard FileManager.default.fileExists(atPath: path) else {
            throw VireoError.notFound("volume '\(id):\(volname)' does not exist")
        }
        if volume.isBase, let clone = try await linkedClones(of: volume).first {
            throw VireoError.conflict("base volume '\(id):\(volname)' is used by linked clone '\(clone)'")
        }
        try FileManager.default.removeItem(atPath: path)
        if let vmid = volume.vmid { storage.removeEmptyImageDirectory(vmid: vmid) }
    }

    public func resize(_ volname: String, sizeBytes: Int) async throws {
        let volume = try imageVolume(volname)
        let current = try await info(of: volume)
        if sizeBytes > current.size { try storage.checkSpace(bytes: sizeBytes - current.size) }
        do {
            try await qemuImg.resize(try existingPath(volume), format: try qemuFormat(volume), sizeBytes: sizeBytes)
        } catch { throw storage.failure("resizing '\(volname)'", error) }
    }

    public func path(_ volname: String) throws -> String {
        try storage.absolute(try PathVolume(parsing: volname).relativePath)
    }

    public func info(_ volname: String) async throws -> VolumeInfo {
        let volume = try PathVolume(parsing: volname)
        guard volume.vmid != nil else {
            return try storage.fileInfo(volume)
        }
        _ = try existingPath(volume)
        return try await info(of: volume)
    }

    public func exists(_ volname: String) async throws -> Bool {
        FileManager.default.fileExists(atPath: try path(volname))
    }

    public func createSnapshot(_ volname: String, name: String) async throws {
        try await snapshot(.create, volname, name)
    }

    public func rollbackSnapshot(_ volname: String, name: String) async throws {
        try await snapshot(.apply, volname, name)
    }

    public func deleteSnapshot(_ volname: String, name: String) async throws {
        try await snapshot(.delete, volname, name)
    }

    public func createBase(_ volname: String) async throws -> String {
        let volume = try imageVolume(volname)
        guard !volume.isBase, volume.base == nil, let vmid = volume.vmid, volume.name.hasPrefix("vm-") else {
            throw VireoError.invalid("volume '\(id):\(volname)' cannot become a base (it is a base or a linked clone)")
        }
        var base = volume
        base.name = "base-" + volume.name.dropFirst(3)
        let from = try existingPath(volume)
        let to = try storage.absolute(base.relativePath)
        guard !FileManager.default.fileExists(atPath: to) else {
            throw VireoError.conflict("volume '\(id):\(base.volname)' already exists")
        }
        try FileManager.default.moveItem(atPath: from, toPath: to)
        // Bases are read-only parents of linked clones.
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: to)
        _ = vmid
        return base.volname
    }

    public func linkedClone(_ volname: String, vmid: Int, snapshot: String?) async throws -> String {
        let base = try imageVolume(volname)
        guard snapshot == nil else { throw unsupported("linked clone from a snapshot") }
        guard base.isBase, base.base == nil, let baseVMID = base.vmid else {
            throw VireoError.invalid("linked clone of '\(id):\(volname)': the source must be a base volume")
        }
        _ = try existingPath(base)
        let name = try PathStorage.nextDiskName(vmid: vmid, used: storage.imageNames(vmid: vmid)) + ".qcow2"
        let clone = PathVolume(content: .images, name: name, vmid: vmid, base: (baseVMID, base.name))
        let directory = try storage.absolute("images/\(vmid)")
        let path = directory + "/" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            try await qemuImg.create(
                at: path,
                format: .qcow2,
                sizeKiB: nil,
                backing: ("../\(baseVMID)/\(base.name)", try qemuFormat(base)),
                workingDirectory: directory
            )
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            storage.removeEmptyImageDirectory(vmid: vmid)
            throw storage.failure("linked clone of '\(volname)'", error)
        }
        return clone.volname
    }

    public func rename(_ volname: String, toVMID vmid: Int, name: String?) async throws -> String {
        let volume = try imageVolume(volname)
        guard volume.base == nil else { throw unsupported("renaming a linked clone") }
        let format = volume.format ?? .raw
        let newName =
            try name
            ?? (PathStorage.nextDiskName(vmid: vmid, used: storage.imageNames(vmid: vmid)) + ".\(format.rawValue)")
        let target = try PathVolume(parsing: "\(vmid)/\(newName)")
        let to = try storage.absolute(target.relativePath)
        guard !FileManager.default.fileExists(atPath: to) else {
            throw VireoError.conflict("volume '\(id):\(target.volname)' already exists")
        }
        try FileManager.default.createDirectory(
            atPath: (to as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try FileManager.default.moveItem(atPath: try existingPath(volume), toPath: to)
        if let old = volume.vmid { storage.removeEmptyImageDirectory(vmid: old) }
        return target.volname
    }

    // MARK: - Helpers

    private func snapshot(_ action: QemuImg.SnapshotAction, _ volname: String, _ name: String) async throws {
        let volume = try imageVolume(volname)
        guard volume.format == .qcow2 else {
            throw unsupported("snapshots of \(volume.format?.rawValue ?? "?") images")
        }
        do {
            try await qemuImg.snapshot(action, name: name, path: try existingPath(volume))
        } catch { throw storage.failure("snapshot \(action) '\(name)' of '\(volname)'", error) }
    }

    private func imageVolume(_ volname: String) throws -> PathVolume {
        let volume = try PathVolume(parsing: volname)
        guard volume.vmid != nil else { throw VireoError.invalid("volume '\(id):\(volname)' is not a disk image") }
        return volume
    }

    private func existingPath(_ volume: PathVolume) throws -> String {
        let path = try storage.absolute(volume.relativePath)
        guard FileManager.default.fileExists(atPath: path) else {
            throw VireoError.notFound("volume '\(id):\(volume.volname)' does not exist")
        }
        return path
    }

    private func qemuFormat(_ volume: PathVolume) throws -> QemuImg.Format {
        guard let format = volume.format, let qemu = QemuImg.Format(rawValue: format.rawValue) else {
            throw unsupported("format of '\(volume.name)'")
        }
        return qemu
    }

    private func preallocation(for format: VolumeFormat) -> String? {
        let value = definition["preallocation"] ?? "metadata"
        // For raw, `metadata` means no preallocation.
        if format == .raw, value == "metadata" { return nil }
        return format == .qcow2 || format == .raw ? value : nil
    }

    private func info(of volume: PathVolume) async throws -> VolumeInfo {
        let path = try storage.absolute(volume.relativePath)
        let details: QemuImg.Info
        do {
            details = try await qemuImg.info(path, format: try qemuFormat(volume))
        } catch { throw storage.failure("reading '\(volume.volname)'", error) }
        var listed = volume
        if let backing = details.backingFile {
            // `../<basevmid>/<base name>` marks a linked clone.
            let parts = backing.split(separator: "/")
            if parts.count == 3, parts[0] == "..", let baseVMID = PathVolume.vmid(String(parts[1])) {
                listed.base = (baseVMID, String(parts[2]))
            }
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return VolumeInfo(
            volid: "\(id):\(listed.volname)",
            content: .images,
            format: volume.format?.rawValue ?? "raw",
            size: details.virtualSize,
            used: details.actualSize,
            vmid: volume.vmid,
            parent: details.backingFile,
            ctime: (attributes?[.creationDate] as? Date ?? attributes?[.modificationDate] as? Date).map {
                Int($0.timeIntervalSince1970)
            }
        )
    }

    /// Volumes whose backing file is this base.
    private func linkedClones(of base: PathVolume) async throws -> [String] {
        var clones: [String] = []
        for owner in try storage.imageOwners() where owner != base.vmid {
            for name in storage.listableImageNames(vmid: owner) where name.hasSuffix(".qcow2") {
                let path = try storage.absolute("images/\(owner)/\(name)")
                if let details = try? await qemuImg.info(path, format: .qcow2),
                    details.backingFile == "../\(base.vmid ?? 0)/\(base.name)"
                {
                    clones.append("\(id):\(base.vmid ?? 0)/\(base.name)/\(owner)/\(name)")
                }
            }
        }
        return clones
    }
}
