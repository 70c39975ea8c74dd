import Testing
import VireoCore
import VireoNetwork

@Suite struct NetworkInterfaceTests {
    /// Parses one stanza and returns its interface.
    private func interface(_ stanza: String) throws -> NetworkInterface {
        let file = try InterfacesFile(parsing: stanza)
        return try #require(file.interfaces.first)
    }

    // MARK: - Type detection

    @Test(arguments: [
        ("iface vmbr9 inet manual\n\tbridge-ports none", InterfaceType.bridge),
        ("iface bond1 inet manual\n\tbridge-ports eno1", .bridge),
        ("iface bond1 inet manual\n\tbond-slaves eno1", .bond),
        ("iface bond1 inet manual", .bond),
        ("iface eno1.10 inet manual", .vlan),
        ("iface vmbr0.4000 inet static\n\taddress 10.0.0.1/24", .vlan),
        ("iface vlan7 inet manual\n\tvlan-raw-device eno1", .vlan),
        ("iface uplink inet manual\n\tvlan-raw-device eno1\n\tvlan-id 12", .vlan),
        ("iface eno1:1 inet static", .alias),
        ("iface eth0 inet manual", .eth),
        ("iface eno1 inet manual", .eth),
        ("iface enp3s0f1 inet manual", .eth),
        ("iface enx0a1b2c3d4e5f inet manual", .eth),
        ("iface ib0 inet manual", .eth),
        ("iface nic2 inet manual", .eth),
        ("iface if3 inet manual", .eth),
        ("iface lo inet loopback", .loopback),
        ("iface vx1 inet manual\n\tvxlan-id 100", .vxlan),
        ("iface dummy0 inet manual\n\tlink-type dummy", .dummy),
        ("iface ovsbr inet manual\n\tovs_type OVSBridge", .ovsBridge),
        ("iface bond3 inet manual\n\tovs_type OVSBond", .ovsBond),
        ("iface eno7 inet manual\n\tovs_type OVSPort", .ovsPort),
        ("iface mgmt inet manual\n\tovs_type OVSIntPort", .ovsIntPort),
        ("iface ethx inet manual", .unknown),
        ("iface bondx inet manual", .unknown),
        ("iface tap100i0 inet manual", .unknown),
    ])
    func detectsType(stanza: String, expected: InterfaceType) throws {
        #expect(try interface(stanza).type == expected)
    }

    @Test func vlanNamesGiveRawDeviceAndID() throws {
        let dotted = try interface("iface eno1.10 inet manual")
        #expect(dotted.vlanRawDevice == "eno1")
        #expect(dotted.vlanID == 10)
        let numbered = try interface("iface vlan7 inet manual\n\tvlan-raw-device eno1")
        #expect(numbered.vlanRawDevice == "eno1")
        #expect(numbered.vlanID == 7)
        #expect(try interface("iface eno1 inet manual").vlanID == nil)
    }

    @Test func typeFollowsTheModel() {
        var interface = NetworkInterface(name: "vmbr5")
        #expect(interface.type == .unknown)
        interface.bridgePorts = []
        #expect(interface.type == .bridge)
    }

    // MARK: - Addresses

    @Test(arguments: [
        ("address 192.168.1.5/24", "192.168.1.5", "24", "192.168.1.5/24"),
        ("address 192.168.1.5\n\tnetmask 255.255.255.0", "192.168.1.5", "255.255.255.0", "192.168.1.5/24"),
        ("address 10.1.2.3\n\tnetmask 255.255.0.0", "10.1.2.3", "255.255.0.0", "10.1.2.3/16"),
        ("address 10.1.2.3\n\tnetmask 255.255.255.128", "10.1.2.3", "255.255.255.128", "10.1.2.3/25"),
        ("address 10.1.2.3\n\tnetmask 0.0.0.0", "10.1.2.3", "0.0.0.0", "10.1.2.3/0"),
        ("address 10.1.2.3\n\tnetmask 20", "10.1.2.3", "20", "10.1.2.3/20"),
        ("netmask 255.255.255.252\n\taddress 10.9.9.1", "10.9.9.1", "255.255.255.252", "10.9.9.1/30"),
    ])
    func derivesCIDR(options: String, address: String, netmask: String, cidr: String) throws {
        let parsed = try interface("iface vmbr0 inet static\n\t" + options)
        #expect(parsed.address == address)
        #expect(parsed.netmask == netmask)
        #expect(parsed.cidr == cidr)
    }

    @Test func bareAddressIsAHostAddress() throws {
        let v4 = try interface("iface eno1 inet static\n\taddress 10.1.2.3")
        #expect(v4.cidr == "10.1.2.3/32")
        #expect(v4.netmask == nil)
        let v6 = try interface("iface eno1 inet6 static\n\taddress fd00::1")
        #expect(v6.cidr6 == "fd00::1/128")
        #expect(v6.families == [.inet6])
    }

    @Test func nonContiguousNetmaskGivesNoCIDR() throws {
        let parsed = try interface("iface eno1 inet static\n\taddress 10.1.2.3\n\tnetmask 255.0.255.0")
        #expect(parsed.netmask == "255.0.255.0")
        #expect(parsed.cidr == nil)
    }

    @Test func writesDottedNetmaskAsPrefixLength() throws {
        var file = try InterfacesFile(parsing: "")
        var nic = NetworkInterface(name: "eno1")
        nic.method = .static
        nic.address = "10.1.2.3"
        nic.netmask = "255.255.240.0"
        nic.gateway = "10.1.0.1"
        try file.set(nic)
        #expect(file.text == "iface eno1 inet static\n\taddress 10.1.2.3/20\n\tgateway 10.1.0.1\n")
    }

    // MARK: - Validation

    /// A file with a bridge on eno1 and a bond over eno2 and eno3.
    private static let ports = """
        iface eno1 inet manual

        iface vmbr0 inet manual
        \tbridge-ports eno1

        iface bond0 inet manual
        \tbond-slaves eno2 eno3

        """

    /// A new bridge without ports.
    private static let bridge = NetworkInterface(name: "vmbr1").with(\.bridgePorts, [])
    private static let bond = NetworkInterface(name: "bond1")

    static let invalid: [(NetworkInterface, String)] = [
        (bridge.with(\.bridgePorts, ["eno4", "eno1"]), "bridge_ports"),
        (bridge.with(\.bridgePorts, ["eno2"]), "bridge_ports"),
        (bond.with(\.slaves, ["eno1"]), "slaves"),
        (NetworkInterface(name: "vmbr0.4095"), "vlan-id"),
        (NetworkInterface(name: "vlan9").with(\.vlanRawDevice, "eno1").with(\.vlanID, 5000), "vlan-id"),
        (NetworkInterface(name: "vlan9").with(\.vlanRawDevice, "eno1").with(\.vlanID, 0), "vlan-id"),
        (bridge.with(\.cidr, "10.0.0.1/33"), "cidr"),
        (bridge.with(\.cidr, "10.0.0/24"), "cidr"),
        (bridge.with(\.cidr, "10.0.0.1"), "cidr"),
        (bridge.with(\.cidr, "10.0.0.1/255.255.255.0"), "cidr"),
        (bridge.with(\.cidr, "fd00::1/64"), "cidr"),
        (bridge.with(\.cidr6, "fd00::1/129"), "cidr6"),
        (bridge.with(\.cidr6, "fd00::g/64"), "cidr6"),
        (bridge.with(\.address, "10.0.0.256"), "address"),
        (bridge.with(\.address, "10.0.0.2").with(\.cidr, "10.0.0.1/24"), "address"),
        (bridge.with(\.address, "10.0.0.1").with(\.netmask, "255.0.255.0"), "netmask"),
        (bridge.with(\.address, "10.0.0.1").with(\.netmask, "24").with(\.cidr, "10.0.0.1/16"), "netmask"),
        (bridge.with(\.address6, "fd00:::1"), "address6"),
        (bridge.with(\.gateway, "10.0.0"), "gateway"),
        (bridge.with(\.gateway6, "fd00::1::2"), "gateway6"),
        (bridge.with(\.mtu, 1279), "mtu"),
        (bridge.with(\.mtu, 65521), "mtu"),
        (bridge.with(\.bridgeVIDs, "2-5000"), "bridge_vids"),
        (bridge.with(\.bridgeVIDs, "20-10"), "bridge_vids"),
        (bridge.with(\.name, "1bad"), "iface"),
        (bridge.with(\.name, "has space"), "iface"),
        (bond.with(\.bondMode, BondMode("fastest")), "bond_mode"),
        (bond.with(\.bondMode, .ieee8023ad).with(\.bondXmitHashPolicy, "layer4"), "bond_xmit_hash_policy"),
        (bond.with(\.slaves, ["eno5"]).with(\.bondPrimary, "eno6"), "bond-primary"),
    ]

    @Test(arguments: invalid)
    func rejectsBadField(interface: NetworkInterface, field: String) throws {
        var file = try InterfacesFile(parsing: Self.ports)
        let error = #expect(throws: VireoError.self) { try file.set(interface) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.parameterErrors.keys.sorted() == [field])
        #expect(file.text == Self.ports)
    }

    @Test(arguments: [1280, 1500, 9000, 65520])
    func acceptsMTUInRange(mtu: Int) throws {
        var file = try InterfacesFile(parsing: Self.ports)
        try file.set(Self.bridge.with(\.mtu, mtu))
        #expect(file["vmbr1"]?.mtu == mtu)
    }

    @Test func acceptsAddressesThatAgree() throws {
        var file = try InterfacesFile(parsing: Self.ports)
        var bridge = Self.bridge
        bridge.address = "10.0.0.1"
        bridge.netmask = "255.255.255.0"
        bridge.cidr = "10.0.0.1/24"
        bridge.gateway = "10.0.0.254"
        bridge.address6 = "2001:db8::10:1"
        bridge.cidr6 = "2001:db8::10:1/64"
        bridge.gateway6 = "::ffff:10.0.0.254"
        bridge.bridgeVLANAware = true
        bridge.bridgeVIDs = "2 4 100-200"
        try file.set(bridge)
        let written = try #require(file["vmbr1"])
        #expect(written.cidr == "10.0.0.1/24")
        #expect(written.cidr6 == "2001:db8::10:1/64")
        #expect(written.families == [.inet, .inet6])
        #expect(written.bridgeVIDs == "2 4 100-200")
    }

    @Test func replacingABridgeMayKeepItsOwnPorts() throws {
        var file = try InterfacesFile(parsing: Self.ports)
        var bridge = try #require(file["vmbr0"])
        bridge.bridgePorts = ["eno1", "eno4"]
        try file.set(bridge)
        #expect(file["vmbr0"]?.bridgePorts == ["eno1", "eno4"])
    }
}

extension NetworkInterface {
    /// A copy with one field changed, for building test tables.
    fileprivate func with<Value>(_ field: WritableKeyPath<NetworkInterface, Value>, _ value: Value) -> NetworkInterface
    {
        var copy = self
        copy[keyPath: field] = value
        return copy
    }
}
