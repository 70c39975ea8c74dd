import Foundation

/// Proxmox's `key: value` config files (`datacenter.cfg`, a node's `config`): `#` lines at the
/// top form the description, then one `key: value` line per setting. Order is kept.
public struct KeyValueConfig: Sendable, Equatable {
    public var description: String
    public private(set) var entries: [(key: String, value: String)]

    public init(description: String = "", entries: [(key: String, value: String)] = []) {
        self.description = description
        self.entries = entries
    }

    public init(parsing text: String) throws {
        var description: [String] = []
        var entries: [(key: String, value: String)] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                if entries.isEmpty { description.append(String(line.dropFirst())) }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw VireoError.invalid("line \(number + 1): expected 'key: value', got '\(line)'")
            }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            entries.append((key, value))
        }
        self.init(description: description.map(PercentEncoding.decode).joined(separator: "\n"), entries: entries)
    }

    public subscript(key: String) -> String? {
        get { entries.last { $0.key == key }?.value }
        set {
            if let newValue {
                // The last line of a key counts (the getter's view); earlier duplicates go.
                if let index = entries.lastIndex(where: { $0.key == key }) {
                    entries[index].value = newValue
                    let kept = index
                    entries = entries.enumerated().filter { $0.offset == kept || $0.element.key != key }.map(\.element)
                } else {
                    entries.append((key, newValue))
                }
            } else {
                entries.removeAll { $0.key == key }
            }
        }
    }

    public var keys: [String] { entries.map(\.key) }

    public var text: String {
        var lines: [String] = []
        if !description.isEmpty {
            lines += description.split(separator: "\n", omittingEmptySubsequences: false).map {
                "#" + PercentEncoding.encode(String($0))
            }
            lines.append("")
        }
        lines += entries.map { "\($0.key): \($0.value)" }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }

    public static func == (a: KeyValueConfig, b: KeyValueConfig) -> Bool {
        a.description == b.description && a.entries.elementsEqual(b.entries) { $0 == $1 }
    }
}
