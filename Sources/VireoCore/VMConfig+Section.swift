extension VMConfig {
    /// One part of a `<vmid>.conf`: the main config, `[PENDING]`, a `[special:…]` or a snapshot.
    /// Keys and values are kept as raw text, in order; typing them is up to the layers above.
    public struct Section: Hashable, Sendable {
        public struct Entry: Hashable, Sendable {
            public let key: String
            public let value: String
        }

        /// The section's notes, written as `#` comment lines (the config key `description`);
        /// `nil` when the section has none.
        public var description: String?
        public private(set) var entries: [Entry] = []

        public init(description: String? = nil) {
            self.description = description
        }

        /// Throws `VireoError` (`.invalidArgument`) for a bad or duplicate key or a bad value.
        public init(description: String? = nil, _ entries: KeyValuePairs<String, String>) throws {
            self.description = description
            for (key, value) in entries {
                guard self[key] == nil else { throw VireoError.invalid("duplicate key '\(key)'") }
                try set(key, value)
            }
        }

        public var keys: [String] { entries.map(\.key) }

        /// No entries and no description.
        public var isEmpty: Bool { entries.isEmpty && description == nil }

        public subscript(key: String) -> String? {
            entries.first { $0.key == key }?.value
        }

        public func contains(_ key: String) -> Bool {
            self[key] != nil
        }

        /// Replaces the key's value in place, or appends the entry.
        /// Throws `VireoError` (`.invalidArgument`) unless the key matches `^[a-z][a-z_-]*\d*$` and the
        /// value is non-empty, on one line, without leading or trailing spaces.
        public mutating func set(_ key: String, _ value: String) throws {
            guard Self.isValidKey(key) else {
                throw VireoError.invalid("invalid format - key '\(key)' does not match the regex pattern")
            }
            guard !value.isEmpty else { throw VireoError.invalid("empty value for '\(key)'") }
            // A value is the rest of its line, trimmed on read: it must survive that.
            guard !ASCII.hasLineBreak(value), !ASCII.hasOuterSpace(value) else {
                throw VireoError.invalid(
                    "invalid value for '\(key)' - must be on one line, without leading or trailing spaces"
                )
            }
            let entry = Entry(key: key, value: value)
            if let index = entries.firstIndex(where: { $0.key == key }) {
                entries[index] = entry
            } else {
                entries.append(entry)
            }
        }

        @discardableResult
        public mutating func remove(_ key: String) -> String? {
            guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
            return entries.remove(at: index).value
        }

        /// `^[a-z][a-z_-]*\d*$`
        static func isValidKey(_ key: some StringProtocol) -> Bool {
            var bytes = key.utf8[...]
            guard let first = bytes.popFirst(), ASCII.isLower(first) else { return false }
            let letters = bytes.prefix { ASCII.isLower($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
            return bytes.dropFirst(letters.count).allSatisfy(ASCII.isDigit)
        }

        /// Keys in plain byte order (`net10` before `net2`), notes trimmed at the end; an empty
        /// description is dropped unless `keepsEmptyDescription` (in `[PENDING]` it means "clear it").
        func canonicalized(keepsEmptyDescription: Bool) -> Section {
            var section = self
            section.entries.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            if let description {
                let trimmed = Self.trimmingTrailingSpace(description)
                section.description = trimmed.isEmpty && !keepsEmptyDescription ? nil : trimmed
            }
            return section
        }

        /// The section body: one `#` line per description line, then `key: value` lines.
        var text: String {
            var text = ""
            if let description {
                let lines = description.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
                for line in lines {
                    text += "#" + PercentEncoding.encode(String(Substring(line))) + "\n"
                }
            }
            for entry in entries {
                text += entry.key + ": " + entry.value + "\n"
            }
            return text
        }

        static func trimmingTrailingSpace(_ text: String) -> String {
            ASCII.string(ASCII.trimmingTrailingSpace(Array(text.utf8)[...]))
        }
    }
}
