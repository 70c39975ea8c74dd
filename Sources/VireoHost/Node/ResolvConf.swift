public import VireoCore

/// `/etc/resolv.conf` as `/nodes/{node}/dns` shows and sets it: a search domain and up to
/// three name servers. Other lines (options, comments) are kept on write.
public struct ResolvConf: Sendable, Equatable {
    public var search: String?
    public var nameservers: [String]

    public init(search: String? = nil, nameservers: [String] = []) {
        self.search = search
        self.nameservers = nameservers
    }

    public init(parsing text: String) {
        var search: String?
        var servers: [String] = []
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = words.first, words.count > 1 else { continue }
            switch keyword {
            case "search", "domain": search = words.dropFirst().joined(separator: " ")
            case "nameserver": servers.append(String(words[1]))
            default: break
            }
        }
        self.init(search: search, nameservers: servers)
    }

    /// The API's fields: `search`, `dns1`…`dns3`.
    public var fields: [String: JSON] {
        var fields: [String: JSON] = [:]
        if let search { fields["search"] = .string(search) }
        for (index, server) in nameservers.prefix(3).enumerated() { fields["dns\(index + 1)"] = .string(server) }
        return fields
    }

    /// `original` with its search and name server lines replaced by this one's.
    public func rendered(over original: String) -> String {
        var lines: [String] = []
        if let search { lines.append("search \(search)") }
        lines += nameservers.map { "nameserver \($0)" }
        for line in original.split(separator: "\n", omittingEmptySubsequences: false) {
            let keyword = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            if keyword == "search" || keyword == "domain" || keyword == "nameserver" { continue }
            lines.append(String(line))
        }
        while lines.last == "" { lines.removeLast() }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension NodeHost {
    public static let resolvConfPath = "/etc/resolv.conf"

    public func dns() -> ResolvConf { ResolvConf(parsing: read(Self.resolvConfPath) ?? "") }

    public func setDNS(_ dns: ResolvConf) throws {
        try write(Self.resolvConfPath, dns.rendered(over: read(Self.resolvConfPath) ?? ""))
    }
}
