/// A cluster node's name, a DNS label: `^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`.
public struct NodeName: ValidatedIdentifier, Comparable {
    public let description: String

    public init(validating text: String) throws {
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last, bytes.count <= 63,
            ASCII.isAlphanumeric(first), ASCII.isAlphanumeric(last),
            bytes.allSatisfy({ ASCII.isAlphanumeric($0) || $0 == UInt8(ascii: "-") })
        else { throw VireoError.invalidFormat("value '\(text)' does not look like a valid node name") }
        description = text
    }
}
