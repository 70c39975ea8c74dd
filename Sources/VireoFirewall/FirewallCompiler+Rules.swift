import NFTables

extension FirewallCompiler {
    /// Which end of a chain's traffic an interface or address of a rule names.
    private enum End { case source, dest }

    /// Compiles one user rule into `chain`. Disabled rules are left out; rules with errors too,
    /// and are reported in `skipped`. `nic` limits a guest rule's `-i netN` to that NIC's chain.
    mutating func emit(
        _ rule: FirewallRule,
        id: String,
        place: FirewallRule.Place,
        names: FirewallNames,
        chain: String,
        direction: FirewallRule.Kind,
        vmid: Int,
        logChain: String,
        nic: Int? = nil
    ) {
        guard rule.enable else { return }
        let (checked, matches) = rule.checked(at: place, names: names)
        guard checked.errors.isEmpty else {
            let problems = checked.errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            let message = "\(id): " + problems.joined(separator: "; ")
            // A guest rule is compiled once per NIC; report it once.
            if skipped.last != message && !skipped.contains(message) { skipped.append(message) }
            return
        }
        var interface: [NFTStatement] = []
        if let iface = checked.iface {
            if let nic {
                guard iface == "net\(nic)" else { return }
            } else {
                interface = [NFTBuild.meta(direction == .out ? "oifname" : "iifname", .string(iface))]
            }
        }
        if checked.type == .group {
            let target = groupChain(checked.action, direction: direction, names: names)
            self.rule(chain, interface + [NFTBuild.counter, .jump(target)], comment: id)
            return
        }
        let verdict: NFTStatement =
            switch checked.action {
            case "ACCEPT": .accept
            case "DROP": .drop
            default: .jump("do-reject")
            }
        let logLevel = FirewallLogLevel(option: checked.log)
        for match in matches {
            for statements in self.statements(for: match, names: names, vmid: vmid) {
                if let logLevel {
                    self.rule(
                        chain,
                        interface + statements
                            + logStatements(vmid: vmid, level: logLevel, chain: logChain, what: checked.action)
                    )
                }
                self.rule(chain, interface + statements + [NFTBuild.counter, verdict], comment: id)
            }
        }
    }

    /// A policy at the end of a chain, with its log rule first.
    mutating func policy(
        chain: String,
        _ policy: FirewallPolicy,
        log: FirewallLogLevel?,
        vmid: Int,
        logChain: String,
        id: String
    ) {
        if let log {
            rule(chain, logStatements(vmid: vmid, level: log, chain: logChain, what: "policy \(policy.rawValue)"))
        }
        let verdict: NFTStatement =
            switch policy {
            case .accept: .accept
            case .drop: .drop
            case .reject: .jump("do-reject")
            }
        rule(chain, [NFTBuild.counter, verdict], comment: id)
    }

    /// Proxmox's log prefix `:<vmid>:<level>:<chain>: <what>: `, rate-limited as cluster.fw says.
    func logStatements(vmid: Int, level: FirewallLogLevel, chain: String, what: String) -> [NFTStatement] {
        var statements: [NFTStatement] = []
        let limit = clusterOptions.logRateLimit
        if limit.enable { statements.append(.limit(rate: limit.rate, per: limit.per, burst: limit.burst)) }
        let number = FirewallLogLevel.allCases.firstIndex(of: level) ?? 6
        statements.append(NFTBuild.log(prefix: ":\(vmid):\(number):\(chain): \(what): "))
        return statements
    }

    /// The chain of a security group for one direction, compiled on first use.
    mutating func groupChain(_ name: String, direction: FirewallRule.Kind, names: FirewallNames) -> String {
        let group = inputs.cluster.group(named: name)
        let canonical = group?.name ?? name
        let chainName = "group-\(canonical)-\(direction.rawValue)"
        guard !declaredChains.contains("inet \(chainName)") else { return chainName }
        chain(chainName)
        let groupNames = FirewallNames(cluster: inputs.cluster)
        for (position, rule) in (group?.rules ?? []).enumerated() where rule.type == direction {
            emit(
                rule,
                id: "cluster/group/\(canonical)/\(position)",
                place: .group,
                names: groupNames,
                chain: chainName,
                direction: direction,
                vmid: 0,
                logChain: chainName
            )
        }
        return chainName
    }

    // MARK: - Matches

    /// The statements of one match, once per address family it needs (an ipset of both families
    /// makes two rules). No variant at all when the match can never apply.
    private mutating func statements(for match: FirewallMatch, names: FirewallNames, vmid: Int) -> [[NFTStatement]] {
        var families: Set<Bool>? = match.ipv6.map { [$0] }
        for address in [match.source, match.dest].compactMap({ $0 }) {
            let possible = self.families(of: address, names: names)
            families = families.map { $0.intersection(possible) } ?? possible
        }
        let variants: [Bool?] = families.map { $0.sorted { !$0 && $1 }.map(Optional.some) } ?? [nil]
        var result: [[NFTStatement]] = []
        for ipv6 in variants {
            var statements: [NFTStatement] = []
            if let ipv6 {
                if let source = match.source {
                    statements += address(source, end: .source, ipv6: ipv6, names: names)
                }
                if let dest = match.dest { statements += address(dest, end: .dest, ipv6: ipv6, names: names) }
                if match.source == nil && match.dest == nil {
                    statements.append(NFTBuild.meta("nfproto", .string(ipv6 ? "ipv6" : "ipv4")))
                }
            }
            statements += protocolStatements(match)
            result.append(statements)
        }
        return result
    }

    private func families(of address: FirewallAddress, names: FirewallNames) -> Set<Bool> {
        switch address {
        case .networks, .range: return [address.isIPv6 ?? false]
        case .alias(let reference):
            return names.alias(reference).flatMap { IPNetwork($0.0.cidr) }.map { [$0.isIPv6] } ?? []
        case .ipset(let reference):
            guard let (set, scope) = names.ipset(reference) else { return [] }
            return resolvedIPSet(set, scope: scopeName(scope, names), names: entryNames(scope, names)).families
        }
    }

    func scopeName(_ scope: FirewallReference.Scope, _ names: FirewallNames) -> String {
        scope == .guest ? "guest-\(names.vmid ?? 0)" : "dc"
    }

    /// The names an ipset's entries resolve against: a datacenter ipset sees only datacenter aliases.
    func entryNames(_ scope: FirewallReference.Scope, _ names: FirewallNames) -> FirewallNames {
        FirewallNames(cluster: names.cluster, guest: scope == .guest ? names.guest : nil, vmid: names.vmid)
    }

    func resolvedIPSet(_ ipset: FirewallIPSet, scope: String, names: FirewallNames) -> FirewallCompileCache.Resolved {
        cache.resolved(key: "\(scope)/\(ipset.name.lowercased())", ipset: ipset, names: names)
    }

    private mutating func address(
        _ address: FirewallAddress,
        end: End,
        ipv6: Bool,
        names: FirewallNames
    )
        -> [NFTStatement]
    {
        let proto = ipv6 ? "ip6" : "ip"
        let field = end == .source ? "saddr" : "daddr"
        switch address {
        case .networks(let networks):
            let value = networks.count == 1 ? NFTBuild.network(networks[0]) : .set(networks.map(NFTBuild.network))
            return [NFTBuild.payload(proto, field, value)]
        case .range(let low, let high):
            return [NFTBuild.payload(proto, field, .range(.string(low.address), .string(high.address)))]
        case .alias(let reference):
            guard let network = names.alias(reference).flatMap({ IPNetwork($0.0.cidr) }) else { return [] }
            return [NFTBuild.payload(proto, field, NFTBuild.network(network))]
        case .ipset(let reference):
            guard let (set, scope) = names.ipset(reference) else { return [] }
            let (name, nomatch) = declareIPSet(
                set,
                scope: scopeName(scope, names),
                ipv6: ipv6,
                names: entryNames(scope, names)
            )
            var statements = [NFTBuild.payload(proto, field, .setReference(name))]
            if let nomatch { statements.append(NFTBuild.payload(proto, field, .setReference(nomatch), op: "!=")) }
            return statements
        }
    }

    private func protocolStatements(_ match: FirewallMatch) -> [NFTStatement] {
        guard let proto = match.proto else { return [] }
        let name = FirewallProtocols.nftName(ofProtocol: proto)
        var statements: [NFTStatement] = []
        if let icmp = match.icmp, let name {
            statements.append(NFTBuild.payload(name, "type", .int(icmp.type)))
            if let code = icmp.code { statements.append(NFTBuild.payload(name, "code", .int(code))) }
            return statements
        }
        if let name, match.dport != nil || match.sport != nil {
            if let sport = match.sport { statements.append(NFTBuild.payload(name, "sport", NFTBuild.ports(sport))) }
            if let dport = match.dport { statements.append(NFTBuild.payload(name, "dport", NFTBuild.ports(dport))) }
            return statements
        }
        return [NFTBuild.meta("l4proto", .int(proto))]
    }

    // MARK: - Sets

    /// Declares the interval sets of an ipset for one family: `v4-<scope>/<name>` and, when it
    /// has `!` entries, `v4-<scope>/<name>-nomatch`. Returns their names.
    mutating func declareIPSet(
        _ ipset: FirewallIPSet,
        scope: String,
        ipv6: Bool,
        names: FirewallNames
    )
        -> (String, String?)
    {
        let name = "\(ipv6 ? "v6" : "v4")-\(scope)/\(ipset.name.lowercased())"
        let resolved = resolvedIPSet(ipset, scope: scope, names: names)
        declareSet(name, elements: resolved.matching[ipv6] ?? [], ipv6: ipv6)
        let excluded = resolved.excluded[ipv6] ?? []
        guard !excluded.isEmpty else { return (name, nil) }
        declareSet(name + "-nomatch", elements: excluded, ipv6: ipv6)
        return (name, name + "-nomatch")
    }

    mutating func declareSet(_ name: String, _ networks: [IPNetwork], ipv6: Bool, family: NFTFamily = .inet) {
        var seen = Set<IPNetwork>()
        let elements = networks.filter { seen.insert($0).inserted }.map(NFTBuild.network)
        declareSet(name, elements: elements, ipv6: ipv6, family: family)
    }

    mutating func declareSet(_ name: String, elements: [NFTExpression], ipv6: Bool, family: NFTFamily = .inet) {
        let key = "\(family.rawValue) \(name)"
        if let index = setIndex[key] {
            usedSets?.append(ruleset.sets[index])
            return
        }
        let table = family == .inet ? Self.inetTable : Self.bridgeTable
        let set = NFTSet(
            family: family,
            table: table,
            name: name,
            type: ipv6 ? "ipv6_addr" : "ipv4_addr",
            flags: ["interval"],
            elements: elements,
            autoMerge: true
        )
        adopt(set)
    }

    /// Adds a set unless one of that name is there; records it for the NIC being memoized.
    mutating func adopt(_ set: NFTSet) {
        let key = "\(set.family.rawValue) \(set.name)"
        usedSets?.append(set)
        guard setIndex[key] == nil else { return }
        setIndex[key] = ruleset.sets.count
        ruleset.sets.append(set)
    }

    /// An ipset entry: an address, a CIDR or an alias.
    func resolve(_ entry: String, names: FirewallNames) -> IPNetwork? {
        FirewallCompileCache.resolve(entry, names: names)
    }
}
