/// nftables objects as `nft -j` names them: the model Vireo's firewall compiles into and reads
/// back (handles, counters). A leaf module: it knows nft, nothing of Vireo.
public enum NFTFamily: String, Hashable, Sendable, CaseIterable {
    case ip, ip6, inet, arp, bridge, netdev
}

public struct NFTTable: Hashable, Sendable {
    public var family: NFTFamily
    public var name: String
    public var handle: Int?

    public init(family: NFTFamily, name: String, handle: Int? = nil) {
        self.family = family
        self.name = name
        self.handle = handle
    }
}

public struct NFTChain: Hashable, Sendable {
    /// What makes a chain a base chain: where the kernel calls it.
    public struct Hook: Hashable, Sendable {
        public var type: String
        public var hook: String
        public var priority: Int
        public var policy: String?

        public init(type: String = "filter", hook: String, priority: Int, policy: String? = nil) {
            self.type = type
            self.hook = hook
            self.priority = priority
            self.policy = policy
        }
    }

    public var family: NFTFamily
    public var table: String
    public var name: String
    public var hook: Hook?
    public var handle: Int?

    public init(family: NFTFamily, table: String, name: String, hook: Hook? = nil, handle: Int? = nil) {
        self.family = family
        self.table = table
        self.name = name
        self.hook = hook
        self.handle = handle
    }
}

public struct NFTSet: Hashable, Sendable {
    public var family: NFTFamily
    public var table: String
    public var name: String
    /// `ipv4_addr`, `ipv6_addr`, `ether_addr`, `inet_service`, …
    public var type: String
    /// A map's value type (`mark`, `verdict`); nil for a plain set.
    public var map: String?
    public var flags: [String]
    /// Values, or for a map `.mapping(key:value:)` pairs.
    public var elements: [NFTExpression]
    /// Overlapping intervals are merged instead of refused.
    public var autoMerge: Bool
    /// Seconds an element lives (a set with flag `timeout`, filled by the ruleset itself).
    public var timeout: Int?
    public var handle: Int?

    public init(
        family: NFTFamily,
        table: String,
        name: String,
        type: String,
        map: String? = nil,
        flags: [String] = [],
        elements: [NFTExpression] = [],
        autoMerge: Bool = false,
        timeout: Int? = nil,
        handle: Int? = nil
    ) {
        self.family = family
        self.table = table
        self.name = name
        self.type = type
        self.map = map
        self.flags = flags
        self.elements = elements
        self.autoMerge = autoMerge
        self.timeout = timeout
        self.handle = handle
    }
}

public struct NFTRule: Hashable, Sendable {
    public var family: NFTFamily
    public var table: String
    public var chain: String
    public var statements: [NFTStatement]
    /// Where the rule came from (`cluster.fw:3`): how a counter is reported against a user's rule.
    public var comment: String?
    public var handle: Int?

    public init(
        family: NFTFamily,
        table: String,
        chain: String,
        statements: [NFTStatement],
        comment: String? = nil,
        handle: Int? = nil
    ) {
        self.family = family
        self.table = table
        self.chain = chain
        self.statements = statements
        self.comment = comment
        self.handle = handle
    }

    /// The rule's counter, if it has one.
    public var counter: (packets: Int, bytes: Int)? {
        for case .counter(let packets, let bytes) in statements { return (packets, bytes) }
        return nil
    }
}

/// The operand of a match or the value of a statement.
public indirect enum NFTExpression: Hashable, Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    /// A named set: `@management`.
    case setReference(String)
    case prefix(address: String, length: Int)
    case range(NFTExpression, NFTExpression)
    case set([NFTExpression])
    case payload(protocol: String, field: String)
    /// A map element: `key : value` (a verdict such as `jump x` for a vmap).
    case mapping(key: NFTExpression, value: NFTExpression)
    case meta(String)
    case ct(String)
    /// Anything this model does not name, kept as nft wrote it.
    case other(NFTValue)
}

public enum NFTStatement: Hashable, Sendable {
    case match(op: String, left: NFTExpression, right: NFTExpression)
    case counter(packets: Int, bytes: Int)
    case accept
    case drop
    case reject
    case jump(String)
    case goto(String)
    case `return`
    case log(prefix: String?, level: String?)
    case limit(rate: Int, per: String, burst: Int?)
    /// `meta mark set 0x10` and the like.
    case mangle(key: NFTExpression, value: NFTExpression)
    /// Anything else, kept as nft wrote it.
    case other(NFTValue)
}

/// A whole ruleset (or the part of one Vireo owns).
public struct NFTRuleset: Hashable, Sendable {
    public var tables: [NFTTable] = []
    public var chains: [NFTChain] = []
    public var sets: [NFTSet] = []
    public var rules: [NFTRule] = []

    public init(tables: [NFTTable] = [], chains: [NFTChain] = [], sets: [NFTSet] = [], rules: [NFTRule] = []) {
        self.tables = tables
        self.chains = chains
        self.sets = sets
        self.rules = rules
    }

    /// Only the objects of the tables `keep` accepts (Vireo's own tables).
    public func filtered(_ keep: (NFTTable) -> Bool) -> NFTRuleset {
        let kept = tables.filter(keep)
        let names = Set(kept.map { "\($0.family.rawValue) \($0.name)" })
        func owned(_ family: NFTFamily, _ table: String) -> Bool { names.contains("\(family.rawValue) \(table)") }
        return NFTRuleset(
            tables: kept,
            chains: chains.filter { owned($0.family, $0.table) },
            sets: sets.filter { owned($0.family, $0.table) },
            rules: rules.filter { owned($0.family, $0.table) }
        )
    }
}
