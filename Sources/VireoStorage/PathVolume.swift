import Foundation
import VireoCore

/// A parsed volname of a path-based storage (dir, btrfs):
/// `100/vm-100-disk-0.qcow2`, `100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2` (linked clone),
/// `iso/debian.iso`, `vztmpl/x.tar.zst`, `backup/vzdump-qemu-100-….vma.zst`, `snippets/a.yaml`, `import/x.ova`.
///
/// Parsing is strict: a file name is one path segment of safe characters, so no volname can name a
/// path outside its content directory.
public struct PathVolume: Sendable, Equatable {
    public var content: ContentType
    /// The file (or subvolume) name inside its directory.
    public var name: String
    /// Owner of an image.
    public var vmid: Int?
    /// For linked clones: the base image's owner and name.
    public var base: (vmid: Int, name: String)?

    public static func == (a: PathVolume, b: PathVolume) -> Bool {
        a.content == b.content && a.name == b.name && a.vmid == b.vmid && a.base?.vmid == b.base?.vmid
            && a.base?.name == b.base?.name
    }

    public init(content: ContentType, name: String, vmid: Int? = nil, base: (vmid: Int, name: String)? = nil) {
        self.content = content
        self.name = name
        self.vmid = vmid
        self.base = base
    }

    /// Directory of each content type below the storage path.
    public static let directories: [ContentType: String] = [
        .images: "images", .rootdir: "images", .iso: "template/iso", .vztmpl: "template/cache", .backup: "dump",
        .snippets: "snippets", .import: "import",
    ]

    /// The volname prefix of non-image content.
    static let prefixes: [String: ContentType] = [
        "iso": .iso, "vztmpl": .vztmpl, "backup": .backup, "snippets": .snippets, "import": .import,
    ]

    public init(parsing volname: String) throws {
        let parts = volname.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let invalid = VireoError.invalid("unable to parse volume name '\(volname)'")
        if parts.count == 2, let content = Self.prefixes[parts[0]] {
            try Self.checkFileName(parts[1], volname: volname)
            guard Self.hasValidExtension(parts[1], for: content) else {
                throw VireoError.invalid(
                    "volume name '\(volname)': '\(parts[1])' has no valid extension for \(content.rawValue)"
                )
            }
            self.init(content: content, name: parts[1])
            return
        }
        if parts.count == 2, let vmid = Self.vmid(parts[0]) {
            try Self.checkFileName(parts[1], volname: volname)
            guard Self.imageFormat(of: parts[1]) != nil else { throw invalid }
            self.init(content: .images, name: parts[1], vmid: vmid)
            return
        }
        if parts.count == 4, let baseVMID = Self.vmid(parts[0]), let vmid = Self.vmid(parts[2]) {
            try Self.checkFileName(parts[1], volname: volname)
            try Self.checkFileName(parts[3], volname: volname)
            guard parts[1].hasPrefix("base-"), Self.imageFormat(of: parts[3]) != nil else { throw invalid }
            self.init(content: .images, name: parts[3], vmid: vmid, base: (baseVMID, parts[1]))
            return
        }
        throw invalid
    }

    public var volname: String {
        if let base, let vmid { return "\(base.vmid)/\(base.name)/\(vmid)/\(name)" }
        if let vmid { return "\(vmid)/\(name)" }
        let prefix = Self.prefixes.first { $0.value == content }?.key ?? content.rawValue
        return "\(prefix)/\(name)"
    }

    /// Path relative to the storage root.
    public var relativePath: String {
        if let vmid { return "images/\(vmid)/\(name)" }
        return "\(Self.directories[content] ?? content.rawValue)/\(name)"
    }

    public var format: VolumeFormat? { Self.imageFormat(of: name) }
    public var isBase: Bool { name.hasPrefix("base-") }

    /// The name without the format extension (`vm-100-disk-0`).
    public var stem: String {
        guard let format else { return name }
        return String(name.dropLast(format.rawValue.count + 1))
    }

    static func vmid(_ text: String) -> Int? {
        guard let value = Int(text), (100...999_999_999).contains(value), String(value) == text else { return nil }
        return value
    }

    /// One path segment of safe characters, not starting with `.` or `-`.
    static func checkFileName(_ name: String, volname: String) throws {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "@")
        }
        guard !name.isEmpty, name.utf8.count <= 255, allowed, !name.hasPrefix("."), !name.hasPrefix("-") else {
            throw VireoError.invalid("volume name '\(volname)': invalid file name '\(name)'")
        }
    }

    static func imageFormat(of name: String) -> VolumeFormat? {
        guard let dot = name.lastIndex(of: ".") else { return nil }
        return VolumeFormat(rawValue: String(name[name.index(after: dot)...]))
    }

    static func hasValidExtension(_ name: String, for content: ContentType) -> Bool {
        let lower = name.lowercased()
        switch content {
        case .iso: return lower.hasSuffix(".iso") || lower.hasSuffix(".img")
        case .vztmpl:
            return [".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.zst", ".tar.bz2"].contains { lower.hasSuffix($0) }
        case .import: return [".ova", ".ovf", ".qcow2", ".raw", ".vmdk"].contains { lower.hasSuffix($0) }
        case .backup:
            return [".vma", ".tar", ".tgz"].contains { lower.contains($0) }
        case .snippets: return true
        default: return false
        }
    }

    /// The `format` Proxmox lists for non-image content (`iso`, `tgz`, `vma.zst`, `snippet`).
    var listedFormat: String {
        switch content {
        case .iso: return "iso"
        case .snippets: return "snippet"
        case .vztmpl:
            if name.hasSuffix(".tar.gz") || name.hasSuffix(".tgz") { return "tgz" }
            if name.hasSuffix(".tar.xz") { return "txz" }
            if name.hasSuffix(".tar.zst") { return "tzst" }
            if name.hasSuffix(".tar.bz2") { return "tbz2" }
            return "tar"
        case .backup:
            for kind in ["vma", "tar"] {
                if let range = name.range(of: ".\(kind)") {
                    return String(name[name.index(after: range.lowerBound)...])
                }
            }
            return "tgz"
        case .import:
            return String(name.split(separator: ".").last ?? "")
        default:
            return format?.rawValue ?? "raw"
        }
    }
}
