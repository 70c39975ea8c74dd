import Testing
import VireoFirewall

@Suite struct FirewallMacroTests {
    @Test(arguments: [("http", "HTTP"), ("HTTP", "HTTP"), ("bittorrent32", "BitTorrent32"), ("dhcpv6", "DHCPv6")])
    func lookupIsCaseInsensitiveAndReturnsCanonicalName(query: String, canonical: String) {
        #expect(FirewallMacro.named(query)?.name == canonical)
    }

    @Test func lookupOfUnknownNameReturnsNil() {
        #expect(FirewallMacro.named("NoSuchMacro") == nil)
    }

    @Test func tableHasPerlMacrosPlusTwoNFTOnes() {
        // 86 from the Perl list, plus HTTP/3 and PBS from the nft list.
        #expect(FirewallMacro.all.count == 88)
        #expect(FirewallMacro.named("HTTP/3") != nil)
        #expect(FirewallMacro.named("PBS") != nil)
    }

    @Test func namesAreUniqueIgnoringCase() {
        let names = FirewallMacro.all.map { $0.name.lowercased() }
        #expect(Set(names).count == names.count)
    }

    @Test func macrosAreSortedCaseInsensitively() {
        let names = FirewallMacro.all.map { $0.name.lowercased() }
        #expect(names == names.sorted())
    }

    @Test func everyMacroHasDescriptionAndEntries() {
        for macro in FirewallMacro.all {
            #expect(!macro.description.isEmpty, "\(macro.name)")
            #expect(!macro.entries.isEmpty, "\(macro.name)")
        }
    }

    @Test func portsAreValidNumbersOrRanges() {
        for macro in FirewallMacro.all {
            for entry in macro.entries {
                for ports in [entry.dport, entry.sport].compactMap({ $0 }) {
                    #expect(isValidPortSpec(ports), "\(macro.name): \(ports)")
                }
            }
        }
    }

    @Test func portsOnlyOnTCPAndUDP() {
        for macro in FirewallMacro.all {
            for entry in macro.entries where entry.dport != nil || entry.sport != nil {
                #expect(["tcp", "udp"].contains(entry.proto), "\(macro.name)")
            }
        }
    }

    @Test func icmpTypeOnlyOnICMPEntries() {
        for macro in FirewallMacro.all {
            for entry in macro.entries where entry.icmpType != nil {
                #expect(["icmp", "ipv6-icmp"].contains(entry.proto), "\(macro.name)")
            }
        }
    }

    @Test func familySpecificEntriesOnlyWhereStated() {
        let familySpecific: Set<String> = ["Ping", "Trcrt", "DHCPv6", "NeighborDiscovery"]
        for macro in FirewallMacro.all {
            for entry in macro.entries {
                switch entry.proto {
                case "icmp": #expect(entry.family == .ipv4, "\(macro.name)")
                case "ipv6-icmp": #expect(entry.family == .ipv6, "\(macro.name)")
                default: break
                }
                if entry.family != .any {
                    #expect(familySpecific.contains(macro.name), "\(macro.name)")
                }
            }
        }
        for name in ["DHCPv6", "NeighborDiscovery"] {
            #expect(FirewallMacro.named(name)?.entries.allSatisfy { $0.family == .ipv6 } == true, "\(name)")
        }
    }

    @Test func smbIncludesNetBIOSReplyFromSourcePort137() throws {
        let smb = try #require(FirewallMacro.named("SMB"))
        #expect(smb.entries.count == 4)
        #expect(smb.entries.contains(.init(proto: "udp", dport: "1024:65535", sport: "137")))
        #expect(smb.entries.contains(.init(proto: "tcp", dport: "135,139,445")))
    }

    @Test func trcrtHasUDPProbesAndPingPerFamily() throws {
        let trcrt = try #require(FirewallMacro.named("Trcrt"))
        #expect(
            trcrt.entries == [
                .init(proto: "udp", dport: "33434:33524"),
                .init(proto: "icmp", icmpType: "echo-request", family: .ipv4),
                .init(proto: "ipv6-icmp", icmpType: "echo-request", family: .ipv6),
            ]
        )
    }

    @Test func webIsHTTPAndHTTPS() throws {
        let web = try #require(FirewallMacro.named("web"))
        #expect(web.entries == [.init(proto: "tcp", dport: "80"), .init(proto: "tcp", dport: "443")])
    }

    @Test func ipsecMatchesIKESourcePortAndESP() throws {
        let ipsec = try #require(FirewallMacro.named("IPsec"))
        #expect(ipsec.entries == [.init(proto: "udp", dport: "500", sport: "500"), .init(proto: "50")])
    }

    @Test func neighborDiscoveryHasFourICMPv6Types() throws {
        let nd = try #require(FirewallMacro.named("NeighborDiscovery"))
        #expect(
            nd.entries.map(\.icmpType) == [
                "router-solicitation", "router-advertisement", "neighbor-solicitation", "neighbor-advertisement",
            ]
        )
        #expect(nd.entries.allSatisfy { $0.proto == "ipv6-icmp" })
    }

    @Test func greIsProtocol47WithoutPorts() throws {
        let gre = try #require(FirewallMacro.named("GRE"))
        #expect(gre.entries == [.init(proto: "47")])
    }

    /// Accepts Proxmox port lists: comma-separated ports or `start:end` ranges within 0...65535.
    private func isValidPortSpec(_ spec: String) -> Bool {
        spec.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { part in
            let bounds = part.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count),
                bounds.allSatisfy({ !$0.isEmpty && $0.allSatisfy { ("0"..."9").contains($0) } })
            else { return false }
            let numbers = bounds.compactMap { UInt16($0) }
            guard numbers.count == bounds.count, let start = numbers.first, let end = numbers.last else {
                return false
            }
            return start <= end
        }
    }
}
