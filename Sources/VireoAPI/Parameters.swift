public import VireoCore

/// Validated parameters: every value checked against its ``ParameterSpec`` and canonicalised
/// (booleans `1`/`0`, integers in decimal), path captures included.
public struct Parameters: Sendable {
    public private(set) var values: [String: String]
    public private(set) var lists: [String: [String]]

    public init(values: [String: String] = [:], lists: [String: [String]] = [:]) {
        self.values = values
        self.lists = lists
    }

    public subscript(name: String) -> String? { values[name] }

    public func has(_ name: String) -> Bool { values[name] != nil || lists[name] != nil }

    public func string(_ name: String) -> String? { values[name] }

    public func require(_ name: String) throws -> String {
        guard let value = values[name] else {
            throw VireoError.parameter(name, "property is missing and it is not optional")
        }
        return value
    }

    public func int(_ name: String) -> Int? { values[name].flatMap { Int($0) } }

    public func bool(_ name: String) -> Bool? { values[name].map { $0 == "1" } }

    public func bool(_ name: String, default fallback: Bool) -> Bool { bool(name) ?? fallback }

    /// A `*-list` string split on `,`, `;`, whitespace or NUL.
    public func list(_ name: String) -> [String] {
        if let items = lists[name] { return items }
        guard let value = values[name] else { return [] }
        return ListText.items(value)
    }
}
