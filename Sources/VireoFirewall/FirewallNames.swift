/// What alias, ipset and group names resolve against for one file: the datacenter's definitions,
/// and for a guest also its own (which win for unscoped names, as in Proxmox).
public struct FirewallNames: Sendable {
    public var cluster: FirewallFile
    public var guest: FirewallFile?
    /// The guest's vmid, for the nft names of its ipsets.
    public var vmid: Int?

    public init(cluster: FirewallFile, guest: FirewallFile? = nil, vmid: Int? = nil) {
        self.cluster = cluster
        self.guest = guest
        self.vmid = vmid
    }

    public func alias(_ reference: FirewallReference) -> (FirewallAlias, FirewallReference.Scope)? {
        if reference.scope != .dc, let guest, let alias = guest.alias(named: reference.name) {
            return (alias, .guest)
        }
        if reference.scope != .guest, let alias = cluster.alias(named: reference.name) { return (alias, .dc) }
        return nil
    }

    public func ipset(_ reference: FirewallReference) -> (FirewallIPSet, FirewallReference.Scope)? {
        if reference.scope != .dc, let guest, let ipset = guest.ipset(named: reference.name) {
            return (ipset, .guest)
        }
        if reference.scope != .guest, let ipset = cluster.ipset(named: reference.name) { return (ipset, .dc) }
        return nil
    }

    /// An address whose family is known after resolving an alias; nil for ipsets (both families).
    func family(of address: FirewallAddress) -> Bool? {
        switch address {
        case .alias(let reference): alias(reference).flatMap { IPNetwork($0.0.cidr)?.isIPv6 }
        default: address.isIPv6
        }
    }
}
