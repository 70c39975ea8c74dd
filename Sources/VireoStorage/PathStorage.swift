import Foundation
import VireoCore
public import VireoHost

/// What dir and btrfs storages share: the directory layout, safe path resolution, space checks,
/// disk naming and the listing of ISO, template, backup, snippet and import files.
public struct PathStorage: Sendable {
    public let definition: StorageDefinition
    public let root: String
    let runner: any CommandRunner

    public init(definition: StorageDefinition, runner: any CommandRunner) throws {
        guard let path = definition.path, path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
            throw VireoError.parameter("path", "storage '\(definition.id)' needs an absolute 'path'")
        }
        self.definition = definition
        root = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        self.runner = runner
    }

    var id: String { definition.id }

    /// Absolute path of a relative one, refusing anything that resolves outside the root
    /// (a symlinked `images/<vmid>` pointing elsewhere, say).
    func absolute(_ relative: String) throws -> String {
        let candidate = root + "/" + relative
        let realRoot = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
        // Resolve the deepest existing ancestor: the file itself may not exist yet.
        var probe = URL(fileURLWithPath: candidate)
        while !FileManager.default.fileExists(atPath: probe.path), probe.path != "/" { probe.deleteLastPathComponent() }
        let resolved = probe.resolvingSymlinksInPath().path
        guard resolved == realRoot || resolved.hasPrefix(realRoot + "/") else {
            throw VireoError.invalid("storage '\(id)': '\(relative)' resolves outside the storage")
        }
        return candidate
    }

    /// Creates the base path (when allowed) and the content directories.
    func activate() throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if !fm.fileExists(atPath: root, isDirectory: &isDirectory) {
            guard definition["create-base-path"] != "0", definition["mkdir"] != "0" else {
                throw VireoError(.unavailable, "storage '\(id)' is not online (path '\(root)' does not exist)").at(
                    .storageBackend
                )
            }
            try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        } else if !isDirectory.boolValue {
            throw VireoError(.unavailable, "storage '\(id)': '\(root)' is not a directory").at(.storageBackend)
        }
        if let mountPoint = definition["is_mountpoint"], mountPoint != "0", mountPoint != "no" {
            let checked = mountPoint == "1" || mountPoint == "yes" ? root : mountPoint
            guard FileSystemInfo.isMountPoint(checked) else {
                throw VireoError(.unavailable, "storage '\(id)' is not online ('\(checked)' is not mounted)").at(
                    .storageBackend
                )
            }
        }
        guard definition["create-subdirs"] != "0", definition["mkdir"] != "0" else { return }
        for content in definition.content {
            guard let directory = PathVolume.directories[content] else { continue }
            try fm.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
    }

    func status() throws -> StorageStatus {
        guard let info = FileSystemInfo.of(root) else { return .inactive }
        return StorageStatus(total: info.total, used: info.used, available: info.available, active: true)
    }

    /// Refuses an allocation larger than the free space, unless the storage allows overcommit.
    /// Sparse images count with their full size: a full disk under a running VM freezes it.
    func checkSpace(bytes: Int) throws {
        guard !definition.overcommit, let info = FileSystemInfo.of(root) else { return }
        guard bytes <= info.available else {
            throw VireoError.invalid(
                "not enough space on storage '\(id)' (requested \(ByteSize(bytes: bytes)), available \(ByteSize(bytes: info.available)))"
            )
        }
    }

    /// `vm-<vmid>-disk-<n>` with the lowest `n` not used by a `vm-` or `base-` volume of that VMID.
    static func nextDiskName(vmid: Int, used: [String]) throws -> String {
        let taken = Set(
            used.compactMap { name -> Int? in
                for prefix in ["vm-\(vmid)-disk-", "base-\(vmid)-disk-"] where name.hasPrefix(prefix) {
                    let rest = name.dropFirst(prefix.count).prefix { $0.isNumber }
                    return Int(rest)
                }
                return nil
            }
        )
        guard let free = (0...1023).first(where: { !taken.contains($0) }) else {
            throw VireoError.conflict("unable to allocate an image name for VM \(vmid)")
        }
        return "vm-\(vmid)-disk-\(free)"
    }

    /// The names in `images/<vmid>/`.
    func imageNames(vmid: Int) throws -> [String] {
        let directory = try absolute("images/\(vmid)")
        return (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    /// The names in `images/<vmid>/` for a listing: a directory that resolves outside the storage
    /// is skipped (and reported by allocation), so one planted link cannot hide every volume.
    func listableImageNames(vmid: Int) -> [String] {
        ((try? imageNames(vmid: vmid)) ?? []).sorted()
    }

    /// The VMIDs that have an image directory.
    func imageOwners() throws -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: try absolute("images"))) ?? []
        return names.compactMap(PathVolume.vmid).sorted()
    }

    /// ISO, template, backup, snippet and import files.
    func listFiles(content filter: ContentType?, vmid: Int?) throws -> [VolumeInfo] {
        var result: [VolumeInfo] = []
        let fm = FileManager.default
        for content in [ContentType.iso, .vztmpl, .backup, .snippets, .import]
        where definition.content.contains(content) && (filter == nil || filter == content) {
            guard let directory = PathVolume.directories[content] else { continue }
            let names = (try? fm.contentsOfDirectory(atPath: try absolute(directory))) ?? []
            for name in names.sorted() {
                guard
                    let volume = try? PathVolume(
                        parsing: PathVolume.prefixes.first { $0.value == content }.map { "\($0.key)/\(name)" } ?? ""
                    ),
                    let attributes = try? fm.attributesOfItem(atPath: try absolute(volume.relativePath)),
                    (attributes[.type] as? FileAttributeType) == .typeRegular
                else { continue }
                let owner = content == .backup ? Self.backupOwner(name) : nil
                if let vmid, owner != vmid { continue }
                let notes = (try? String(contentsOfFile: try absolute(volume.relativePath) + ".notes", encoding: .utf8))
                result.append(
                    VolumeInfo(
                        volid: "\(id):\(volume.volname)",
                        content: content,
                        format: volume.listedFormat,
                        size: (attributes[.size] as? Int) ?? 0,
                        vmid: owner,
                        ctime: (attributes[.modificationDate] as? Date).map { Int($0.timeIntervalSince1970) },
                        notes: notes?.trimmingCharacters(in: .newlines),
                        protected: fm.fileExists(atPath: try absolute(volume.relativePath) + ".protected")
                    )
                )
            }
        }
        return result
    }

    /// The listing entry of one ISO, template, backup, snippet or import file.
    func fileInfo(_ volume: PathVolume) throws -> VolumeInfo {
        guard
            let item = try listFiles(content: volume.content, vmid: nil).first(where: {
                $0.volid == "\(id):\(volume.volname)"
            })
        else { throw VireoError.notFound("volume '\(id):\(volume.volname)' does not exist") }
        return item
    }

    /// `vzdump-qemu-100-…` → 100.
    static func backupOwner(_ name: String) -> Int? {
        let parts = name.split(separator: "-")
        guard parts.count > 2, parts[0] == "vzdump" else { return nil }
        return Int(parts[2])
    }

    /// Removes a non-image file and its sidecar files.
    func removeFile(_ volume: PathVolume) throws {
        let path = try absolute(volume.relativePath)
        if FileManager.default.fileExists(atPath: path + ".protected") {
            throw VireoError.conflict("volume '\(id):\(volume.volname)' is protected")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw VireoError.notFound("volume '\(id):\(volume.volname)' does not exist")
        }
        try FileManager.default.removeItem(atPath: path)
        for sidecar in [".notes", ".protected"] { try? FileManager.default.removeItem(atPath: path + sidecar) }
    }

    /// Removes `images/<vmid>` when it is empty.
    func removeEmptyImageDirectory(vmid: Int) {
        guard let path = try? absolute("images/\(vmid)"),
            (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty == true
        else { return }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Wraps a tool failure with the storage and operation, keeping its stderr in the message.
    func failure(_ what: String, _ error: any Error) -> any Error {
        if error is VireoError { return error }
        let wrapped = VireoError(.internalError, "storage '\(id)': \(what) failed: \(error)", underlying: error)
        // A tool that names its own layer (qemu-img: the virtual disk) keeps it; the rest is the backend's.
        return Fault.of(error).layer == .api ? wrapped.at(.storageBackend) : wrapped
    }
}
