import Testing
import VireoCore
import VireoTestSupport

@testable import VireoDiagnose
@testable import VireoHost

/// The network path's judgement on captured `ip -j -d link show` output (iproute2 6.1): VLANs
/// cannot be made on this test machine's kernel (no 802.1Q, no bridge VLAN filtering).
@Suite struct NetworkChecksTests {
    static func link(
        _ name: String,
        kind: String? = nil,
        master: String? = nil,
        up: Bool = true,
        carrier: Bool = true,
        data: String = ""
    ) -> String {
        var flags = ["BROADCAST", "MULTICAST"]
        if up { flags.append("UP") }
        if carrier { flags.append("LOWER_UP") }
        let flagText = flags.map { "\"\($0)\"" }.joined(separator: ",")
        let masterText = master.map { ",\"master\":\"\($0)\"" } ?? ""
        let info =
            kind.map { ",\"linkinfo\":{\"info_kind\":\"\($0)\"\(data.isEmpty ? "" : ",\"info_data\":{\(data)}")}" }
            ?? ""
        let state = carrier && up ? "UP" : "DOWN"
        return
            "{\"ifname\":\"\(name)\",\"flags\":[\(flagText)],\"mtu\":1500\(masterText),\"operstate\":\"\(state)\"\(info)}"
    }

    static func links(_ items: [String]) -> [HostNetwork.Link] {
        HostNetwork.parseLinks("[" + items.joined(separator: ",") + "]")
    }

    let vmid: VMID = 100

    @Test func aTagOnABridgeWithoutVLANFilteringNeedsAVLANDevice() throws {
        let nic = try VMNIC(key: "net0", value: "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=10")
        let plain = Self.links([
            Self.link("vmbr0", kind: "bridge", data: "\"vlan_filtering\":0"), Self.link("eth0", master: "vmbr0"),
            Self.link("tap100i0", kind: "tun", master: "vmbr0"),
        ])
        let bridge = plain.first { $0.name == "vmbr0" }
        // This kernel: no 802.1Q, a plain bridge.
        let missing = NetworkChecks.vlan(nic, bridge: bridge, links: plain, has8021Q: false)
        #expect(missing.status == .fail && missing.layer == .vlan)
        #expect(missing.summary.contains("802.1Q") && missing.evidence["tag"] == .int(10))
        // With 802.1Q but no VLAN device made for the tag: still cut off, and said why.
        let unmade = NetworkChecks.vlan(nic, bridge: bridge, links: plain, has8021Q: true)
        #expect(unmade.status == .fail && unmade.summary.contains("no VLAN device for tag 10"))
        // The traditional model wired up: eth0.10 under vmbr0v10.
        let wired = Self.links([
            Self.link("vmbr0", kind: "bridge", data: "\"vlan_filtering\":0"), Self.link("eth0", master: "vmbr0"),
            Self.link("vmbr0v10", kind: "bridge"),
            Self.link("eth0.10", kind: "vlan", master: "vmbr0v10", data: "\"id\":10"),
            Self.link("tap100i0", kind: "tun", master: "vmbr0v10"),
        ])
        let ok = NetworkChecks.vlan(nic, bridge: wired.first { $0.name == "vmbr0" }, links: wired, has8021Q: true)
        #expect(ok.status == .ok && ok.evidence["vlan_device"] == .string("eth0.10"))
        // A VLAN device of another tag does not count.
        let other = NetworkChecks.vlan(
            try VMNIC(key: "net0", value: "virtio,bridge=vmbr0,tag=20"),
            bridge: wired.first { $0.name == "vmbr0" },
            links: wired,
            has8021Q: true
        )
        #expect(other.status == .fail)
        // A VLAN-aware bridge carries any tag itself.
        let aware = Self.links([Self.link("vmbr0", kind: "bridge", data: "\"vlan_filtering\":1")])
        #expect(NetworkChecks.vlan(nic, bridge: aware.first, links: aware, has8021Q: false).status == .ok)
    }

    @Test func theTapBelongsWhereTheConfigPutsIt() throws {
        let aware = Self.links([Self.link("vmbr0", kind: "bridge", data: "\"vlan_filtering\":1")]).first
        let plain = Self.links([Self.link("vmbr0", kind: "bridge", data: "\"vlan_filtering\":0")]).first
        let tagged = try VMNIC(key: "net0", value: "virtio,bridge=vmbr0,tag=10")
        #expect(NetworkChecks.expectedMaster(of: tagged, vmid: vmid, bridge: aware) == "vmbr0")
        #expect(NetworkChecks.expectedMaster(of: tagged, vmid: vmid, bridge: plain) == "vmbr0v10")
        let limited = try VMNIC(key: "net1", value: "virtio,bridge=vmbr0,rate=10")
        #expect(NetworkChecks.expectedMaster(of: limited, vmid: vmid, bridge: plain) == "fwbr100i1")
    }

    @Test func uplinksAreTheBridgesPortsThatAreNotGuests() {
        let links = Self.links([
            Self.link("vmbr0", kind: "bridge"), Self.link("eth0", master: "vmbr0", carrier: false),
            Self.link("tap100i0", kind: "tun", master: "vmbr0"), Self.link("fwpr101i0", kind: "veth", master: "vmbr0"),
            Self.link("vmbr1", kind: "bridge"), Self.link("tap102i0", kind: "tun", master: "vmbr1"),
        ])
        #expect(NetworkChecks.uplinks(of: "vmbr0", in: links).map(\.name) == ["eth0"])
        #expect(NetworkChecks.uplinks(of: "vmbr1", in: links).isEmpty)
        #expect(links.first { $0.name == "eth0" }?.hasCarrier == false)
        #expect(links.first { $0.name == "eth0" }?.operState == "DOWN")
    }
}
