import Foundation
import NFTables
import Testing
import VireoCore

@testable import VireoFirewall

/// The applier against a real nft in a throwaway namespace.
@Suite struct FirewallApplierTests {
    /// An applier on `namespace` that counts the transactions it writes.
    final class Writes: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func add() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }

    static func applier(_ namespace: String, writes: Writes) -> FirewallApplier {
        FirewallApplier(
            nft: { arguments, input in
                if arguments.contains("-f") && !arguments.contains("-c") { writes.add() }
                return String(decoding: try NFTSandbox.nft(namespace, arguments, input: input), as: UTF8.self)
            },
            bridgeNetfilter: {}
        )
    }

    static func compile(clusterRules: String = "IN ACCEPT -p tcp -dport 22\n", enable: Int = 1) -> FirewallCompilation {
        var inputs = FirewallCompilerTests.inputs()
        inputs.cluster.options["enable"] = "\(enable)"
        inputs.cluster.rules = clusterRules.split(separator: "\n").map { FirewallRule(line: String($0)) }
        return FirewallCompiler.compile(inputs)
    }

    @Test func appliesOnceThenWritesNothingEvenAfterARestart() async throws {
        guard try NFTSandbox.require() else { return }
        try await NFTSandbox.withNamespaceAsync { namespace in
            let writes = Writes()
            let applier = Self.applier(namespace, writes: writes)
            let first = try await applier.apply(Self.compile())
            guard case .applied = first else {
                Issue.record("first apply: \(first)")
                return
            }
            #expect(try await applier.apply(Self.compile()) == .unchanged)
            // A new daemon finds the same ruleset in the kernel and leaves it.
            let restarted = Self.applier(namespace, writes: writes)
            #expect(try await restarted.apply(Self.compile()) == .unchanged)
            #expect(writes.value == 1)

            // One changed rule rewrites one chain, not the tables.
            let changed = try await restarted.apply(Self.compile(clusterRules: "IN ACCEPT -p tcp -dport 23\n"))
            guard case .applied(let commands) = changed else {
                Issue.record("change: \(changed)")
                return
            }
            #expect(commands < Self.compile().ruleset.rules.count / 3, "a one-rule change rewrote \(commands) objects")
            let listed = String(
                decoding: try NFTSandbox.nft(namespace, ["list", "chain", "inet", "vireo-firewall", "input"]),
                as: UTF8.self
            )
            #expect(listed.contains("tcp dport 23") && !listed.contains("tcp dport 22 counter"))

            // Someone flushes a chain by hand: a verification notices, and the next apply repairs it.
            try NFTSandbox.nft(namespace, ["flush", "chain", "inet", "vireo-firewall", "output"])
            #expect(try await restarted.verify())
            guard case .applied = try await restarted.apply(Self.compile(clusterRules: "IN ACCEPT -p tcp -dport 23\n"))
            else {
                Issue.record("the hand-flushed chain was not repaired")
                return
            }
            #expect(try await restarted.verify() == false)

            // Someone flushes a chain by hand: the next daemon notices and reloads.
            try NFTSandbox.nft(namespace, ["flush", "chain", "inet", "vireo-firewall", "input"])
            let third = Self.applier(namespace, writes: writes)
            guard case .applied = try await third.apply(Self.compile(clusterRules: "IN ACCEPT -p tcp -dport 23\n"))
            else {
                Issue.record("a flushed chain was not noticed")
                return
            }

            // Datacenter firewall off: Vireo's tables go, nothing else is touched.
            try NFTSandbox.nft(namespace, ["add", "table", "inet", "someone-else"])
            #expect(try await third.apply(Self.compile(enable: 0)) == .removed)
            let tables = String(decoding: try NFTSandbox.nft(namespace, ["list", "tables"]), as: UTF8.self)
            #expect(tables.trimmingCharacters(in: .whitespacesAndNewlines) == "table inet someone-else")
        }
    }

    /// The last firewalled NIC going takes the guest chains and the verdict maps that jump to
    /// them in one transaction (the maps first, or nft refuses with EBUSY).
    @Test func removingTheLastFilteredNICRemovesItsChainsAndMaps() async throws {
        guard try NFTSandbox.require() else { return }
        try await NFTSandbox.withNamespaceAsync { namespace in
            let applier = Self.applier(namespace, writes: Writes())
            try await applier.apply(Self.compile())
            var inputs = FirewallCompilerTests.inputs()
            inputs.guests = []
            guard case .applied = try await applier.apply(FirewallCompiler.compile(inputs)) else {
                Issue.record("removing the guests changed nothing")
                return
            }
            let listed = String(decoding: try NFTSandbox.nft(namespace, ["list", "ruleset"]), as: UTF8.self)
            #expect(!listed.contains("nic-100") && !listed.contains("vireo-firewall-guests"))
        }
    }

    @Test func aRulesetNFTRefusesLeavesTheOldOneAndNamesTheRule() async throws {
        guard try NFTSandbox.require() else { return }
        try await NFTSandbox.withNamespaceAsync { namespace in
            let applier = Self.applier(namespace, writes: Writes())
            try await applier.apply(Self.compile())
            var broken = Self.compile(clusterRules: "IN ACCEPT -p tcp -dport 23\n")
            let input = try #require(broken.ruleset.rules.firstIndex { $0.comment == "cluster/rules/0" })
            broken.ruleset.rules[input].statements.append(.jump("no-such-chain"))
            do {
                try await applier.apply(broken)
                Issue.record("nft accepted a jump to a missing chain")
            } catch let error as VireoError {
                #expect(error.message.contains("cluster/rules/0"), "\(error.message)")
            }
            let listed = String(
                decoding: try NFTSandbox.nft(namespace, ["list", "chain", "inet", "vireo-firewall", "input"]),
                as: UTF8.self
            )
            #expect(listed.contains("tcp dport 22"), "the old rules are no longer in force")
        }
    }

    @Test func countersAreReportedPerUserRule() async throws {
        guard try NFTSandbox.require() else { return }
        try await NFTSandbox.withNamespaceAsync { namespace in
            let applier = Self.applier(namespace, writes: Writes())
            try await applier.apply(Self.compile(clusterRules: "OUT DROP -p udp -dport 9\n"))
            // Three datagrams to a neighbour (lo is always accepted, so not to ourselves).
            try NFTSandbox.run(
                "/usr/sbin/ip",
                ["-n", namespace, "link", "add", "d0", "type", "veth", "peer", "name", "d1"]
            )
            try NFTSandbox.run("/usr/sbin/ip", ["-n", namespace, "addr", "add", "198.51.100.1/24", "dev", "d0"])
            try NFTSandbox.run("/usr/sbin/ip", ["-n", namespace, "link", "set", "d0", "up"])
            let send =
                "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor _ in range(3):\n  try: s.sendto(b'x',('198.51.100.2',9))\n  except OSError: pass\n"
            try NFTSandbox.run("/usr/sbin/ip", ["netns", "exec", namespace, "python3", "-c", send])
            let counters = try await applier.counters()
            #expect(counters["cluster/rules/0"]?.packets == 3)
        }
    }
}

@Suite struct FirewallLevelTests {
    @Test func storePathsNameTheirLevel() {
        for level in [FirewallLevel.cluster, .guest(100), .host("n1")] {
            #expect(FirewallLevel(path: level.path) == level)
        }
        for other in [
            "firewall/x.fw", "firewall/0.fw", "firewall/100.conf", "nodes/n1/qemu-server/100.conf", "cluster.fw",
        ] {
            #expect(FirewallLevel(path: other) == nil, "\(other)")
        }
    }
}
