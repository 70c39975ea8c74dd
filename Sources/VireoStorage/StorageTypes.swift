import VireoCore

/// Per storage type: the options it accepts, which are required, which are fixed after creation,
/// and its capabilities.
public struct StorageTypeSchema: Sendable {
    public var type: String
    public var required: [String]
    public var optional: Set<String>
    /// Settable only at creation (`path`, `vgname`, `pool`, …).
    public var fixed: Set<String>
    public var capabilities: StorageCapabilities

    public var allOptions: Set<String> { optional.union(required) }
}

public enum StorageTypes {
    static let common: Set<String> = ["nodes", "disable", "content", "comment", "overcommit"]
    static let pathContent: Set<ContentType> = [.images, .rootdir, .vztmpl, .iso, .backup, .snippets, .import, .none]

    public static let all: [String: StorageTypeSchema] = [
        "dir": StorageTypeSchema(
            type: "dir",
            required: ["path"],
            optional: common.union([
                "shared", "format", "preallocation", "prune-backups", "max-protected-backups", "content-dirs",
                "mkdir", "create-base-path", "create-subdirs", "is_mountpoint", "bwlimit",
            ]),
            fixed: ["path"],
            capabilities: StorageCapabilities(
                formats: [.raw, .qcow2, .vmdk, .subvol],
                defaultFormat: .raw,
                snapshotFormats: [.qcow2],
                linkedClones: true,
                templates: true,
                inherentlyShared: false,
                validContent: pathContent,
                defaultContent: [.images, .rootdir]
            )
        ),
        "btrfs": StorageTypeSchema(
            type: "btrfs",
            required: ["path"],
            optional: common.union([
                "shared", "format", "preallocation", "prune-backups", "max-protected-backups", "mkdir",
                "create-base-path", "create-subdirs", "is_mountpoint", "nocow", "bwlimit",
            ]),
            fixed: ["path"],
            capabilities: StorageCapabilities(
                formats: [.raw, .subvol],
                defaultFormat: .raw,
                snapshotFormats: [.raw, .subvol],
                linkedClones: true,
                templates: true,
                inherentlyShared: false,
                validContent: pathContent,
                defaultContent: [.images, .rootdir]
            )
        ),
        "lvm": StorageTypeSchema(
            type: "lvm",
            required: ["vgname"],
            optional: common.union([
                "shared", "base", "saferemove", "saferemove-stepsize", "saferemove_throughput", "tagged_only",
                "bwlimit",
            ]),
            fixed: ["vgname", "base"],
            capabilities: StorageCapabilities(
                formats: [.raw],
                defaultFormat: .raw,
                snapshotFormats: [],
                linkedClones: false,
                templates: false,
                inherentlyShared: false,
                validContent: [.images, .rootdir, .none],
                defaultContent: [.images]
            )
        ),
        "lvmthin": StorageTypeSchema(
            type: "lvmthin",
            required: ["vgname", "thinpool"],
            optional: common.union(["bwlimit"]),
            fixed: ["vgname", "thinpool"],
            capabilities: StorageCapabilities(
                formats: [.raw],
                defaultFormat: .raw,
                snapshotFormats: [.raw],
                linkedClones: true,
                templates: true,
                inherentlyShared: false,
                validContent: [.images, .rootdir],
                defaultContent: [.images, .rootdir]
            )
        ),
        "zfspool": StorageTypeSchema(
            type: "zfspool",
            required: ["pool"],
            optional: common.union(["blocksize", "sparse", "mountpoint", "bwlimit"]),
            fixed: ["pool"],
            capabilities: StorageCapabilities(
                formats: [.raw, .subvol],
                defaultFormat: .raw,
                snapshotFormats: [.raw, .subvol],
                linkedClones: true,
                templates: true,
                inherentlyShared: false,
                validContent: [.images, .rootdir],
                defaultContent: [.images, .rootdir]
            )
        ),
        "rbd": StorageTypeSchema(
            type: "rbd",
            required: [],
            optional: common.union([
                "monhost", "pool", "data-pool", "namespace", "username", "krbd", "keyring", "bwlimit",
            ]),
            fixed: ["pool", "data-pool", "namespace"],
            capabilities: StorageCapabilities(
                formats: [.raw],
                defaultFormat: .raw,
                snapshotFormats: [.raw],
                linkedClones: true,
                templates: true,
                inherentlyShared: true,
                validContent: [.images, .rootdir],
                defaultContent: [.images]
            )
        ),
    ]

    public static func schema(for type: String) -> StorageTypeSchema? { all[type] }
}
