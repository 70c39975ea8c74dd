/// The Proxmox section-config text format of `storage.cfg` and `domains.cfg`:
///
/// ```
/// dir: local
/// <TAB>path /var/lib/vz
/// <TAB>content iso,vztmpl,backup
///
/// zfspool: local-zfs
/// <TAB>pool rpool/data
/// <TAB>sparse
/// ```
///
/// A header `type: id` at column 0, then indented `key value` lines (a key alone is a flag), and a
/// blank line ending each section. Lines starting with `#` are skipped. The codec knows no schema:
/// it keeps sections and options in order and writes exactly what it holds, in the canonical form
/// (one tab before each option, one blank line between sections, a final newline), so parsing
/// canonical text and printing it gives the same bytes.
public struct SectionConfig: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public struct Option: Hashable, Sendable {
        public let key: String
        /// `nil` for a bare flag line (`\tsparse`).
        public let value: String?

        public init(_ key: String, _ value: String? = nil) {
            self.key = key
            self.value = value
        }
    }

    public struct Section: Hashable, Sendable {
        /// Lower case, e.g. `dir`, `lvmthin`, `pve`.
        public let type: String
        public let id: String
        public private(set) var options: [Option] = []

        /// Throws `VireoError` (`.invalidArgument`) for a type or ID that cannot be written as a header,
        /// or for a bad or duplicate option.
        public init(type: String, id: String, options: [Option] = []) throws {
            guard !type.isEmpty, !type.utf8.contains(where: { ASCII.isSpace($0) || ASCII.isUpper($0) }),
                !type.contains(":"), !type.hasPrefix("#"), ConfigValue.isSingleLine(type)
            else {
                throw VireoError.invalid(
                    "invalid section type '\(type)' - must be lower case, without ':', spaces or a leading '#'"
                )
            }
            guard !id.isEmpty, !id.utf8.contains(where: ASCII.isSpace), ConfigValue.isSingleLine(id) else {
                throw VireoError.invalid("invalid section ID '\(id)' - must be non-empty, without spaces")
            }
            self.type = type
            self.id = id
            for option in options {
                guard self.option(option.key) == nil else {
                    throw VireoError.invalid("duplicate option '\(option.key)' in section '\(type): \(id)'")
                }
                try set(option.key, option.value)
            }
        }

        public subscript(key: String) -> String? {
            option(key)?.value
        }

        public func option(_ key: String) -> Option? {
            options.first { $0.key == key }
        }

        public func contains(_ key: String) -> Bool {
            option(key) != nil
        }

        /// Replaces the option's value in place, or appends it; `nil` makes a bare flag line.
        /// Throws `VireoError` (`.invalidArgument`) for a key with spaces or a value that a line cannot hold.
        public mutating func set(_ key: String, _ value: String?) throws {
            guard !key.isEmpty, !key.utf8.contains(where: ASCII.isSpace), !key.hasPrefix("#"),
                ConfigValue.isSingleLine(key)
            else {
                throw VireoError.invalid("invalid option key '\(key)' in section '\(type): \(id)'")
            }
            if let value {
                // A value is the rest of its line, trimmed on read: it must survive that.
                guard !value.isEmpty, !ASCII.hasOuterSpace(value), !ASCII.hasLineBreak(value) else {
                    throw VireoError.invalid(
                        "invalid value for option '\(key)' in section '\(type): \(id)' - "
                            + "must be non-empty, on one line, without leading or trailing spaces"
                    )
                }
            }
            let option = Option(key, value)
            if let index = options.firstIndex(where: { $0.key == key }) {
                options[index] = option
            } else {
                options.append(option)
            }
        }

        @discardableResult
        public mutating func remove(_ key: String) -> Option? {
            guard let index = options.firstIndex(where: { $0.key == key }) else { return nil }
            return options.remove(at: index)
        }

        fileprivate var text: String {
            var text = "\(type): \(id)\n"
            for option in options {
                text += "\t" + option.key + (option.value.map { " " + $0 } ?? "") + "\n"
            }
            return text
        }
    }

    public private(set) var sections: [Section] = []

    /// An empty config.
    public init() {}

    /// Throws `VireoError` (`.invalidArgument`) when two sections share an ID.
    public init(sections: [Section]) throws {
        for section in sections {
            guard self[section.id] == nil else { throw Self.duplicateID(section.id) }
            self.sections.append(section)
        }
    }

    /// Parses section-config text. Throws `VireoError` (`.invalidArgument`) whose message starts with
    /// `line <n>:` for a malformed header, an option outside a section, a header not preceded by a blank
    /// line, or a duplicate option or section ID.
    public init(parsing text: String) throws {
        var current: Section?
        for (index, rawLine) in ASCII.lines(of: text).enumerated() {
            let number = index + 1
            let line = ASCII.trimmingTrailingSpace(rawLine)
            if line.isEmpty {
                // A blank line ends the section.
                if let section = current { sections.append(section) }
                current = nil
                continue
            }
            if ASCII.trimmingLeadingSpace(line).first == ASCII.hash { continue }

            if let first = line.first, ASCII.isSpace(first) {
                guard var section = current else {
                    throw Self.lineError(number, "option line outside of a section: '\(ASCII.string(line))'")
                }
                let option = Self.parseOption(ASCII.trimmingLeadingSpace(line))
                guard !section.contains(option.key) else {
                    throw Self.lineError(
                        number,
                        "duplicate option '\(option.key)' in section '\(section.type): \(section.id)'"
                    )
                }
                try Self.atLine(number) { try section.set(option.key, option.value) }
                current = section
                continue
            }

            if let section = current {
                throw Self.lineError(
                    number,
                    "expected an indented option or a blank line in section '\(section.type): \(section.id)', "
                        + "got '\(ASCII.string(line))'"
                )
            }
            let section = try Self.parseHeader(line, number: number)
            guard self[section.id] == nil else { throw Self.lineError(number, Self.duplicateID(section.id).message) }
            current = section
        }
        if let section = current { sections.append(section) }
    }

    public init?(_ description: String) {
        try? self.init(parsing: description)
    }

    /// The section with this ID.
    public subscript(id: String) -> Section? {
        sections.first { $0.id == id }
    }

    /// Replaces the section with the same ID in place, or appends it.
    public mutating func set(_ section: Section) {
        if let index = sections.firstIndex(where: { $0.id == section.id }) {
            sections[index] = section
        } else {
            sections.append(section)
        }
    }

    @discardableResult
    public mutating func remove(id: String) -> Section? {
        guard let index = sections.firstIndex(where: { $0.id == id }) else { return nil }
        return sections.remove(at: index)
    }

    /// The canonical text: sections in order, one blank line between them, a final newline.
    public var description: String {
        sections.map(\.text).joined(separator: "\n")
    }

    /// `type: id` with optional spaces after the colon and at the end.
    private static func parseHeader(_ line: ArraySlice<UInt8>, number: Int) throws -> Section {
        let invalid = lineError(number, "invalid section header '\(ASCII.string(line))' - expected 'type: id'")
        guard let colon = line.firstIndex(of: ASCII.colon) else { throw invalid }
        let type = line[line.startIndex..<colon]
        let id = ASCII.trimmingLeadingSpace(line[(colon + 1)...])
        guard !type.isEmpty, !type.contains(where: ASCII.isSpace), !id.isEmpty, !id.contains(where: ASCII.isSpace)
        else { throw invalid }
        return try atLine(number) { try Section(type: ASCII.string(type).lowercased(), id: ASCII.string(id)) }
    }

    /// `key` or `key value`, given a line without leading or trailing spaces.
    private static func parseOption(_ line: ArraySlice<UInt8>) -> Option {
        guard let space = line.firstIndex(where: ASCII.isSpace) else { return Option(ASCII.string(line)) }
        let value = ASCII.trimmingLeadingSpace(line[space...])
        return Option(ASCII.string(line[line.startIndex..<space]), ASCII.string(value))
    }

    private static func duplicateID(_ id: String) -> VireoError {
        VireoError.invalid("duplicate section ID '\(id)'")
    }

    /// Runs `body`, prefixing the message of a `VireoError` it throws with the line number.
    private static func atLine<T>(_ number: Int, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as VireoError {
            throw lineError(number, error.message)
        }
    }

    private static func lineError(_ number: Int, _ message: String) -> VireoError {
        VireoError.invalid("line \(number): \(message)")
    }
}
