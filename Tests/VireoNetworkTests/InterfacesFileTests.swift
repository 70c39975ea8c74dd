import Testing
import VireoCore
import VireoNetwork

@Suite struct InterfacesFileTests {
    // MARK: - Round trip

    @Test(arguments: [
        Fixtures.typical,
        Fixtures.messy,
        "",
        "\n",
        "\n\n# only a comment\n",
        "auto lo\r\niface lo inet loopback\r\n\r\niface eno1 inet manual\r\n",
        "iface eno1 inet manual",
        "iface eno1 inet manual\n\n\n",
        "iface x ipx static\n\tfoo bar\n",
        "  iface   eno1\tinet  manual  \n\t  mtu\t9000\n",
    ])
    func printsWhatWasParsed(text: String) throws {
        #expect(try InterfacesFile(parsing: text).text == text)
    }

    @Test func settingAnUnchangedInterfaceKeepsTheFile() throws {
        var file = try InterfacesFile(parsing: Fixtures.messy)
        for interface in file.interfaces {
            try file.set(interface)
        }
        #expect(file.text == Fixtures.messy)
    }

    @Test func rejectsIfaceWithoutName() {
        let error = #expect(throws: VireoError.self) { try InterfacesFile(parsing: "auto lo\niface\n") }
        #expect(error?.code == .invalidArgument)
    }

    // MARK: - Model

    @Test func readsTheTypicalFile() throws {
        let file = try InterfacesFile(parsing: Fixtures.typical)
        #expect(file.interfaces.map(\.name) == ["lo", "eno1", "vmbr0"])
        #expect(file.interfaces.map(\.type) == [.loopback, .eth, .bridge])

        let bridge = try #require(file["vmbr0"])
        #expect(bridge.autostart)
        #expect(bridge.families == [.inet])
        #expect(bridge.method == .static)
        #expect(bridge.address == "192.168.10.2")
        #expect(bridge.netmask == "24")
        #expect(bridge.cidr == "192.168.10.2/24")
        #expect(bridge.gateway == "192.168.10.1")
        #expect(bridge.bridgePorts == ["eno1"])
        #expect(bridge.bridgeSTP == false)
        #expect(bridge.bridgeFD == 0)
        #expect(bridge.bridgeVLANAware)
        #expect(bridge.bridgeVIDs == "2-4094")
        #expect(bridge.options.isEmpty)

        let nic = try #require(file["eno1"])
        #expect(!nic.autostart)
        #expect(nic.method == .manual)
        #expect(file["eno2"] == nil)
    }

    @Test func readsTheMessyFile() throws {
        let file = try InterfacesFile(parsing: Fixtures.messy)
        #expect(file.interfaces.map(\.name) == ["lo", "eno2", "bond0", "vmbr1", "vmbr1.20", "weird"])
        #expect(file.interfaces.map(\.type) == [.loopback, .eth, .bond, .bridge, .vlan, .unknown])

        let nic = try #require(file["eno2"])
        #expect(nic.autostart)
        #expect(nic.families == [.inet, .inet6])
        #expect(nic.method == .dhcp)
        #expect(nic.method6 == .static)
        #expect(nic.mtu == 9000)
        #expect(nic.options == ["hwaddress ether 52:54:00:12:34:56", "post-up ethtool -K eno2 tso off"])
        #expect(nic.comments == " uplink to switch A")
        #expect(nic.address6 == "2001:db8::2")
        #expect(nic.netmask6 == "64")
        #expect(nic.cidr6 == "2001:db8::2/64")
        #expect(nic.gateway6 == "2001:db8::1")
        #expect(nic.comments6 == " v6 note")
        #expect(nic.options6.isEmpty)

        let bond = try #require(file["bond0"])
        #expect(bond.autostart)
        #expect(bond.families == [.inet])
        #expect(bond.method == .manual)
        #expect(bond.slaves == ["eno3", "eno4"])
        #expect(bond.bondMode == .ieee8023ad)
        #expect(bond.bondMiimon == 100)
        #expect(bond.bondXmitHashPolicy == "layer3+4")

        let bridge = try #require(file["vmbr1"])
        #expect(bridge.autostart)
        #expect(bridge.cidr == "10.0.0.1/24")
        #expect(bridge.netmask == "255.255.255.0")
        #expect(bridge.bridgePorts == ["bond0"])
        #expect(bridge.bridgeSTP == true)
        #expect(bridge.bridgeFD == 2)
        #expect(bridge.options == ["post-up echo hi"])
        #expect(bridge.comments == " trailing comment after vmbr1")

        let vlan = try #require(file["vmbr1.20"])
        #expect(vlan.vlanRawDevice == "vmbr1")
        #expect(vlan.vlanID == 20)
        #expect(!vlan.autostart)

        #expect(file["weird"]?.options == ["frobnicate 1"])
        #expect(file["hotplug"] == nil)
    }

    @Test func familyLessStanzaPutsIPv6ValuesInV6Fields() throws {
        let file = try InterfacesFile(
            parsing:
                "iface vmbr2\n\taddress 10.2.0.1/16\n\taddress fd00::1/64\n\tgateway fd00::ffff\n\tbridge-ports none\n"
        )
        let bridge = try #require(file["vmbr2"])
        #expect(bridge.type == .bridge)
        #expect(bridge.bridgePorts == [])
        #expect(bridge.families == [.inet])
        #expect(bridge.cidr == "10.2.0.1/16")
        #expect(bridge.cidr6 == "fd00::1/64")
        #expect(bridge.gateway6 == "fd00::ffff")
        #expect(bridge.gateway == nil)
    }

    @Test func normalisesOptionAliases() throws {
        let dashes = try InterfacesFile(
            parsing: """
                iface vmbr3 inet manual
                \tbridge-ports eno2 eno1 eno1
                \tbridge-stp yes
                \tbridge-fd 15
                \tbridge-vlan-aware 1
                \tbridge-vids 10 20-30
                \tovs_mtu 9000

                iface bond2 inet manual
                \tbond_slaves eno5 eno6
                \tbond-mode 1
                \tbond-miimon 200
                \tbond-primary eno6

                """
        )
        let underscores = try InterfacesFile(
            parsing: """
                iface vmbr3 inet manual
                \tbridge_ports eno1 eno2
                \tbridge_stp on
                \tbridge_fd 15
                \tbridge_vlan_aware yes
                \tbridge_vids 10 20-30
                \tmtu 9000

                iface bond2 inet manual
                \tslaves eno6 eno5
                \tbond_mode active-backup
                \tbond_miimon 200
                \tbond-primary eno6

                """
        )
        #expect(dashes.interfaces == underscores.interfaces)
        let bridge = try #require(dashes["vmbr3"])
        #expect(bridge.bridgePorts == ["eno1", "eno2"])
        #expect(bridge.bridgeSTP == true)
        #expect(bridge.bridgeVLANAware)
        #expect(bridge.mtu == 9000)
        let bond = try #require(dashes["bond2"])
        #expect(bond.bondMode == .activeBackup)
        #expect(bond.bondPrimary == "eno6")
    }

    // MARK: - Adding

    @Test func addedBridgeReadsBackAsTheSameModel() throws {
        var file = try InterfacesFile(parsing: Fixtures.typical)
        var bridge = NetworkInterface(name: "vmbr1")
        bridge.autostart = true
        bridge.families = [.inet, .inet6]
        bridge.method = .static
        bridge.method6 = .static
        bridge.address = "10.1.0.1"
        bridge.netmask = "24"
        bridge.cidr = "10.1.0.1/24"
        bridge.address6 = "fd00:1::1"
        bridge.netmask6 = "64"
        bridge.cidr6 = "fd00:1::1/64"
        bridge.mtu = 9000
        bridge.bridgePorts = ["eno2"]
        bridge.bridgeSTP = false
        bridge.bridgeFD = 0
        bridge.options = ["post-up echo up"]
        bridge.comments = "lab bridge"
        try file.set(bridge)

        #expect(
            file.text == """
                auto lo
                iface lo inet loopback

                iface eno1 inet manual

                auto vmbr0
                iface vmbr0 inet static
                \taddress 192.168.10.2/24
                \tgateway 192.168.10.1
                \tbridge-ports eno1
                \tbridge-stp off
                \tbridge-fd 0
                \tbridge-vlan-aware yes
                \tbridge-vids 2-4094

                auto vmbr1
                iface vmbr1 inet static
                \taddress 10.1.0.1/24
                \tbridge-ports eno2
                \tbridge-stp off
                \tbridge-fd 0
                \tmtu 9000
                \tpost-up echo up
                #lab bridge

                iface vmbr1 inet6 static
                \taddress fd00:1::1/64

                source /etc/network/interfaces.d/*

                """
        )
        #expect(file["vmbr1"] == bridge)
        let reread = try InterfacesFile(parsing: file.text)
        #expect(reread.interfaces == file.interfaces)
        #expect(reread["vmbr1"] == bridge)
    }

    @Test func addedInterfacesGoAfterTheirTypeBucket() throws {
        var file = try InterfacesFile(parsing: Fixtures.typical)
        try file.set(NetworkInterface(name: "eno2"))
        var bond = NetworkInterface(name: "bond0")
        bond.slaves = ["eno2"]
        bond.bondMode = .ieee8023ad
        bond.bondXmitHashPolicy = "layer2+3"
        bond.autostart = true
        try file.set(bond)
        var vlan = NetworkInterface(name: "vlan5")
        vlan.vlanRawDevice = "bond0"
        try file.set(vlan)

        #expect(file.interfaces.map(\.name) == ["lo", "eno1", "eno2", "bond0", "vmbr0", "vlan5"])
        #expect(
            file.text == """
                auto lo
                iface lo inet loopback

                iface eno1 inet manual

                iface eno2 inet manual

                auto bond0
                iface bond0 inet manual
                \tbond-slaves eno2
                \tbond-miimon 100
                \tbond-mode 802.3ad
                \tbond-xmit-hash-policy layer2+3

                auto vmbr0
                iface vmbr0 inet static
                \taddress 192.168.10.2/24
                \tgateway 192.168.10.1
                \tbridge-ports eno1
                \tbridge-stp off
                \tbridge-fd 0
                \tbridge-vlan-aware yes
                \tbridge-vids 2-4094

                iface vlan5 inet manual
                \tvlan-raw-device bond0

                source /etc/network/interfaces.d/*

                """
        )
        #expect(file["vlan5"]?.vlanID == 5)
    }

    @Test func addsToAnEmptyFileAndAtTheEnd() throws {
        var file = try InterfacesFile(parsing: "")
        var loopback = NetworkInterface(name: "lo")
        loopback.method = .loopback
        loopback.autostart = true
        try file.set(loopback)
        #expect(file.text == "auto lo\niface lo inet loopback\n")

        var unknown = try InterfacesFile(parsing: "source /etc/x")
        try unknown.set(NetworkInterface(name: "tap0"))
        #expect(unknown.text == "source /etc/x\n\niface tap0 inet manual\n")
    }

    // MARK: - Changing

    @Test func changedInterfaceIsRewrittenInPlace() throws {
        var file = try InterfacesFile(parsing: Fixtures.messy)
        var bridge = try #require(file["vmbr1"])
        bridge.mtu = 9000
        try file.set(bridge)
        let expected = Fixtures.messy.replacing(
            """
            iface vmbr1 inet static
            \taddress 10.0.0.1
            \tnetmask 255.255.255.0
            \tbridge_ports bond0 bond0
            \tbridge_stp yes
            \tbridge_fd 2

            \tpost-up echo hi
            # trailing comment after vmbr1
            """,
            with: """
                iface vmbr1 inet static
                \taddress 10.0.0.1/24
                \tbridge-ports bond0
                \tbridge-stp on
                \tbridge-fd 2
                \tmtu 9000
                \tpost-up echo hi
                # trailing comment after vmbr1
                """
        )
        #expect(expected != Fixtures.messy)
        #expect(file.text == expected)
        #expect(file["vmbr1"]?.mtu == 9000)
    }

    @Test func changedTwoFamilyInterfaceBecomesOneBlock() throws {
        var file = try InterfacesFile(parsing: Fixtures.messy)
        var nic = try #require(file["eno2"])
        nic.autostart = false
        nic.options.removeAll()
        try file.set(nic)
        let expected = Fixtures.messy.replacing(
            """
            allow-hotplug eno2
            iface eno2 inet dhcp
            \t# uplink to switch A
                hwaddress ether 52:54:00:12:34:56
            \tpost-up ethtool -K eno2 tso off\u{20}\u{20}
              mtu 9000

            iface eno2 inet6 static
            \taddress 2001:db8::2/64
            \tgateway 2001:db8::1
            \t# v6 note
            """,
            with: """
                iface eno2 inet dhcp
                \tmtu 9000
                # uplink to switch A

                iface eno2 inet6 static
                \taddress 2001:db8::2/64
                \tgateway 2001:db8::1
                # v6 note
                """
        )
        #expect(file.text == expected)
    }

    @Test func autostartEditsAutoLines() throws {
        var file = try InterfacesFile(parsing: Fixtures.messy)
        var bond = try #require(file["bond0"])
        bond.autostart = false
        try file.set(bond)
        #expect(file.text.contains("\nauto vmbr1\niface bond0\n\tbond-slaves eno3 eno4\n"))
        #expect(file["vmbr1"]?.autostart == true)

        var vlan = try #require(file["vmbr1.20"])
        vlan.autostart = true
        try file.set(vlan)
        #expect(file.text.contains("source-directory /etc/network/more\nauto vmbr1.20\niface vmbr1.20 inet manual\n"))
    }

    // MARK: - Removing

    @Test func removingAStanzaKeepsTheRest() throws {
        var file = try InterfacesFile(parsing: Fixtures.typical)
        try file.remove("vmbr0")
        #expect(
            file.text == """
                auto lo
                iface lo inet loopback

                iface eno1 inet manual

                source /etc/network/interfaces.d/*

                """
        )
        try file.remove("lo")
        #expect(file.text == "iface eno1 inet manual\n\nsource /etc/network/interfaces.d/*\n")
    }

    @Test func removingFromTheMessyFileKeepsTheRest() throws {
        var file = try InterfacesFile(parsing: Fixtures.messy)
        try file.remove("eno2")
        let withoutNIC = Fixtures.messy.replacing(
            """
            allow-hotplug eno2
            iface eno2 inet dhcp
            \t# uplink to switch A
                hwaddress ether 52:54:00:12:34:56
            \tpost-up ethtool -K eno2 tso off\u{20}\u{20}
              mtu 9000

            iface eno2 inet6 static
            \taddress 2001:db8::2/64
            \tgateway 2001:db8::1
            \t# v6 note


            """,
            with: ""
        )
        #expect(file.text == withoutNIC)

        try file.remove("bond0")
        #expect(
            file.text
                == withoutNIC.replacing(
                    """
                    auto bond0 vmbr1
                    iface bond0
                    \tbond-slaves eno3 eno4
                    \tbond-mode 4
                    \tbond_miimon 100
                    \tbond-xmit-hash-policy layer3+4


                    """,
                    with: "auto vmbr1\n\n"
                )
        )

        try file.remove("weird")
        #expect(file.text.hasSuffix("source-directory /etc/network/more\niface vmbr1.20 inet manual"))
    }

    @Test func removingAMissingInterfaceFails() throws {
        var file = try InterfacesFile(parsing: Fixtures.typical)
        let error = #expect(throws: VireoError.self) { try file.remove("vmbr9") }
        #expect(error?.code == .notFound)
        #expect(file.text == Fixtures.typical)
    }
}
