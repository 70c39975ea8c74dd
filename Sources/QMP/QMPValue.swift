import Foundation

/// A JSON value as QMP sends and receives it.
///
/// Integers that fit in `Int` decode as `.int`; any other number decodes as `.double`.
public enum QMPValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([QMPValue])
    case object([String: QMPValue])

    /// Parses one JSON document.
    /// - Throws: `QMPError.invalidMessage` when the bytes are not JSON.
    public init(json bytes: [UInt8]) throws(QMPError) {
        do {
            self = try JSONDecoder().decode(QMPValue.self, from: Data(bytes))
        } catch {
            throw .invalidMessage("not JSON: \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
    }

    /// Compact JSON with sorted keys and unescaped slashes.
    /// - Throws: `QMPError.invalidMessage` for values JSON cannot express (NaN, infinity).
    public func jsonBytes() throws(QMPError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(self))
        } catch {
            throw .invalidMessage("cannot encode as JSON: \(error)")
        }
    }
}

// MARK: - Accessors

extension QMPValue {
    /// The member `key` of an object; nil for other values or a missing key.
    public subscript(key: String) -> QMPValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    /// The element at `index` of an array; nil for other values or an index out of range.
    public subscript(index: Int) -> QMPValue? {
        guard case .array(let array) = self, array.indices.contains(index) else { return nil }
        return array[index]
    }

    /// Whether this is JSON `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value of a `.bool`.
    public var boolValue: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    /// The value of an `.int`, or of a `.double` with an exact integer value.
    public var intValue: Int? {
        switch self {
        case .int(let value): value
        case .double(let value): Int(exactly: value)
        default: nil
        }
    }

    /// The value of a `.double` or `.int`.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    /// The value of a `.string`.
    public var stringValue: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    /// The elements of an `.array`.
    public var arrayValue: [QMPValue]? {
        guard case .array(let value) = self else { return nil }
        return value
    }

    /// The members of an `.object`.
    public var objectValue: [String: QMPValue]? {
        guard case .object(let value) = self else { return nil }
        return value
    }
}

// MARK: - Codable

extension QMPValue: Codable {
    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Order matters: Bool before numbers, Int before Double, so each value keeps its JSON kind.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([QMPValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: QMPValue].self))
        }
    }

    /// Encodes the value as the matching JSON kind.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

// MARK: - Literals

extension QMPValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An `.int`.
    public init(integerLiteral value: Int) { self = .int(value) }
    /// A `.double`.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// A `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An `.array`.
    public init(arrayLiteral elements: QMPValue...) { self = .array(elements) }
    /// An `.object`; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, QMPValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension QMPValue: CustomStringConvertible {
    /// Compact JSON.
    public var description: String {
        guard let bytes = try? jsonBytes() else { return "<unencodable>" }
        return String(decoding: bytes, as: UTF8.self)
    }
}
