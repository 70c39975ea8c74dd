import VireoCore

/// Prints API results as `pvesh` does: text tables, JSON, pretty JSON or YAML.
enum OutputFormat: String, CaseIterable {
    case text, json
    case jsonPretty = "json-pretty"
    case yaml
}

enum OutputFormatter {
    static func render(_ data: JSON, as format: OutputFormat) -> String {
        switch format {
        case .json: data.serialized()
        case .jsonPretty: data.serialized(pretty: true)
        case .yaml: yaml(data, indent: 0, inList: false).trimmingTrailingNewlines() + "\n"
        case .text: text(data)
        }
    }

    static func text(_ data: JSON) -> String {
        switch data {
        case .null: return ""
        case .array(let items):
            if items.isEmpty { return "" }
            if items.allSatisfy({ if case .object = $0 { true } else { false } }) {
                var columns: [String] = []
                for item in items {
                    if case .object(let o) = item {
                        for key in o.keys.sorted() where !columns.contains(key) { columns.append(key) }
                    }
                }
                let rows = items.map { item in columns.map { scalar(item[$0] ?? .null) } }
                return table(header: columns, rows: rows)
            }
            return items.map(scalar).joined(separator: "\n") + "\n"
        case .object(let object):
            let rows = object.keys.sorted().map { [$0, scalar(object[$0] ?? .null)] }
            return table(header: ["key", "value"], rows: rows)
        default:
            return scalar(data) + "\n"
        }
    }

    static func scalar(_ value: JSON) -> String {
        switch value {
        case .null: ""
        case .string(let s): s
        case .array, .object: value.serialized()
        default: value.stringValue ?? ""
        }
    }

    /// A box-drawn table, Proxmox's CLI look.
    static func table(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ left: String, _ mid: String, _ right: String) -> String {
            left + widths.map { String(repeating: "─", count: $0 + 2) }.joined(separator: mid) + right + "\n"
        }
        func cells(_ values: [String]) -> String {
            "│" + values.enumerated().map { " " + $1.padding(to: widths[$0]) + " " }.joined(separator: "│") + "│\n"
        }
        var out = line("┌", "┬", "┐") + cells(header) + line("╞", "╪", "╡").replacingDashes()
        for (index, row) in rows.enumerated() {
            out += cells(row)
            if index < rows.count - 1 { out += line("├", "┼", "┤") }
        }
        return out + line("└", "┴", "┘")
    }

    static func yaml(_ value: JSON, indent: Int, inList: Bool) -> String {
        let pad = String(repeating: "  ", count: indent)
        switch value {
        case .array(let items):
            if items.isEmpty { return "[]\n" }
            return items.map { item -> String in
                let rendered = yaml(item, indent: indent + 1, inList: true)
                if case .object = item, !rendered.hasPrefix("{") {
                    return pad + "- " + rendered.dropFirst((indent + 1) * 2)
                }
                return pad + "- " + rendered.trimmingLeadingSpaces()
            }.joined()
        case .object(let object):
            if object.isEmpty { return "{}\n" }
            return object.keys.sorted().map { key -> String in
                let child = object[key] ?? .null
                switch child {
                case .array(let a) where !a.isEmpty:
                    return pad + key + ":\n" + yaml(child, indent: indent + 1, inList: false)
                case .object(let o) where !o.isEmpty:
                    return pad + key + ":\n" + yaml(child, indent: indent + 1, inList: false)
                default: return pad + key + ": " + yaml(child, indent: 0, inList: false)
                }
            }.joined()
        case .string(let s):
            let plain =
                !s.isEmpty && s.allSatisfy { $0.isLetter || $0.isNumber || "._-/@!+".contains($0) }
                && Double(s) == nil && !["true", "false", "null", "yes", "no"].contains(s.lowercased())
            return (plain ? s : JSON.string(s).serialized()) + "\n"
        case .null: return "null\n"
        default: return scalar(value) + "\n"
        }
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
    fileprivate func replacingDashes() -> String { replacingOccurrences(of: "─", with: "═") }
    fileprivate func trimmingTrailingNewlines() -> String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
    fileprivate func trimmingLeadingSpaces() -> String { String(drop { $0 == " " }) }
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
