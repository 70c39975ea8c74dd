import NFTables

extension FirewallCompiler {
    /// A NIC that is filtered: guest `enable: 1` and `firewall=1` on the NIC.
    struct FilteredNIC {
        var guest: FirewallGuest
        var file: FirewallFile
        var options: GuestFirewallOptions
        var nic: FirewallGuest.NIC
        /// 1 ... maximumNICs, the NIC's number in the marks.
        var id: Int

        var tap: String { guest.tap(nic) }
        var outChain: String { "nic-\(guest.vmid)-\(nic.index)-out" }
        var inChain: String { "nic-\(guest.vmid)-\(nic.index)-in" }
    }

    mutating func firewalledNICs() -> [FilteredNIC] {
        var result: [FilteredNIC] = []
        for guest in inputs.guests.sorted(by: { $0.vmid < $1.vmid }) {
            guard let file = guest.file else { continue }
            let options = GuestFirewallOptions(file.options)
            guard options.enable else { continue }
            for nic in guest.nics.sorted(by: { $0.index < $1.index }) where nic.firewall {
                guard result.count < Self.maximumNICs else {
                    skipped.append("guest/\(guest.vmid): more than \(Self.maximumNICs) firewalled NICs on one node")
                    return result
                }
                result.append(FilteredNIC(guest: guest, file: file, options: options, nic: nic, id: result.count + 1))
            }
        }
        return result
    }

    mutating func buildGuests(_ nics: [FilteredNIC]) {
        ruleset.tables.append(NFTTable(family: .bridge, name: Self.bridgeTable))
        var outMarks: [NFTExpression] = []
        var layer2Out: [NFTExpression] = []
        var inMarks: [NFTExpression] = []
        var outDispatch: [NFTExpression] = []
        var inDispatch: [NFTExpression] = []
        for filtered in nics {
            buildNICChainsOnce(filtered)
            let outKey = Self.fromNICBit | filtered.id
            let inKey = Self.bridgedBit | (filtered.id << 16)
            outMarks.append(.mapping(key: .string(filtered.tap), value: .int(outKey)))
            outDispatch.append(.mapping(key: .int(outKey), value: NFTBuild.jumpVerdict(filtered.outChain)))
            inDispatch.append(.mapping(key: .int(inKey), value: NFTBuild.jumpVerdict(filtered.inChain)))
            let inMarkChain = "mark-\(filtered.guest.vmid)-\(filtered.nic.index)-in"
            inMarks.append(.mapping(key: .string(filtered.tap), value: NFTBuild.jumpVerdict(inMarkChain)))
            chain(inMarkChain, family: .bridge)
            rule(inMarkChain, [NFTBuild.orMark(filtered.id << 16)], family: .bridge)
            if let layer2 = buildLayer2Out(filtered, inMarkChain: inMarkChain) {
                layer2Out.append(.mapping(key: .string(filtered.tap), value: NFTBuild.jumpVerdict(layer2)))
            }
        }
        map("nic-out", type: "mark", to: "verdict", outDispatch)
        map("nic-in", type: "mark", to: "verdict", inDispatch)
        map("nic-out-marks", type: "ifname", to: "mark", outMarks, family: .bridge)
        map("nic-in-marks", type: "ifname", to: "verdict", inMarks, family: .bridge)
        map("nic-layer2-out", type: "ifname", to: "verdict", layer2Out, family: .bridge)

        chain("prerouting", hook: Self.baseHook("prerouting", priority: -200), family: .bridge)
        rule("prerouting", [NFTBuild.setMark(from: .meta("iifname"), map: "nic-out-marks")], family: .bridge)
        rule("prerouting", [NFTBuild.vmap(.meta("iifname"), "nic-layer2-out")], family: .bridge)
        chain("forward", hook: Self.baseHook("forward", priority: -200), family: .bridge)
        rule("forward", [NFTBuild.orMark(Self.bridgedBit)], family: .bridge)
        rule("forward", [NFTBuild.vmap(.meta("oifname"), "nic-in-marks")], family: .bridge)
    }

    private mutating func map(
        _ name: String,
        type: String,
        to value: String,
        _ elements: [NFTExpression],
        family: NFTFamily = .inet
    ) {
        let table = family == .inet ? Self.inetTable : Self.bridgeTable
        ruleset.sets.append(
            NFTSet(family: family, table: table, name: name, type: type, map: value, elements: elements)
        )
    }

    /// A NIC's chains, from the cache when its guest file, NIC and the datacenter file are the
    /// ones they were made from.
    private mutating func buildNICChainsOnce(_ filtered: FilteredNIC) {
        let key = FirewallCompileCache.NICChains.Key(
            vmid: filtered.guest.vmid,
            nic: filtered.nic,
            file: filtered.file,
            cluster: inputs.cluster
        )
        if let known = cache.chains(for: key) {
            for chain in known.chains {
                declaredChains.insert("inet \(chain.name)")
                ruleset.chains.append(chain)
            }
            ruleset.rules += known.rules
            for set in known.sets { adopt(set) }
            let names = FirewallNames(cluster: inputs.cluster)
            for (group, direction) in known.groups { _ = groupChain(group, direction: direction, names: names) }
            for problem in known.skipped where !skipped.contains(problem) { skipped.append(problem) }
            return
        }
        let (chainStart, ruleStart, skippedStart) = (ruleset.chains.count, ruleset.rules.count, skipped.count)
        usedSets = []
        buildNICChains(filtered)
        let sets = usedSets ?? []
        usedSets = nil
        // Group chains are shared by every NIC using them: built (or reused) per compile.
        let chains = ruleset.chains[chainStart...].filter { !$0.name.hasPrefix("group-") }
        let own = Set(chains.map(\.name))
        let rules = ruleset.rules[ruleStart...].filter { own.contains($0.chain) }
        var groups: [(String, FirewallRule.Kind)] = []
        for rule in rules {
            for case .jump(let target) in rule.statements where target.hasPrefix("group-") {
                let parts = target.dropFirst("group-".count).split(separator: "-")
                if let last = parts.last, let direction = FirewallRule.Kind(rawValue: String(last)) {
                    groups.append((parts.dropLast().joined(separator: "-"), direction))
                }
            }
        }
        cache.remember(
            .init(
                key: key,
                chains: Array(chains),
                rules: Array(rules),
                sets: sets,
                groups: groups,
                skipped: Array(skipped[skippedStart...])
            )
        )
    }

    /// The NIC's OUT and IN chains in the inet table (stateful, entered by mark).
    private mutating func buildNICChains(_ filtered: FilteredNIC) {
        let vmid = filtered.guest.vmid
        let options = filtered.options
        let names = FirewallNames(cluster: inputs.cluster, guest: filtered.file, vmid: vmid)
        let out = filtered.outChain
        chain(out)
        if options.dhcp {
            rule(
                out,
                [NFTBuild.payload("udp", "sport", .int(68)), NFTBuild.payload("udp", "dport", .int(67)), .accept]
            )
            rule(
                out,
                [NFTBuild.payload("udp", "sport", .int(546)), NFTBuild.payload("udp", "dport", .int(547)), .accept]
            )
        }
        // The source check comes before anything NDP or RA accepts, so a guest cannot announce an
        // address it does not own (Proxmox checks ipfilter first too).
        if options.ipfilter {
            for ipv6 in [false, true] {
                let (name, nomatch) = declareIPSet(
                    ipfilterSet(filtered, names: names),
                    scope: "guest-\(vmid)",
                    ipv6: ipv6,
                    names: names
                )
                let proto = ipv6 ? "ip6" : "ip"
                if let nomatch {
                    rule(
                        out,
                        [NFTBuild.payload(proto, "saddr", .setReference(nomatch)), NFTBuild.counter, .drop],
                        comment: "guest/\(vmid)/ipfilter"
                    )
                }
                rule(
                    out,
                    [NFTBuild.payload(proto, "saddr", .setReference(name), op: "!="), NFTBuild.counter, .drop],
                    comment: "guest/\(vmid)/ipfilter"
                )
            }
        }
        if !options.radv { rule(out, [NFTBuild.payload("icmpv6", "type", .set([.int(134), .int(137)])), .drop]) }
        if options.ndp {
            rule(out, [NFTBuild.payload("icmpv6", "type", .set([133, 135, 136].map { .int($0) })), .accept])
        }
        if options.radv { rule(out, [NFTBuild.payload("icmpv6", "type", .int(134)), .accept]) }
        guestRules(filtered, direction: .out, chain: out, names: names)
        policy(
            chain: out,
            options.policyOut,
            log: options.logLevelOut,
            vmid: vmid,
            logChain: "guest-\(vmid)-out",
            id: "guest/\(vmid)/policy-out"
        )

        let inChain = filtered.inChain
        chain(inChain)
        if options.dhcp {
            rule(
                inChain,
                [NFTBuild.payload("udp", "sport", .int(67)), NFTBuild.payload("udp", "dport", .int(68)), .accept]
            )
            rule(
                inChain,
                [NFTBuild.payload("udp", "sport", .int(547)), NFTBuild.payload("udp", "dport", .int(546)), .accept]
            )
        }
        if options.ndp {
            rule(
                inChain,
                [NFTBuild.payload("icmpv6", "type", .set([133, 134, 135, 136, 137].map { .int($0) })), .accept]
            )
        }
        guestRules(filtered, direction: .in, chain: inChain, names: names)
        policy(
            chain: inChain,
            options.policyIn,
            log: options.logLevelIn,
            vmid: vmid,
            logChain: "guest-\(vmid)-in",
            id: "guest/\(vmid)/policy-in"
        )
    }

    private mutating func guestRules(
        _ filtered: FilteredNIC,
        direction: FirewallRule.Kind,
        chain: String,
        names: FirewallNames
    ) {
        let vmid = filtered.guest.vmid
        for (position, rule) in filtered.file.rules.enumerated() where rule.type == direction || rule.type == .group {
            emit(
                rule,
                id: "guest/\(vmid)/rules/\(position)",
                place: .file(.guest(vmid)),
                names: names,
                chain: chain,
                direction: direction,
                vmid: vmid,
                logChain: "guest-\(vmid)-\(direction.rawValue)",
                nic: filtered.nic.index
            )
        }
    }

    /// `ipfilter-netN` of the guest, plus the NIC's IPv6 link-local address (from its MAC),
    /// which a guest always uses (Proxmox adds it too).
    private func ipfilterSet(_ filtered: FilteredNIC, names: FirewallNames) -> FirewallIPSet {
        var set = filtered.file.ipset(named: "ipfilter-net\(filtered.nic.index)") ?? FirewallIPSet(name: "")
        set.name = "ipfilter-net\(filtered.nic.index)"
        if let linkLocal = Self.linkLocal(mac: filtered.nic.mac) { set.entries.append(.init(cidr: linkLocal)) }
        // DHCP discovery and duplicate address detection come from the unspecified address.
        set.entries.append(.init(cidr: "0.0.0.0"))
        set.entries.append(.init(cidr: "::"))
        return set
    }

    /// The EUI-64 link-local address of a MAC: `fe80::` + MAC with the U/L bit flipped and ff:fe inserted.
    static func linkLocal(mac: String) -> String? {
        let bytes = mac.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        guard bytes.count == 6 else { return nil }
        let eui = [bytes[0] ^ 0x02, bytes[1], bytes[2], 0xff, 0xfe, bytes[3], bytes[4], bytes[5]]
        let groups = stride(from: 0, to: 8, by: 2).map {
            String((UInt16(eui[$0]) << 8) | UInt16(eui[$0 + 1]), radix: 16)
        }
        return IPNetwork("fe80::" + groups.joined(separator: ":")).map(\.address)
    }

    /// Stateless layer-2 checks of what the NIC sends (bridge table): its MAC (macfilter) and,
    /// with ipfilter, the sender address of its ARP packets. nil when there is nothing to check.
    private mutating func buildLayer2Out(_ filtered: FilteredNIC, inMarkChain: String) -> String? {
        let options = filtered.options
        guard options.macfilter || options.ipfilter else { return nil }
        let vmid = filtered.guest.vmid
        let name = "layer2-\(vmid)-\(filtered.nic.index)-out"
        chain(name, family: .bridge)
        let mac = filtered.nic.mac.lowercased()
        if options.macfilter {
            rule(
                name,
                [NFTBuild.payload("ether", "saddr", .string(mac), op: "!="), NFTBuild.counter, .drop],
                comment: "guest/\(vmid)/macfilter",
                family: .bridge
            )
            rule(
                name,
                [NFTBuild.payload("arp", "saddr ether", .string(mac), op: "!="), NFTBuild.counter, .drop],
                comment: "guest/\(vmid)/macfilter",
                family: .bridge
            )
        }
        if options.ipfilter {
            let names = FirewallNames(cluster: inputs.cluster, guest: filtered.file, vmid: vmid)
            let set = ipfilterSet(filtered, names: names)
            let allowed = set.entries.filter { !$0.nomatch }.compactMap { resolve($0.cidr, names: names) }.filter {
                !$0.isIPv6
            }
            let setName = "ipfilter-\(vmid)-\(filtered.nic.index)"
            declareSet(setName, allowed, ipv6: false, family: .bridge)
            rule(
                name,
                [NFTBuild.payload("arp", "saddr ip", .setReference(setName), op: "!="), NFTBuild.counter, .drop],
                comment: "guest/\(vmid)/ipfilter",
                family: .bridge
            )
            rule(
                inMarkChain,
                [NFTBuild.payload("arp", "daddr ip", .setReference(setName), op: "!="), .drop],
                family: .bridge
            )
        }
        return name
    }
}
