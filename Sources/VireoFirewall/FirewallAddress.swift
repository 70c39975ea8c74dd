/// Where an alias or ipset name is looked up: `dc/name`, `guest/name`, or unscoped (the guest's
/// own first, then the datacenter's).
public struct FirewallReference: Sendable, Hashable, CustomStringConvertible {
    public enum Scope: String, Sendable, Hashable {
        case dc, guest, sdn
    }

    public var scope: Scope?
    public var name: String

    /// `[scope/]name` with Proxmox's name pattern `[A-Za-z][A-Za-z0-9_-]+`.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard let scope = Scope(rawValue: String(parts[0])) else { return nil }
            self.scope = scope
        }
        let name = String(parts[parts.count - 1])
        guard FirewallReference.isName(name) else { return nil }
        self.name = name
    }

    public init(scope: Scope?, name: String) {
        self.scope = scope
        self.name = name
    }

    public var description: String { (scope.map { $0.rawValue + "/" } ?? "") + name }

    /// Proxmox's pattern for alias, ipset and group names (2 to 64 characters).
    public static func isName(_ text: String, maximumLength: Int = 64) -> Bool {
        guard (2...maximumLength).contains(text.count), let first = text.first, first.isASCIILetter else {
            return false
        }
        return text.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" || $0 == "-" }
    }
}

extension Character {
    var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}

/// A rule's `-source` or `-dest`.
public enum FirewallAddress: Sendable, Hashable {
    /// One address or CIDR, or a comma list of them (one family).
    case networks([IPNetwork])
    /// `a-b`: from a to b, both hosts of one family.
    case range(IPNetwork, IPNetwork)
    /// `+name`, `+dc/name`, `+guest/name`
    case ipset(FirewallReference)
    /// `name`, `dc/name`, `guest/name`
    case alias(FirewallReference)

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws(Invalid) {
        guard text.count <= 512 else { throw Invalid(description: "value is longer than 512 characters") }
        if text.hasPrefix("+") {
            guard let reference = FirewallReference(text.dropFirst()) else {
                throw Invalid(description: "invalid ipset name '\(text)'")
            }
            self = .ipset(reference)
            return
        }
        if let reference = FirewallReference(text), text.first?.isASCIILetter == true {
            self = .alias(reference)
            return
        }
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        if items.count == 1, let dash = text.firstIndex(of: "-") {
            guard let low = IPNetwork(text[..<dash]), let high = IPNetwork(text[text.index(after: dash)...]),
                low.isHost, high.isHost, low.isIPv6 == high.isIPv6
            else { throw Invalid(description: "invalid IP range '\(text)'") }
            guard low.bytes.lexicographicallyPrecedes(high.bytes) || low.bytes == high.bytes else {
                throw Invalid(description: "IP range '\(text)' ends before it starts")
            }
            self = .range(low, high)
            return
        }
        var networks: [IPNetwork] = []
        for item in items {
            guard let network = IPNetwork(item) else {
                throw Invalid(description: "invalid IP address or CIDR '\(item)'")
            }
            networks.append(network)
        }
        guard Set(networks.map(\.isIPv6)).count == 1 else {
            throw Invalid(description: "mixing IPv4 and IPv6 addresses in '\(text)'")
        }
        self = .networks(networks)
    }

    /// The family of literal addresses; nil for references (their family is found when resolved).
    public var isIPv6: Bool? {
        switch self {
        case .networks(let networks): networks.first?.isIPv6
        case .range(let low, _): low.isIPv6
        case .ipset, .alias: nil
        }
    }
}
