import VireoCore

/// What a storage may hold (`content` in storage.cfg).
public enum ContentType: String, Sendable, CaseIterable, Comparable {
    case images, rootdir, iso, vztmpl, backup, snippets, `import`, none

    public static func < (a: ContentType, b: ContentType) -> Bool { a.rawValue < b.rawValue }

    /// Parses a content list (`images,iso`, also `;`/space separated); unknown names are an error.
    public static func parseList(_ text: String) throws -> Set<ContentType> {
        var result: Set<ContentType> = []
        for item in text.split(whereSeparator: { $0 == "," || $0 == ";" || $0 == " " }) {
            guard let type = ContentType(rawValue: String(item)) else {
                throw VireoError.parameter("content", "invalid content type '\(item)'")
            }
            result.insert(type)
        }
        return result
    }

    public static func listText(_ set: Set<ContentType>) -> String {
        set.isEmpty ? "none" : set.sorted().map(\.rawValue).joined(separator: ",")
    }
}

/// Image formats a volume can have.
public enum VolumeFormat: String, Sendable, CaseIterable {
    case raw, qcow2, vmdk, subvol
}

/// Figures of a storage as `/nodes/{node}/storage` reports them, in bytes.
public struct StorageStatus: Sendable, Equatable {
    public var total: Int
    public var used: Int
    public var available: Int
    public var active: Bool

    public init(total: Int, used: Int, available: Int, active: Bool) {
        self.total = total
        self.used = used
        self.available = available
        self.active = active
    }

    public static let inactive = StorageStatus(total: 0, used: 0, available: 0, active: false)
}

/// One volume as listed by `/nodes/{node}/storage/{storage}/content`.
public struct VolumeInfo: Sendable, Equatable {
    /// `<storage>:<volname>`.
    public var volid: String
    public var content: ContentType
    /// `raw`, `qcow2`, `iso`, `tgz`, `vma.zst`, … as Proxmox reports it.
    public var format: String
    /// Virtual size in bytes.
    public var size: Int
    /// Bytes actually used on the backend, when known.
    public var used: Int?
    public var vmid: Int?
    /// The base volume of a linked clone (`base-100-disk-0.qcow2` or a volid).
    public var parent: String?
    public var ctime: Int?
    public var notes: String?
    public var protected: Bool

    public init(
        volid: String,
        content: ContentType,
        format: String,
        size: Int,
        used: Int? = nil,
        vmid: Int? = nil,
        parent: String? = nil,
        ctime: Int? = nil,
        notes: String? = nil,
        protected: Bool = false
    ) {
        self.volid = volid
        self.content = content
        self.format = format
        self.size = size
        self.used = used
        self.vmid = vmid
        self.parent = parent
        self.ctime = ctime
        self.notes = notes
        self.protected = protected
    }
}

/// What a backend can do; drives feature checks in the API and in VM operations.
public struct StorageCapabilities: Sendable, Equatable {
    public var formats: [VolumeFormat]
    public var defaultFormat: VolumeFormat
    /// Formats that can be snapshotted (dir: qcow2 only).
    public var snapshotFormats: Set<VolumeFormat>
    public var linkedClones: Bool
    public var templates: Bool
    /// Same content visible on every node (network storages), as opposed to the `shared` flag a user sets.
    public var inherentlyShared: Bool
    /// Content types the type accepts, and its default set.
    public var validContent: Set<ContentType>
    public var defaultContent: Set<ContentType>

    public init(
        formats: [VolumeFormat],
        defaultFormat: VolumeFormat,
        snapshotFormats: Set<VolumeFormat>,
        linkedClones: Bool,
        templates: Bool,
        inherentlyShared: Bool,
        validContent: Set<ContentType>,
        defaultContent: Set<ContentType>
    ) {
        self.formats = formats
        self.defaultFormat = defaultFormat
        self.snapshotFormats = snapshotFormats
        self.linkedClones = linkedClones
        self.templates = templates
        self.inherentlyShared = inherentlyShared
        self.validContent = validContent
        self.defaultContent = defaultContent
    }
}

/// A request to allocate a disk image.
public struct AllocationRequest: Sendable, Equatable {
    public var vmid: Int
    /// The volume name without directory (`vm-100-disk-0.qcow2`), or nil to pick the next free one.
    public var name: String?
    public var format: VolumeFormat
    public var sizeKiB: Int

    public init(vmid: Int, name: String?, format: VolumeFormat, sizeKiB: Int) {
        self.vmid = vmid
        self.name = name
        self.format = format
        self.sizeKiB = sizeKiB
    }
}
