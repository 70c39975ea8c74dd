/// One `nft -j -f` batch: nft applies all of its commands or none.
public struct NFTTransaction: Hashable, Sendable {
    public enum Command: Hashable, Sendable {
        case addTable(NFTTable)
        case deleteTable(NFTTable)
        case addChain(NFTChain)
        case flushChain(NFTChain)
        case deleteChain(NFTChain)
        /// With its elements.
        case addSet(NFTSet)
        case flushSet(NFTSet)
        case deleteSet(NFTSet)
        /// The set's elements, into an existing set.
        case addElements(NFTSet)
        case addRule(NFTRule)
    }

    public var commands: [Command]

    public init(_ commands: [Command] = []) { self.commands = commands }

    public var isEmpty: Bool { commands.isEmpty }

    public func jsonBytes() throws -> [UInt8] {
        try NFTValue.object(["nftables": .array(commands.map(\.json))]).jsonBytes()
    }
}

extension NFTTransaction.Command {
    var json: NFTValue {
        switch self {
        case .addTable(let table): ["add": ["table": table.identity]]
        case .deleteTable(let table): ["delete": ["table": table.identity]]
        case .addChain(let chain): ["add": ["chain": chain.json]]
        case .flushChain(let chain): ["flush": ["chain": chain.identity]]
        case .deleteChain(let chain): ["delete": ["chain": chain.identity]]
        case .addSet(let set): ["add": [set.map == nil ? "set" : "map": set.json]]
        case .flushSet(let set): ["flush": [set.map == nil ? "set" : "map": set.identity]]
        case .deleteSet(let set): ["delete": [set.map == nil ? "set" : "map": set.identity]]
        case .addElements(let set):
            [
                "add": [
                    "element": [
                        "family": .string(set.family.rawValue), "table": .string(set.table), "name": .string(set.name),
                        "elem": .array(set.elements.map(\.json)),
                    ]
                ]
            ]
        case .addRule(let rule): ["add": ["rule": rule.json]]
        }
    }
}

extension NFTTable {
    var identity: NFTValue { ["family": .string(family.rawValue), "name": .string(name)] }
}

extension NFTChain {
    var identity: NFTValue { ["family": .string(family.rawValue), "table": .string(table), "name": .string(name)] }
}

extension NFTSet {
    var identity: NFTValue { ["family": .string(family.rawValue), "table": .string(table), "name": .string(name)] }

    /// Everything but the elements and the handle.
    func sameDeclaration(as other: NFTSet) -> Bool {
        type == other.type && map == other.map && flags == other.flags && autoMerge == other.autoMerge
            && timeout == other.timeout
    }
}

extension NFTRuleset {
    /// A ruleset's rules grouped by chain: made once per ruleset and kept with it, so diffing a
    /// big ruleset against the next one does not group the same rules twice.
    public struct Index: Sendable {
        let rules: [ObjectKey: [NFTRule]]
        let chains: [ObjectKey: NFTChain]
        let sets: [ObjectKey: NFTSet]

        /// The chain's rules, in order.
        public func rules(of chain: NFTChain) -> [NFTRule] {
            rules[ObjectKey(family: chain.family, table: chain.table, name: chain.name)] ?? []
        }
    }

    public func index() -> Index {
        Index(
            rules: rulesByChain(),
            chains: Dictionary(chains.map { (ObjectKey(family: $0.family, table: $0.table, name: $0.name), $0) }) {
                a,
                _ in a
            },
            sets: Dictionary(sets.map { (ObjectKey(family: $0.family, table: $0.table, name: $0.name), $0) }) { a, _ in
                a
            }
        )
    }

    /// The smallest transaction that turns `old` (what is loaded) into this ruleset, chain by chain
    /// and set by set: unchanged chains and sets are not touched, so their rules keep their
    /// counters and a big ipset is not reloaded for a one-rule change. Handles and counters are
    /// ignored when comparing. The indexes, when given, are `old.index()` and `index()`.
    public func changes(from old: NFTRuleset, oldIndex: Index? = nil, newIndex: Index? = nil) -> NFTTransaction {
        func key(_ family: NFTFamily, _ table: String, _ name: String) -> ObjectKey {
            ObjectKey(family: family, table: table, name: name)
        }
        let oldTables = Set(old.tables.map { key($0.family, $0.name, "") })
        let newTables = Set(tables.map { key($0.family, $0.name, "") })
        let oldIndex = oldIndex ?? old.index()
        let newIndex = newIndex ?? index()
        let (oldChains, oldSets, oldRules) = (oldIndex.chains, oldIndex.sets, oldIndex.rules)
        let (newChainKeys, newSetKeys, newRules) = (newIndex.chains, newIndex.sets, newIndex.rules)

        var flushChains: [NFTChain] = []
        var deleteChains: [NFTChain] = []
        var addChains: [NFTChain] = []
        var fillChains: [NFTChain] = []
        for chain in chains {
            let id = key(chain.family, chain.table, chain.name)
            guard let before = oldChains[id] else {
                addChains.append(chain)
                fillChains.append(chain)
                continue
            }
            let object = id
            if before.hook != chain.hook {
                flushChains.append(before)
                deleteChains.append(before)
                addChains.append(chain)
                fillChains.append(chain)
            } else if (oldRules[object] ?? []) != (newRules[object] ?? []) {
                flushChains.append(chain)
                fillChains.append(chain)
            }
        }
        for chain in old.chains where newChainKeys[key(chain.family, chain.table, chain.name)] == nil {
            // A table that goes as a whole takes its chains with it.
            guard newTables.contains(key(chain.family, chain.table, "")) else { continue }
            flushChains.append(chain)
            deleteChains.append(chain)
        }

        var flushSets: [NFTSet] = []
        var deleteSets: [NFTSet] = []
        var addSets: [NFTSet] = []
        var refillSets: [NFTSet] = []
        for set in sets {
            guard let before = oldSets[key(set.family, set.table, set.name)] else {
                addSets.append(set)
                continue
            }
            if !before.sameDeclaration(as: set) {
                deleteSets.append(before)
                addSets.append(set)
            } else if before.elements != set.elements {
                flushSets.append(set)
                if !set.elements.isEmpty { refillSets.append(set) }
            }
        }
        for set in old.sets where newSetKeys[key(set.family, set.table, set.name)] == nil {
            guard newTables.contains(key(set.family, set.table, "")) else { continue }
            deleteSets.append(set)
        }

        var commands: [NFTTransaction.Command] = []
        commands += tables.filter { !oldTables.contains(key($0.family, $0.name, "")) }.map { .addTable($0) }
        // Rules and map elements that point at what goes must go first.
        commands += flushChains.map { .flushChain($0) }
        commands += flushSets.map { .flushSet($0) }
        // A verdict map that goes must go before the chains its elements jump to.
        commands += deleteSets.map { .deleteSet($0) }
        commands += deleteChains.map { .deleteChain($0) }
        // Chains before sets: a verdict map's elements name chains.
        commands += addChains.map { .addChain($0) }
        commands += addSets.map { .addSet($0) }
        commands += refillSets.map { .addElements($0) }
        for chain in fillChains {
            commands += (newRules[key(chain.family, chain.table, chain.name)] ?? []).map { .addRule($0) }
        }
        commands += old.tables.filter { !newTables.contains(key($0.family, $0.name, "")) }.map { .deleteTable($0) }
        return NFTTransaction(commands)
    }

    /// A chain or set's identity within a ruleset (small strings: hashing allocates nothing).
    struct ObjectKey: Hashable, Sendable {
        var family: NFTFamily
        var table: String
        var name: String
    }

    /// Rules per chain in order. Handles and counter values are the kernel's: they are left out
    /// (only listed rules have them; compiled ones are taken as they are).
    func rulesByChain() -> [ObjectKey: [NFTRule]] {
        var result: [ObjectKey: [NFTRule]] = [:]
        for rule in rules {
            let key = ObjectKey(family: rule.family, table: rule.table, name: rule.chain)
            guard rule.handle != nil else {
                result[key, default: []].append(rule)
                continue
            }
            var plain = rule
            plain.handle = nil
            plain.statements = rule.statements.map {
                if case .counter = $0 { .counter(packets: 0, bytes: 0) } else { $0 }
            }
            result[key, default: []].append(plain)
        }
        return result
    }
}
