import Testing
import VireoCore
import VireoTestSupport

@testable import VireoHost

@Suite struct HostNetworkTests {
    static let bridgeJSON = """
        [{"ifindex":3,"ifname":"vmbr0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":9000,\
        "linkinfo":{"info_kind":"bridge","info_data":{"stp_state":0}}}]
        """
    static let nicJSON = """
        [{"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP"],"mtu":1500,"master":"vmbr0"}]
        """
    static let enter = ["nsenter", "--net=/run/netns/node1", "--"]

    @Test func commandsRunInsideTheNamespace() async throws {
        let runner = RecordingCommandRunner()
        runner.answer(
            Self.enter + ["ip", "-j", "-d", "link", "show", "dev", "tap100i0"],
            with: .failure(exitCode: 1, standardError: "Device \"tap100i0\" does not exist.")
        )
        runner.answer(Self.enter + ["ip", "-j", "-d", "link", "show", "dev", "vmbr0"], with: .output(Self.bridgeJSON))
        let network = HostNetwork(namespace: try NetworkNamespace("node1"), runner: runner)
        try await network.createTap("tap100i0", bridge: "vmbr0", mtu: nil)
        #expect(
            runner.commandLines == [
                "nsenter --net=/run/netns/node1 -- ip -j -d link show dev tap100i0",
                "nsenter --net=/run/netns/node1 -- ip tuntap add dev tap100i0 mode tap",
                "nsenter --net=/run/netns/node1 -- ip -j -d link show dev vmbr0",
                "nsenter --net=/run/netns/node1 -- ip link set dev tap100i0 mtu 9000",
                "nsenter --net=/run/netns/node1 -- ip link set dev tap100i0 master vmbr0",
                "nsenter --net=/run/netns/node1 -- ip link set dev tap100i0 up",
            ]
        )
    }

    @Test func aMissingBridgeIsNamedAndTheNewTapRemoved() async throws {
        let runner = RecordingCommandRunner()
        runner.answer(
            ["ip", "-j", "-d", "link", "show", "dev"],
            with: .failure(exitCode: 1, standardError: "Device does not exist.")
        )
        let network = HostNetwork(namespace: .host, runner: runner)
        let error = await #expect(throws: VireoError.self) {
            try await network.createTap("tap100i0", bridge: "vmbr7", mtu: 1400)
        }
        #expect(error?.message == "bridge 'vmbr7' does not exist")
        #expect(runner.commandLines.last == "ip link del dev tap100i0")
        #expect(!runner.commandLines.contains { $0.hasPrefix("nsenter") })
    }

    @Test func parsesKindMTUMasterAndState() {
        let links = HostNetwork.parseLinks(Self.bridgeJSON) + HostNetwork.parseLinks(Self.nicJSON)
        #expect(links.map(\.name) == ["vmbr0", "eth0"])
        #expect(links[0].kind == "bridge" && links[0].mtu == 9000 && links[0].isUp)
        #expect(links[1].kind == nil && links[1].master == "vmbr0" && links[1].isUp)
    }

    @Test func namespaceNamesAreChecked() {
        #expect(throws: VireoError.self) { try NetworkNamespace("../etc") }
        #expect(throws: VireoError.self) { try NetworkNamespace("a b") }
        #expect(throws: Never.self) { try NetworkNamespace("vn-node-1_a.b") }
    }
}
