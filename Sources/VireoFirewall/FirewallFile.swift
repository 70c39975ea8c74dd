/// Which `.fw` file: the level decides the sections, directions and options it may have.
public enum FirewallLevel: Sendable, Hashable, CustomStringConvertible {
    /// `firewall/cluster.fw`
    case cluster
    /// `nodes/<node>/host.fw`
    case host(String)
    /// `firewall/<vmid>.fw`
    case guest(Int)

    /// The level of a store path (`firewall/cluster.fw`, `firewall/100.fw`,
    /// `nodes/n1/host.fw`); nil for any other path.
    public init?(path: String) {
        let parts = path.split(separator: "/").map(String.init)
        switch (parts.count, parts.first, parts.last) {
        case (2, "firewall", "cluster.fw"): self = .cluster
        case (2, "firewall", let name?) where name.hasSuffix(".fw"):
            guard let vmid = Int(name.dropLast(3)), vmid > 0 else { return nil }
            self = .guest(vmid)
        case (3, "nodes", "host.fw"): self = .host(parts[1])
        default: return nil
        }
    }

    /// The file's path in the config store.
    public var path: String {
        switch self {
        case .cluster: "firewall/cluster.fw"
        case .host(let node): "nodes/\(node)/host.fw"
        case .guest(let vmid): "firewall/\(vmid).fw"
        }
    }

    public var description: String {
        switch self {
        case .cluster: "cluster.fw"
        case .host(let node): "\(node)/host.fw"
        case .guest(let vmid): "\(vmid).fw"
        }
    }

    /// Directions a rule of this file may have (group bodies: see `FirewallGroup`).
    public var ruleKinds: Set<FirewallRule.Kind> {
        switch self {
        case .cluster, .host: [.in, .out, .forward, .group]
        case .guest: [.in, .out, .group]
        }
    }

    public var hasAliasesAndIPSets: Bool {
        if case .host = self { return false }
        return true
    }
}

public struct FirewallAlias: Sendable, Hashable {
    public var name: String
    public var cidr: String
    public var comment: String?

    public init(name: String, cidr: String, comment: String? = nil) {
        self.name = name
        self.cidr = cidr
        self.comment = comment
    }
}

public struct FirewallIPSet: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        /// An address, a CIDR or an alias name.
        public var cidr: String
        public var nomatch: Bool
        public var comment: String?

        public init(cidr: String, nomatch: Bool = false, comment: String? = nil) {
            self.cidr = cidr
            self.nomatch = nomatch
            self.comment = comment
        }
    }

    public var name: String
    public var comment: String?
    public var entries: [Entry]

    public init(name: String, comment: String? = nil, entries: [Entry] = []) {
        self.name = name
        self.comment = comment
        self.entries = entries
    }
}

/// A security group of cluster.fw: `[group name] # comment` and its rules.
public struct FirewallGroup: Sendable, Hashable {
    public static let ruleKinds: Set<FirewallRule.Kind> = [.in, .out, .forward]

    public var name: String
    public var comment: String?
    public var rules: [FirewallRule]

    public init(name: String, comment: String? = nil, rules: [FirewallRule] = []) {
        self.name = name
        self.comment = comment
        self.rules = rules
    }
}

/// One `.fw` file in Proxmox's format. Lookups of aliases, ipsets and groups are case-insensitive
/// (Proxmox keeps their names lower-case); everything keeps its order of definition until written,
/// which sorts as Proxmox's writer does.
public struct FirewallFile: Sendable, Hashable {
    public var options: [String: String] = [:]
    public var aliases: [FirewallAlias] = []
    public var ipsets: [FirewallIPSet] = []
    public var rules: [FirewallRule] = []
    public var groups: [FirewallGroup] = []
    /// Lines the reader could not place (before any section, unknown sections), for `errors`.
    public var warnings: [String] = []

    public init() {}

    public func alias(named name: String) -> FirewallAlias? {
        aliases.first { $0.name.lowercased() == name.lowercased() }
    }

    public func ipset(named name: String) -> FirewallIPSet? {
        ipsets.first { $0.name.lowercased() == name.lowercased() }
    }

    public func group(named name: String) -> FirewallGroup? {
        groups.first { $0.name.lowercased() == name.lowercased() }
    }

    public var isEmpty: Bool {
        options.isEmpty && aliases.isEmpty && ipsets.isEmpty && rules.isEmpty && groups.isEmpty
    }
}

// MARK: - Reading

extension FirewallFile {
    private enum Section {
        case none, options, aliases, rules, skipped
        case ipset(Int)
        case group(Int)
    }

    /// Reads a file. Bad rule lines are kept with their `errors`; other bad lines are skipped with
    /// a warning, as Proxmox's reader does, so one typo never disables a whole firewall.
    public init(parsing text: String, level: FirewallLevel) {
        self.init()
        var section = Section.none
        // "\r\n" is one Character in Swift: split on it too, or a CRLF file is one long line.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") { continue }
            let number = index + 1
            if line.hasPrefix("[") {
                section = openSection(line, level: level, number: number)
                continue
            }
            switch section {
            case .none, .skipped:
                if case .none = section { warnings.append("line \(number): outside any section") }
            case .options:
                guard let colon = line.firstIndex(of: ":") else {
                    warnings.append("line \(number): expected 'key: value'")
                    continue
                }
                let key = line[..<colon].trimmingSpaces.lowercased()
                options[key] = String(line[line.index(after: colon)...].trimmingSpaces)
            case .aliases:
                let (body, comment) = Self.splitComment(line)
                let words = body.split(separator: " ", omittingEmptySubsequences: true)
                guard words.count == 2 else {
                    warnings.append("line \(number): expected 'name address'")
                    continue
                }
                // Proxmox drops a host prefix (/32, /128) and writes the bare address.
                var cidr = String(words[1])
                for suffix in ["/32", "/128"] where cidr.hasSuffix(suffix) && IPNetwork(cidr)?.isHost == true {
                    cidr.removeLast(suffix.count)
                }
                aliases.append(FirewallAlias(name: String(words[0]), cidr: cidr, comment: comment))
            case .ipset(let at):
                let (body, comment) = Self.splitComment(line)
                let nomatch = body.hasPrefix("!")
                let cidr = (nomatch ? body.dropFirst() : body).trimmingSpaces
                ipsets[at].entries.append(.init(cidr: String(cidr), nomatch: nomatch, comment: comment))
            case .rules:
                rules.append(FirewallRule(line: String(line)))
            case .group(let at):
                groups[at].rules.append(FirewallRule(line: String(line)))
            }
        }
    }

    private mutating func openSection(_ line: Substring, level: FirewallLevel, number: Int) -> Section {
        let (header, comment) = Self.splitComment(line)
        guard header.hasSuffix("]") else {
            warnings.append("line \(number): bad section header")
            return .skipped
        }
        let inner = header.dropFirst().dropLast().trimmingSpaces
        let words = inner.split(separator: " ", maxSplits: 1).map { String($0) }
        let keyword = words.first?.lowercased() ?? ""
        let name = words.count > 1 ? String(Substring(words[1]).trimmingSpaces) : ""
        switch keyword {
        case "options" where words.count == 1: return .options
        case "rules" where words.count == 1: return .rules
        case "aliases" where words.count == 1 && level.hasAliasesAndIPSets: return .aliases
        case "ipset" where !name.isEmpty && level.hasAliasesAndIPSets:
            ipsets.append(FirewallIPSet(name: name, comment: comment))
            return .ipset(ipsets.count - 1)
        case "group" where !name.isEmpty && level == .cluster:
            groups.append(FirewallGroup(name: name, comment: comment))
            return .group(groups.count - 1)
        default:
            warnings.append("line \(number): section \(header) is not allowed in \(level)")
            return .skipped
        }
    }

    /// `text # comment` -> (`text`, `comment`).
    static func splitComment(_ line: Substring) -> (Substring, String?) {
        guard let hash = line.firstIndex(of: "#") else { return (line, nil) }
        let comment = line[line.index(after: hash)...].trimmingSpaces
        return (line[..<hash].trimmingSpaces, comment.isEmpty ? nil : String(comment))
    }
}

// MARK: - Writing

extension FirewallFile {
    /// The file as Proxmox writes it: options, aliases, ipsets (by name, entries sorted), rules,
    /// then groups (by name). Empty when there is nothing to write (the file is then deleted).
    public var text: String {
        var out = ""
        if !options.isEmpty {
            out += "[OPTIONS]\n\n"
            for (key, value) in options.sorted(by: { $0.key < $1.key }) { out += "\(key): \(value)\n" }
            out += "\n"
        }
        if !aliases.isEmpty {
            out += "[ALIASES]\n\n"
            for alias in aliases.sorted(by: { $0.name.lowercased() < $1.name.lowercased() }) {
                out += "\(alias.name) \(alias.cidr)" + Self.comment(alias.comment) + "\n"
            }
            out += "\n"
        }
        for ipset in ipsets.sorted(by: { $0.name.lowercased() < $1.name.lowercased() }) {
            out += "[IPSET \(ipset.name)]" + Self.comment(ipset.comment) + "\n\n"
            for entry in ipset.entries.sorted(by: { $0.cidr < $1.cidr }) {
                out += (entry.nomatch ? "!" : "") + entry.cidr + Self.comment(entry.comment) + "\n"
            }
            out += "\n"
        }
        if !rules.isEmpty {
            out += "[RULES]\n\n"
            for rule in rules { out += rule.line + "\n" }
            out += "\n"
        }
        for group in groups.sorted(by: { $0.name.lowercased() < $1.name.lowercased() }) {
            out += "[group \(group.name)]" + Self.comment(group.comment) + "\n\n"
            for rule in group.rules { out += rule.line + "\n" }
            out += "\n"
        }
        return out
    }

    private static func comment(_ text: String?) -> String {
        text.map { " # " + $0 } ?? ""
    }
}
