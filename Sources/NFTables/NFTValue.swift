import Foundation

/// A JSON value as nft reads and writes it (`nft -j`). Integers stay integers: nft refuses
/// `16.0` for a mark.
public enum NFTValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([NFTValue])
    case object([String: NFTValue])

    public subscript(key: String) -> NFTValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var string: String? { if case .string(let text) = self { text } else { nil } }
    public var int: Int? { if case .int(let number) = self { number } else { nil } }
    public var array: [NFTValue]? { if case .array(let items) = self { items } else { nil } }

    public init(parsing bytes: [UInt8]) throws {
        self = try JSONDecoder().decode(NFTValue.self, from: Data(bytes))
    }

    /// Compact JSON with sorted keys.
    public func jsonBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }
}

extension NFTValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Int.self) {
            self = .int(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let items = try? container.decode([NFTValue].self) {
            self = .array(items)
        } else {
            self = .object(try container.decode([String: NFTValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let flag): try container.encode(flag)
        case .int(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        case .array(let items): try container.encode(items)
        case .object(let object): try container.encode(object)
        }
    }
}
