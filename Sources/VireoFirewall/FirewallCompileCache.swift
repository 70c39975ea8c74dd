import Foundation
import NFTables

/// What one compile leaves for the next, so a reload costs what changed, not the whole
/// configuration: ipsets resolved to nft set elements (a 100,000-entry ipset is parsed once, not
/// for every rule that names it), and each NIC's chains. An entry is reused only while everything
/// it was made from is unchanged.
public final class FirewallCompileCache: @unchecked Sendable {
    /// A NIC's compiled chains and what they need from the rest of the ruleset.
    struct NICChains {
        struct Key: Equatable {
            var vmid: Int
            var nic: FirewallGuest.NIC
            var file: FirewallFile
            /// Groups, aliases, ipsets and log options the NIC's rules can use.
            var cluster: FirewallFile
        }
        var key: Key
        var chains: [NFTChain]
        var rules: [NFTRule]
        var sets: [NFTSet]
        /// Security group chains the rules jump to: (group, direction).
        var groups: [(String, FirewallRule.Kind)]
        var skipped: [String]
    }

    private var nicChains: [String: NICChains] = [:]

    func chains(for key: NICChains.Key) -> NICChains? {
        lock.withLock { nicChains["\(key.vmid)/\(key.nic.index)"] }.flatMap { $0.key == key ? $0 : nil }
    }

    func remember(_ chains: NICChains) {
        lock.withLock { nicChains["\(chains.key.vmid)/\(chains.key.nic.index)"] = chains }
    }

    struct Resolved {
        var ipset: FirewallIPSet
        var aliases: [FirewallAlias]
        /// Elements per family (false: IPv4), matching and excluded (`!`).
        var matching: [Bool: [NFTExpression]]
        var excluded: [Bool: [NFTExpression]]
        /// The families with entries (IPv4 alone when there are none).
        var families: Set<Bool>
    }

    private let lock = NSLock()
    private var entries: [String: Resolved] = [:]

    public init() {}

    func resolved(key: String, ipset: FirewallIPSet, names: FirewallNames) -> Resolved {
        let aliases = (names.guest?.aliases ?? []) + names.cluster.aliases
        if let known = lock.withLock({ entries[key] }), known.aliases == aliases, known.ipset == ipset {
            return known
        }
        var matching: [Bool: [NFTExpression]] = [false: [], true: []]
        var excluded: [Bool: [NFTExpression]] = [false: [], true: []]
        var seen = Set<IPNetwork>()
        for entry in ipset.entries {
            guard let network = Self.resolve(entry.cidr, names: names), seen.insert(network).inserted else { continue }
            if entry.nomatch {
                excluded[network.isIPv6, default: []].append(NFTBuild.network(network))
            } else {
                matching[network.isIPv6, default: []].append(NFTBuild.network(network))
            }
        }
        var families = Set<Bool>()
        for ipv6 in [false, true] where !(matching[ipv6] ?? []).isEmpty || !(excluded[ipv6] ?? []).isEmpty {
            families.insert(ipv6)
        }
        let resolved = Resolved(
            ipset: ipset,
            aliases: aliases,
            matching: matching,
            excluded: excluded,
            families: families.isEmpty ? [false] : families
        )
        lock.withLock { entries[key] = resolved }
        return resolved
    }

    /// An ipset entry: an address, a CIDR or an alias.
    static func resolve(_ entry: String, names: FirewallNames) -> IPNetwork? {
        if let network = IPNetwork(entry) { return network }
        guard let reference = FirewallReference(entry), let (alias, _) = names.alias(reference) else { return nil }
        return IPNetwork(alias.cidr)
    }
}
