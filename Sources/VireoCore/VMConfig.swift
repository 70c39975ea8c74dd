/// A VM's `<vmid>.conf`: the main section, then optionally `[PENDING]`, `[special:<name>]` sections and
/// snapshot sections `[<name>]`.
///
/// The codec keeps keys and sections in the order read and stores values as raw text. `description`
/// prints them in that order, so printing a parsed file gives back the same bytes as long as the file
/// was written the way Proxmox writes it. `canonicalized()` / `canonicalText` apply Proxmox's writer
/// order (keys sorted, sections pending → special → snapshots, each kind sorted).
public struct VMConfig: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// A special or snapshot section and its name.
    public struct NamedSection: Hashable, Sendable {
        public let name: String
        public var section: Section
    }

    public var main: Section
    /// Changes not applied to the running VM yet; may hold `delete: k1,!k2`.
    public var pending: Section?
    /// `[special:<name>]` sections such as `cloudinit` and `fleecing`; `name` has no `special:` prefix.
    public private(set) var specialSections: [NamedSection] = []
    public private(set) var snapshots: [NamedSection] = []

    public init(main: Section = Section(), pending: Section? = nil) {
        self.main = main
        self.pending = pending
    }

    public init?(_ description: String) {
        try? self.init(parsing: description)
    }

    public subscript(snapshot name: String) -> Section? {
        snapshots.first { $0.name == name }?.section
    }

    public subscript(special name: String) -> Section? {
        specialSections.first { $0.name == name }?.section
    }

    /// Replaces the snapshot in place, or appends it. Throws `VireoError` (`.invalidArgument`) unless the
    /// name matches `[a-z][a-z0-9_-]+` and is not `current` or `pending`.
    public mutating func setSnapshot(_ name: String, _ section: Section) throws {
        guard Self.isValidSnapshotName(name) else {
            throw VireoError.invalid("invalid format - snapshot name '\(name)' does not match the regex pattern")
        }
        Self.upsert(&snapshots, NamedSection(name: name, section: section))
    }

    @discardableResult
    public mutating func removeSnapshot(_ name: String) -> Section? {
        Self.remove(name, from: &snapshots)
    }

    /// Replaces the special section in place, or appends it. Throws `VireoError` (`.invalidArgument`)
    /// unless the name (without `special:`) matches `[a-z][a-z0-9_-]*`.
    public mutating func setSpecial(_ name: String, _ section: Section) throws {
        guard Self.isValidSpecialName(name) else {
            throw VireoError.invalid("invalid format - special section name '\(name)' does not match the regex pattern")
        }
        Self.upsert(&specialSections, NamedSection(name: name, section: section))
    }

    @discardableResult
    public mutating func removeSpecial(_ name: String) -> Section? {
        Self.remove(name, from: &specialSections)
    }

    /// The same config in Proxmox's writer order: keys sorted by plain byte order in every section,
    /// special sections and snapshots sorted by name, descriptions trimmed at the end, and empty
    /// descriptions dropped except in `[PENDING]`.
    public func canonicalized() -> VMConfig {
        var config = VMConfig(
            main: main.canonicalized(keepsEmptyDescription: false),
            pending: pending?.canonicalized(keepsEmptyDescription: true)
        )
        config.specialSections = Self.canonicalized(specialSections)
        config.snapshots = Self.canonicalized(snapshots)
        return config
    }

    /// The file as Proxmox writes it, `canonicalized().description`.
    public var canonicalText: String {
        canonicalized().description
    }

    /// The file text in stored order: the main section, then `[PENDING]`, the special sections and
    /// the snapshots, each preceded by a blank line.
    public var description: String {
        var text = main.text
        if let pending {
            text += "\n[PENDING]\n" + pending.text
        }
        for special in specialSections {
            text += "\n[special:\(special.name)]\n" + special.section.text
        }
        for snapshot in snapshots {
            text += "\n[\(snapshot.name)]\n" + snapshot.section.text
        }
        return text
    }

    /// `[a-z][a-z0-9_-]+`, but not `current` (the API's name for the live state) or `pending`
    /// (which would read back as `[PENDING]`).
    static func isValidSnapshotName(_ name: some StringProtocol) -> Bool {
        isLowerIdentifier(name, minimumLength: 2) && name != "current" && name != "pending"
    }

    /// `[a-z][a-z0-9_-]*`
    static func isValidSpecialName(_ name: some StringProtocol) -> Bool {
        isLowerIdentifier(name, minimumLength: 1)
    }

    private static func isLowerIdentifier(_ name: some StringProtocol, minimumLength: Int) -> Bool {
        guard let first = name.utf8.first, ASCII.isLower(first), name.utf8.count >= minimumLength else {
            return false
        }
        return name.utf8.allSatisfy {
            ASCII.isLower($0) || ASCII.isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    private static func canonicalized(_ sections: [NamedSection]) -> [NamedSection] {
        sections
            .map { NamedSection(name: $0.name, section: $0.section.canonicalized(keepsEmptyDescription: false)) }
            .sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    private static func upsert(_ sections: inout [NamedSection], _ section: NamedSection) {
        if let index = sections.firstIndex(where: { $0.name == section.name }) {
            sections[index] = section
        } else {
            sections.append(section)
        }
    }

    private static func remove(_ name: String, from sections: inout [NamedSection]) -> Section? {
        guard let index = sections.firstIndex(where: { $0.name == name }) else { return nil }
        return sections.remove(at: index).section
    }
}
