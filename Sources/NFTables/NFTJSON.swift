/// The mapping between the model and nft's JSON (`libnftables-json(5)`).
public enum NFTJSONError: Error, Hashable, Sendable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let what): "nft JSON: \(what)"
        }
    }
}

extension NFTRuleset {
    /// Reads `nft -j list ruleset` (or `list table …`) output. Objects it does not model (maps,
    /// flowtables, …) are skipped; rules keep unknown statements as `.other`.
    public init(parsingListOutput bytes: [UInt8]) throws {
        guard let items = try NFTValue(parsing: bytes)["nftables"]?.array else {
            throw NFTJSONError.malformed("no 'nftables' array")
        }
        self.init()
        for item in items {
            if let table = item["table"] {
                guard let family = table.family, let name = table["name"]?.string else {
                    throw NFTJSONError.malformed("table without family or name")
                }
                tables.append(NFTTable(family: family, name: name, handle: table["handle"]?.int))
            } else if let chain = item["chain"] {
                guard let family = chain.family, let table = chain["table"]?.string, let name = chain["name"]?.string
                else {
                    throw NFTJSONError.malformed("chain without family, table or name")
                }
                var hook: NFTChain.Hook?
                if let point = chain["hook"]?.string {
                    hook = NFTChain.Hook(
                        type: chain["type"]?.string ?? "filter",
                        hook: point,
                        priority: chain["prio"]?.int ?? 0,
                        policy: chain["policy"]?.string
                    )
                }
                chains.append(
                    NFTChain(family: family, table: table, name: name, hook: hook, handle: chain["handle"]?.int)
                )
            } else if let set = item["set"] {
                guard let family = set.family, let table = set["table"]?.string, let name = set["name"]?.string else {
                    throw NFTJSONError.malformed("set without family, table or name")
                }
                let map = set["map"]?.string
                sets.append(
                    NFTSet(
                        family: family,
                        table: table,
                        name: name,
                        type: set["type"]?.string ?? "",
                        map: map,
                        flags: set["flags"]?.array?.compactMap(\.string) ?? [],
                        elements: (set["elem"]?.array ?? []).map {
                            map == nil ? NFTExpression(json: $0) : .init(mapElement: $0)
                        },
                        autoMerge: set["auto-merge"] == .bool(true),
                        timeout: set["timeout"]?.int,
                        handle: set["handle"]?.int
                    )
                )
            } else if let rule = item["rule"] {
                guard let family = rule.family, let table = rule["table"]?.string, let chain = rule["chain"]?.string
                else {
                    throw NFTJSONError.malformed("rule without family, table or chain")
                }
                rules.append(
                    NFTRule(
                        family: family,
                        table: table,
                        chain: chain,
                        statements: (rule["expr"]?.array ?? []).map(NFTStatement.init(json:)),
                        comment: rule["comment"]?.string,
                        handle: rule["handle"]?.int
                    )
                )
            }
        }
    }

    /// One `nft -j -f` transaction that replaces the given tables with this ruleset: each table is
    /// added (so deleting cannot fail), deleted, then made anew with its chains, sets and rules.
    /// nft applies all of it or none.
    public func replacingTablesCommand() throws -> [UInt8] {
        var commands: [NFTValue] = []
        for table in tables {
            let identity: NFTValue = .object(["family": .string(table.family.rawValue), "name": .string(table.name)])
            commands.append(.object(["add": .object(["table": identity])]))
            commands.append(.object(["delete": .object(["table": identity])]))
            commands.append(.object(["add": .object(["table": identity])]))
        }
        // Chains before sets: a verdict map's elements name chains.
        for chain in chains { commands.append(.object(["add": .object(["chain": chain.json])])) }
        for set in sets { commands.append(.object(["add": .object([set.map == nil ? "set" : "map": set.json])])) }
        for rule in rules { commands.append(.object(["add": .object(["rule": rule.json])])) }
        return try NFTValue.object(["nftables": .array(commands)]).jsonBytes()
    }

    /// A transaction that removes the given tables (if they exist).
    public static func deletingTablesCommand(_ tables: [NFTTable]) throws -> [UInt8] {
        var commands: [NFTValue] = []
        for table in tables {
            let identity: NFTValue = .object(["family": .string(table.family.rawValue), "name": .string(table.name)])
            commands.append(.object(["add": .object(["table": identity])]))
            commands.append(.object(["delete": .object(["table": identity])]))
        }
        return try NFTValue.object(["nftables": .array(commands)]).jsonBytes()
    }
}

extension NFTValue {
    fileprivate var family: NFTFamily? { self["family"]?.string.flatMap(NFTFamily.init(rawValue:)) }
}

extension NFTChain {
    var json: NFTValue {
        var object: [String: NFTValue] = [
            "family": .string(family.rawValue), "table": .string(table), "name": .string(name),
        ]
        if let hook {
            object["type"] = .string(hook.type)
            object["hook"] = .string(hook.hook)
            object["prio"] = .int(hook.priority)
            if let policy = hook.policy { object["policy"] = .string(policy) }
        }
        return .object(object)
    }
}

extension NFTSet {
    var json: NFTValue {
        var object: [String: NFTValue] = [
            "family": .string(family.rawValue), "table": .string(table), "name": .string(name), "type": .string(type),
        ]
        if let map { object["map"] = .string(map) }
        if autoMerge { object["auto-merge"] = .bool(true) }
        if let timeout { object["timeout"] = .int(timeout) }
        if !flags.isEmpty { object["flags"] = .array(flags.map { .string($0) }) }
        if !elements.isEmpty { object["elem"] = .array(elements.map(\.json)) }
        return .object(object)
    }
}

extension NFTRule {
    var json: NFTValue {
        var object: [String: NFTValue] = [
            "family": .string(family.rawValue), "table": .string(table), "chain": .string(chain),
            "expr": .array(statements.map(\.json)),
        ]
        if let comment { object["comment"] = .string(comment) }
        return .object(object)
    }
}

extension NFTExpression {
    /// A map's element as nft lists it: `[key, value]`.
    init(mapElement json: NFTValue) {
        guard let pair = json.array, pair.count == 2 else {
            self = NFTExpression(json: json)
            return
        }
        self = .mapping(key: NFTExpression(json: pair[0]), value: NFTExpression(json: pair[1]))
    }

    public init(json: NFTValue) {
        switch json {
        case .string(let text): self = text.hasPrefix("@") ? .setReference(String(text.dropFirst())) : .string(text)
        case .int(let number): self = .int(number)
        case .bool(let flag): self = .bool(flag)
        case .array(let items): self = .set(items.map(NFTExpression.init(json:)))
        case .object(let object):
            if let prefix = object["prefix"], let address = prefix["addr"]?.string, let length = prefix["len"]?.int {
                self = .prefix(address: address, length: length)
            } else if let range = object["range"]?.array, range.count == 2 {
                self = .range(NFTExpression(json: range[0]), NFTExpression(json: range[1]))
            } else if let items = object["set"]?.array {
                self = .set(items.map(NFTExpression.init(json:)))
            } else if let payload = object["payload"], let proto = payload["protocol"]?.string,
                let field = payload["field"]?.string
            {
                self = .payload(protocol: proto, field: field)
            } else if let key = object["meta"]?["key"]?.string {
                self = .meta(key)
            } else if let key = object["ct"]?["key"]?.string {
                self = .ct(key)
            } else {
                self = .other(json)
            }
        case .null: self = .other(.null)
        }
    }

    public var json: NFTValue {
        switch self {
        case .string(let text): .string(text)
        case .int(let number): .int(number)
        case .bool(let flag): .bool(flag)
        case .setReference(let name): .string("@" + name)
        case .prefix(let address, let length): ["prefix": ["addr": .string(address), "len": .int(length)]]
        case .range(let low, let high): ["range": .array([low.json, high.json])]
        case .set(let items): ["set": .array(items.map(\.json))]
        case .payload(let proto, let field): ["payload": ["protocol": .string(proto), "field": .string(field)]]
        case .mapping(let key, let value): .array([key.json, value.json])
        case .meta(let key): ["meta": ["key": .string(key)]]
        case .ct(let key): ["ct": ["key": .string(key)]]
        case .other(let value): value
        }
    }
}

extension NFTStatement {
    public init(json: NFTValue) {
        guard case .object(let object) = json, object.count == 1, let (name, body) = object.first else {
            self = .other(json)
            return
        }
        switch name {
        case "match":
            guard let op = body["op"]?.string, let left = body["left"], let right = body["right"] else {
                self = .other(json)
                return
            }
            self = .match(op: op, left: NFTExpression(json: left), right: NFTExpression(json: right))
        case "counter": self = .counter(packets: body["packets"]?.int ?? 0, bytes: body["bytes"]?.int ?? 0)
        case "accept": self = .accept
        case "drop": self = .drop
        case "reject" where body == .null: self = .reject
        case "jump": self = body["target"]?.string.map(NFTStatement.jump) ?? .other(json)
        case "goto": self = body["target"]?.string.map(NFTStatement.goto) ?? .other(json)
        case "return": self = .return
        case "log": self = .log(prefix: body["prefix"]?.string, level: body["level"]?.string)
        case "limit":
            guard let rate = body["rate"]?.int else {
                self = .other(json)
                return
            }
            self = .limit(rate: rate, per: body["per"]?.string ?? "second", burst: body["burst"]?.int)
        case "mangle":
            guard let key = body["key"], let value = body["value"] else {
                self = .other(json)
                return
            }
            self = .mangle(key: NFTExpression(json: key), value: NFTExpression(json: value))
        default: self = .other(json)
        }
    }

    public var json: NFTValue {
        switch self {
        case .match(let op, let left, let right):
            ["match": ["op": .string(op), "left": left.json, "right": right.json]]
        case .counter(let packets, let bytes): ["counter": ["packets": .int(packets), "bytes": .int(bytes)]]
        case .accept: ["accept": .null]
        case .drop: ["drop": .null]
        case .reject: ["reject": .null]
        case .jump(let target): ["jump": ["target": .string(target)]]
        case .goto(let target): ["goto": ["target": .string(target)]]
        case .return: ["return": .null]
        case .log(let prefix, let level):
            .object([
                "log": .object(
                    [:].merging(prefix.map { ["prefix": NFTValue.string($0)] } ?? [:]) { $1 }
                        .merging(level.map { ["level": NFTValue.string($0)] } ?? [:]) { $1 }
                )
            ])
        case .limit(let rate, let per, let burst):
            .object([
                "limit": .object(
                    ["rate": .int(rate), "per": .string(per)].merging(burst.map { ["burst": NFTValue.int($0)] } ?? [:])
                    {
                        $1
                    }
                )
            ])
        case .mangle(let key, let value): ["mangle": ["key": key.json, "value": value.json]]
        case .other(let value): value
        }
    }
}

extension NFTValue: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, NFTValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
