public import NFTables

/// What the compiler made: the ruleset to load (no tables at all when the datacenter firewall is
/// off) and the rules it left out because they have errors.
public struct FirewallCompilation: Sendable {
    public var ruleset: NFTRuleset
    /// `<rule id>: <field>: <message>`
    public var skipped: [String]
}

/// A pure function from the `.fw` files and the guests' NICs to one nft ruleset in Vireo's own
/// tables (firewall spec §7-§9). Nothing else in the kernel is ever named.
///
/// Host traffic is filtered in `inet vireo-firewall` (input, output, forward). Guests are filtered
/// statefully in the same table: this kernel has no bridge conntrack, so a `bridge`-family chain
/// at priority -200 marks each frame with the NIC it comes from (prerouting, by tap) and the NIC
/// it goes to (forward, by tap), and br_netfilter hands bridged IP packets to the inet forward
/// hook, where per-NIC chains match the marks. A guest's OUT rules run in a base chain one
/// priority before its IN rules, so an OUT `accept` still lets the destination's IN rules decide.
///
/// Every nft rule made from a user's rule carries the rule's id as its comment
/// (`guest/100/rules/3`), so its counter can be reported against the user's rule.
public struct FirewallCompiler {
    public static let inetTable = "vireo-firewall"
    public static let bridgeTable = "vireo-firewall-guests"
    public static let tables = [
        NFTTable(family: .inet, name: inetTable), NFTTable(family: .bridge, name: bridgeTable),
    ]

    /// Mark layout: bit 30 = "from a firewalled NIC" with its id in bits 0-14 (set in bridge
    /// prerouting); bit 31 = "bridged", with the destination NIC's id in bits 16-29 (bridge forward).
    static let fromNICBit = 0x4000_0000
    static let bridgedBit = 0x8000_0000
    static let outKeyMask = 0x4000_7fff
    static let inKeyMask = 0xbfff_0000
    static let maximumNICs = 0x3fff

    let inputs: FirewallInputs
    let clusterOptions: ClusterFirewallOptions
    let hostOptions: HostFirewallOptions
    var ruleset = NFTRuleset()
    var skipped: [String] = []
    /// Declared sets by `family name`: their index in `ruleset.sets`.
    var setIndex: [String: Int] = [:]
    var declaredChains: Set<String> = []
    /// While a NIC's chains are built for the memo: every set they use.
    var usedSets: [NFTSet]?
    let cache: FirewallCompileCache

    /// `cache` keeps resolved ipsets for the next compile (a service passes the same one each time).
    public static func compile(
        _ inputs: FirewallInputs,
        cache: FirewallCompileCache = FirewallCompileCache()
    )
        -> FirewallCompilation
    {
        var compiler = FirewallCompiler(inputs: inputs, cache: cache)
        if compiler.clusterOptions.enable { compiler.build() }
        return FirewallCompilation(ruleset: compiler.ruleset, skipped: compiler.skipped)
    }

    init(inputs: FirewallInputs, cache: FirewallCompileCache) {
        self.inputs = inputs
        self.cache = cache
        clusterOptions = ClusterFirewallOptions(inputs.cluster.options, now: inputs.now)
        hostOptions = HostFirewallOptions(inputs.host.options)
    }

    private mutating func build() {
        ruleset.tables.append(NFTTable(family: .inet, name: Self.inetTable))
        let nics = firewalledNICs()
        declareCommonChains()
        buildInput(guests: !nics.isEmpty)
        buildOutput()
        buildForward(guests: !nics.isEmpty)
        if !nics.isEmpty { buildGuests(nics) }
    }

    // MARK: - Chains and rules

    mutating func chain(_ name: String, hook: NFTChain.Hook? = nil, family: NFTFamily = .inet) {
        let table = family == .inet ? Self.inetTable : Self.bridgeTable
        guard declaredChains.insert("\(family.rawValue) \(name)").inserted else { return }
        ruleset.chains.append(NFTChain(family: family, table: table, name: name, hook: hook))
    }

    mutating func rule(
        _ chain: String,
        _ statements: [NFTStatement],
        comment: String? = nil,
        family: NFTFamily = .inet
    ) {
        let table = family == .inet ? Self.inetTable : Self.bridgeTable
        ruleset.rules.append(
            NFTRule(family: family, table: table, chain: chain, statements: statements, comment: comment)
        )
    }

    static func baseHook(_ hook: String, priority: Int) -> NFTChain.Hook {
        NFTChain.Hook(type: "filter", hook: hook, priority: priority, policy: "accept")
    }

    // MARK: - Shared chains

    private mutating func declareCommonChains() {
        // ICMP errors belong to flows already allowed (Proxmox accepts them everywhere).
        chain("allow-icmp")
        rule("allow-icmp", [NFTBuild.payload("icmp", "type", .set([3, 4, 11].map { .int($0) })), .accept])
        rule("allow-icmp", [NFTBuild.payload("icmpv6", "type", .set([1, 2, 3, 4].map { .int($0) })), .accept])

        chain("do-reject")
        rule("do-reject", [NFTBuild.meta("pkttype", .string("broadcast")), .drop])
        rule("do-reject", [NFTBuild.payload("ip", "saddr", .prefix(address: "224.0.0.0", length: 4)), .drop])
        rule("do-reject", [NFTBuild.meta("l4proto", .string("tcp")), NFTBuild.reject(type: "tcp reset")])
        rule(
            "do-reject",
            [NFTBuild.meta("l4proto", .string("udp")), NFTBuild.reject(type: "icmpx", "port-unreachable")]
        )
        rule("do-reject", [NFTBuild.reject(type: "icmpx", "admin-prohibited")])

        chain("ct-state")
        if !hostOptions.allowInvalid { rule("ct-state", [NFTBuild.ctState(["invalid"]), .drop]) }
        rule("ct-state", [NFTBuild.ctState(["established", "related"]), .accept])
    }

    // MARK: - Host

    private mutating func buildInput(guests: Bool) {
        if guests {
            // Traffic a guest sends to this host passes its OUT rules first.
            chain("input-guests", hook: Self.baseHook("input", priority: -1))
            rule("input-guests", [.jump("ct-state")])
            rule("input-guests", [NFTBuild.vmap(NFTBuild.and(.meta("mark"), Self.outKeyMask), "nic-out")])
        }
        chain("input", hook: Self.baseHook("input", priority: 0))
        rule("input", [NFTBuild.meta("iifname", .string("lo")), .accept])
        rule("input", [.jump("allow-icmp")])
        rule("input", [.jump("ct-state")])
        guard hostOptions.enable else { return }
        rule("input", [NFTBuild.meta("l4proto", .string("igmp")), .accept])
        let ndpIn = [133, 134, 135, 136, 137].map { NFTExpression.int($0) }
        rule("input", [NFTBuild.payload("icmpv6", "type", .set(ndpIn)), hostOptions.ndp ? .accept : .drop])
        if hostOptions.protectionSynflood { buildSynflood() }
        if hostOptions.nosmurfs { buildSmurfs() }
        if hostOptions.tcpflags { buildTCPFlags() }
        buildManagement()
        hostRules(direction: .in, chain: "input")
        policy(
            chain: "input",
            clusterOptions.policyIn,
            log: hostOptions.logLevelIn,
            vmid: 0,
            logChain: "host-in",
            id: "host/policy-in"
        )
    }

    private mutating func buildOutput() {
        chain("output", hook: Self.baseHook("output", priority: 0))
        rule("output", [NFTBuild.meta("oifname", .string("lo")), .accept])
        rule("output", [.jump("allow-icmp")])
        rule("output", [.jump("ct-state")])
        guard hostOptions.enable else { return }
        rule("output", [NFTBuild.meta("l4proto", .string("igmp")), .accept])
        let ndpOut = [133, 135, 136].map { NFTExpression.int($0) }
        rule("output", [NFTBuild.payload("icmpv6", "type", .set(ndpOut)), hostOptions.ndp ? .accept : .drop])
        hostRules(direction: .out, chain: "output")
        // The node may always answer its management ports' peers on the local network.
        for (ipv6, networks) in localNetworksByFamily() where !networks.isEmpty {
            rule(
                "output",
                [
                    NFTBuild.payload(ipv6 ? "ip6" : "ip", "daddr", .set(networks.map(NFTBuild.network))),
                    NFTBuild.payload("tcp", "dport", Self.managementPorts), .accept,
                ]
            )
        }
        policy(
            chain: "output",
            clusterOptions.policyOut,
            log: hostOptions.logLevelOut,
            vmid: 0,
            logChain: "host-out",
            id: "host/policy-out"
        )
    }

    private mutating func buildForward(guests: Bool) {
        if guests {
            chain("forward-guests", hook: Self.baseHook("forward", priority: -1))
            rule("forward-guests", [.jump("ct-state")])
            rule("forward-guests", [NFTBuild.vmap(NFTBuild.and(.meta("mark"), Self.outKeyMask), "nic-out")])
        }
        chain("forward", hook: Self.baseHook("forward", priority: 0))
        if guests {
            // Bridged frames are the guests' business only; host FORWARD rules are for routing.
            chain("bridged")
            rule("bridged", [.jump("ct-state")])
            rule("bridged", [NFTBuild.vmap(NFTBuild.and(.meta("mark"), Self.inKeyMask), "nic-in")])
            rule(
                "forward",
                [NFTBuild.match(NFTBuild.and(.meta("mark"), Self.bridgedBit), .int(0), op: "!="), .goto("bridged")]
            )
        }
        rule("forward", [.jump("ct-state")])
        guard hostOptions.enable else { return }
        hostRules(direction: .forward, chain: "forward")
        policy(
            chain: "forward",
            clusterOptions.policyForward,
            log: hostOptions.logLevelForward,
            vmid: 0,
            logChain: "host-forward",
            id: "host/policy-forward"
        )
    }

    /// host.fw rules, then cluster.fw rules: the host's own win.
    private mutating func hostRules(direction: FirewallRule.Kind, chain: String) {
        let names = FirewallNames(cluster: inputs.cluster)
        for (position, rule) in inputs.host.rules.enumerated() where rule.type == direction || rule.type == .group {
            emit(
                rule,
                id: "host/rules/\(position)",
                place: .file(.host("")),
                names: names,
                chain: chain,
                direction: direction,
                vmid: 0,
                logChain: "host-\(direction.rawValue)"
            )
        }
        for (position, rule) in inputs.cluster.rules.enumerated() where rule.type == direction || rule.type == .group {
            emit(
                rule,
                id: "cluster/rules/\(position)",
                place: .file(.cluster),
                names: names,
                chain: chain,
                direction: direction,
                vmid: 0,
                logChain: "cluster-\(direction.rawValue)"
            )
        }
    }

    static let managementPorts = NFTExpression.set([
        .int(22), .int(3128), .range(.int(5900), .int(5999)), .int(8006),
    ])

    /// The `management` ipset plus `local_network` may always reach SSH, the API and consoles
    /// (anti-lockout), before any user rule.
    private mutating func buildManagement() {
        chain("management")
        var entries = inputs.cluster.ipset(named: "management")?.entries ?? []
        for (_, networks) in localNetworksByFamily() {
            entries += networks.map { FirewallIPSet.Entry(cidr: $0.description) }
        }
        let set = FirewallIPSet(name: "management", entries: entries)
        for ipv6 in [false, true] {
            let (name, nomatch) = declareIPSet(
                set,
                scope: "dc",
                ipv6: ipv6,
                names: FirewallNames(cluster: inputs.cluster)
            )
            var statements = [NFTBuild.payload(ipv6 ? "ip6" : "ip", "saddr", .setReference(name))]
            if let nomatch {
                statements.append(NFTBuild.payload(ipv6 ? "ip6" : "ip", "saddr", .setReference(nomatch), op: "!="))
            }
            rule("management", statements + [NFTBuild.counter, .accept], comment: "host/management")
        }
        rule("input", [NFTBuild.payload("tcp", "dport", Self.managementPorts), .jump("management")])
    }

    /// The `local_network` alias of cluster.fw, or the node's own networks.
    func localNetworksByFamily() -> [(Bool, [IPNetwork])] {
        let networks: [IPNetwork]
        if let alias = inputs.cluster.alias(named: "local_network"), let network = IPNetwork(alias.cidr) {
            networks = [network]
        } else {
            networks = inputs.localNetworks
        }
        return [false, true].map { ipv6 in (ipv6, networks.filter { $0.isIPv6 == ipv6 }) }
    }

    /// A drop with its log rule first when `level` is set (smurfs, bad TCP flags, SYN floods).
    private mutating func loggedDrop(
        _ chain: String,
        _ matches: [NFTStatement],
        level: FirewallLogLevel?,
        comment: String
    ) {
        if let level {
            rule(chain, matches + logStatements(vmid: 0, level: level, chain: chain, what: "DROP"))
        }
        rule(chain, matches + [NFTBuild.counter, .drop], comment: comment)
    }

    private mutating func buildSmurfs() {
        chain("smurfs")
        rule("smurfs", [NFTBuild.payload("ip", "saddr", .string("0.0.0.0")), .return])
        let level = hostOptions.smurfLogLevel
        let fib = NFTExpression.other(["fib": ["result": .string("type"), "flags": .array([.string("saddr")])]])
        loggedDrop(
            "smurfs",
            [NFTBuild.match(fib, .set([.string("broadcast"), .string("multicast")]))],
            level: level,
            comment: "host/smurfs"
        )
        loggedDrop(
            "smurfs",
            [NFTBuild.payload("ip", "saddr", .prefix(address: "224.0.0.0", length: 4))],
            level: level,
            comment: "host/smurfs"
        )
        rule("input", [NFTBuild.ctState(["new", "invalid"]), .jump("smurfs")])
    }

    private mutating func buildTCPFlags() {
        chain("tcp-flags")
        let flags = NFTExpression.payload(protocol: "tcp", field: "flags")
        let level = hostOptions.tcpFlagsLogLevel
        // fin=1 syn=2 rst=4 psh=8 ack=16 urg=32
        for (mask, value) in [(0x3f, 0x29), (0x3f, 0x00), (0x06, 0x06), (0x03, 0x03)] {
            loggedDrop(
                "tcp-flags",
                [NFTBuild.match(NFTBuild.and(flags, mask), .int(value))],
                level: level,
                comment: "host/tcpflags"
            )
        }
        loggedDrop(
            "tcp-flags",
            [NFTBuild.payload("tcp", "sport", .int(0)), NFTBuild.match(NFTBuild.and(flags, 0x17), .int(0x02))],
            level: level,
            comment: "host/tcpflags"
        )
        rule("input", [NFTBuild.meta("l4proto", .string("tcp")), .jump("tcp-flags")])
    }

    /// New connections from one source beyond `rate`/s (after `burst`) are dropped.
    private mutating func buildSynflood() {
        chain("synflood")
        let syn = NFTBuild.match(NFTBuild.and(.payload(protocol: "tcp", field: "flags"), 0x17), .int(0x02))
        for ipv6 in [false, true] {
            let set = "\(ipv6 ? "v6" : "v4")-synflood"
            // The meter makes its own set (declaring one too makes nft refuse the rule).
            let meter = NFTStatement.other([
                "meter": [
                    "name": .string(set),
                    "key": NFTExpression.payload(protocol: ipv6 ? "ip6" : "ip", field: "saddr").json,
                    "stmt": [
                        "limit": [
                            "rate": .int(hostOptions.synfloodRate), "per": .string("second"),
                            "burst": .int(hostOptions.synfloodBurst), "inv": .bool(true),
                        ]
                    ],
                ]
            ])
            rule(
                "synflood",
                [NFTBuild.meta("nfproto", .string(ipv6 ? "ipv6" : "ipv4")), syn, meter, NFTBuild.counter, .drop],
                comment: "host/synflood"
            )
        }
        rule("input", [NFTBuild.meta("l4proto", .string("tcp")), NFTBuild.ctState(["new"]), .jump("synflood")])
    }
}
