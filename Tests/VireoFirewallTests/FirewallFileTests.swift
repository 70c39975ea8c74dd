import Testing

@testable import VireoFirewall

/// The `.fw` codec: Proxmox's reader (firewall spec §2-§3) and writer order.
@Suite struct FirewallFileTests {
    // MARK: - Samples, each already in the order Proxmox's writer uses

    /// Every section cluster.fw may have, with comments, `!` entries, disabled rules, macros and
    /// every rule option. Proxmox ends each section with a blank line.
    static let cluster =
        """
        [OPTIONS]

        ebtables: 1
        enable: 1
        log_ratelimit: enable=1,rate=10/minute,burst=3
        policy_forward: DROP
        policy_in: DROP
        policy_out: ACCEPT

        [ALIASES]

        dnsserver 192.0.2.53 # resolver
        lan 10.66.0.0/24 # the LAN
        v6net 2001:db8::/64

        [IPSET blacklist] # bad guys

        198.51.100.0/24
        203.0.113.7 # one host

        [IPSET management]

        10.66.0.1

        [IPSET trusted] # trusted hosts

        10.66.0.0/24
        !10.66.0.5 # the printer
        lan

        [RULES]

        IN SSH(ACCEPT) -i vmbr0 -source lan -log info # admin access
        |IN DROP -p udp -dport 53
        OUT ACCEPT -dest +trusted -p tcp -dport 80,443 -sport 1024:65535
        IN ACCEPT -source 10.0.0.1-10.0.0.9 -p icmp -log nolog -icmp-type echo-request
        FORWARD DROP -source 2001:db8::/64 -dest 2001:db8:1::1 -p tcp -dport 22
        GROUP web -i vmbr0 # web group
        IN Ping(ACCEPT)
        IN ACCEPT -source +dc/trusted -dest dc/dnsserver -p udp -dport domain

        [group db]

        IN ACCEPT -source +trusted -p tcp -dport 5432

        [group web] # web servers

        IN HTTP(ACCEPT)
        IN HTTPS(ACCEPT) -source lan
        OUT DROP -p tcp -dport 25
        |FORWARD ACCEPT -p tcp -dport 8080


        """

    static let host =
        """
        [OPTIONS]

        enable: 1
        log_level_in: info
        log_level_out: warning
        ndp: 1
        nf_conntrack_allow_invalid: 0
        nosmurfs: 1
        smurf_log_level: err
        tcp_flags_log_level: notice
        tcpflags: 1

        [RULES]

        IN ACCEPT -i vmbr0 -source 192.0.2.0/24 -p tcp -dport 8006 # gui
        OUT DROP -dest 203.0.113.0/24
        IN Ceph(ACCEPT) -source 10.10.0.0/16
        |FORWARD ACCEPT -i vmbr1
        GROUP web


        """

    static let guest =
        """
        [OPTIONS]

        dhcp: 1
        enable: 1
        ipfilter: 1
        log_level_in: info
        log_level_out: nolog
        macfilter: 0
        ndp: 1
        policy_in: DROP
        policy_out: ACCEPT
        radv: 0

        [ALIASES]

        gw 10.66.0.1
        web 10.66.0.10 # this guest

        [IPSET ipfilter-net0]

        10.66.0.10
        fe80::1 # static link-local

        [IPSET local] # guest-local set

        10.66.0.0/24
        !10.66.0.128/25

        [RULES]

        IN ACCEPT -i net0 -source +dc/trusted -p tcp -dport 8080 # web
        IN Ping(ACCEPT) -log debug
        |IN DROP -p udp
        OUT REJECT -i net1 -p tcp -dport 25
        GROUP web -i net0
        IN ACCEPT -source guest/gw -dest +guest/local -p udp -dport domain -sport 1024:65535
        OUT ACCEPT -p icmpv6 -icmp-type neighbor-solicitation


        """

    // MARK: - Round trips

    @Test(arguments: [
        (cluster, FirewallLevel.cluster), (host, FirewallLevel.host("n1")), (guest, FirewallLevel.guest(100)),
    ])
    func canonicalFileIsWrittenBackByteForByte(text: String, level: FirewallLevel) {
        let file = FirewallFile(parsing: text, level: level)
        #expect(file.warnings.isEmpty, "\(file.warnings)")
        #expect(file.text == text)
    }

    @Test(arguments: [
        (cluster, FirewallLevel.cluster), (host, FirewallLevel.host("n1")), (guest, FirewallLevel.guest(100)),
    ])
    func parsingTheWrittenTextGivesTheSameModel(text: String, level: FirewallLevel) {
        let file = FirewallFile(parsing: text, level: level)
        let again = FirewallFile(parsing: file.text, level: level)
        #expect(again == file)
        #expect(again.text == file.text)
    }

    @Test func clusterFileModelHasEverySection() throws {
        let file = FirewallFile(parsing: Self.cluster, level: .cluster)
        #expect(file.options["enable"] == "1")
        #expect(file.options["log_ratelimit"] == "enable=1,rate=10/minute,burst=3")
        #expect(file.options.count == 6)
        #expect(
            file.aliases == [
                FirewallAlias(name: "dnsserver", cidr: "192.0.2.53", comment: "resolver"),
                FirewallAlias(name: "lan", cidr: "10.66.0.0/24", comment: "the LAN"),
                FirewallAlias(name: "v6net", cidr: "2001:db8::/64"),
            ]
        )
        #expect(file.ipsets.map(\.name) == ["blacklist", "management", "trusted"])
        let trusted = try #require(file.ipset(named: "TRUSTED"))
        #expect(trusted.comment == "trusted hosts")
        #expect(
            trusted.entries == [
                .init(cidr: "10.66.0.0/24"),
                .init(cidr: "10.66.0.5", nomatch: true, comment: "the printer"),
                .init(cidr: "lan"),
            ]
        )
        #expect(file.rules.count == 8)
        #expect(file.rules.filter { !$0.enable }.count == 1)
        #expect(file.rules.allSatisfy { $0.errors.isEmpty })
        #expect(file.groups.map(\.name) == ["db", "web"])
        let web = try #require(file.group(named: "Web"))
        #expect(web.comment == "web servers")
        #expect(web.rules.map(\.macro) == ["HTTP", "HTTPS", nil, nil])
        #expect(web.rules.last?.enable == false)
        #expect(file.group(named: "db")?.comment == nil)
    }

    @Test func everyRuleOptionIsReadIntoItsField() {
        let rule = FirewallRule(
            line: "IN SSH(ACCEPT) -i vmbr0 -source lan -dest 10.0.0.1 -p tcp -sport 1024:65535 -log info # admin"
        )
        var expected = FirewallRule(
            type: .in,
            action: "ACCEPT",
            macro: "SSH",
            iface: "vmbr0",
            source: "lan",
            dest: "10.0.0.1",
            proto: "tcp",
            sport: "1024:65535",
            log: "info",
            comment: "admin"
        )
        #expect(rule == expected)

        let icmp = FirewallRule(line: "|OUT DROP -p icmp -icmp-type echo-request -dport 80")
        expected = FirewallRule(
            type: .out,
            action: "DROP",
            proto: "icmp",
            dport: "80",
            icmpType: "echo-request",
            enable: false
        )
        #expect(icmp == expected)

        let group = FirewallRule(line: "GROUP web -i net0 # group comment")
        #expect(group == FirewallRule(type: .group, action: "web", iface: "net0", comment: "group comment"))

        let forward = FirewallRule(line: "forward drop -source 10.0.0.0/8")
        #expect(forward == FirewallRule(type: .forward, action: "DROP", source: "10.0.0.0/8"))
    }

    @Test func ruleOptionsAreWrittenInProxmoxOrder() {
        let rule = FirewallRule(
            line:
                "IN ACCEPT -log info -sport 1024:65535 -dport 22 -p tcp -dest 10.0.0.1 -source 10.0.0.0/8 -i vmbr0 # ssh"
        )
        #expect(rule.errors.isEmpty)
        #expect(
            rule.line
                == "IN ACCEPT -i vmbr0 -source 10.0.0.0/8 -dest 10.0.0.1 -p tcp -dport 22 -sport 1024:65535 -log info # ssh"
        )
        let icmp = FirewallRule(line: "OUT DROP -icmp-type echo-request -log warning -p icmp")
        #expect(icmp.line == "OUT DROP -p icmp -log warning -icmp-type echo-request")
        #expect(
            FirewallRule.Option.allCases.map(\.rawValue) == [
                "i", "source", "dest", "p", "dport", "sport", "log", "icmp-type",
            ]
        )
    }

    @Test func writerUppercasesDirectionAndMarksDisabledRules() {
        #expect(FirewallRule(line: "|in accept -p tcp").line == "|IN ACCEPT -p tcp")
        #expect(FirewallRule(line: "  |  OUT   Web(drop)   ").line == "|OUT Web(DROP)")
        #expect(FirewallRule(line: "group Web").line == "GROUP Web")
        var rule = FirewallRule(type: .forward, action: "DROP", proto: "tcp", dport: "22")
        rule.comment = "no ssh"
        #expect(rule.line == "FORWARD DROP -p tcp -dport 22 # no ssh")
        rule.enable = false
        #expect(rule.line == "|FORWARD DROP -p tcp -dport 22 # no ssh")
    }

    @Test func commentIsTheTextAfterTheFirstHash() {
        let rule = FirewallRule(line: "IN ACCEPT -p tcp -dport 22#ssh # really")
        #expect(rule.dport == "22")
        #expect(rule.comment == "ssh # really")
        #expect(FirewallRule(line: "IN ACCEPT #   ").comment == nil)
    }

    @Test func doubleDashOptionsAreReadExceptForInterface() {
        let rule = FirewallRule(line: "IN ACCEPT --source 10.0.0.1 --p tcp --dport 22 --icmp-type 8 --log info")
        #expect(rule.source == "10.0.0.1")
        #expect(rule.proto == "tcp")
        #expect(rule.dport == "22")
        #expect(rule.icmpType == "8")
        #expect(rule.log == "info")
        #expect(rule.errors.isEmpty)
        #expect(FirewallRule(line: "IN ACCEPT --i vmbr0").errors["rule"] != nil)
    }

    // MARK: - Writer order

    @Test func writerSortsOptionsAliasesIPSetsEntriesAndGroups() {
        let scrambled = """
            # a comment before any section is fine
            [rules]
              IN SSH(ACCEPT) -i vmbr0 -source lan -log info # admin access
            |IN DROP -p udp -dport 53
            [group web] # web servers
            IN HTTP(ACCEPT)
            IN HTTPS(ACCEPT) -source lan
            OUT DROP -p tcp -dport 25
            |FORWARD ACCEPT -p tcp -dport 8080
            [IPSET trusted] # trusted hosts
            lan
            # a comment inside a section
            !10.66.0.5 # the printer
            10.66.0.0/24
            [ipset blacklist] # bad guys
            203.0.113.7 # one host
            198.51.100.0/24
            [Options]
            Policy_In: DROP
            enable:1
            [group db]
            IN ACCEPT -source +trusted -p tcp -dport 5432
            [aliases]
            v6net 2001:db8::/64
            lan 10.66.0.0/24 # the LAN
            dnsserver 192.0.2.53 # resolver
            """
        let file = FirewallFile(parsing: scrambled, level: .cluster)
        #expect(file.warnings.isEmpty, "\(file.warnings)")
        let expected = """
            [OPTIONS]

            enable: 1
            policy_in: DROP

            [ALIASES]

            dnsserver 192.0.2.53 # resolver
            lan 10.66.0.0/24 # the LAN
            v6net 2001:db8::/64

            [IPSET blacklist] # bad guys

            198.51.100.0/24
            203.0.113.7 # one host

            [IPSET trusted] # trusted hosts

            10.66.0.0/24
            !10.66.0.5 # the printer
            lan

            [RULES]

            IN SSH(ACCEPT) -i vmbr0 -source lan -log info # admin access
            |IN DROP -p udp -dport 53

            [group db]

            IN ACCEPT -source +trusted -p tcp -dport 5432

            [group web] # web servers

            IN HTTP(ACCEPT)
            IN HTTPS(ACCEPT) -source lan
            OUT DROP -p tcp -dport 25
            |FORWARD ACCEPT -p tcp -dport 8080

            """
        #expect(file.text == expected + "\n")
        // Written once, the text is a fixed point.
        let again = FirewallFile(parsing: file.text, level: .cluster)
        #expect(again.text == file.text)
        #expect(again.rules == file.rules)
        #expect(again.groups.map(\.name) == ["db", "web"])
    }

    @Test func rulesKeepTheirOrder() {
        let lines = ["OUT DROP -p tcp -dport 25", "IN ACCEPT -p tcp -dport 22", "FORWARD DROP", "GROUP web"]
        let file = FirewallFile(parsing: "[RULES]\n" + lines.joined(separator: "\n"), level: .cluster)
        #expect(file.rules.map(\.line) == lines)
        #expect(file.text == "[RULES]\n\n" + lines.joined(separator: "\n") + "\n\n")
    }

    @Test func emptyFileWritesNothing() {
        #expect(FirewallFile().text == "")
        #expect(FirewallFile(parsing: "# nothing here\n\n", level: .cluster).text == "")
        #expect(FirewallFile(parsing: "[RULES]\n\n[OPTIONS]\n", level: .cluster).isEmpty)
    }

    @Test func optionKeysAreCaseInsensitiveAndValuesTrimmed() {
        let file = FirewallFile(parsing: "[OPTIONS]\nPOLICY_IN:   REJECT  \nEnable: 1\n", level: .cluster)
        #expect(file.options == ["policy_in": "REJECT", "enable": "1"])
    }

    @Test func windowsLineEndingsAreRead() {
        let file = FirewallFile(
            parsing: "[OPTIONS]\r\n\r\nenable: 1\r\n[RULES]\r\nIN ACCEPT -p tcp\r\n",
            level: .cluster
        )
        #expect(file.warnings.isEmpty)
        #expect(file.options == ["enable": "1"])
        #expect(file.rules.map(\.line) == ["IN ACCEPT -p tcp"])
    }

    @Test func aliasSlash32AndSlash128AreStripped() {
        // Perl's parse_alias drops a host prefix, so the file is written without it.
        let file = FirewallFile(
            parsing: "[ALIASES]\nhost4 192.0.2.1/32\nhost6 2001:db8::1/128\nnet 192.0.2.0/24\n",
            level: .cluster
        )
        #expect(file.aliases.map(\.cidr) == ["192.0.2.1", "2001:db8::1", "192.0.2.0/24"])
    }

    // MARK: - Bad lines

    @Test func ruleWithUnknownOptionIsKeptWithErrors() {
        let file = FirewallFile(
            parsing: "[RULES]\nIN ACCEPT -p tcp -dport 22 -bogus 1\nIN DROP -p tcp\n",
            level: .cluster
        )
        #expect(file.rules.count == 2)
        #expect(file.rules[0].errors["rule"] != nil)
        #expect(file.rules[1].errors.isEmpty)
        #expect(file.warnings.isEmpty)
    }

    @Test(arguments: [
        "IN ACCEPT -p tcp -dport 22 -bogus 1",
        "IN ACCEPT -source",
        "IN ACCEPT -p tcp -dport 22 stray",
        "INN DROP -p tcp -dport 22",
        "SIDEWAYS ACCEPT",
    ])
    func aBrokenRuleStaysBrokenWhenWrittenBack(line: String) {
        let rule = FirewallRule(line: line)
        #expect(!rule.errors.isEmpty, "\(line)")
        // Writing a file back (after an unrelated edit) must never turn a rule Proxmox would
        // not compile into a valid, wider one (`IN ACCEPT -p tcp -dport 22 -bogus 1` into
        // `IN ACCEPT -p tcp -dport 22`, `INN DROP` into `IN DROP`, `IN ACCEPT -source` into
        // `IN ACCEPT`).
        let reread = FirewallRule(line: rule.line)
        #expect(!reread.errors.isEmpty, "'\(line)' was written back as the valid rule '\(rule.line)'")
    }

    @Test func missingActionOrGroupNameIsAnError() {
        #expect(FirewallRule(line: "GROUP").errors["action"] != nil)
        #expect(FirewallRule(line: "IN -p tcp").errors.isEmpty == false)
    }

    @Test func sectionsNotAllowedInHostFileAreSkippedWithWarnings() {
        let text = """
            [OPTIONS]
            enable: 1
            [ALIASES]
            lan 10.0.0.0/8
            [IPSET x]
            10.0.0.1
            [group web]
            IN ACCEPT -p tcp -dport 80
            [RULES]
            IN ACCEPT -p tcp -dport 22
            """
        let file = FirewallFile(parsing: text, level: .host("n1"))
        #expect(file.warnings.count == 3, "\(file.warnings)")
        #expect(file.aliases.isEmpty)
        #expect(file.ipsets.isEmpty)
        #expect(file.groups.isEmpty)
        #expect(file.rules.map(\.line) == ["IN ACCEPT -p tcp -dport 22"])
        #expect(file.options == ["enable": "1"])
        #expect(file.text == "[OPTIONS]\n\nenable: 1\n\n[RULES]\n\nIN ACCEPT -p tcp -dport 22\n\n")
    }

    @Test func guestFileHasNoGroups() {
        let file = FirewallFile(
            parsing: "[group web]\nIN ACCEPT -p tcp -dport 80\n[IPSET ok]\n10.0.0.1\n",
            level: .guest(100)
        )
        #expect(file.warnings.count == 1)
        #expect(file.groups.isEmpty)
        #expect(file.rules.isEmpty)
        #expect(file.ipsets.map(\.name) == ["ok"])
    }

    @Test func unknownSectionsAndStrayLinesAreWarnings() {
        let text = """
            enable: 1
            [FOO]
            bar
            [IPSET]
            10.0.0.1
            [OPTIONS
            [OPTIONS]
            no colon here
            [ALIASES]
            just-a-name
            one two three
            """
        let file = FirewallFile(parsing: text, level: .cluster)
        // Outside any section, [FOO], [IPSET] without a name, the broken header, the option
        // without a colon and the two malformed aliases.
        #expect(file.warnings.count == 7, "\(file.warnings)")
        #expect(file.isEmpty)
        #expect(file.warnings.first?.hasPrefix("line 1") == true)
    }

    @Test func headersAreCaseInsensitiveAndKeepTheirComment() throws {
        let file = FirewallFile(
            parsing: "[ipset Servers]   #  some servers  \n10.0.0.1\n[GROUP Web] # the web\nIN HTTP(ACCEPT)\n",
            level: .cluster
        )
        #expect(file.warnings.isEmpty)
        let servers = try #require(file.ipset(named: "servers"))
        #expect(servers.comment == "some servers")
        #expect(file.group(named: "web")?.comment == "the web")
    }

    @Test func ipsetEntriesReadNomatchWithOrWithoutSpace() {
        let file = FirewallFile(parsing: "[IPSET x]\n! 10.0.0.1 # spaced\n!10.0.0.2\n10.0.0.3\n", level: .cluster)
        #expect(
            file.ipsets.first?.entries == [
                .init(cidr: "10.0.0.1", nomatch: true, comment: "spaced"),
                .init(cidr: "10.0.0.2", nomatch: true),
                .init(cidr: "10.0.0.3"),
            ]
        )
    }

    @Test func levelsKnowTheirPathsAndDirections() {
        #expect(FirewallLevel.cluster.path == "firewall/cluster.fw")
        #expect(FirewallLevel.host("n1").path == "nodes/n1/host.fw")
        #expect(FirewallLevel.guest(100).path == "firewall/100.fw")
        #expect(FirewallLevel.guest(100).ruleKinds == [.in, .out, .group])
        #expect(FirewallLevel.cluster.ruleKinds == [.in, .out, .forward, .group])
        #expect(FirewallLevel.host("n1").ruleKinds == [.in, .out, .forward, .group])
        #expect(FirewallGroup.ruleKinds == [.in, .out, .forward])
    }
}
