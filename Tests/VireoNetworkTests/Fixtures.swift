/// Interfaces files the tests share.
enum Fixtures {
    /// The file a fresh Proxmox node has after a VLAN-aware bridge was set up.
    static let typical = """
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

        source /etc/network/interfaces.d/*

        """

    /// A hand-edited file: comments inside stanzas, `source` lines, a `mapping` stanza, `post-up` lines, tabs
    /// and spaces mixed, trailing spaces, a family-less stanza, an `inet6` stanza next to an `inet` one, and no
    /// newline at the end.
    static let messy = """
        # /etc/network/interfaces -- edited by hand
        source /etc/network/interfaces.d/*

        auto lo
        iface lo inet loopback

        mapping hotplug
            script /usr/local/bin/map-scheme
            map eth2

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

        auto bond0 vmbr1
        iface bond0
        \tbond-slaves eno3 eno4
        \tbond-mode 4
        \tbond_miimon 100
        \tbond-xmit-hash-policy layer3+4

        iface vmbr1 inet static
        \taddress 10.0.0.1
        \tnetmask 255.255.255.0
        \tbridge_ports bond0 bond0
        \tbridge_stp yes
        \tbridge_fd 2

        \tpost-up echo hi
        # trailing comment after vmbr1

        source-directory /etc/network/more
        iface vmbr1.20 inet manual
        iface weird
        \tfrobnicate 1
        """
}
