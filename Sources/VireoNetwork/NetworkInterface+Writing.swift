extension NetworkInterface {
    /// The families written: the listed ones, plus any family an address or gateway needs; `[.inet]` at least.
    var familiesToWrite: [AddressFamily] {
        var result: [AddressFamily] = []
        for family in families where !result.contains(family) { result.append(family) }
        if !result.contains(.inet) && (address != nil || cidr != nil || gateway != nil) { result.insert(.inet, at: 0) }
        if !result.contains(.inet6) && (address6 != nil || cidr6 != nil || gateway6 != nil) { result.append(.inet6) }
        return result.isEmpty ? [.inet] : result
    }

    /// The stanzas as Proxmox's writer prints them, one per family with a blank line between, without the `auto`
    /// line and the blank line that follows. Only the first stanza carries the type-specific and generic options.
    func stanzaLines() -> [String] {
        var lines: [String] = []
        let families = familiesToWrite
        for (position, family) in families.enumerated() {
            let isV6 = family == .inet6
            if position > 0 { lines.append("") }
            lines.append("iface \(name) \(family) \(isV6 ? method6 : method)")
            var body: [String] = []
            if isV6 {
                body += Self.addressLines(
                    address: address6,
                    netmask: netmask6,
                    cidr: cidr6,
                    gateway: gateway6,
                    maximum: 128
                )
            } else {
                body += Self.addressLines(address: address, netmask: netmask, cidr: cidr, gateway: gateway, maximum: 32)
            }
            if position == 0 { body += typeOptionLines() }
            // Family-less leftovers go with the inet stanza, or the first one when there is none.
            var commentLines: [String] = []
            if family == .inet || (position == 0 && !families.contains(.inet)) {
                body += options
                commentLines += Self.commentLines(comments)
            }
            if isV6 {
                body += options6
                commentLines += Self.commentLines(comments6)
            }
            // Options are indented by a tab; comments start at the margin, as Proxmox writes them.
            lines += body.map { "\t" + $0 } + commentLines
        }
        return lines
    }

    /// `address <ip>/<len>` with the netmask folded in, then `gateway`.
    private static func addressLines(
        address: String?,
        netmask: String?,
        cidr: String?,
        gateway: String?,
        maximum: Int
    ) -> [String] {
        var lines: [String] = []
        if let cidr {
            lines.append("address \(cidr)")
        } else if let address {
            let length = netmask.flatMap { IPText.prefixLength(ofNetmask: $0, maximum: maximum) }
            lines.append("address \(address)" + (length.map { "/\($0)" } ?? ""))
        }
        if let gateway { lines.append("gateway \(gateway)") }
        return lines
    }

    private static func commentLines(_ comments: String?) -> [String] {
        guard let comments else { return [] }
        // Split on the scalar: `\r\n` is one Character, and would survive a Character split.
        return comments.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map {
            "#" + String(String.UnicodeScalarView($0))
        }
    }

    /// Bridge, bond, VLAN and VXLAN options, `mtu`, then the remaining known fields sorted by key.
    private func typeOptionLines() -> [String] {
        let type = type
        var lines: [String] = []
        var generic: [(key: String, value: String)] = otherFields.map { ($0.key, $0.value) }

        if type == .bridge {
            let stp = bridgeSTP ?? false
            lines.append("bridge-ports \(Self.portValue(bridgePorts))")
            lines.append("bridge-stp \(stp ? "on" : "off")")
            if !stp {
                lines.append("bridge-fd \(bridgeFD ?? 0)")
            } else if let delay = bridgeFD, (2...30).contains(delay) {
                lines.append("bridge-fd \(delay)")
            }
            if bridgeVLANAware {
                lines.append("bridge-vlan-aware yes")
                lines.append("bridge-vids \(bridgeVIDs ?? "2-4094")")
            }
        } else {
            // Not a bridge: whatever bridge settings the model holds are kept, written as they were read.
            if let bridgeSTP { generic.append(("bridge-stp", bridgeSTP ? "on" : "off")) }
            if let bridgeFD { generic.append(("bridge-fd", "\(bridgeFD)")) }
            if bridgeVLANAware { generic.append(("bridge-vlan-aware", "yes")) }
            if let bridgeVIDs { generic.append(("bridge-vids", bridgeVIDs)) }
        }

        if type == .bond {
            let mode = bondMode ?? .balanceRR
            lines.append("bond-slaves \(Self.portValue(slaves))")
            lines.append("bond-miimon \(bondMiimon ?? 100)")
            lines.append("bond-mode \(mode)")
            if let bondXmitHashPolicy, mode == .balanceXOR || mode == .ieee8023ad {
                lines.append("bond-xmit-hash-policy \(bondXmitHashPolicy)")
            }
            if let bondPrimary, mode == .activeBackup { lines.append("bond-primary \(bondPrimary)") }
        } else {
            if let slaves { generic.append(("bond-slaves", Self.portValue(slaves))) }
            if let bondMiimon { generic.append(("bond-miimon", "\(bondMiimon)")) }
            if let bondMode { generic.append(("bond-mode", bondMode.rawValue)) }
            if let bondXmitHashPolicy { generic.append(("bond-xmit-hash-policy", bondXmitHashPolicy)) }
            if let bondPrimary { generic.append(("bond-primary", bondPrimary)) }
        }

        // `X.N` names say raw device and id already.
        if Self.split(name, at: ".") == nil {
            if let vlanRawDevice { generic.append(("vlan-raw-device", vlanRawDevice)) }
            if let vlanID { generic.append(("vlan-id", "\(vlanID)")) }
        }

        if type == .vxlan {
            for key in ["vxlan-id", "vxlan-svcnodeip", "vxlan-physdev", "vxlan-local-tunnelip"] {
                if let value = otherFields[key] { lines.append("\(key) \(value)") }
            }
            generic.removeAll { $0.key.hasPrefix("vxlan-") }
            lines += vxlanRemoteIPs.map { "vxlan-remoteip \($0)" }
        } else {
            generic += vxlanRemoteIPs.map { ("vxlan-remoteip", $0) }
        }

        if let mtu {
            let isOVS = [.ovsBridge, .ovsBond, .ovsPort, .ovsIntPort].contains(type)
            lines.append("\(isOVS ? "ovs_mtu" : "mtu") \(mtu)")
        }
        // A stable sort keeps repeated keys in their order.
        lines += generic.enumerated()
            .sorted { ($0.element.key, $0.offset) < ($1.element.key, $1.offset) }
            .map { "\($0.element.key) \($0.element.value)" }
        return lines
    }

    private static func portValue(_ ports: [String]?) -> String {
        guard let ports, !ports.isEmpty else { return "none" }
        return portList(ports.joined(separator: " ")).joined(separator: " ")
    }
}
