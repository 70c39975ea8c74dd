import Foundation
import NFTables
import Testing

@testable import VireoFirewall

@Suite struct FirewallCompilerTests {
    static let cluster = """
        [OPTIONS]

        enable: 1
        policy_in: DROP

        [ALIASES]

        lan 10.66.0.0/24 # the LAN

        [IPSET management]

        10.66.0.1

        [IPSET trusted]

        10.66.0.0/24
        !10.66.0.5

        [RULES]

        IN SSH(ACCEPT) -source lan -log info
        GROUP web

        [group web] # web servers

        IN HTTP(ACCEPT)
        IN ACCEPT -p tcp -dport 8080 -source +trusted

        """

    static let guest = """
        [OPTIONS]

        enable: 1
        ipfilter: 1
        log_level_in: info

        [IPSET ipfilter-net0]

        10.66.0.10

        [RULES]

        IN ACCEPT -source +dc/trusted -p tcp -dport 8080
        IN Ping(ACCEPT)
        |IN DROP -p udp
        OUT REJECT -i net1 -p tcp -dport 25
        GROUP web -i net0
        IN ACCEPT -p tcp -dport 99999

        """

    static func inputs() -> FirewallInputs {
        FirewallInputs(
            cluster: FirewallFile(parsing: cluster, level: .cluster),
            host: FirewallFile(parsing: "[RULES]\n\nIN ACCEPT -p tcp -dport 8080 -i vmbr0\n", level: .host("n1")),
            guests: [
                FirewallGuest(
                    vmid: 100,
                    file: FirewallFile(parsing: guest, level: .guest(100)),
                    nics: [
                        .init(index: 0, mac: "BC:24:11:00:00:01", firewall: true),
                        .init(index: 1, mac: "BC:24:11:00:00:02", firewall: true),
                    ]
                )
            ],
            localNetworks: [IPNetwork("192.0.2.0/24")].compactMap { $0 },
            now: 0
        )
    }

    @Test func theCompiledRulesetLoadsIntoNFT() throws {
        let compilation = FirewallCompiler.compile(Self.inputs())
        #expect(compilation.skipped.count == 1)
        guard try NFTSandbox.require() else { return }
        try NFTSandbox.withNamespace { namespace in
            let command = try compilation.ruleset.replacingTablesCommand()
            _ = FileManager.default.createFile(atPath: "/tmp/vfw-last.json", contents: Data(command))
            _ = try NFTSandbox.nft(namespace, ["-j", "-f", "-"], input: command)
            let listed = try NFTSandbox.nft(namespace, ["list", "ruleset"])
            _ = FileManager.default.createFile(atPath: "/tmp/vfw-last.nft", contents: Data(listed))
        }
    }
}
