/// One line of a `[RULES]` or `[group x]` section:
/// `[|]DIRECTION ACTION|MACRO(ACTION)|GROUP name [options] [# comment]`.
public struct FirewallRule: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case `in`, out, forward, group
    }

    public var type: Kind
    /// ACCEPT, DROP or REJECT; the group's name for `group` rules.
    public var action: String
    public var macro: String?
    public var iface: String?
    public var source: String?
    public var dest: String?
    public var proto: String?
    public var dport: String?
    public var sport: String?
    public var icmpType: String?
    public var log: String?
    public var enable: Bool
    public var comment: String?
    /// What is wrong with the rule, by field. A rule with errors is kept in its file and listed,
    /// but never compiled (Proxmox does the same).
    public var errors: [String: String] = [:]
    /// The line as read, for a rule that did not parse: it is written back as it was, so saving
    /// the file never turns a broken rule into a valid, different one.
    public var rawLine: String?

    public init(
        type: Kind,
        action: String,
        macro: String? = nil,
        iface: String? = nil,
        source: String? = nil,
        dest: String? = nil,
        proto: String? = nil,
        dport: String? = nil,
        sport: String? = nil,
        icmpType: String? = nil,
        log: String? = nil,
        enable: Bool = true,
        comment: String? = nil
    ) {
        self.type = type
        self.action = action
        self.macro = macro
        self.iface = iface
        self.source = source
        self.dest = dest
        self.proto = proto
        self.dport = dport
        self.sport = sport
        self.icmpType = icmpType
        self.log = log
        self.enable = enable
        self.comment = comment
    }

    /// The options a rule line can carry, in the order Proxmox writes them.
    public enum Option: String, CaseIterable, Sendable {
        case iface = "i"
        case source, dest
        case proto = "p"
        case dport, sport, log
        case icmpType = "icmp-type"

        /// The field's name in the API and in `errors`.
        public var field: String {
            switch self {
            case .iface: "iface"
            case .proto: "proto"
            default: rawValue
            }
        }
    }

    public subscript(option: Option) -> String? {
        get {
            switch option {
            case .iface: iface
            case .source: source
            case .dest: dest
            case .proto: proto
            case .dport: dport
            case .sport: sport
            case .log: log
            case .icmpType: icmpType
            }
        }
        set {
            switch option {
            case .iface: iface = newValue
            case .source: source = newValue
            case .dest: dest = newValue
            case .proto: proto = newValue
            case .dport: dport = newValue
            case .sport: sport = newValue
            case .log: log = newValue
            case .icmpType: icmpType = newValue
            }
        }
    }
}

// MARK: - Line syntax

extension FirewallRule {
    /// Reads a rule line. Syntax errors do not throw: the rule comes back with `errors` set, so a
    /// file with one bad line still loads (and the line is written back unchanged in meaning).
    public init(line: String) {
        var text = Substring(line).trimmingSpaces
        var comment: String?
        if let hash = text.firstIndex(of: "#") {
            let tail = text[text.index(after: hash)...].trimmingSpaces
            comment = tail.isEmpty ? nil : String(tail)
            text = text[..<hash].trimmingSpaces
        }
        var enable = true
        if text.hasPrefix("|") {
            enable = false
            text = text.dropFirst().trimmingSpaces
        }
        var words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        var errors: [String: String] = [:]
        let direction = words.isEmpty ? "" : words.removeFirst()
        let kind = Kind(rawValue: direction.lowercased())
        if kind == nil { errors["type"] = "unknown rule type '\(direction)'" }
        let verb = words.isEmpty ? "" : words.removeFirst()
        var action = verb
        var macro: String?
        if kind == .group {
            if verb.isEmpty { errors["action"] = "missing security group name" }
        } else if let open = verb.firstIndex(of: "("), verb.hasSuffix(")") {
            macro = String(verb[..<open])
            action = String(verb[verb.index(after: open)..<verb.index(before: verb.endIndex)])
        }
        if kind != .group { action = action.uppercased() }
        self.init(type: kind ?? .in, action: action, macro: macro, enable: enable, comment: comment)
        if kind == nil { self.type = .in }
        while !words.isEmpty {
            let flag = words.removeFirst()
            guard flag.hasPrefix("-") else {
                errors["rule"] = "unexpected text '\(flag)'"
                break
            }
            let name = flag.hasPrefix("--") ? String(flag.dropFirst(2)) : String(flag.dropFirst())
            guard let option = Option(rawValue: name), !(option == .iface && flag.hasPrefix("--")) else {
                errors["rule"] = "unknown option '\(flag)'"
                break
            }
            guard !words.isEmpty else {
                errors[option.field] = "missing value for '\(flag)'"
                break
            }
            self[option] = words.removeFirst()
        }
        self.errors = errors
        if !errors.isEmpty { rawLine = String(Substring(line).trimmingSpaces) }
    }

    /// The rule as Proxmox writes it: options in a fixed order, then ` # comment`.
    public var line: String {
        if let rawLine { return rawLine }
        var parts: [String] = []
        let verb =
            if let macro { "\(macro)(\(action))" } else { action }
        parts.append((enable ? "" : "|") + type.rawValue.uppercased() + " " + verb)
        for option in Option.allCases {
            if let value = self[option] { parts.append("-\(option.rawValue) \(value)") }
        }
        if let comment { parts.append("# " + comment) }
        return parts.joined(separator: " ")
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text = text.dropLast() }
        return text
    }
}
