import Testing

@testable import VireoHost

/// The generated commands for tagged NICs in both Proxmox models. This kernel has neither 802.1Q
/// devices nor bridge VLAN filtering, so these are checked here as command lines only.
@Suite struct VLANPlanTests {
    @Test func vlanAwareBridgeGivesTheTapItsPVIDAndTrunks() {
        let plan = HostNetwork.vlanAwarePlan(tap: "tap100i0", bridge: "vmbr0", tag: 10, trunks: "20;30-40")
        #expect(plan.bridge == "vmbr0" && plan.prepare.isEmpty)
        #expect(
            plan.afterAttach.map(\.description) == [
                "bridge vlan del dev tap100i0 vid 1",
                "bridge vlan add dev tap100i0 vid 10 pvid untagged",
                "bridge vlan add dev tap100i0 vid 20",
                "bridge vlan add dev tap100i0 vid 30-40",
            ]
        )
    }

    @Test func traditionalModelBuildsVmbrXvYOverTheUplinkOnce() {
        let plan = HostNetwork.traditionalPlan(
            bridge: "vmbr0",
            uplink: "eno1",
            tag: 5,
            existing: ["eno1", "vmbr0"]
        )
        #expect(plan.bridge == "vmbr0v5" && plan.afterAttach.isEmpty)
        #expect(
            plan.prepare.map(\.description) == [
                "ip link add link eno1 name eno1.5 type vlan id 5",
                "ip link add name vmbr0v5 type bridge",
                "ip link set dev eno1.5 master vmbr0v5",
                "ip link set dev eno1.5 up",
                "ip link set dev vmbr0v5 up",
            ]
        )
        // A second VM on the same VLAN reuses what the first one made.
        let again = HostNetwork.traditionalPlan(
            bridge: "vmbr0",
            uplink: "eno1",
            tag: 5,
            existing: ["eno1", "vmbr0", "eno1.5", "vmbr0v5"]
        )
        #expect(again.prepare.isEmpty && again.bridge == "vmbr0v5")
    }
}

@Suite struct RateLimitTests {
    @Test func htbOnBothEgressesInBytesPerSecond() {
        let commands = HostNetwork.rateLimitCommands(devices: ["tap100i0", "fwln100i0"], rate: 1.5)
        #expect(
            commands.map(\.description) == [
                "tc qdisc replace dev tap100i0 root handle 1: htb default 1",
                "tc class replace dev tap100i0 parent 1: classid 1:1 htb rate 1572864bps burst 78643b",
                "tc qdisc replace dev fwln100i0 root handle 1: htb default 1",
                "tc class replace dev fwln100i0 parent 1: classid 1:1 htb rate 1572864bps burst 78643b",
            ]
        )
    }
}
