import VireoCore

extension NetworkInterface {
    static let mtuRange = 1280...65520
    static let vlanIDRange = 1...4094
    static let hashPolicies: Set<String> = ["layer2", "layer2+3", "layer3+4"]

    /// Checks the interface's own fields before it is written.
    /// - Throws: `VireoError.parameter` naming the first bad field by its API name.
    func validate() throws {
        try validateName()
        try validateAddresses()
        if let mtu, !Self.mtuRange.contains(mtu) {
            throw VireoError.parameter("mtu", "value must be between 1280 and 65520, got \(mtu)")
        }
        let nameVLAN = Self.split(name, at: ":") == nil ? Self.split(name, at: ".")?.number : nil
        for id in [nameVLAN, vlanID].compactMap(\.self) where !Self.vlanIDRange.contains(id) {
            throw VireoError.parameter("vlan-id", "vlan id must be between 1 and 4094, got \(id)")
        }
        if let bridgeVIDs { try Self.validateVIDs(bridgeVIDs) }
        try validateBond()
        try validatePortNames()
        try validateSingleLines()
    }

    /// Proxmox's `pve-iface`: `[a-z][a-z0-9_]{1,20}` with an optional `.N` or `:N`, any case.
    public static func isInterfaceName(_ name: String) -> Bool {
        var rest = Substring(name)
        if let separator = rest.lastIndex(where: { $0 == "." || $0 == ":" }) {
            let digits = rest[rest.index(after: separator)...]
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            rest = rest[..<separator]
        }
        guard let first = rest.first, first.isASCII, first.isLetter, (2...21).contains(rest.count) else { return false }
        return rest.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    private func validatePortNames() throws {
        let lists: [(field: String, names: [String])] = [
            ("bridge_ports", bridgePorts ?? []), ("slaves", slaves ?? []),
            ("vlan-raw-device", vlanRawDevice.map { [$0] } ?? []), ("bond-primary", bondPrimary.map { [$0] } ?? []),
        ]
        for (field, names) in lists {
            for name in names where !Self.isInterfaceName(name) {
                throw VireoError.parameter(field, "invalid network interface name '\(name)'")
            }
        }
    }

    /// Every value becomes (part of) one line of the file; comments become one `#` line per line.
    private func validateSingleLines() throws {
        for (field, text) in [("comments", comments), ("comments6", comments6)] {
            guard let text else { continue }
            for line in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
                try ConfigValue.checkSingleLine(String(String.UnicodeScalarView(line)), field: field)
            }
        }
        let fields: [(String, String?)] = [
            ("bridge-vids", bridgeVIDs), ("bond_xmit_hash_policy", bondXmitHashPolicy),
        ]
        for (field, value) in fields { if let value { try ConfigValue.checkSingleLine(value, field: field) } }
        for option in options { try ConfigValue.checkSingleLine(option, field: "options") }
        for option in options6 { try ConfigValue.checkSingleLine(option, field: "options6") }
        for (key, value) in otherFields {
            try ConfigValue.checkSingleLine(key, field: key)
            try ConfigValue.checkSingleLine(value, field: key)
        }
        for remote in vxlanRemoteIPs { try ConfigValue.checkSingleLine(remote, field: "vxlan-remoteip") }
    }

    private func validateName() throws {
        let allowed = { (character: Character) in
            character.isASCII && (character.isLetter || character.isNumber || "_-.:".contains(character))
        }
        guard let first = name.first, first.isASCII, first.isLetter, name.allSatisfy(allowed) else {
            throw VireoError.parameter("iface", "invalid interface name '\(name)'")
        }
    }

    private func validateAddresses() throws {
        if let cidr, !IPText.isCIDR(cidr, ipv6: false) {
            throw VireoError.parameter("cidr", "invalid IPv4 CIDR '\(cidr)'")
        }
        if let cidr6, !IPText.isCIDR(cidr6, ipv6: true) {
            throw VireoError.parameter("cidr6", "invalid IPv6 CIDR '\(cidr6)'")
        }
        if let address, !IPText.isIPv4(address) {
            throw VireoError.parameter("address", "invalid IPv4 address '\(address)'")
        }
        if let address6, !IPText.isIPv6(address6) {
            throw VireoError.parameter("address6", "invalid IPv6 address '\(address6)'")
        }
        if let netmask, IPText.prefixLength(ofNetmask: netmask, maximum: 32) == nil {
            throw VireoError.parameter("netmask", "invalid IPv4 netmask '\(netmask)'")
        }
        if let netmask6, IPText.prefixLength(ofNetmask: netmask6, maximum: 128) == nil {
            throw VireoError.parameter("netmask6", "invalid IPv6 prefix length '\(netmask6)'")
        }
        if let gateway, !IPText.isIPv4(gateway) {
            throw VireoError.parameter("gateway", "invalid IPv4 address '\(gateway)'")
        }
        if let gateway6, !IPText.isIPv6(gateway6) {
            throw VireoError.parameter("gateway6", "invalid IPv6 address '\(gateway6)'")
        }
        try Self.validateAgreement(address: address, netmask: netmask, cidr: cidr, suffix: "", maximum: 32)
        try Self.validateAgreement(address: address6, netmask: netmask6, cidr: cidr6, suffix: "6", maximum: 128)
    }

    /// With a CIDR given, address and netmask may be left out but must not contradict it.
    private static func validateAgreement(
        address: String?,
        netmask: String?,
        cidr: String?,
        suffix: String,
        maximum: Int
    ) throws {
        if netmask != nil && address == nil && cidr == nil {
            throw VireoError.parameter("netmask" + suffix, "netmask without an address")
        }
        guard let cidr, let slash = cidr.firstIndex(of: "/") else { return }
        if let address, address != cidr[..<slash] {
            throw VireoError.parameter("address" + suffix, "address '\(address)' does not match cidr '\(cidr)'")
        }
        let length = IPText.prefixLength(ofNetmask: String(cidr[cidr.index(after: slash)...]), maximum: maximum)
        if let netmask, IPText.prefixLength(ofNetmask: netmask, maximum: maximum) != length {
            throw VireoError.parameter("netmask" + suffix, "netmask '\(netmask)' does not match cidr '\(cidr)'")
        }
    }

    /// `bridge-vids`: VLAN ids and `from-to` ranges, separated by spaces or commas.
    private static func validateVIDs(_ vids: String) throws {
        let items = vids.split { $0 == "," || LineText.isSpace($0) }
        let valid =
            !items.isEmpty
            && items.allSatisfy { item in
                let bounds = item.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
                guard (1...2).contains(bounds.count), let from = bounds.first ?? nil, let to = bounds.last ?? nil
                else { return false }
                return vlanIDRange.contains(from) && vlanIDRange.contains(to) && from <= to
            }
        guard valid else {
            throw VireoError.parameter("bridge_vids", "invalid vlan id list '\(vids)' (ids and ranges in 1-4094)")
        }
    }

    private func validateBond() throws {
        guard type == .bond else { return }
        if let bondMode, !BondMode.linuxModes.contains(bondMode) {
            throw VireoError.parameter("bond_mode", "unknown bond mode '\(bondMode)'")
        }
        if let bondXmitHashPolicy, !Self.hashPolicies.contains(bondXmitHashPolicy) {
            throw VireoError.parameter(
                "bond_xmit_hash_policy",
                "unknown hash policy '\(bondXmitHashPolicy)' (layer2, layer2+3 or layer3+4)"
            )
        }
        if let bondPrimary, !(slaves ?? []).contains(bondPrimary) {
            throw VireoError.parameter("bond-primary", "'\(bondPrimary)' is not a slave of \(name)")
        }
    }
}
