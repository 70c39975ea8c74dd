/// One interface of `/etc/network/interfaces` as Proxmox's `/nodes/{node}/network` API shows it: the union of
/// the `iface` stanzas with this name (one per address family), with option names normalised
/// (`bridge-ports` and `bridge_ports` are both ``bridgePorts``).
///
/// Fields named `…6` belong to the `inet6` stanza. Option lines the model has no field for are kept verbatim in
/// ``options`` and ``options6``.
public struct NetworkInterface: Hashable, Sendable {
    /// The `iface` name (`vmbr0`, `eno1.5`, `bond0`).
    public var name: String
    /// The families with a stanza, in file order. Empty is written as `[.inet]`.
    public var families: [AddressFamily] = []
    /// The `inet` method; `.manual` when the file gives none.
    public var method: InterfaceMethod = .manual
    /// The `inet6` method; `.manual` when the file gives none.
    public var method6: InterfaceMethod = .manual
    /// Named on an `auto`, `allow-auto`, `allow-hotplug` or `allow-ovs` line.
    public var autostart = false

    /// The IPv4 address without prefix length.
    public var address: String?
    /// The IPv4 netmask as the file gives it: a prefix length (`24`) or dotted (`255.255.255.0`).
    public var netmask: String?
    /// `address/prefix-length`; `/32` when the file gives no mask.
    public var cidr: String?
    public var gateway: String?
    public var address6: String?
    /// The IPv6 prefix length.
    public var netmask6: String?
    /// `address6/prefix-length`; `/128` when the file gives no prefix length.
    public var cidr6: String?
    public var gateway6: String?
    public var mtu: Int?

    /// `bridge-ports`, sorted and without duplicates. Non-nil makes a bridge; `none` in the file is empty.
    public var bridgePorts: [String]?
    /// `bridge-stp` (`on`/`yes` is true). A parsed bridge without one has `false`.
    public var bridgeSTP: Bool?
    /// `bridge-fd`, the forward delay in seconds. A parsed bridge without STP or delay has 0.
    public var bridgeFD: Int?
    /// `bridge-vlan-aware`, whatever its value.
    public var bridgeVLANAware = false
    /// `bridge-vids` as written, e.g. `2-4094` or `2 4 100-200`. The writer defaults it to `2-4094`.
    public var bridgeVIDs: String?

    /// `bond-slaves`, sorted and without duplicates; `none` in the file is empty.
    public var slaves: [String]?
    /// `bond-mode`; a kernel mode number in the file becomes its name.
    public var bondMode: BondMode?
    public var bondMiimon: Int?
    /// `bond-xmit-hash-policy`: `layer2`, `layer2+3` or `layer3+4`.
    public var bondXmitHashPolicy: String?
    /// `bond-primary`, the preferred slave of an active-backup bond.
    public var bondPrimary: String?

    /// `vlan-raw-device`; filled from the name for `X.N` interfaces.
    public var vlanRawDevice: String?
    /// `vlan-id`; filled from the name for `X.N` interfaces and for `vlanN` ones with a raw device.
    public var vlanID: Int?

    /// The `#` lines of the `inet` (or family-less) stanzas, without the `#`, one per line.
    public var comments: String?
    /// The `#` lines of the `inet6` stanza.
    public var comments6: String?
    /// Option lines without a field (`post-up …`, `hwaddress …`), trimmed, in file order.
    public var options: [String] = []
    /// Option lines without a field from the `inet6` stanza.
    public var options6: [String] = []

    /// Other option keys Proxmox knows (OVS, VXLAN, bridge-port flags, `link-type`, `uplink-id`,
    /// `vlan-protocol`), by their name in the file.
    public var otherFields: [String: String] = [:]
    /// `vxlan-remoteip`, which may repeat.
    public var vxlanRemoteIPs: [String] = []

    public init(name: String) {
        self.name = name
    }

    /// The interface's type by Proxmox's detection rules, first match wins: bridge ports, OVS bridge, `bondN`,
    /// `X:N` alias, `X.N` or a raw device for VLANs, a NIC name, `lo`, VXLAN id, OVS internal port, dummy link.
    ///
    /// NICs are recognised by name only (`ethN`, `en…`, `ib…`, `nicN`, `ifN`); the host's links are not asked.
    public var type: InterfaceType {
        let ovsType = otherFields["ovs_type"]
        if bridgePorts != nil { return .bridge }
        if ovsType == "OVSBridge" { return .ovsBridge }
        if Self.number(after: "bond", in: name) != nil { return ovsType == nil ? .bond : .ovsBond }
        if Self.split(name, at: ":") != nil { return .alias }
        if Self.split(name, at: ".") != nil || vlanRawDevice != nil { return .vlan }
        if Self.isNICName(name) { return ovsType == nil ? .eth : .ovsPort }
        if name == "lo" { return .loopback }
        if otherFields["vxlan-id"] != nil { return .vxlan }
        if ovsType == "OVSIntPort" { return .ovsIntPort }
        if otherFields["link-type"] == "dummy" { return .dummy }
        return .unknown
    }

    // MARK: - Name patterns

    /// `X` and `N` of a name `X<separator>N` with a numeric `N`, split at the last separator.
    static func split(_ name: String, at separator: Character) -> (parent: String, number: Int)? {
        guard let index = name.lastIndex(of: separator) else { return nil }
        let parent = name[..<index]
        let digits = name[name.index(after: index)...]
        guard !parent.isEmpty, isDigits(digits), let number = Int(digits) else { return nil }
        return (String(parent), number)
    }

    /// `N` of a name `<prefix>N`.
    static func number(after prefix: String, in name: String) -> Int? {
        guard name.hasPrefix(prefix) else { return nil }
        let digits = name.dropFirst(prefix.count)
        guard isDigits(digits) else { return nil }
        return Int(digits)
    }

    /// Proxmox's NIC name pattern `eth\d+|en[^:.]+|ib[^:.]+|(nic|if)\d+`, matched against the whole name.
    static func isNICName(_ name: String) -> Bool {
        for prefix in ["eth", "nic", "if"] where number(after: prefix, in: name) != nil {
            return true
        }
        for prefix in ["en", "ib"] where name.hasPrefix(prefix) {
            let rest = name.dropFirst(2)
            if !rest.isEmpty && !rest.contains(":") && !rest.contains(".") { return true }
        }
        return false
    }

    /// The part of a name before the first `.` or `:`: the interface a VLAN or alias hangs off.
    static func rootName(of name: String) -> String {
        String(name.prefix { $0 != "." && $0 != ":" })
    }

    private static func isDigits(_ text: Substring) -> Bool {
        !text.isEmpty && text.allSatisfy { ("0"..."9").contains($0) }
    }
}
