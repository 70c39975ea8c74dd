public import VireoCore

/// A parameter's value, parsed once by the validator from its schema type and format: handlers
/// get a `VMID`, a `StorageID`, a `Bool`, never the request's text to convert by hand.
public enum ParameterValue: Sendable, Equatable {
    case text(String)
    case integer(Int)
    case number(Double)
    case boolean(Bool)
    /// An `array` parameter or a `*-list` string, split into its items.
    case list([String])
    case vmid(VMID)
    case vmids([VMID])
    case node(NodeName)
    case storage(StorageID)
    case volume(VolumeID)
    case user(UserID)
    case token(TokenID)
    case realm(Realm)
    case group(GroupID)
    case role(RoleID)
    case pool(PoolID)
}

/// Validated parameters: every value checked against its ``ParameterSpec``, canonicalised
/// (booleans `1`/`0`, integers in decimal) and parsed, path captures included. Typed reads fall
/// back to the schema's default; ``values`` holds only what the caller sent.
public struct Parameters: Sendable {
    /// The canonical text of each scalar parameter the caller sent.
    public private(set) var values: [String: String]
    private var parsed: [String: ParameterValue]
    private var defaults: [String: ParameterValue]

    public init(
        values: [String: String] = [:],
        parsed: [String: ParameterValue] = [:],
        defaults: [String: ParameterValue] = [:]
    ) {
        self.values = values
        self.parsed = parsed
        self.defaults = defaults
    }

    public subscript(name: String) -> String? { values[name] }

    /// Whether the caller sent `name` (defaults do not count).
    public func has(_ name: String) -> Bool { parsed[name] != nil }

    /// The parsed value the caller sent, else the schema's default.
    public func value(_ name: String) -> ParameterValue? { parsed[name] ?? defaults[name] }

    public func require(_ name: String) throws -> String {
        guard let value = values[name] else { throw Self.missing(name) }
        return value
    }

    public func int(_ name: String) -> Int? {
        switch value(name) {
        case .integer(let number): number
        case .vmid(let vmid): vmid.value
        default: nil
        }
    }

    public func int(_ name: String, default fallback: Int) -> Int { int(name) ?? fallback }

    public func bool(_ name: String) -> Bool? {
        guard case .boolean(let flag) = value(name) else { return nil }
        return flag
    }

    public func bool(_ name: String, default fallback: Bool) -> Bool { bool(name) ?? fallback }

    /// The items of an `array` parameter or a `*-list` string; empty when absent.
    public func list(_ name: String) -> [String] {
        switch value(name) {
        case .list(let items): items
        case .vmids(let vmids): vmids.map(\.description)
        case .text(let text): [text]
        default: []
        }
    }

    // MARK: Identifiers

    /// The VM ID in `name` (the `{vmid}` of a path by default).
    public func vmid(_ name: String = "vmid") throws -> VMID { try required(name, optionalVMID(name)) }
    public func optionalVMID(_ name: String) -> VMID? {
        guard case .vmid(let vmid) = value(name) else { return nil }
        return vmid
    }

    /// The VM IDs of a `pve-vmid-list`; empty when absent.
    public func vmids(_ name: String) -> [VMID] {
        guard case .vmids(let vmids) = value(name) else { return [] }
        return vmids
    }

    public func storage(_ name: String = "storage") throws -> StorageID {
        guard case .storage(let storage) = value(name) else { throw Self.missing(name) }
        return storage
    }

    public func userID(_ name: String = "userid") throws -> UserID {
        guard case .user(let user) = value(name) else { throw Self.missing(name) }
        return user
    }

    public func optionalPool(_ name: String) -> PoolID? {
        guard case .pool(let pool) = value(name) else { return nil }
        return pool
    }

    private func required<T>(_ name: String, _ value: T?) throws -> T {
        guard let value else { throw Self.missing(name) }
        return value
    }

    private static func missing(_ name: String) -> VireoError {
        VireoError.parameter(name, "property is missing and it is not optional")
    }
}
