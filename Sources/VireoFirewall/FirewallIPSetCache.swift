import Foundation
import NFTables

/// IP sets resolved to nft set elements, kept between compiles: a 100,000-entry ipset is parsed
/// once, not for every rule that names it nor at every reload. An entry is reused only while its
/// ipset and the aliases its entries can name are unchanged.
public final class FirewallIPSetCache: @unchecked Sendable {
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
