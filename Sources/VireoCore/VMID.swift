/// A guest ID, 100 to 999999999 (`^[1-9][0-9]{2,8}$`); IDs below 100 are reserved.
/// Encoded as a JSON number; decoded from a number or a string.
public struct VMID: ValidatedIdentifier, Comparable {
    public static let range = 100...999_999_999

    public let value: Int

    /// Throws `VireoError` (`.invalidArgument`) when the value is outside `VMID.range`.
    public init(validating value: Int) throws {
        guard Self.range.contains(value) else { throw Self.invalid(String(value)) }
        self.value = value
    }

    public init(validating text: String) throws {
        // Checking the digits first keeps `Int(_:)` from accepting a sign.
        guard let first = text.utf8.first, first != UInt8(ascii: "0"), (3...9).contains(text.utf8.count),
            ASCII.all(text, ASCII.isDigit), let value = Int(text)
        else { throw Self.invalid(text) }
        self.value = value
    }

    public init?(_ value: Int) {
        try? self.init(validating: value)
    }

    public var description: String { String(value) }

    public static func < (lhs: VMID, rhs: VMID) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            if let number = try? container.decode(Int.self) {
                try self.init(validating: number)
            } else {
                try self.init(validating: container.decode(String.self))
            }
        } catch let error as VireoError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    private static func invalid(_ text: String) -> VireoError {
        .invalidFormat("value '\(text)' does not look like a valid VM ID")
    }
}
