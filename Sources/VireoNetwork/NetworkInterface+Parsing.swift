extension NetworkInterface {
    /// Dash and underscore spellings Proxmox reads as one field, to the field's name.
    static let optionAliases: [String: String] = [
        "bridge-ports": "bridge_ports",
        "bridge-stp": "bridge_stp",
        "bridge-fd": "bridge_fd",
        "bridge-vlan-aware": "bridge_vlan_aware",
        "bridge-vids": "bridge_vids",
        "bond-slaves": "slaves",
        "bond_slaves": "slaves",
        "bond-mode": "bond_mode",
        "bond-miimon": "bond_miimon",
        "bond-xmit-hash-policy": "bond_xmit_hash_policy",
        "ovs_mtu": "mtu",
    ]

    /// Scalar keys Proxmox knows that have no property of their own: they land in ``otherFields``.
    static let otherFieldKeys: Set<String> = [
        "ovs_type", "ovs_options", "ovs_bridge", "ovs_bonds", "ovs_ports",
        "bridge-access", "bridge-learning", "bridge-arp-nd-suppress", "bridge-unicast-flood",
        "bridge-multicast-flood", "bridge-disable-mac-learning",
        "link-type", "uplink-id", "vlan-protocol",
        "vxlan-id", "vxlan-svcnodeip", "vxlan-physdev", "vxlan-local-tunnelip",
    ]

    /// Takes in one stanza: its method and family, option lines and comments.
    mutating func apply(_ stanza: InterfacesLayout.Stanza, lines: [String]) {
        let isV6 = stanza.family == .inet6
        if let family = stanza.family, !families.contains(family) { families.append(family) }
        if let method = stanza.method {
            if isV6 { method6 = method } else { self.method = method }
        }
        for line in lines[stanza.lines].dropFirst() {
            let text = LineText.trimmed(line)
            guard !text.isEmpty else { continue }
            if text.first == "#" {
                let comment = String(text.dropFirst())
                if isV6 {
                    comments6 = comments6.map { $0 + "\n" + comment } ?? comment
                } else {
                    comments = comments.map { $0 + "\n" + comment } ?? comment
                }
                continue
            }
            let key = String(text.prefix { !LineText.isSpace($0) })
            let value = String(LineText.trimmed(text.dropFirst(key.count)))
            if value.isEmpty || !apply(key: Self.optionAliases[key] ?? key, value: value, family: stanza.family) {
                if isV6 { options6.append(String(text)) } else { options.append(String(text)) }
            }
        }
    }

    /// Sets the field of one option; false when the option has no field or a value the field can't hold.
    private mutating func apply(key: String, value: String, family: AddressFamily?) -> Bool {
        // In a family-less stanza an IPv6 value shows by its colon.
        let isV6 = family == .inet6 || (family == nil && value.contains(":"))
        switch key {
        case "address": if isV6 { address6 = value } else { address = value }
        case "netmask": if family == .inet6 { netmask6 = value } else { netmask = value }
        case "gateway": if isV6 { gateway6 = value } else { gateway = value }
        case "mtu":
            guard let number = Int(value) else { return false }
            mtu = number
        case "bridge_ports": bridgePorts = Self.portList(value)
        case "bridge_stp": bridgeSTP = value == "on" || value == "yes"
        case "bridge_fd":
            guard let number = Int(value) else { return false }
            bridgeFD = number
        case "bridge_vlan_aware": bridgeVLANAware = true
        case "bridge_vids": bridgeVIDs = value
        case "slaves": slaves = Self.portList(value)
        case "bond_mode": bondMode = BondMode(fileValue: value)
        case "bond_miimon":
            guard let number = Int(value) else { return false }
            bondMiimon = number
        case "bond_xmit_hash_policy": bondXmitHashPolicy = value
        case "bond-primary": bondPrimary = value
        case "vlan-raw-device": vlanRawDevice = value
        case "vlan-id":
            guard let number = Int(value) else { return false }
            vlanID = number
        case "vxlan-remoteip": vxlanRemoteIPs.append(value)
        case _ where Self.otherFieldKeys.contains(key): otherFields[key] = value
        default: return false
        }
        return true
    }

    /// A `bridge-ports`/`bond-slaves` value: sorted, without duplicates, `none` for no ports.
    static func portList(_ value: String) -> [String] {
        Array(Set(LineText.words(value).map(String.init))).filter { $0 != "none" }.sorted()
    }

    /// Fills what Proxmox derives after reading all stanzas: families, CIDRs, bridge defaults, VLAN fields.
    mutating func finishParsing(hadFamilyLessStanza: Bool) {
        if families.isEmpty || (hadFamilyLessStanza && !families.contains(.inet)) {
            families.insert(.inet, at: 0)
        }
        Self.deriveCIDR(address: &address, netmask: &netmask, cidr: &cidr, hostPrefix: 32)
        Self.deriveCIDR(address: &address6, netmask: &netmask6, cidr: &cidr6, hostPrefix: 128)
        if bridgePorts != nil {
            let stp = bridgeSTP ?? false
            bridgeSTP = stp
            if !stp && bridgeFD == nil { bridgeFD = 0 }
        }
        if let (parent, number) = Self.split(name, at: "."), Self.split(name, at: ":") == nil {
            vlanRawDevice = parent
            vlanID = number
        } else if vlanRawDevice != nil, vlanID == nil {
            vlanID = Self.number(after: "vlan", in: name)
        }
    }

    /// `address` with `/len` splits into address and prefix length; a netmask gives the CIDR its length; a bare
    /// address is a host address.
    private static func deriveCIDR(address: inout String?, netmask: inout String?, cidr: inout String?, hostPrefix: Int)
    {
        guard let full = address else { return }
        if let slash = full.firstIndex(of: "/") {
            cidr = full
            address = String(full[..<slash])
            netmask = String(full[full.index(after: slash)...])
        } else if let mask = netmask {
            cidr = IPText.prefixLength(ofNetmask: mask, maximum: hostPrefix).map { "\(full)/\($0)" }
        } else {
            cidr = "\(full)/\(hostPrefix)"
        }
    }
}
