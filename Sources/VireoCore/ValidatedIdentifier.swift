/// An identifier that is checked once, when it is made, and is written as a string.
///
/// Conforming types get `LosslessStringConvertible`'s `init?(_:)` and a `Codable` conformance as a
/// single JSON string from `init(validating:)` and `description`; where they are `Comparable`, they
/// compare by their text unless they say otherwise.
public protocol ValidatedIdentifier: Hashable, Sendable, Codable, LosslessStringConvertible {
    /// Throws `VireoError` (`.invalidArgument`) naming the value when it is not well-formed.
    init(validating text: String) throws
}

extension ValidatedIdentifier {
    public init?(_ description: String) {
        try? self.init(validating: description)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(validating: text)
        } catch let error as VireoError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension ValidatedIdentifier where Self: Comparable {
    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.description < rhs.description
    }
}

extension VireoError {
    /// `invalid format - <detail>`, the way Proxmox's schema checks word a malformed value.
    static func invalidFormat(_ detail: String) -> VireoError {
        .invalid("invalid format - " + detail)
    }

    /// `invalid format - value '<value>' does not match the regex pattern`
    static func patternMismatch(_ value: String) -> VireoError {
        invalidFormat("value '\(value)' does not match the regex pattern")
    }
}
