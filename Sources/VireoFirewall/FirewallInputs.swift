/// A guest as the firewall sees it: its `.fw` file and its NICs.
public struct FirewallGuest: Sendable, Hashable {
    public struct NIC: Sendable, Hashable {
        /// N of `netN`.
        public var index: Int
        /// As the VM config writes it (`BC:24:11:…`).
        public var mac: String
        /// `firewall=1` in the NIC's config.
        public var firewall: Bool

        public init(index: Int, mac: String, firewall: Bool) {
            self.index = index
            self.mac = mac
            self.firewall = firewall
        }
    }

    public var vmid: Int
    /// nil when the guest has no `.fw` file (it is then not filtered at all).
    public var file: FirewallFile?
    public var nics: [NIC]

    public init(vmid: Int, file: FirewallFile?, nics: [NIC]) {
        self.vmid = vmid
        self.file = file
        self.nics = nics
    }

    /// The tap device QEMU gets for the NIC (the name Proxmox uses too).
    public func tap(_ nic: NIC) -> String { "tap\(vmid)i\(nic.index)" }
}

/// Everything the compiler reads: the node's view of the cluster's firewall.
public struct FirewallInputs: Sendable {
    public var cluster: FirewallFile
    public var host: FirewallFile
    public var guests: [FirewallGuest]
    /// The node's own networks, for `local_network` when cluster.fw does not define it.
    public var localNetworks: [IPNetwork]
    /// Seconds since the epoch: decides whether an anti-lockout `enable` timestamp still holds.
    public var now: Int

    public init(
        cluster: FirewallFile,
        host: FirewallFile,
        guests: [FirewallGuest],
        localNetworks: [IPNetwork],
        now: Int
    ) {
        self.cluster = cluster
        self.host = host
        self.guests = guests
        self.localNetworks = localNetworks
        self.now = now
    }
}
