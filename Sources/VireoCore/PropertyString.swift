/// A Proxmox property string: comma-separated `key=value` parts and at most one bare part, the value of
/// the format's default key (`local:100/vm-100-disk-0.qcow2,size=32G`, `virtio=BC:24:11:A3:DA:B1,bridge=vmbr0`,
/// `order=scsi0;ide2;net0`).
///
/// The codec knows no schema: it keeps the parts in order, so printing a parsed value gives the same
/// string back (less empty parts). There is no quoting, so no value may contain `,`.
public struct PropertyString: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public struct Entry: Hashable, Sendable {
        public let key: String
        public let value: String
    }

    /// One part in printing order; `key == nil` is the bare default-key part.
    private struct Part: Hashable, Sendable {
        var key: String?
        var value: String
    }

    private var parts: [Part] = []

    public init() {}

    /// Builds a value from a default-key value and keyed entries, in the given order.
    /// Throws `VireoError` (`.invalidArgument`) for a bad key or value or a duplicate key.
    public init(defaultValue: String? = nil, _ entries: KeyValuePairs<String, String> = [:]) throws {
        if let defaultValue { try setDefaultValue(defaultValue) }
        for (key, value) in entries {
            guard self[key] == nil else { throw Self.error("duplicate key '\(key)'") }
            try set(key, to: value)
        }
    }

    /// Parses a property string. Empty parts are skipped; a part without `=` is the default-key value.
    /// Throws `VireoError` (`.invalidArgument`) for an empty key or value, a duplicate key or a second bare part.
    public init(parsing text: String) throws {
        for rawPart in text.split(separator: ",", omittingEmptySubsequences: true) {
            let part = String(rawPart)
            guard let equals = part.firstIndex(of: "=") else {
                guard defaultValue == nil else {
                    throw Self.error("more than one value without a key in '\(text)'")
                }
                parts.append(Part(key: nil, value: part))
                continue
            }
            let key = String(part[..<equals])
            let value = String(part[part.index(after: equals)...])
            guard !key.isEmpty else { throw Self.error("missing key in part '\(part)' of '\(text)'") }
            guard !value.isEmpty else { throw Self.error("missing value for '\(key)' in '\(text)'") }
            guard self[key] == nil else { throw Self.error("duplicate key '\(key)' in '\(text)'") }
            parts.append(Part(key: key, value: value))
        }
    }

    public init?(_ description: String) {
        try? self.init(parsing: description)
    }

    /// The value of the part without `=`, if any.
    public var defaultValue: String? {
        parts.first { $0.key == nil }?.value
    }

    /// The `key=value` parts in order, without the default-key part.
    public var entries: [Entry] {
        parts.compactMap { part in part.key.map { Entry(key: $0, value: part.value) } }
    }

    public var keys: [String] { parts.compactMap(\.key) }

    public var isEmpty: Bool { parts.isEmpty }

    public subscript(key: String) -> String? {
        parts.first { $0.key == key }?.value
    }

    /// The entry as a boolean (`1/0/on/off/yes/no/true/false`, any case); nil when the key is absent.
    public func bool(_ key: String) throws -> Bool? {
        guard let value = self[key] else { return nil }
        guard let parsed = Self.parseBool(value) else {
            throw Self.error("value '\(value)' of '\(key)' is not a boolean")
        }
        return parsed
    }

    /// The entry as a non-negative integer (`\d+`); nil when the key is absent.
    public func int(_ key: String) throws -> Int? {
        guard let value = self[key] else { return nil }
        guard ASCII.all(value, ASCII.isDigit), let parsed = Int(value) else {
            throw Self.error("value '\(value)' of '\(key)' is not an integer")
        }
        return parsed
    }

    /// The entry as a size (`32G`); nil when the key is absent.
    public func size(_ key: String) throws -> ByteSize? {
        guard let value = self[key] else { return nil }
        return try ByteSize(parsing: value)
    }

    /// Replaces the key's value in place, or appends the entry.
    public mutating func set(_ key: String, to value: String) throws {
        guard !key.isEmpty, !key.contains(","), !key.contains("=") else {
            throw Self.error("invalid key '\(key)'")
        }
        try Self.checkValue(value, of: key)
        if let index = parts.firstIndex(where: { $0.key == key }) {
            parts[index].value = value
        } else {
            parts.append(Part(key: key, value: value))
        }
    }

    /// Sets a boolean the way Proxmox writes it, `1` or `0`.
    public mutating func set(_ key: String, to value: Bool) throws {
        try set(key, to: value ? "1" : "0")
    }

    public mutating func set(_ key: String, to value: ByteSize) throws {
        try set(key, to: value.description)
    }

    /// Replaces the default-key value in place, adds it in front, or removes it (`nil`).
    public mutating func setDefaultValue(_ value: String?) throws {
        guard let value else {
            parts.removeAll { $0.key == nil }
            return
        }
        guard !value.contains("=") else { throw Self.error("value without a key must not contain '=': '\(value)'") }
        try Self.checkValue(value, of: "default value")
        if let index = parts.firstIndex(where: { $0.key == nil }) {
            parts[index].value = value
        } else {
            parts.insert(Part(key: nil, value: value), at: 0)
        }
    }

    /// Removes the entry and returns its value.
    @discardableResult
    public mutating func remove(_ key: String) -> String? {
        guard let index = parts.firstIndex(where: { $0.key == key }) else { return nil }
        return parts.remove(at: index).value
    }

    public var description: String {
        parts.map { part in part.key.map { "\($0)=\(part.value)" } ?? part.value }.joined(separator: ",")
    }

    /// Proxmox's boolean spellings: `1/on/yes/true` and `0/off/no/false`, in any case.
    public static func parseBool(_ text: some StringProtocol) -> Bool? {
        switch text.lowercased() {
        case "1", "on", "yes", "true": true
        case "0", "off", "no", "false": false
        default: nil
        }
    }

    private static func checkValue(_ value: String, of key: String) throws {
        guard !value.isEmpty else { throw error("missing value for '\(key)'") }
        // Nothing escapes a comma, so a value holding one could never be read back.
        guard !value.contains(",") else { throw error("value '\(value)' of '\(key)' must not contain ','") }
    }

    private static func error(_ message: String) -> VireoError {
        VireoError.invalid("invalid format - " + message)
    }
}
