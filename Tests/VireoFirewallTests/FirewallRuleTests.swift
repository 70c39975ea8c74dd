import Testing

@testable import VireoFirewall

/// `FirewallRule.checked(at:names:)`: the errors Proxmox's `verify_rule` reports, by field, and
/// the matches a good rule compiles to (firewall spec §3, §4, §8).
@Suite struct FirewallRuleTests {
    static let cluster = FirewallFile(
        parsing: """
            [ALIASES]

            lan 10.66.0.0/24
            v6net 2001:db8::/64

            [IPSET trusted]

            10.66.0.0/24
            !10.66.0.5

            [RULES]

            [group web]

            IN HTTP(ACCEPT)
            """,
        level: .cluster
    )

    static let guest = FirewallFile(
        parsing: """
            [ALIASES]

            gw 10.66.0.1

            [IPSET local]

            10.66.0.0/24
            """,
        level: .guest(100)
    )

    static let clusterNames = FirewallNames(cluster: cluster)
    static let guestNames = FirewallNames(cluster: cluster, guest: guest, vmid: 100)

    /// The rule of `line` checked at `place`.
    static func check(
        _ line: String,
        at place: FirewallRule.Place = .file(.cluster)
    ) -> (rule: FirewallRule, matches: [FirewallMatch]) {
        let names: FirewallNames =
            if case .file(.guest) = place { guestNames } else { clusterNames }
        return FirewallRule(line: line).checked(at: place, names: names)
    }

    // MARK: - Good rules

    static let goodClusterRules = [
        "IN ACCEPT",
        "IN ACCEPT -p tcp -dport 22",
        "IN ACCEPT -p tcp -dport ssh,http,8000:8080",
        "IN DROP -p udp -sport 53 -dport 1024:65535",
        "OUT REJECT -p tcp -dport 25 -log warning",
        "FORWARD DROP -source 10.0.0.0/8 -dest 192.168.0.1",
        "FORWARD ACCEPT -i vmbr0 -p sctp -dport 9999",
        "IN ACCEPT -source lan -p tcp",
        "IN ACCEPT -source dc/lan -dest +dc/trusted",
        "IN ACCEPT -source +trusted -p udplite -dport 5000",
        "IN ACCEPT -source 10.0.0.1-10.0.0.9",
        "IN ACCEPT -source 10.0.0.1,10.0.0.2,10.1.0.0/16",
        "IN ACCEPT -source 2001:db8::1 -dest v6net -p tcp -dport 443",
        "IN ACCEPT -p icmp -icmp-type echo-request",
        "IN ACCEPT -p icmp -icmp-type 8",
        "IN ACCEPT -p icmpv6 -icmp-type neighbour-solicitation",
        "IN ACCEPT -p ipv6-icmp",
        "IN ACCEPT -p icmp -dport echo-request",
        "IN ACCEPT -p 47",
        "IN ACCEPT -p gre -log nolog",
        "IN SSH(ACCEPT) -source lan -log debug",
        "IN Ping(DROP)",
        "OUT DNS(ACCEPT) -dest 192.0.2.53",
        "IN SMB(REJECT) -source +trusted",
        "IN ACCEPT -i eno1.100",
        "GROUP web",
        "GROUP web -i vmbr0",
    ]

    @Test(arguments: goodClusterRules)
    func goodClusterRuleHasNoErrors(line: String) {
        let (rule, matches) = Self.check(line)
        #expect(rule.errors.isEmpty, "\(line): \(rule.errors)")
        #expect(!matches.isEmpty, "\(line)")
    }

    static let goodGuestRules = [
        "IN ACCEPT -i net0 -p tcp -dport 80",
        "OUT DROP -i net31",
        "IN ACCEPT -source gw",
        "IN ACCEPT -source guest/gw -dest +guest/local",
        "IN ACCEPT -source +local",
        "IN ACCEPT -source lan -dest +trusted",
        "GROUP web -i net1",
    ]

    @Test(arguments: goodGuestRules)
    func goodGuestRuleHasNoErrors(line: String) {
        let (rule, matches) = Self.check(line, at: .file(.guest(100)))
        #expect(rule.errors.isEmpty, "\(line): \(rule.errors)")
        #expect(!matches.isEmpty, "\(line)")
    }

    @Test func goodGroupBodyRuleHasNoErrors() {
        for line in ["IN HTTP(ACCEPT)", "OUT DROP -p tcp -dport 25", "FORWARD ACCEPT -source +trusted"] {
            let (rule, _) = Self.check(line, at: .group)
            #expect(rule.errors.isEmpty, "\(line): \(rule.errors)")
        }
    }

    // MARK: - Errors by field

    /// A bad rule, the field its error belongs to, and where the rule sits.
    struct Bad: Sendable, CustomTestStringConvertible {
        var line: String
        var field: String
        var place: FirewallRule.Place = .file(.cluster)
        var testDescription: String { "\(line) -> \(field)" }
    }

    static let badRules: [Bad] = [
        // Macros
        Bad(line: "IN NoSuchMacro(ACCEPT)", field: "macro"),
        // Ports
        Bad(line: "IN ACCEPT -p tcp -dport 65536", field: "dport"),
        Bad(line: "IN ACCEPT -p tcp -dport 99999", field: "dport"),
        Bad(line: "IN ACCEPT -p tcp -dport 2000:1000", field: "dport"),
        Bad(line: "IN ACCEPT -p tcp -dport no-such-service", field: "dport"),
        Bad(line: "IN ACCEPT -p tcp -dport 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", field: "dport"),
        Bad(line: "IN ACCEPT -p tcp -dport 80 -sport 70000", field: "sport"),
        Bad(line: "IN ACCEPT -dport 22", field: "dport"),
        Bad(line: "IN ACCEPT -p gre -dport 22", field: "dport"),
        Bad(line: "IN ACCEPT -p 47 -dport 22", field: "dport"),
        Bad(line: "IN ACCEPT -p icmp -sport 22", field: "sport"),
        Bad(line: "IN ACCEPT -sport 22", field: "sport"),
        // ICMP types
        Bad(line: "IN ACCEPT -p icmp -icmp-type echo-request -dport 80", field: "icmp-type"),
        Bad(line: "IN ACCEPT -p tcp -dport 80 -icmp-type echo-request", field: "icmp-type"),
        Bad(line: "IN ACCEPT -p tcp -icmp-type echo-request", field: "icmp-type"),
        Bad(line: "IN ACCEPT -icmp-type echo-request", field: "icmp-type"),
        Bad(line: "IN ACCEPT -p icmp -icmp-type no-such-type", field: "icmp-type"),
        Bad(line: "IN ACCEPT -p icmp -icmp-type 256", field: "icmp-type"),
        // Protocols and log levels
        Bad(line: "IN ACCEPT -p no-such-protocol", field: "proto"),
        Bad(line: "IN ACCEPT -p 256", field: "proto"),
        Bad(line: "IN ACCEPT -log loud", field: "log"),
        // Mixed families: the error is on the field that brings the second family.
        Bad(line: "IN ACCEPT -p icmp -source 2001:db8::1", field: "source"),
        Bad(line: "IN ACCEPT -p icmpv6 -source 10.0.0.1", field: "source"),
        Bad(line: "IN ACCEPT -p icmpv6 -dest 10.0.0.1", field: "dest"),
        Bad(line: "IN ACCEPT -source 10.0.0.1 -dest 2001:db8::1", field: "dest"),
        Bad(line: "IN ACCEPT -source lan -dest v6net", field: "dest"),
        Bad(line: "IN ACCEPT -source 10.0.0.1,2001:db8::1", field: "source"),
        // Actions
        Bad(line: "FORWARD REJECT -p tcp", field: "action"),
        Bad(line: "IN ALLOW", field: "action"),
        Bad(line: "IN SSH(ALLOW)", field: "action"),
        // Addresses
        Bad(line: "IN ACCEPT -source nosuchalias", field: "source"),
        Bad(line: "IN ACCEPT -dest nosuchalias", field: "dest"),
        Bad(line: "IN ACCEPT -source +nosuchset", field: "source"),
        Bad(line: "IN ACCEPT -dest +nosuchset", field: "dest"),
        Bad(line: "IN ACCEPT -source guest/lan", field: "source"),
        Bad(line: "IN ACCEPT -dest +guest/trusted", field: "dest"),
        Bad(line: "IN ACCEPT -source gw", field: "source"),
        Bad(line: "IN ACCEPT -source 10.0.0.300", field: "source"),
        Bad(line: "IN ACCEPT -source 10.0.0.9-10.0.0.1", field: "source"),
        Bad(line: "IN ACCEPT -source 10.0.0.1-2001:db8::1", field: "source"),
        Bad(line: "IN ACCEPT -dest 10.0.0.0/33", field: "dest"),
        Bad(line: "IN ACCEPT -source +1bad", field: "source"),
        // Interfaces
        Bad(line: "IN ACCEPT -i eth0", field: "iface", place: .file(.guest(100))),
        Bad(line: "IN ACCEPT -i net", field: "iface", place: .file(.guest(100))),
        Bad(line: "GROUP web -i tap100i0", field: "iface", place: .file(.guest(100))),
        Bad(line: "IN ACCEPT -i this-name-is-too-long", field: "iface"),
        Bad(line: "IN ACCEPT -i vmbr0", field: "iface", place: .group),
        // Directions per place
        Bad(line: "FORWARD ACCEPT", field: "type", place: .file(.guest(100))),
        Bad(line: "GROUP web", field: "type", place: .group),
        // Group rules
        Bad(line: "GROUP nosuchgroup", field: "action"),
        Bad(line: "GROUP web -p tcp", field: "proto"),
        Bad(line: "GROUP web -source 10.0.0.1", field: "source"),
        Bad(line: "GROUP web -dest 10.0.0.1", field: "dest"),
        Bad(line: "GROUP web -log info", field: "log"),
    ]

    @Test(arguments: badRules)
    func badRuleHasAnErrorOnItsField(bad: Bad) {
        let (rule, matches) = Self.check(bad.line, at: bad.place)
        #expect(rule.errors[bad.field] != nil, "\(bad.line): errors \(rule.errors)")
        #expect(matches.isEmpty, "\(bad.line) still compiles")
    }

    @Test func parseErrorsAreKeptByTheCheck() {
        let (rule, matches) = Self.check("IN ACCEPT -p tcp -bogus 1")
        #expect(rule.errors["rule"] != nil)
        #expect(matches.isEmpty)
    }

    // MARK: - Macros

    @Test(arguments: [
        ("IN ssh(ACCEPT)", "SSH"), ("IN http(DROP)", "HTTP"), ("OUT bittorrent32(ACCEPT)", "BitTorrent32"),
        ("IN DHCPV6(ACCEPT)", "DHCPv6"), ("IN http/3(ACCEPT)", "HTTP/3"), ("IN ping(REJECT)", "Ping"),
    ])
    func macroNameIsNormalisedToItsCanonicalSpelling(line: String, canonical: String) {
        let (rule, _) = Self.check(line)
        #expect(rule.errors.isEmpty, "\(rule.errors)")
        #expect(rule.macro == canonical)
        #expect(rule.line.contains("\(canonical)("))
    }

    @Test func macroEntriesBecomeOneMatchEach() {
        let (_, web) = Self.check("IN Web(ACCEPT)")
        #expect(web.map(\.proto) == [6, 6])
        #expect(web.map(\.dport) == [[80...80], [443...443]])

        let (_, dns) = Self.check("IN DNS(ACCEPT)")
        #expect(dns.map(\.proto) == [17, 6])
        #expect(dns.allSatisfy { $0.dport == [53...53] })

        let (_, gre) = Self.check("IN GRE(ACCEPT)")
        #expect(gre.count == 1)
        #expect(gre.first?.proto == 47)
        #expect(gre.first?.dport == nil)

        let (_, smb) = Self.check("IN SMB(ACCEPT)")
        #expect(smb.count == 4)
        #expect(smb.contains { $0.proto == 17 && $0.dport == [1024...65535] && $0.sport == [137...137] })
        #expect(smb.contains { $0.proto == 6 && $0.dport == [135...135, 139...139, 445...445] })
    }

    @Test func ruleFillsTheMacrosOpenFields() throws {
        let (rule, matches) = Self.check("IN SSH(ACCEPT) -source 10.0.0.0/8 -dest lan -sport 1024:65535")
        #expect(rule.errors.isEmpty, "\(rule.errors)")
        let match = try #require(matches.first)
        #expect(matches.count == 1)
        #expect(match.proto == 6)
        #expect(match.dport == [22...22])
        #expect(match.sport == [1024...65535])
        #expect(match.source == .networks([try #require(IPNetwork("10.0.0.0/8"))]))
        #expect(match.dest == .alias(FirewallReference(scope: nil, name: "lan")))
        #expect(match.ipv6 == false)
    }

    @Test func ruleRepeatingTheMacrosValueIsFine() {
        #expect(Self.check("IN SSH(ACCEPT) -p tcp").rule.errors.isEmpty)
        #expect(Self.check("IN SSH(ACCEPT) -p tcp -dport 22").rule.errors.isEmpty)
    }

    @Test(arguments: [
        ("IN SSH(ACCEPT) -dport 2222", "dport"),
        ("IN SSH(ACCEPT) -p udp", "proto"),
        ("IN DNS(ACCEPT) -p udp", "proto"),
        ("IN IPsec(ACCEPT) -sport 4500", "sport"),
        ("IN Ping(ACCEPT) -icmp-type echo-reply", "icmp-type"),
        ("IN GRE(ACCEPT) -p tcp", "proto"),
    ])
    func ruleConflictingWithTheMacroIsAnError(line: String, field: String) {
        let (rule, matches) = Self.check(line)
        #expect(rule.errors[field] != nil, "\(line): \(rule.errors)")
        #expect(matches.isEmpty)
    }

    // MARK: - IP version

    @Test(arguments: [
        ("IN ACCEPT -p icmp", false as Bool?),
        ("IN ACCEPT -p icmp -icmp-type echo-request", false),
        ("IN ACCEPT -p icmpv6 -icmp-type echo-request", true),
        ("IN ACCEPT -p ipv6-icmp", true),
        ("IN ACCEPT -source 2001:db8::1", true),
        ("IN ACCEPT -dest 2001:db8::/32 -p tcp -dport 22", true),
        ("IN ACCEPT -source 10.0.0.1", false),
        ("IN ACCEPT -source 2001:db8::1-2001:db8::9", true),
        ("IN ACCEPT -source lan", false),
        ("IN ACCEPT -dest v6net", true),
        ("IN ACCEPT -source +trusted", nil),
        ("IN ACCEPT -p tcp -dport 22", nil),
        ("IN SSH(ACCEPT)", nil),
    ])
    func ipVersionIsInferred(line: String, ipv6: Bool?) {
        let (rule, matches) = Self.check(line)
        #expect(rule.errors.isEmpty, "\(line): \(rule.errors)")
        #expect(matches.count == 1)
        #expect(matches.first?.ipv6 == ipv6, "\(line)")
    }

    @Test func familySpecificMacroEntriesFollowTheRulesFamily() {
        let both = Self.check("IN Ping(ACCEPT)").matches
        #expect(both.map(\.ipv6) == [false, true])
        #expect(both.map(\.proto) == [1, 58])
        #expect(both.map { $0.icmp?.type } == [8, 128])

        let v4 = Self.check("IN Ping(ACCEPT) -source 10.0.0.1").matches
        #expect(v4.map(\.ipv6) == [false])
        #expect(v4.first?.icmp?.type == 8)

        let v6 = Self.check("IN Ping(ACCEPT) -source v6net").matches
        #expect(v6.map(\.ipv6) == [true])
        #expect(v6.first?.icmp?.type == 128)

        let trace = Self.check("IN Trcrt(ACCEPT) -dest lan").matches
        #expect(trace.count == 2)
        #expect(trace.map(\.proto) == [17, 1])

        // v6-only macros compile to nothing for a v4 rule, without an error.
        for line in ["IN DHCPv6(ACCEPT) -source 10.0.0.1", "IN NeighborDiscovery(ACCEPT) -source lan"] {
            let (rule, matches) = Self.check(line)
            #expect(rule.errors.isEmpty, "\(line): \(rule.errors)")
            #expect(matches.isEmpty, "\(line)")
        }
        let nd = Self.check("IN NeighborDiscovery(ACCEPT)").matches
        #expect(nd.map { $0.icmp?.type } == [133, 134, 135, 136])
        #expect(nd.allSatisfy { $0.ipv6 == true })
    }

    // MARK: - Ports and ICMP types

    @Test func portsAreReadAsRanges() throws {
        let match = try #require(Self.check("IN ACCEPT -p tcp -dport ssh,80,8000:8080 -sport 0").matches.first)
        #expect(match.dport == [22...22, 80...80, 8000...8080])
        #expect(match.sport == [0...0])
    }

    @Test func fifteenPortsAreTheLimitARangeCountingTwo() {
        let fifteen = (1...15).map(String.init).joined(separator: ",")
        #expect(Self.check("IN ACCEPT -p tcp -dport \(fifteen)").rule.errors.isEmpty)
        let thirteenAndARange = (1...13).map(String.init).joined(separator: ",") + ",100:200"
        #expect(Self.check("IN ACCEPT -p tcp -dport \(thirteenAndARange)").rule.errors.isEmpty)
        let fourteenAndARange = (1...14).map(String.init).joined(separator: ",") + ",100:200"
        #expect(Self.check("IN ACCEPT -p tcp -dport \(fourteenAndARange)").rule.errors["dport"] != nil)
    }

    @Test func icmpTypesCarryTheirCode() throws {
        let unreachable = try #require(
            Self.check("IN ACCEPT -p icmp -icmp-type port-unreachable").matches.first?.icmp
        )
        #expect(unreachable == FirewallProtocols.ICMPType(type: 3, code: 3))
        let legacy = try #require(Self.check("IN ACCEPT -p icmp -dport echo-request").matches.first)
        #expect(legacy.icmp == FirewallProtocols.ICMPType(type: 8))
        #expect(legacy.dport == nil)
        let v6 = try #require(Self.check("IN ACCEPT -p icmpv6 -icmp-type packet-too-big").matches.first)
        #expect(v6.icmp == FirewallProtocols.ICMPType(type: 2))
    }

    @Test func addressesAreParsed() throws {
        let range = try #require(Self.check("IN ACCEPT -source 10.0.0.1-10.0.0.9").matches.first?.source)
        #expect(range == .range(try #require(IPNetwork("10.0.0.1")), try #require(IPNetwork("10.0.0.9"))))
        let list = try #require(Self.check("IN ACCEPT -dest 10.0.0.1,10.1.0.0/16").matches.first?.dest)
        #expect(list == .networks([try #require(IPNetwork("10.0.0.1")), try #require(IPNetwork("10.1.0.0/16"))]))
        let set = try #require(Self.check("IN ACCEPT -source +dc/trusted").matches.first?.source)
        #expect(set == .ipset(FirewallReference(scope: .dc, name: "trusted")))
    }

    @Test func guestNamesShadowTheDatacentersForUnscopedReferences() throws {
        var guest = Self.guest
        guest.aliases.append(FirewallAlias(name: "lan", cidr: "2001:db8:9::/48"))
        let names = FirewallNames(cluster: Self.cluster, guest: guest, vmid: 100)
        let (alias, scope) = try #require(names.alias(FirewallReference(scope: nil, name: "LAN")))
        #expect(alias.cidr == "2001:db8:9::/48")
        #expect(scope == .guest)
        #expect(names.alias(FirewallReference(scope: .dc, name: "lan"))?.0.cidr == "10.66.0.0/24")
        // The guest's alias decides the family.
        let match = FirewallRule(line: "IN ACCEPT -source lan").checked(at: .file(.guest(100)), names: names)
        #expect(match.matches.first?.ipv6 == true)
    }
}
