extension VMConfig {
    /// Parses a `<vmid>.conf`.
    ///
    /// Blank lines are skipped. `#` lines are the percent-encoded description of the section they are
    /// in (joined with `\n`, trimmed at the end); a `description:` key is taken as the description when
    /// the section has no `#` lines. Throws `VireoError` (`.invalidArgument`) whose message starts with
    /// `line <n>:` for a line that is not `key: value` with a valid key, an empty value, a duplicate key
    /// or section, or an unknown section header.
    public init(parsing text: String) throws {
        self.init()
        var builder = SectionBuilder(kind: .main)
        for (index, rawLine) in ASCII.lines(of: text).enumerated() {
            let number = index + 1
            let line = ASCII.trimmingTrailingSpace(rawLine)
            guard let first = line.first else { continue }
            switch first {
            case UInt8(ascii: "["):
                try store(builder)
                builder = SectionBuilder(kind: try sectionKind(header: line, number: number))
            case ASCII.hash:
                builder.descriptionLines.append(PercentEncoding.decode(ASCII.string(rawLine.dropFirst())))
            default:
                try builder.add(line, number: number)
            }
        }
        try store(builder)
    }

    private enum SectionKind: Equatable {
        case main, pending
        case special(String)
        case snapshot(String)
    }

    /// A section while its lines are read.
    private struct SectionBuilder {
        let kind: SectionKind
        var section = Section()
        var descriptionLines: [String] = []
        var descriptionKey: String?

        init(kind: SectionKind) {
            self.kind = kind
        }

        mutating func add(_ line: ArraySlice<UInt8>, number: Int) throws {
            guard let colon = line.firstIndex(of: ASCII.colon), Section.isValidKey(ASCII.string(line[..<colon])) else {
                throw lineError(number, "unable to parse config line '\(ASCII.string(line))'")
            }
            let key = ASCII.string(line[..<colon])
            let value = ASCII.string(ASCII.trimmingLeadingSpace(line[(colon + 1)...]))
            guard !value.isEmpty else { throw lineError(number, "empty value for '\(key)'") }
            guard !section.contains(key), key != "description" || descriptionKey == nil else {
                throw lineError(number, "duplicate key '\(key)'")
            }
            if key == "description" {
                descriptionKey = value
                return
            }
            do {
                try section.set(key, value)
            } catch let error as VireoError {
                throw lineError(number, error.message)
            }
        }

        /// The section with its description filled in.
        func build() -> Section {
            var section = section
            if descriptionLines.isEmpty {
                section.description = descriptionKey
            } else {
                section.description = Section.trimmingTrailingSpace(descriptionLines.joined(separator: "\n"))
            }
            return section
        }
    }

    private mutating func store(_ builder: SectionBuilder) throws {
        let section = builder.build()
        switch builder.kind {
        case .main: main = section
        case .pending: pending = section
        case .special(let name): try setSpecial(name, section)
        case .snapshot(let name): try setSnapshot(name, section)
        }
    }

    /// `[PENDING]` (any case), `[special:<name>]` or `[<snapshot>]`, not seen before.
    private func sectionKind(header line: ArraySlice<UInt8>, number: Int) throws -> SectionKind {
        let header = ASCII.string(line)
        guard line.count > 2, line.last == UInt8(ascii: "]") else {
            throw lineError(number, "invalid section header '\(header)'")
        }
        let name = header.dropFirst().dropLast()
        let kind: SectionKind
        if name.uppercased() == "PENDING" {
            guard pending == nil else { throw lineError(number, "duplicate section '\(header)'") }
            kind = .pending
        } else if name.hasPrefix("special:"), Self.isValidSpecialName(name.dropFirst("special:".count)) {
            let special = String(name.dropFirst("special:".count))
            guard self[special: special] == nil else { throw lineError(number, "duplicate section '\(header)'") }
            kind = .special(special)
        } else if Self.isValidSnapshotName(name) {
            guard self[snapshot: String(name)] == nil else {
                throw lineError(number, "duplicate section '\(header)'")
            }
            kind = .snapshot(String(name))
        } else {
            throw lineError(number, "invalid section header '\(header)'")
        }
        return kind
    }

}

private func lineError(_ number: Int, _ message: String) -> VireoError {
    VireoError.invalid("line \(number): \(message)")
}
