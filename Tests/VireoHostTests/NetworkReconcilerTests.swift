import Testing

@testable import VireoHost

@Suite struct NetworkReconcilerTests {
    /// `ip -j -d addr show` of a namespace with vmbr0 (192.0.2.5/24) on eth0, eth1 loose, a guest tap.
    static let captured = """
        [{"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK"], "mtu": 65536, "link_type": "loopback", "addr_info": []},
         {"ifindex": 2, "ifname": "eth1", "flags": ["BROADCAST", "MULTICAST"], "mtu": 1500, "linkinfo": {"info_kind": "veth"}, "addr_info": []},
         {"ifindex": 3, "ifname": "eth0", "flags": ["BROADCAST", "MULTICAST", "UP"], "mtu": 1500, "master": "vmbr0", "linkinfo": {"info_kind": "veth", "info_slave_kind": "bridge"}, "addr_info": []},
         {"ifindex": 4, "ifname": "vmbr0", "flags": ["BROADCAST", "MULTICAST", "UP"], "mtu": 1500, "linkinfo": {"info_kind": "bridge"},
          "addr_info": [{"family": "inet", "local": "192.0.2.5", "prefixlen": 24, "scope": "global"},
                        {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"}]},
         {"ifindex": 5, "ifname": "tap100i0", "flags": ["UP"], "mtu": 1500, "master": "vmbr0", "linkinfo": {"info_kind": "tun"}, "addr_info": []}]
        """
    static let actual = HostNetwork.parseLinks(captured)
    typealias Link = NetworkReconciler.DesiredLink
    static let current: [Link] = [
        Link(name: "eth0", kind: .existing),
        Link(name: "vmbr0", kind: .bridge(vlanAware: false), ports: ["eth0"], addresses: ["192.0.2.5/24"]),
    ]

    @Test func anUnchangedConfigPlansNothing() throws {
        let steps = try NetworkReconciler.plan(
            desired: Self.current,
            previous: Self.current,
            actual: Self.actual,
            gateway: nil
        )
        #expect(steps.isEmpty)
    }

    @Test func aNewBridgeWithPortAndAddressIsMadeInOrder() throws {
        let desired =
            Self.current + [
                Link(name: "eth1", kind: .existing),
                Link(
                    name: "vmbr1",
                    kind: .bridge(vlanAware: false),
                    ports: ["eth1"],
                    addresses: ["198.51.100.1/24"],
                    mtu: 1400
                ),
            ]
        let steps = try NetworkReconciler.plan(
            desired: desired,
            previous: Self.current,
            actual: Self.actual,
            gateway: nil
        )
        #expect(
            steps.map(\.description) == [
                "ip link add name vmbr1 type bridge",
                "ip link set dev vmbr1 mtu 1400",
                "ip link set dev eth1 master vmbr1",
                "ip addr add 198.51.100.1/24 dev vmbr1",
                "ip link set dev eth1 up",
                "ip link set dev vmbr1 up",
            ]
        )
    }

    @Test func changedAddressesPortsAndGatewayAreTheOnlySteps() throws {
        let desired = [
            Link(name: "eth0", kind: .existing),
            Link(
                name: "vmbr0",
                kind: .bridge(vlanAware: false),
                ports: [],
                addresses: ["192.0.2.6/24"],
                gateway: "192.0.2.1"
            ),
        ]
        let steps = try NetworkReconciler.plan(
            desired: desired,
            previous: Self.current,
            actual: Self.actual,
            gateway: ("192.0.2.254", "vmbr0")
        )
        // The guest's tap stays on the bridge; the link-local address is not the config's business.
        #expect(
            steps.map(\.description) == [
                "ip link set dev eth0 nomaster",
                "ip addr add 192.0.2.6/24 dev vmbr0",
                "ip addr del 192.0.2.5/24 dev vmbr0",
                "ip route replace default via 192.0.2.1 dev vmbr0",
            ]
        )
    }

    @Test func aDroppedBridgeIsDeletedAndConflictsAreNamed() throws {
        let previous = Self.current + [Link(name: "vmbr0x", kind: .bridge(vlanAware: false))]
        let actual =
            Self.actual
            + HostNetwork.parseLinks(#"[{"ifname": "vmbr0x", "flags": [], "linkinfo": {"info_kind": "bridge"}}]"#)
        let steps = try NetworkReconciler.plan(desired: Self.current, previous: previous, actual: actual, gateway: nil)
        #expect(steps.map(\.description) == ["ip link del dev vmbr0x"])

        #expect(throws: NetworkReconciler.Failure.self) {
            try NetworkReconciler.plan(
                desired: [Link(name: "eth1", kind: .bridge(vlanAware: false))],
                previous: [],
                actual: Self.actual,
                gateway: nil
            )
        }
        #expect(throws: NetworkReconciler.Failure.self) {
            try NetworkReconciler.plan(
                desired: [Link(name: "vmbr2", kind: .bridge(vlanAware: false), ports: ["eno9"])],
                previous: [],
                actual: Self.actual,
                gateway: nil
            )
        }
    }

    @Test func guestPortsAreRecognised() {
        #expect(NetworkReconciler.isGuestPort("tap100i0"))
        #expect(NetworkReconciler.isGuestPort("fwpr123i2"))
        #expect(!NetworkReconciler.isGuestPort("eth0"))
        #expect(!NetworkReconciler.isGuestPort("tapx"))
    }
}

@Suite struct IPBatchTests {
    @Test func theFailedLineIsReadFromIPsMessage() {
        #expect(HostNetwork.failedLine("RTNETLINK answers: Operation not supported\nCommand failed -:2\n") == 2)
        #expect(HostNetwork.failedLine("something else") == nil)
        #expect(HostNetwork.batchQuoted("vmbr0") == "vmbr0")
        #expect(HostNetwork.batchQuoted("10.0.0.1/24") == "10.0.0.1/24")
        #expect(HostNetwork.batchQuoted("a b") == "\"a b\"")
    }
}
