import Foundation
import NFTables
import Testing

@testable import VireoFirewall

/// What `FirewallCompiler.compile` makes of each option and rule (firewall spec §5-§9), checked on
/// the pure ruleset; the last test loads a ruleset with many options into a real nft.
@Suite struct FirewallCompilerOptionTests {
    static let now = 1_700_000_000
    static let mac0 = "BC:24:11:00:00:01"
    static let mac1 = "BC:24:11:00:00:02"

    static func inputs(
        cluster: String = "[OPTIONS]\n\nenable: 1\n",
        host: String = "",
        guests: [FirewallGuest] = [],
        localNetworks: [String] = ["192.0.2.0/24"]
    ) -> FirewallInputs {
        FirewallInputs(
            cluster: FirewallFile(parsing: cluster, level: .cluster),
            host: FirewallFile(parsing: host, level: .host("n1")),
            guests: guests,
            localNetworks: localNetworks.compactMap { IPNetwork($0) },
            now: now
        )
    }

    static func compile(
        cluster: String = "[OPTIONS]\n\nenable: 1\n",
        host: String = "",
        guests: [FirewallGuest] = [],
        localNetworks: [String] = ["192.0.2.0/24"]
    ) -> FirewallCompilation {
        FirewallCompiler.compile(inputs(cluster: cluster, host: host, guests: guests, localNetworks: localNetworks))
    }

    /// Guest 100 with `text` as its file and NICs net0 and net1 (firewall=1).
    static func guest(
        _ text: String?,
        vmid: Int = 100,
        nics: [FirewallGuest.NIC] = [.init(index: 0, mac: mac0, firewall: true)]
    ) -> FirewallGuest {
        FirewallGuest(vmid: vmid, file: text.map { FirewallFile(parsing: $0, level: .guest(vmid)) }, nics: nics)
    }

    static let twoNICs: [FirewallGuest.NIC] = [
        .init(index: 0, mac: mac0, firewall: true), .init(index: 1, mac: mac1, firewall: true),
    ]

    /// The datacenter's file with `enable: 1` and these rules.
    static func cluster(rules: String, options: String = "") -> String {
        "[OPTIONS]\n\nenable: 1\n\(options)\n[RULES]\n\n\(rules)\n"
    }

    // MARK: - Master switch

    @Test func clusterDisabledCompilesToNoTables() {
        let guest = Self.guest("[OPTIONS]\nenable: 1\n[RULES]\nIN ACCEPT -p tcp -dport 22\n")
        for options in ["enable: 0", "", "enable: no-number"] {
            let compilation = Self.compile(
                cluster: "[OPTIONS]\n\(options)\n[RULES]\nIN ACCEPT -p tcp -dport 22\n",
                host: "[OPTIONS]\nenable: 1\n",
                guests: [guest]
            )
            #expect(compilation.ruleset == NFTRuleset(), "\(options)")
            #expect(compilation.skipped.isEmpty)
        }
    }

    @Test(arguments: [
        (now - 3600, false), (now - 61, false), (now - 60, true), (now - 5, true), (now, true), (1, true),
        (0, false),
    ])
    func enableTimestampHoldsForSixtySeconds(enable: Int, on: Bool) {
        let compilation = Self.compile(cluster: "[OPTIONS]\nenable: \(enable)\n")
        #expect(!compilation.ruleset.tables.isEmpty == on, "enable: \(enable) at \(Self.now)")
        #expect(ClusterFirewallOptions(["enable": "\(enable)"], now: Self.now).enable == on)
    }

    @Test func enabledClusterMakesTheInetTableOnlyWithoutGuests() {
        let compilation = Self.compile()
        #expect(compilation.ruleset.tables == [NFTTable(family: .inet, name: "vireo-firewall")])
        #expect(compilation.ruleset.chains.allSatisfy { $0.table == "vireo-firewall" && $0.family == .inet })
        for name in ["input", "output", "forward"] {
            #expect(compilation.chain(name)?.hook?.hook == name)
        }
    }

    // MARK: - Host

    @Test func hostDisabledKeepsNoUserRulesAndNoPolicy() {
        let compilation = Self.compile(
            cluster: Self.cluster(
                rules: "IN DROP -p tcp -dport 22\nOUT DROP\nFORWARD DROP",
                options: "policy_in: DROP"
            ),
            host: "[OPTIONS]\nenable: 0\n[RULES]\nIN DROP -p tcp -dport 23\n"
        )
        for chain in ["input", "output", "forward"] {
            let rules = compilation.rules(chain)
            #expect(!rules.isEmpty)
            #expect(rules.allSatisfy { $0.comment == nil }, "\(chain): \(rules.compactMap(\.comment))")
            #expect(!rules.contains { $0.verdict == .drop }, "\(chain) drops")
        }
        #expect(!compilation.hasChain("management"))
    }

    @Test(arguments: [
        ("DROP", NFTStatement.drop), ("REJECT", .jump("do-reject")), ("ACCEPT", .accept), ("drop", .drop),
    ])
    func inputPolicyIsTheLastRuleOfInput(policy: String, verdict: NFTStatement) throws {
        let compilation = Self.compile(
            cluster: Self.cluster(rules: "IN ACCEPT -p tcp -dport 80", options: "policy_in: \(policy)")
        )
        let last = try #require(compilation.rules("input").last)
        #expect(last.comment == "host/policy-in")
        #expect(last.verdict == verdict)
    }

    @Test func defaultPoliciesDropInAndAcceptOutAndForward() throws {
        let compilation = Self.compile()
        let input = try #require(compilation.rules("input").last)
        #expect(input.comment == "host/policy-in")
        #expect(input.verdict == .drop)
        let output = try #require(compilation.rules("output").last)
        #expect(output.comment == "host/policy-out")
        #expect(output.verdict == .accept)
        let forward = try #require(compilation.rules("forward").last)
        #expect(forward.comment == "host/policy-forward")
        #expect(forward.verdict == .accept)
    }

    @Test func outputAndForwardPoliciesFollowTheirOptions() throws {
        let compilation = Self.compile(
            cluster: "[OPTIONS]\nenable: 1\npolicy_out: REJECT\npolicy_forward: DROP\n"
        )
        let output = try #require(compilation.rules("output").last)
        #expect(output.comment == "host/policy-out")
        #expect(output.verdict == .jump("do-reject"))
        let forward = try #require(compilation.rules("forward").last)
        #expect(forward.comment == "host/policy-forward")
        #expect(forward.verdict == .drop)
    }

    @Test func hostRulesComeBeforeClusterRulesAfterManagement() throws {
        let compilation = Self.compile(
            cluster: Self.cluster(rules: "IN DROP -p tcp -dport 22\nOUT DROP -p tcp -dport 25"),
            host: "[RULES]\nIN ACCEPT -p tcp -dport 22\nOUT ACCEPT -p tcp -dport 25\n"
        )
        let input = compilation.rules("input")
        let management = try #require(input.firstIndex { $0.statements.contains(.jump("management")) })
        let host = try #require(input.firstIndex { $0.comment == "host/rules/0" })
        let cluster = try #require(input.firstIndex { $0.comment == "cluster/rules/0" })
        let policy = try #require(input.firstIndex { $0.comment == "host/policy-in" })
        #expect(management < host)
        #expect(host < cluster)
        #expect(cluster < policy)
        #expect(input[host].verdict == .accept)
        #expect(input[cluster].verdict == .drop)

        let output = compilation.rules("output")
        let hostOut = try #require(output.firstIndex { $0.comment == "host/rules/1" })
        let clusterOut = try #require(output.firstIndex { $0.comment == "cluster/rules/1" })
        #expect(hostOut < clusterOut)
        // IN rules stay out of output and OUT rules out of input.
        #expect(!output.contains { $0.comment == "host/rules/0" })
        #expect(!input.contains { $0.comment == "cluster/rules/1" })
    }

    @Test func userRuleCompilesToItsMatchesCounterAndVerdict() throws {
        let compilation = Self.compile(
            cluster: Self.cluster(rules: "IN REJECT -source 10.0.0.0/8 -p tcp -dport 80,443 -sport 1024:65535")
        )
        let rule = try #require(compilation.rules("input").first { $0.comment == "cluster/rules/0" })
        #expect(
            rule.statements == [
                NFTBuild.payload("ip", "saddr", .prefix(address: "10.0.0.0", length: 8)),
                NFTBuild.payload("tcp", "sport", .range(.int(1024), .int(65535))),
                NFTBuild.payload("tcp", "dport", .set([.int(80), .int(443)])),
                NFTBuild.counter,
                .jump("do-reject"),
            ]
        )
    }

    @Test func hostRuleInterfaceMatchesTheDirection() throws {
        let compilation = Self.compile(
            host: "[RULES]\nIN ACCEPT -i vmbr0 -p tcp -dport 22\nOUT DROP -i vmbr1\nFORWARD DROP -i vmbr2\n"
        )
        let input = try #require(compilation.rules("input").first { $0.comment == "host/rules/0" })
        #expect(input.statements.first == NFTBuild.meta("iifname", .string("vmbr0")))
        let output = try #require(compilation.rules("output").first { $0.comment == "host/rules/1" })
        #expect(output.statements.first == NFTBuild.meta("oifname", .string("vmbr1")))
        let forward = try #require(compilation.rules("forward").first { $0.comment == "host/rules/2" })
        #expect(forward.statements.first == NFTBuild.meta("iifname", .string("vmbr2")))
    }

    @Test func icmpAndIPv6RulesAreEmittedForTheirFamilyOnly() throws {
        let compilation = Self.compile(
            cluster: Self.cluster(
                rules: """
                    IN ACCEPT -p icmp -icmp-type echo-request
                    IN ACCEPT -source 2001:db8::/32 -p tcp -dport 22
                    IN Ping(ACCEPT)
                    """
            )
        )
        let icmp = compilation.rules("input").filter { $0.comment == "cluster/rules/0" }
        #expect(icmp.count == 1)
        #expect(icmp.first?.matches.contains(NFTBuild.payload("icmp", "type", .int(8))) == true)
        #expect(
            icmp.first?.matches.contains { if case .match(_, .payload("ip6", _), _) = $0 { true } else { false } }
                == false
        )
        let v6 = compilation.rules("input").filter { $0.comment == "cluster/rules/1" }
        #expect(v6.count == 1)
        #expect(
            v6.first?.statements.first == NFTBuild.payload("ip6", "saddr", .prefix(address: "2001:db8::", length: 32))
        )
        let ping = compilation.rules("input").filter { $0.comment == "cluster/rules/2" }
        #expect(ping.count == 2)
        #expect(ping.first?.matches.contains(NFTBuild.payload("icmp", "type", .int(8))) == true)
        #expect(ping.last?.matches.contains(NFTBuild.payload("icmpv6", "type", .int(128))) == true)
    }

    // MARK: - Logging

    @Test func loggedRuleHasARateLimitedLogRuleRightBeforeIt() throws {
        let compilation = Self.compile(cluster: Self.cluster(rules: "IN ACCEPT -p tcp -dport 22 -log info"))
        let input = compilation.rules("input")
        let index = try #require(input.firstIndex { $0.comment == "cluster/rules/0" })
        let log = input[index - 1]
        #expect(log.logPrefix == ":0:6:cluster-in: ACCEPT: ")
        #expect(log.limit == .limit(rate: 1, per: "second", burst: 5))
        #expect(log.matches == input[index].matches)
        #expect(log.matches == [NFTBuild.payload("tcp", "dport", .int(22))])
        #expect(!log.statements.contains(.accept))
        #expect(input[index].logPrefix == nil)
    }

    @Test(arguments: [
        ("emerg", 0), ("alert", 1), ("crit", 2), ("err", 3), ("warning", 4), ("notice", 5), ("info", 6),
        ("debug", 7),
    ])
    func logLevelsAreSyslogNumbersInThePrefix(level: String, number: Int) throws {
        let compilation = Self.compile(
            cluster: Self.cluster(rules: "OUT DROP -p udp -dport 9 -log \(level)"),
            host: "[OPTIONS]\nlog_level_in: \(level)\n"
        )
        let output = compilation.rules("output")
        let index = try #require(output.firstIndex { $0.comment == "cluster/rules/0" })
        #expect(output[index - 1].logPrefix == ":0:\(number):cluster-out: DROP: ")
        let input = compilation.rules("input")
        #expect(input.count >= 2)
        #expect(input[input.count - 2].logPrefix == ":0:\(number):host-in: policy DROP: ")
    }

    @Test func noLogLevelMeansNoLogRule() {
        let compilation = Self.compile(
            cluster: Self.cluster(rules: "IN ACCEPT -p tcp -dport 22 -log nolog\nIN ACCEPT -p tcp -dport 23"),
            host: "[OPTIONS]\nlog_level_in: nolog\nlog_level_out: nolog\n"
        )
        #expect(!compilation.ruleset.rules.contains { $0.logPrefix != nil })
    }

    @Test(arguments: [
        ("enable=1,rate=10/minute,burst=3", NFTStatement.limit(rate: 10, per: "minute", burst: 3) as NFTStatement?),
        ("1,rate=100/hour", .limit(rate: 100, per: "hour", burst: 5)),
        ("burst=20", .limit(rate: 1, per: "second", burst: 20)),
        ("enable=0", nil),
        ("0", nil),
        ("enable=0,rate=10/minute,burst=3", nil),
    ])
    func logRateLimitFollowsTheClusterOption(option: String, limit: NFTStatement?) throws {
        let compilation = Self.compile(
            cluster: Self.cluster(rules: "IN ACCEPT -p tcp -dport 22 -log info", options: "log_ratelimit: \(option)"),
            host: "[OPTIONS]\nlog_level_in: info\n"
        )
        let logs = compilation.ruleset.rules.filter { $0.logPrefix != nil }
        #expect(logs.count == 2)
        for log in logs {
            #expect(log.limit == limit, "\(option)")
        }
    }

    @Test func hostPolicyLogsNameTheirDirection() {
        let compilation = Self.compile(
            cluster: "[OPTIONS]\nenable: 1\npolicy_out: REJECT\npolicy_forward: DROP\n",
            host: "[OPTIONS]\nlog_level_out: info\nlog_level_forward: debug\n"
        )
        let output = compilation.rules("output")
        #expect(output.dropLast().last?.logPrefix == ":0:6:host-out: policy REJECT: ")
        let forward = compilation.rules("forward")
        #expect(forward.dropLast().last?.logPrefix == ":0:7:host-forward: policy DROP: ")
    }

    @Test func guestLogsCarryTheVMID() throws {
        let compilation = Self.compile(
            guests: [
                Self.guest(
                    "[OPTIONS]\nenable: 1\nlog_level_in: info\nlog_level_out: debug\npolicy_out: DROP\n[RULES]\nIN ACCEPT -p tcp -dport 22 -log warning\n"
                )
            ]
        )
        let inRules = compilation.rules("nic-100-0-in")
        let index = try #require(inRules.firstIndex { $0.comment == "guest/100/rules/0" })
        #expect(inRules[index - 1].logPrefix == ":100:4:guest-100-in: ACCEPT: ")
        #expect(inRules.dropLast().last?.logPrefix == ":100:6:guest-100-in: policy DROP: ")
        let outRules = compilation.rules("nic-100-0-out")
        #expect(outRules.dropLast().last?.logPrefix == ":100:7:guest-100-out: policy DROP: ")
    }

    // MARK: - Disabled and broken rules

    @Test func disabledRuleIsAbsent() {
        let compilation = Self.compile(
            cluster: Self.cluster(rules: "|IN DROP -p udp -dport 53\nIN ACCEPT -p tcp -dport 22"),
            guests: [Self.guest("[OPTIONS]\nenable: 1\n[RULES]\n|OUT DROP\n", nics: Self.twoNICs)]
        )
        #expect(!compilation.ruleset.rules.contains { $0.comment == "cluster/rules/0" })
        #expect(compilation.ruleset.rules.contains { $0.comment == "cluster/rules/1" })
        #expect(!compilation.ruleset.rules.contains { $0.comment == "guest/100/rules/0" })
        #expect(compilation.skipped.isEmpty)
    }

    @Test func ruleWithErrorsIsAbsentAndSkippedOnce() {
        let compilation = Self.compile(
            cluster: Self.cluster(rules: "IN ACCEPT -p tcp -dport 99999\nGROUP nosuchgroup"),
            guests: [
                Self.guest(
                    "[OPTIONS]\nenable: 1\n[RULES]\nIN ACCEPT -p tcp -dport 22\nIN ACCEPT -p tcp -dport 99999\nOUT DROP -source +nosuchset\n",
                    nics: Self.twoNICs
                )
            ]
        )
        for id in ["cluster/rules/0", "cluster/rules/1", "guest/100/rules/1", "guest/100/rules/2"] {
            #expect(!compilation.ruleset.rules.contains { $0.comment == id }, "\(id) compiled")
            let reports = compilation.skipped.filter { $0.hasPrefix(id + ":") }
            #expect(reports.count == 1, "\(id): \(compilation.skipped)")
        }
        #expect(compilation.skipped.count == 4, "\(compilation.skipped)")
        #expect(compilation.skipped.contains { $0.hasPrefix("guest/100/rules/1: dport: ") })
        // The good rule is in both NICs' chains.
        #expect(compilation.rules("nic-100-0-in").contains { $0.comment == "guest/100/rules/0" })
        #expect(compilation.rules("nic-100-1-in").contains { $0.comment == "guest/100/rules/0" })
    }

    // MARK: - Which NICs are filtered

    @Test func onlyEnabledGuestsAndFirewalledNICsGetChains() {
        let compilation = Self.compile(
            guests: [
                Self.guest("[OPTIONS]\nenable: 0\n[RULES]\nIN ACCEPT\n", vmid: 100),
                Self.guest(
                    "[OPTIONS]\nenable: 1\n",
                    vmid: 101,
                    nics: [
                        .init(index: 0, mac: Self.mac0, firewall: false),
                        .init(index: 1, mac: Self.mac1, firewall: true),
                    ]
                ),
                Self.guest(nil, vmid: 102),
                Self.guest("[RULES]\nIN DROP\n", vmid: 103),
            ]
        )
        let chains = Set(compilation.ruleset.chains.map(\.name))
        #expect(!chains.contains { $0.hasPrefix("nic-100-") || $0.hasPrefix("nic-102-") || $0.hasPrefix("nic-103-") })
        #expect(!chains.contains("nic-101-0-in"))
        #expect(!chains.contains("nic-101-0-out"))
        #expect(chains.contains("nic-101-1-in"))
        #expect(chains.contains("nic-101-1-out"))
        let taps = compilation.set("nic-out-marks", family: .bridge)?.elements.compactMap(\.mappingKey)
        #expect(taps == ["tap101i1"])
    }

    @Test func noFirewalledNICMeansNoBridgeTableAndNoGuestChains() {
        let compilation = Self.compile(guests: [Self.guest("[OPTIONS]\nenable: 0\n")])
        #expect(compilation.ruleset.tables == [NFTTable(family: .inet, name: "vireo-firewall")])
        #expect(!compilation.hasChain("input-guests"))
        #expect(!compilation.hasChain("forward-guests"))
        #expect(!compilation.hasChain("bridged"))
    }

    @Test func firewalledNICsGetBothTablesAndDispatch() {
        let compilation = Self.compile(guests: [Self.guest("[OPTIONS]\nenable: 1\n", nics: Self.twoNICs)])
        #expect(
            compilation.ruleset.tables == [
                NFTTable(family: .inet, name: "vireo-firewall"),
                NFTTable(family: .bridge, name: "vireo-firewall-guests"),
            ]
        )
        for chain in ["nic-100-0-in", "nic-100-0-out", "nic-100-1-in", "nic-100-1-out", "input-guests", "bridged"] {
            #expect(compilation.hasChain(chain), "\(chain)")
        }
        for chain in ["prerouting", "forward", "mark-100-0-in", "mark-100-1-in"] {
            #expect(compilation.hasChain(chain, family: .bridge), "\(chain)")
        }
        #expect(compilation.rules("nic-100-0-in").last?.comment == "guest/100/policy-in")
        #expect(compilation.rules("nic-100-0-in").last?.verdict == .drop)
        #expect(compilation.rules("nic-100-0-out").last?.comment == "guest/100/policy-out")
        #expect(compilation.rules("nic-100-0-out").last?.verdict == .accept)
    }

    @Test(arguments: [("ACCEPT", NFTStatement.accept), ("DROP", .drop), ("REJECT", .jump("do-reject"))])
    func guestPoliciesEndTheNICChains(policy: String, verdict: NFTStatement) {
        let compilation = Self.compile(
            guests: [Self.guest("[OPTIONS]\nenable: 1\npolicy_in: \(policy)\npolicy_out: \(policy)\n")]
        )
        #expect(compilation.rules("nic-100-0-in").last?.verdict == verdict)
        #expect(compilation.rules("nic-100-0-out").last?.verdict == verdict)
    }

    // MARK: - Per-NIC options

    static let dhcpOut: [NFTStatement] = [
        NFTBuild.payload("udp", "sport", .int(68)), NFTBuild.payload("udp", "dport", .int(67)), .accept,
    ]
    static let dhcpIn: [NFTStatement] = [
        NFTBuild.payload("udp", "sport", .int(67)), NFTBuild.payload("udp", "dport", .int(68)), .accept,
    ]
    static let dhcp6Out: [NFTStatement] = [
        NFTBuild.payload("udp", "sport", .int(546)), NFTBuild.payload("udp", "dport", .int(547)), .accept,
    ]

    @Test func dhcpIsAllowedUnlessTurnedOff() {
        let on = Self.compile(guests: [Self.guest("[OPTIONS]\nenable: 1\n")])
        #expect(on.rules("nic-100-0-out").contains { $0.statements == Self.dhcpOut })
        #expect(on.rules("nic-100-0-out").contains { $0.statements == Self.dhcp6Out })
        #expect(on.rules("nic-100-0-in").contains { $0.statements == Self.dhcpIn })
        let explicit = Self.compile(guests: [Self.guest("[OPTIONS]\nenable: 1\ndhcp: 1\n")])
        #expect(explicit.rules("nic-100-0-out").contains { $0.statements == Self.dhcpOut })
        let off = Self.compile(guests: [Self.guest("[OPTIONS]\nenable: 1\ndhcp: 0\n")])
        #expect(!off.rules("nic-100-0-out").contains { $0.statements == Self.dhcpOut })
        #expect(!off.rules("nic-100-0-out").contains { $0.statements == Self.dhcp6Out })
        #expect(!off.rules("nic-100-0-in").contains { $0.statements == Self.dhcpIn })
    }

    static func icmpv6(_ types: [Int], _ verdict: NFTStatement) -> [NFTStatement] {
        let value: NFTExpression = types.count == 1 ? .int(types[0]) : .set(types.map { .int($0) })
        return [NFTBuild.payload("icmpv6", "type", value), verdict]
    }

    @Test func ndpIsAllowedUnlessTurnedOff() {
        let on = Self.compile(guests: [Self.guest("[OPTIONS]\nenable: 1\n")])
        #expect(on.rules("nic-100-0-out").contains { $0.statements == Self.icmpv6([133, 135, 136], .accept) })
        #expect(on.rules("nic-100-0-in").contains { $0.statements == Self.icmpv6([133, 134, 135, 136, 137], .accept) })
        let off = Self.compile(guests: [Self.guest("[OPTIONS]\nenable: 1\nndp: 0\n")])
        #expect(!off.rules("nic-100-0-out").contains { $0.statements == Self.icmpv6([133, 135, 136], .accept) })
        #expect(
            !off.rules("nic-100-0-in").contains { $0.statements == Self.icmpv6([133, 134, 135, 136, 137], .accept) }
        )
    }

    @Test func routerAdvertisementsFromTheGuestNeedRadv() {
        let off = Self.compile(guests: [Self.guest("[OPTIONS]\nenable: 1\n")])
        let drop = Self.icmpv6([134, 137], .drop)
        let out = off.rules("nic-100-0-out")
        let dropIndex = out.firstIndex { $0.statements == drop }
        #expect(dropIndex != nil)
        #expect(!out.contains { $0.statements == Self.icmpv6([134], .accept) })
        // The drop comes before anything that could accept an RA.
        if let dropIndex {
            #expect(!out[..<dropIndex].contains { $0.verdict == .accept && $0.statements.count == 2 })
        }
        let on = Self.compile(guests: [Self.guest("[OPTIONS]\nenable: 1\nradv: 1\n")])
        #expect(!on.rules("nic-100-0-out").contains { $0.statements == drop })
        #expect(on.rules("nic-100-0-out").contains { $0.statements == Self.icmpv6([134], .accept) })
    }

    @Test func macfilterDropsOtherSourceMACsInTheBridgeTable() throws {
        let compilation = Self.compile(guests: [Self.guest("[OPTIONS]\nenable: 1\n", nics: Self.twoNICs)])
        let layer2 = compilation.rules("layer2-100-0-out", family: .bridge)
        #expect(
            layer2.contains {
                $0.statements == [
                    NFTBuild.payload("ether", "saddr", .string("bc:24:11:00:00:01"), op: "!="), NFTBuild.counter, .drop,
                ] && $0.comment == "guest/100/macfilter"
            }
        )
        #expect(
            compilation.rules("layer2-100-1-out", family: .bridge).contains {
                $0.statements.first == NFTBuild.payload("ether", "saddr", .string("bc:24:11:00:00:02"), op: "!=")
            }
        )
        let dispatch = try #require(compilation.set("nic-layer2-out", family: .bridge))
        #expect(
            dispatch.elements.contains(
                .mapping(key: .string("tap100i0"), value: NFTBuild.jumpVerdict("layer2-100-0-out"))
            )
        )
        let off = Self.compile(guests: [Self.guest("[OPTIONS]\nenable: 1\nmacfilter: 0\n")])
        #expect(!off.hasChain("layer2-100-0-out", family: .bridge))
        #expect(off.set("nic-layer2-out", family: .bridge)?.elements.isEmpty == true)
    }

    @Test func linkLocalAddressIsTheEUI64OfTheMAC() {
        #expect(FirewallCompiler.linkLocal(mac: "BC:24:11:00:00:01") == "fe80::be24:11ff:fe00:1")
        #expect(FirewallCompiler.linkLocal(mac: "02:00:00:00:00:00") == "fe80::ff:fe00:0")
        #expect(FirewallCompiler.linkLocal(mac: "52:54:00:12:34:56") == "fe80::5054:ff:fe12:3456")
        #expect(FirewallCompiler.linkLocal(mac: "not a mac") == nil)
    }

    static let ipfilterGuest = """
        [OPTIONS]
        enable: 1
        ipfilter: 1
        [IPSET ipfilter-net0]
        10.66.0.10
        2001:db8::10
        !10.66.0.11
        [RULES]
        OUT ACCEPT -p tcp -dport 443
        """

    @Test func ipfilterDropsSourcesOutsideTheNICsSet() throws {
        let compilation = Self.compile(guests: [Self.guest(Self.ipfilterGuest, nics: Self.twoNICs)])
        let v4 = try #require(compilation.set("v4-guest-100/ipfilter-net0"))
        #expect(v4.elements.contains(.string("10.66.0.10")))
        #expect(!v4.elements.contains(.string("10.66.0.11")))
        #expect(v4.flags == ["interval"])
        let v6 = try #require(compilation.set("v6-guest-100/ipfilter-net0"))
        #expect(v6.elements.contains(.string("fe80::be24:11ff:fe00:1")))
        #expect(v6.elements.contains(.string("2001:db8::10")))
        let nomatch = try #require(compilation.set("v4-guest-100/ipfilter-net0-nomatch"))
        #expect(nomatch.elements == [.string("10.66.0.11")])
        // net1 has no set of its own: only its link-local (from its own MAC) passes.
        let net1 = try #require(compilation.set("v6-guest-100/ipfilter-net1"))
        #expect(net1.elements.contains(.string("fe80::be24:11ff:fe00:2")))
        #expect(compilation.set("v4-guest-100/ipfilter-net1")?.elements.contains(.string("10.66.0.10")) == false)

        let out = compilation.rules("nic-100-0-out")
        for (proto, name) in [("ip", "v4-guest-100/ipfilter-net0"), ("ip6", "v6-guest-100/ipfilter-net0")] {
            #expect(
                out.contains {
                    $0.statements == [
                        NFTBuild.payload(proto, "saddr", .setReference(name), op: "!="), NFTBuild.counter, .drop,
                    ] && $0.comment == "guest/100/ipfilter"
                },
                "\(name)"
            )
        }
        #expect(
            out.contains {
                $0.statements.first
                    == NFTBuild.payload("ip", "saddr", .setReference("v4-guest-100/ipfilter-net0-nomatch"))
                    && $0.verdict == .drop
            }
        )
        // ARP from the NIC must name an allowed sender address too.
        #expect(
            compilation.rules("layer2-100-0-out", family: .bridge).contains {
                $0.statements.first
                    == NFTBuild.payload("arp", "saddr ip", .setReference("ipfilter-100-0"), op: "!=")
            }
        )
        // The user's rules come after the filter.
        let filter = try #require(out.firstIndex { $0.comment == "guest/100/ipfilter" })
        let user = try #require(out.firstIndex { $0.comment == "guest/100/rules/0" })
        #expect(filter < user)
    }

    @Test func ipfilterIsCheckedBeforeNeighborDiscoveryIsAccepted() throws {
        // Proxmox checks the ipfilter set before it accepts NDP (and RAs), so a guest cannot
        // announce a neighbor address it does not own.
        let compilation = Self.compile(guests: [Self.guest(Self.ipfilterGuest + "\n[OPTIONS]\nradv: 1\n")])
        let out = compilation.rules("nic-100-0-out")
        let filter = try #require(out.firstIndex { $0.comment == "guest/100/ipfilter" })
        let ndp = try #require(out.firstIndex { $0.statements == Self.icmpv6([133, 135, 136], .accept) })
        let radv = try #require(out.firstIndex { $0.statements == Self.icmpv6([134], .accept) })
        #expect(filter < ndp)
        #expect(filter < radv)
    }

    @Test func ipfilterSetWithoutTheOptionFiltersNothing() {
        let text = "[OPTIONS]\nenable: 1\n[IPSET ipfilter-net0]\n10.66.0.10\n"
        let compilation = Self.compile(guests: [Self.guest(text)])
        #expect(compilation.set("v4-guest-100/ipfilter-net0") == nil)
        #expect(!compilation.rules("nic-100-0-out").contains { $0.comment == "guest/100/ipfilter" })
    }

    @Test func interfaceRuleIsOnlyInThatNICsChains() {
        let compilation = Self.compile(
            guests: [
                Self.guest(
                    "[OPTIONS]\nenable: 1\n[RULES]\nOUT REJECT -i net1 -p tcp -dport 25\nIN ACCEPT -i net0 -p tcp -dport 80\nIN ACCEPT -p tcp -dport 22\n",
                    nics: Self.twoNICs
                )
            ]
        )
        #expect(compilation.rules("nic-100-1-out").contains { $0.comment == "guest/100/rules/0" })
        #expect(!compilation.rules("nic-100-0-out").contains { $0.comment == "guest/100/rules/0" })
        #expect(compilation.rules("nic-100-0-in").contains { $0.comment == "guest/100/rules/1" })
        #expect(!compilation.rules("nic-100-1-in").contains { $0.comment == "guest/100/rules/1" })
        #expect(compilation.rules("nic-100-0-in").contains { $0.comment == "guest/100/rules/2" })
        #expect(compilation.rules("nic-100-1-in").contains { $0.comment == "guest/100/rules/2" })
        // The NIC is chosen by its chain, not by an interface match.
        let rule = compilation.rules("nic-100-1-out").first { $0.comment == "guest/100/rules/0" }
        #expect(rule?.statements.contains { if case .match(_, .meta, _) = $0 { true } else { false } } == false)
        #expect(rule?.verdict == .jump("do-reject"))
    }

    // MARK: - Security groups

    static let groups = """
        [OPTIONS]
        enable: 1
        [RULES]
        GROUP web -i vmbr0
        [group web] # web servers
        IN HTTP(ACCEPT)
        IN ACCEPT -p tcp -dport 8080 -log info
        OUT DROP -p tcp -dport 25
        [group unused]
        IN DROP
        """

    @Test func groupRuleJumpsToTheGroupsChain() throws {
        let compilation = Self.compile(
            cluster: Self.groups,
            guests: [Self.guest("[OPTIONS]\nenable: 1\n[RULES]\nGROUP web -i net0\nGROUP Web\n")]
        )
        let input = try #require(compilation.rules("input").first { $0.comment == "cluster/rules/0" })
        #expect(
            input.statements == [NFTBuild.meta("iifname", .string("vmbr0")), NFTBuild.counter, .jump("group-web-in")]
        )
        let guestIn = compilation.rules("nic-100-0-in")
        #expect(guestIn.first { $0.comment == "guest/100/rules/0" }?.verdict == .jump("group-web-in"))
        #expect(guestIn.first { $0.comment == "guest/100/rules/1" }?.verdict == .jump("group-web-in"))
        #expect(
            compilation.rules("nic-100-0-out").first { $0.comment == "guest/100/rules/0" }?.verdict
                == .jump("group-web-out")
        )

        let body = compilation.rules("group-web-in")
        #expect(
            body.filter { $0.comment == "cluster/group/web/0" }.map { $0.matches } == [
                [NFTBuild.payload("tcp", "dport", .int(80))]
            ]
        )
        #expect(body.contains { $0.comment == "cluster/group/web/1" })
        #expect(!body.contains { $0.comment == "cluster/group/web/2" })
        let logIndex = try #require(body.firstIndex { $0.comment == "cluster/group/web/1" })
        #expect(body[logIndex - 1].logPrefix?.hasSuffix(":group-web-in: ACCEPT: ") == true)
        #expect(compilation.rules("group-web-out").map(\.comment) == ["cluster/group/web/2"])
        // Groups nobody references are not compiled, and each group chain exists once.
        #expect(!compilation.hasChain("group-unused-in"))
        let names = compilation.ruleset.chains.map { "\($0.family.rawValue) \($0.name)" }
        #expect(names.count == Set(names).count)
    }

    @Test func hostForwardGroupRuleUsesTheForwardChain() {
        let compilation = Self.compile(
            cluster: Self.groups.replacingOccurrences(
                of: "OUT DROP -p tcp -dport 25",
                with: "FORWARD DROP -p tcp -dport 25"
            )
        )
        #expect(compilation.rules("forward").contains { $0.verdict == .jump("group-web-forward") })
        #expect(compilation.rules("group-web-forward").map(\.comment) == ["cluster/group/web/2"])
    }

    // MARK: - IP sets

    @Test func ipsetWithNomatchMakesTwoSetsAndAnExclusion() throws {
        let compilation = Self.compile(
            cluster: """
                [OPTIONS]
                enable: 1
                [ALIASES]
                printer 10.66.0.6
                [IPSET trusted]
                10.66.0.0/24
                !10.66.0.5
                !printer
                [RULES]
                IN ACCEPT -source +trusted -p tcp -dport 8080
                """
        )
        let set = try #require(compilation.set("v4-dc/trusted"))
        #expect(set.elements == [.prefix(address: "10.66.0.0", length: 24)])
        #expect(set.type == "ipv4_addr")
        #expect(set.flags == ["interval"])
        #expect(set.autoMerge)
        let nomatch = try #require(compilation.set("v4-dc/trusted-nomatch"))
        #expect(nomatch.elements == [.string("10.66.0.5"), .string("10.66.0.6")])
        let rules = compilation.rules("input").filter { $0.comment == "cluster/rules/0" }
        #expect(rules.count == 1, "a v4-only set makes no v6 rule")
        #expect(
            rules.first?.statements == [
                NFTBuild.payload("ip", "saddr", .setReference("v4-dc/trusted")),
                NFTBuild.payload("ip", "saddr", .setReference("v4-dc/trusted-nomatch"), op: "!="),
                NFTBuild.payload("tcp", "dport", .int(8080)), NFTBuild.counter, .accept,
            ]
        )
    }

    @Test func ipsetOfBothFamiliesMakesARulePerFamily() throws {
        let compilation = Self.compile(
            cluster: "[OPTIONS]\nenable: 1\n[IPSET mixed]\n10.0.0.0/8\n2001:db8::/32\n[RULES]\nIN DROP -dest +mixed\n"
        )
        let rules = compilation.rules("input").filter { $0.comment == "cluster/rules/0" }
        #expect(
            rules.map { $0.statements.first } == [
                NFTBuild.payload("ip", "daddr", .setReference("v4-dc/mixed")),
                NFTBuild.payload("ip6", "daddr", .setReference("v6-dc/mixed")),
            ]
        )
        #expect(compilation.set("v6-dc/mixed")?.elements == [.prefix(address: "2001:db8::", length: 32)])
        #expect(compilation.set("v4-dc/mixed-nomatch") == nil)
    }

    @Test func guestIPSetsAreNamedAfterTheGuest() {
        let compilation = Self.compile(
            guests: [
                Self.guest("[OPTIONS]\nenable: 1\n[IPSET local]\n10.66.0.0/24\n[RULES]\nIN ACCEPT -source +local\n")
            ]
        )
        #expect(compilation.set("v4-guest-100/local")?.elements == [.prefix(address: "10.66.0.0", length: 24)])
        #expect(
            compilation.rules("nic-100-0-in").first { $0.comment == "guest/100/rules/0" }?.statements.first
                == NFTBuild.payload("ip", "saddr", .setReference("v4-guest-100/local"))
        )
    }

    @Test func managementSetHasItsEntriesAndTheLocalNetworks() throws {
        let compilation = Self.compile(
            cluster: "[OPTIONS]\nenable: 1\n[IPSET management]\n10.66.0.1\n198.51.100.0/24\n",
            localNetworks: ["192.0.2.0/24", "2001:db8:5::/64"]
        )
        let v4 = try #require(compilation.set("v4-dc/management"))
        #expect(
            Set(v4.elements) == [
                .string("10.66.0.1"), .prefix(address: "198.51.100.0", length: 24),
                .prefix(address: "192.0.2.0", length: 24),
            ]
        )
        let v6 = try #require(compilation.set("v6-dc/management"))
        #expect(v6.elements == [.prefix(address: "2001:db8:5::", length: 64)])
        let management = compilation.rules("management")
        #expect(
            management.map(\.statements) == [
                [NFTBuild.payload("ip", "saddr", .setReference("v4-dc/management")), NFTBuild.counter, .accept],
                [NFTBuild.payload("ip6", "saddr", .setReference("v6-dc/management")), NFTBuild.counter, .accept],
            ]
        )
        let jump = try #require(compilation.rules("input").first { $0.verdict == .jump("management") })
        #expect(jump.statements.first == NFTBuild.payload("tcp", "dport", FirewallCompiler.managementPorts))
    }

    @Test func localNetworkAliasReplacesTheDetectedNetworks() throws {
        let compilation = Self.compile(
            cluster: "[OPTIONS]\nenable: 1\n[ALIASES]\nlocal_network 10.99.0.0/16\n",
            localNetworks: ["192.0.2.0/24"]
        )
        let v4 = try #require(compilation.set("v4-dc/management"))
        #expect(v4.elements == [.prefix(address: "10.99.0.0", length: 16)])
    }

    // MARK: - Host options

    @Test func tcpflagsAndNosmurfsCreateTheirChains() {
        let defaults = Self.compile()
        #expect(defaults.hasChain("smurfs"))
        #expect(defaults.rules("input").contains { $0.verdict == .jump("smurfs") })
        #expect(!defaults.hasChain("tcp-flags"))
        #expect(!defaults.rules("input").contains { $0.verdict == .jump("tcp-flags") })

        let flipped = Self.compile(host: "[OPTIONS]\nnosmurfs: 0\ntcpflags: 1\n")
        #expect(!flipped.hasChain("smurfs"))
        #expect(!flipped.rules("input").contains { $0.verdict == .jump("smurfs") })
        #expect(flipped.hasChain("tcp-flags"))
        #expect(flipped.rules("input").contains { $0.verdict == .jump("tcp-flags") })
        #expect(flipped.rules("tcp-flags").count == 5)
        #expect(flipped.rules("tcp-flags").allSatisfy { $0.verdict == .drop && $0.comment == "host/tcpflags" })
    }

    @Test func smurfAndTCPFlagLogLevelsLogTheDrops() {
        let compilation = Self.compile(
            host: "[OPTIONS]\ntcpflags: 1\nsmurf_log_level: info\ntcp_flags_log_level: warning\n"
        )
        let smurfLogs = compilation.rules("smurfs").compactMap(\.logPrefix)
        #expect(smurfLogs.contains { $0.hasPrefix(":0:6:") && $0.hasSuffix("DROP: ") }, "\(smurfLogs)")
        let flagLogs = compilation.rules("tcp-flags").compactMap(\.logPrefix)
        #expect(flagLogs.contains { $0.hasPrefix(":0:4:") && $0.hasSuffix("DROP: ") }, "\(flagLogs)")
    }

    @Test func invalidConntrackStateIsDroppedUnlessAllowed() {
        let invalid = [NFTBuild.ctState(["invalid"]), NFTStatement.drop]
        #expect(Self.compile().rules("ct-state").contains { $0.statements == invalid })
        let allowed = Self.compile(host: "[OPTIONS]\nnf_conntrack_allow_invalid: 1\n")
        #expect(!allowed.rules("ct-state").contains { $0.statements == invalid })
        #expect(allowed.rules("ct-state").contains { $0.verdict == .accept })
    }

    @Test func hostNDPIsAcceptedOrDropped() {
        let ndpIn = [NFTBuild.payload("icmpv6", "type", .set([133, 134, 135, 136, 137].map { .int($0) }))]
        #expect(Self.compile().rules("input").contains { $0.statements == ndpIn + [.accept] })
        let off = Self.compile(host: "[OPTIONS]\nndp: 0\n")
        #expect(off.rules("input").contains { $0.statements == ndpIn + [.drop] })
        #expect(off.rules("output").contains { $0.verdict == .drop && $0.statements.count == 2 })
    }

    @Test func synfloodProtectionChangesTheRuleset() {
        // Per-source SYN rate limit (nft: block-synflood); the option must not be ignored.
        let without = Self.compile()
        let with = Self.compile(host: "[OPTIONS]\nprotection_synflood: 1\nprotection_synflood_rate: 50\n")
        let changed = with.ruleset != without.ruleset
        #expect(changed, "protection_synflood: 1 compiles to the same ruleset as without it")
    }

    // MARK: - Real nft

    /// Every option and rule form at once.
    static func everything() -> FirewallInputs {
        inputs(
            cluster: """
                [OPTIONS]
                enable: 1
                policy_in: REJECT
                policy_out: DROP
                policy_forward: DROP
                log_ratelimit: enable=1,rate=10/minute,burst=3

                [ALIASES]
                lan 10.66.0.0/24
                v6net 2001:db8::/64

                [IPSET management]
                10.66.0.1
                2001:db8::1

                [IPSET trusted]
                10.66.0.0/24
                !10.66.0.5
                2001:db8::/64
                !2001:db8::5

                [IPSET blacklist]
                198.51.100.0/24

                [RULES]
                IN SSH(ACCEPT) -source lan -log info
                IN ACCEPT -source +trusted -p tcp -dport 8006,5900:5999 -log debug
                IN DROP -source +blacklist
                IN ACCEPT -source 10.0.0.1-10.0.0.9 -p udp -dport 161:162 -sport 1024:65535
                IN ACCEPT -source 2001:db8::1,2001:db8::2 -p icmpv6 -icmp-type echo-request
                IN ACCEPT -p icmp -icmp-type port-unreachable
                IN ACCEPT -p icmp -dport echo-request
                IN Ping(ACCEPT) -log warning
                IN Trcrt(ACCEPT)
                IN NeighborDiscovery(ACCEPT)
                IN GRE(ACCEPT) -dest v6net
                IN ACCEPT -p sctp -dport 9999
                OUT REJECT -p tcp -dport 25 -log err
                OUT Web(ACCEPT) -dest +trusted
                FORWARD DROP -i vmbr0 -p tcp -dport 22 -log notice
                GROUP web -i vmbr0
                |IN DROP
                IN ACCEPT -p tcp -dport 99999

                [group web]
                IN HTTP(ACCEPT) -log info
                IN HTTPS(REJECT)
                OUT DROP -p udp -dport 53
                FORWARD ACCEPT -p tcp -dport 8080
                """,
            host: """
                [OPTIONS]
                enable: 1
                log_level_in: info
                log_level_out: warning
                log_level_forward: debug
                tcpflags: 1
                tcp_flags_log_level: info
                smurf_log_level: info
                nosmurfs: 1
                ndp: 0
                nf_conntrack_allow_invalid: 1
                protection_synflood: 1

                [RULES]
                IN ACCEPT -i vmbr0 -source 192.0.2.0/24 -p tcp -dport 8006
                OUT DROP -i vmbr0 -dest 203.0.113.0/24
                IN Ceph(ACCEPT)
                """,
            guests: [
                guest(
                    """
                    [OPTIONS]
                    enable: 1
                    ipfilter: 1
                    macfilter: 1
                    dhcp: 0
                    ndp: 0
                    radv: 1
                    policy_in: REJECT
                    policy_out: DROP
                    log_level_in: info
                    log_level_out: debug

                    [ALIASES]
                    gw 10.66.0.1

                    [IPSET ipfilter-net0]
                    10.66.0.10
                    !10.66.0.11
                    2001:db8::10

                    [IPSET local]
                    10.66.0.0/24
                    fd00::/8

                    [RULES]
                    IN ACCEPT -i net0 -source +dc/trusted -p tcp -dport 8080 -log info
                    IN Ping(ACCEPT)
                    OUT REJECT -i net1 -p tcp -dport 25
                    OUT ACCEPT -dest guest/gw -p udp -dport 53
                    IN DROP -source +local
                    GROUP web -i net0
                    GROUP web
                    """,
                    nics: twoNICs
                ),
                guest(
                    "[OPTIONS]\nenable: 1\nmacfilter: 0\n[RULES]\nIN SSH(ACCEPT)\nGROUP web\n",
                    vmid: 101,
                    nics: [.init(index: 0, mac: "52:54:00:12:34:56", firewall: true)]
                ),
                guest("[OPTIONS]\nenable: 1\n", vmid: 102, nics: [.init(index: 3, mac: mac1, firewall: false)]),
            ],
            localNetworks: ["192.0.2.0/24", "2001:db8:5::/64"]
        )
    }

    @Test func aRulesetWithEveryOptionLoadsIntoNFT() throws {
        let compilation = FirewallCompiler.compile(Self.everything())
        #expect(compilation.skipped.count == 1, "\(compilation.skipped)")
        #expect(compilation.hasChain("group-web-in"))
        #expect(compilation.hasChain("layer2-100-0-out", family: .bridge))
        guard try NFTSandbox.require() else { return }
        try NFTSandbox.withNamespace { namespace in
            let command = try compilation.ruleset.replacingTablesCommand()
            do {
                try NFTSandbox.nft(namespace, ["-j", "-f", "-"], input: command)
            } catch {
                Issue.record("nft refused the ruleset: \(error)")
                return
            }
            let listed = String(decoding: try NFTSandbox.nft(namespace, ["list", "ruleset"]), as: UTF8.self)
            #expect(listed.contains("table inet vireo-firewall"))
            #expect(listed.contains("table bridge vireo-firewall-guests"))
            #expect(listed.contains("chain nic-100-1-out"))
            #expect(listed.contains("v4-dc/trusted-nomatch"))
            #expect(listed.contains("fe80::be24:11ff:fe00:1"))
            #expect(listed.contains("\"cluster/rules/0\""))
            // Loading the same ruleset again replaces it rather than adding to it.
            try NFTSandbox.nft(namespace, ["-j", "-f", "-"], input: command)
            let again = String(decoding: try NFTSandbox.nft(namespace, ["list", "ruleset"]), as: UTF8.self)
            #expect(again == listed)
        }
    }
}

// MARK: - Reading a compilation

extension FirewallCompilation {
    /// The rules of one chain, in order.
    fileprivate func rules(_ chain: String, family: NFTFamily = .inet) -> [NFTRule] {
        ruleset.rules.filter { $0.family == family && $0.chain == chain }
    }

    fileprivate func chain(_ name: String, family: NFTFamily = .inet) -> NFTChain? {
        ruleset.chains.first { $0.family == family && $0.name == name }
    }

    fileprivate func hasChain(_ name: String, family: NFTFamily = .inet) -> Bool {
        chain(name, family: family) != nil
    }

    fileprivate func set(_ name: String, family: NFTFamily = .inet) -> NFTSet? {
        ruleset.sets.first { $0.family == family && $0.name == name }
    }
}

extension NFTRule {
    /// The prefix of the rule's `log` statement.
    fileprivate var logPrefix: String? {
        for case .other(let value) in statements {
            if let prefix = value["log"]?["prefix"]?.string { return prefix }
        }
        return nil
    }

    fileprivate var limit: NFTStatement? {
        statements.first { if case .limit = $0 { true } else { false } }
    }

    fileprivate var verdict: NFTStatement? { statements.last }

    /// The rule's match statements, without counter, log and verdict.
    fileprivate var matches: [NFTStatement] {
        statements.filter { if case .match = $0 { true } else { false } }
    }
}

extension NFTExpression {
    /// The key of a map element (`tap100i0` of `tap100i0 : …`).
    fileprivate var mappingKey: String? {
        if case .mapping(.string(let key), _) = self { key } else { nil }
    }
}
