import VireoCore
import VireoFirewall

/// A list of rules the API edits: a file's `[RULES]` or a security group's body.
struct FirewallRuleCollection: Sendable {
    let level: FirewallLevel
    /// The security group, for `/cluster/firewall/groups/{group}`.
    let group: String?
    /// The local node's host rules carry counters; another node's do not.
    let counterPrefix: String?

    var place: FirewallRule.Place { group == nil ? .file(level) : .group }

    func rules(_ file: FirewallFile) throws -> [FirewallRule] {
        guard let group else { return file.rules }
        guard let found = file.group(named: group) else {
            throw VireoError.notFound("no such security group '\(group)'")
        }
        return found.rules
    }

    func setRules(_ rules: [FirewallRule], in file: inout FirewallFile) throws {
        guard let group else {
            file.rules = rules
            return
        }
        guard let index = file.groups.firstIndex(where: { $0.name.lowercased() == group.lowercased() }) else {
            throw VireoError.notFound("no such security group '\(group)'")
        }
        file.groups[index].rules = rules
    }

    /// The alias, ipset and group names a rule here can use.
    func names(_ request: APIRequest, file: FirewallFile) async throws -> FirewallNames {
        switch level {
        case .cluster: return FirewallNames(cluster: file)
        case .host: return FirewallNames(cluster: try await FirewallFiles.load(request, .cluster))
        case .guest(let vmid):
            return FirewallNames(cluster: try await FirewallFiles.load(request, .cluster), guest: file, vmid: vmid)
        }
    }
}

extension FirewallEndpoints {
    static let ruleFields: [(name: String, option: FirewallRule.Option?)] = [
        ("iface", .iface), ("source", .source), ("dest", .dest), ("proto", .proto), ("dport", .dport),
        ("sport", .sport), ("icmp-type", .icmpType), ("log", .log), ("macro", nil), ("comment", nil),
    ]

    /// A rule as the API lists it (without counters, which are not part of the digest).
    static func json(_ rule: FirewallRule, pos: Int, names: FirewallNames, place: FirewallRule.Place) -> [String: JSON]
    {
        var fields: [String: JSON] = [
            "pos": .int(pos), "type": .string(rule.type.rawValue), "action": .string(rule.action),
            "enable": .int(rule.enable ? 1 : 0),
        ]
        for (name, option) in ruleFields {
            let value = option.map { rule[$0] } ?? (name == "macro" ? rule.macro : rule.comment)
            if let value { fields[name] = .string(value) }
        }
        let (checked, matches) = rule.checked(at: place, names: names)
        if !checked.errors.isEmpty {
            fields["errors"] = .object(checked.errors.mapValues { .string($0) })
        } else {
            let families = Set(matches.compactMap(\.ipv6))
            if families.count == 1, let ipv6 = families.first { fields["ipversion"] = .int(ipv6 ? 6 : 4) }
        }
        return fields
    }

    static func listRules(_ request: APIRequest, _ collection: FirewallRuleCollection) async throws -> JSON {
        let file = try await FirewallFiles.load(request, collection.level)
        let names = try await collection.names(request, file: file)
        var entries = try collection.rules(file).enumerated().map {
            json($1, pos: $0, names: names, place: collection.place)
        }
        let digest = FirewallFiles.listDigest(entries)
        let counters = await request.services.firewall?.counters() ?? [:]
        for index in entries.indices {
            entries[index]["digest"] = .string(digest)
            let counter = collection.counterPrefix.flatMap { counters["\($0)/\(index)"] }
            entries[index]["packets"] = .int(counter?.packets ?? 0)
            entries[index]["bytes"] = .int(counter?.bytes ?? 0)
        }
        return .array(entries.map { .object($0) })
    }

    static func getRule(_ request: APIRequest, _ collection: FirewallRuleCollection) async throws -> JSON {
        let pos = try request.parameters.require("pos")
        guard case .array(let entries) = try await listRules(request, collection), let index = Int(pos),
            entries.indices.contains(index)
        else { throw VireoError.notFound("no rule at position \(pos)") }
        return entries[index]
    }

    /// A rule from the request's parameters, on top of `base` (PUT) or new (POST).
    static func rule(from request: APIRequest, base: FirewallRule?) throws -> FirewallRule {
        let p = request.parameters
        var rule = base ?? FirewallRule(type: .in, action: "")
        if let type = p["type"] {
            guard let kind = FirewallRule.Kind(rawValue: type) else {
                throw VireoError.parameter("type", "unknown rule type '\(type)'")
            }
            rule.type = kind
        }
        if let action = p["action"] { rule.action = rule.type == .group ? action : action.uppercased() }
        if base == nil {
            // Proxmox stores a rule posted without `enable` disabled.
            rule.enable = (p.int("enable") ?? 0) > 0
        } else if let enable = p.int("enable") {
            rule.enable = enable > 0
        }
        for (name, option) in ruleFields {
            guard let value = p[name] else { continue }
            guard !value.contains(where: \.isNewline) else { throw VireoError.parameter(name, "must be one line") }
            let cleared = value.isEmpty || (value == "-" && name != "comment")
            let text: String? = cleared ? nil : value
            if let option {
                rule[option] = text
            } else if name == "macro" {
                rule.macro = text
            } else {
                rule.comment = text
            }
        }
        for name in p.list("delete") {
            guard let field = ruleFields.first(where: { $0.name == name }) else {
                throw VireoError.parameter("delete", "cannot delete '\(name)'")
            }
            if let option = field.option {
                rule[option] = nil
            } else if name == "macro" {
                rule.macro = nil
            } else {
                rule.comment = nil
            }
        }
        rule.errors = [:]
        rule.rawLine = nil
        return rule
    }

    /// The rule's problems as a 400 naming each field; nothing is written.
    static func verify(
        _ rule: FirewallRule,
        _ collection: FirewallRuleCollection,
        names: FirewallNames
    ) throws
        -> FirewallRule
    {
        let (checked, _) = rule.checked(at: collection.place, names: names)
        guard checked.errors.isEmpty else {
            throw VireoError(.invalidArgument, "Parameter verification failed.", parameterErrors: checked.errors)
        }
        return checked
    }

    /// Changes a collection's rules: the caller's `digest` checked against the current listing,
    /// `change` given the rules and the names they may use, the result written and applied.
    static func changeRules(
        _ request: APIRequest,
        _ collection: FirewallRuleCollection,
        _ change: @escaping (inout [FirewallRule], FirewallNames) throws -> Void
    ) async throws -> JSON {
        let cluster = collection.level == .cluster ? nil : try await FirewallFiles.load(request, .cluster)
        try await FirewallFiles.modify(request, collection.level) { file, _ in
            try FirewallFiles.checkDigest(request, ruleEntries(collection, file: file, cluster: cluster))
            var rules = try collection.rules(file)
            try change(&rules, namesFor(collection, file: file, cluster: cluster))
            try collection.setRules(rules, in: &file)
        }
        return .null
    }

    /// The index of `{pos}` in `rules`; 404 when there is no such rule.
    static func position(_ request: APIRequest, in rules: [FirewallRule]) throws -> Int {
        let pos = try request.parameters.require("pos")
        guard let index = Int(pos), rules.indices.contains(index) else {
            throw VireoError.notFound("no rule at position \(pos)")
        }
        return index
    }

    static func createRule(_ request: APIRequest, _ collection: FirewallRuleCollection) async throws -> JSON {
        try await changeRules(request, collection) { rules, names in
            rules.insert(try verify(try rule(from: request, base: nil), collection, names: names), at: 0)
        }
    }

    static func updateRule(_ request: APIRequest, _ collection: FirewallRuleCollection) async throws -> JSON {
        try await changeRules(request, collection) { rules, names in
            let index = try position(request, in: rules)
            if let target = request.parameters.int("moveto") {
                // Moved before the rule that was at `target`; past the end appends.
                let rule = rules.remove(at: index)
                let destination = target > index ? target - 1 : target
                rules.insert(rule, at: min(max(destination, 0), rules.count))
            } else {
                rules[index] = try verify(try rule(from: request, base: rules[index]), collection, names: names)
            }
        }
    }

    static func deleteRule(_ request: APIRequest, _ collection: FirewallRuleCollection) async throws -> JSON {
        try await changeRules(request, collection) { rules, _ in
            rules.remove(at: try position(request, in: rules))
        }
    }

    static func namesFor(
        _ collection: FirewallRuleCollection,
        file: FirewallFile,
        cluster: FirewallFile?
    )
        -> FirewallNames
    {
        switch collection.level {
        case .cluster: FirewallNames(cluster: file)
        case .host: FirewallNames(cluster: cluster ?? FirewallFile())
        case .guest(let vmid): FirewallNames(cluster: cluster ?? FirewallFile(), guest: file, vmid: vmid)
        }
    }

    /// The listing a caller's digest was computed from.
    static func ruleEntries(
        _ collection: FirewallRuleCollection,
        file: FirewallFile,
        cluster: FirewallFile?
    ) throws
        -> [[String: JSON]]
    {
        let names = namesFor(collection, file: file, cluster: cluster)
        return try collection.rules(file).enumerated().map { json($1, pos: $0, names: names, place: collection.place) }
    }

    /// GET/POST on the collection and GET/PUT/DELETE on `{pos}`.
    static func registerRules(
        in registry: inout APIRegistry,
        _ path: String,
        collection: @escaping @Sendable (APIRequest) async throws -> FirewallRuleCollection
    ) {
        registry.register(.get, path, handles: .all) { request in
            .init(try await listRules(request, try await collection(request)))
        }
        registry.register(.post, path, handles: .all) { request in
            .init(try await createRule(request, try await collection(request)))
        }
        registry.register(.get, path + "/{pos}", handles: .all) { request in
            .init(try await getRule(request, try await collection(request)))
        }
        registry.register(.put, path + "/{pos}", handles: .all) { request in
            .init(try await updateRule(request, try await collection(request)))
        }
        registry.register(.delete, path + "/{pos}", handles: .all) { request in
            .init(try await deleteRule(request, try await collection(request)))
        }
    }
}
