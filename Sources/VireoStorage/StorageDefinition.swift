public import VireoCore

/// One `storage.cfg` section with typed access to the options every storage has.
public struct StorageDefinition: Sendable, Hashable {
    public var section: SectionConfig.Section

    public init(section: SectionConfig.Section) { self.section = section }

    public var id: String { section.id }
    public var type: String { section.type }
    public subscript(key: String) -> String? { section[key] }

    /// A boolean option: bare flag or `1` is true.
    public func flag(_ key: String) -> Bool {
        guard let option = section.option(key) else { return false }
        return option.value == nil || option.value == "1"
    }

    public var disabled: Bool { flag("disable") }
    /// Declared shared by the user (or inherently shared by its type).
    public var shared: Bool {
        flag("shared") || (StorageTypes.schema(for: type)?.capabilities.inherentlyShared ?? false)
    }
    /// Allocations beyond the free space are allowed (a Vireo option; off by default).
    public var overcommit: Bool { flag("overcommit") }
    public var path: String? { section["path"] }

    /// The nodes the storage is usable on; nil means all.
    public var nodes: [String]? {
        section["nodes"].map { $0.split(whereSeparator: { $0 == "," || $0 == ";" || $0 == " " }).map(String.init) }
    }

    public func isEnabled(on node: String) -> Bool {
        !disabled && (nodes?.contains(node) ?? true)
    }

    /// Configured content, or the type's default when none is set.
    public var content: Set<ContentType> {
        if let text = section["content"], let set = try? ContentType.parseList(text) { return set.subtracting([.none]) }
        return StorageTypes.schema(for: type)?.capabilities.defaultContent ?? []
    }

    /// The default image format for new disks.
    public var defaultFormat: VolumeFormat {
        if let text = section["format"], let format = VolumeFormat(rawValue: text) { return format }
        return StorageTypes.schema(for: type)?.capabilities.defaultFormat ?? .raw
    }
}
