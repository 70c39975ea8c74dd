import Foundation
public import VireoCore

/// Request parameters as they arrived, before schema validation.
public struct RawParameters: Sendable {
    public enum Value: Sendable, Equatable {
        case text(String)
        /// A typed value from a JSON body (numbers and booleans keep their JSON type).
        case json(JSON)
        case list([Value])
    }

    public private(set) var values: [String: Value] = [:]

    public init() {}

    public subscript(name: String) -> Value? {
        get { values[name] }
        set { values[name] = newValue }
    }

    /// Form encoding: pairs split on `&` or `;`, `+` is a space, a repeated key becomes a list,
    /// a key without `=` counts as absent, `_dc` (cache buster) is dropped.
    public mutating func merge(formEncoded text: Substring) {
        var collected: [String: [String]] = [:]
        var order: [String] = []
        for pair in text.split(whereSeparator: { $0 == "&" || $0 == ";" }) {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let key = Self.decode(pair[..<equals])
            let value = Self.decode(pair[pair.index(after: equals)...])
            if key.isEmpty || key == "_dc" { continue }
            if collected[key] == nil { order.append(key) }
            collected[key, default: []].append(value)
        }
        for key in order {
            let list = collected[key] ?? []
            values[key] = list.count == 1 ? .text(list[0]) : .list(list.map(Value.text))
        }
    }

    /// A JSON body: a top-level object whose members become parameters.
    public mutating func merge(jsonBody data: [UInt8]) throws {
        guard !data.isEmpty else { return }
        let parsed: JSON
        do {
            parsed = try JSONDecoder().decode(JSON.self, from: Data(data))
        } catch {
            throw VireoError(
                .invalidArgument,
                "Parameter verification failed.",
                parameterErrors: ["_root": "invalid JSON body"]
            )
        }
        guard case .object(let object) = parsed else {
            throw VireoError(
                .invalidArgument,
                "Parameter verification failed.",
                parameterErrors: ["_root": "JSON body must be an object"]
            )
        }
        for (key, value) in object where key != "_dc" {
            if case .array(let items) = value {
                values[key] = .list(items.map { .json($0) })
            } else {
                values[key] = .json(value)
            }
        }
    }

    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
