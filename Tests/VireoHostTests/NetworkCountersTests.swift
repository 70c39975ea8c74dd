import Testing
import VireoCore

@testable import VireoHost

/// `/nodes/{node}/netstat`: traffic of the guests' taps from `ip -j -s link show`.
@Suite struct NetworkCountersTests {
    /// `ip -j -s link show` (iproute2 6.1), one object per link, in kernel order.
    static let output = """
        [{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue","operstate":"UNKNOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00","stats64":{"rx":{"bytes":6278735242,"packets":1745738,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":6278735242,"packets":1745738,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}},\
        {"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"mq","master":"vmbr0","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"bc:24:11:00:00:10","broadcast":"ff:ff:ff:ff:ff:ff","stats64":{"rx":{"bytes":1072799256,"packets":31083,"errors":0,"dropped":0,"over_errors":0,"multicast":12},"tx":{"bytes":1254480,"packets":14105,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}},\
        {"ifindex":9,"ifname":"tap100i1","flags":["BROADCAST","MULTICAST","PROMISC","UP","LOWER_UP"],"mtu":1500,"qdisc":"pfifo_fast","master":"vmbr1","operstate":"UNKNOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"9e:1c:5f:2a:77:01","broadcast":"ff:ff:ff:ff:ff:ff","stats64":{"rx":{"bytes":5000,"packets":40,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":7000,"packets":55,"errors":0,"dropped":3,"carrier_errors":0,"collisions":0}}},\
        {"ifindex":8,"ifname":"tap100i0","flags":["BROADCAST","MULTICAST","PROMISC","UP","LOWER_UP"],"mtu":1500,"qdisc":"pfifo_fast","master":"vmbr0","operstate":"UNKNOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"9e:1c:5f:2a:77:00","broadcast":"ff:ff:ff:ff:ff:ff","stats64":{"rx":{"bytes":123456,"packets":900,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":9876543210,"packets":7000000,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}},\
        {"ifindex":7,"ifname":"tap7i0","flags":["BROADCAST","MULTICAST","PROMISC","UP","LOWER_UP"],"mtu":1500,"qdisc":"pfifo_fast","master":"vmbr0","operstate":"UNKNOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"5a:0d:21:9c:e4:00","broadcast":"ff:ff:ff:ff:ff:ff","stats64":{"rx":{"bytes":0,"packets":0,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":42,"packets":1,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}},\
        {"ifindex":10,"ifname":"fwpr100p0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","master":"vmbr0","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"6e:33:aa:10:20:30","broadcast":"ff:ff:ff:ff:ff:ff","stats64":{"rx":{"bytes":1,"packets":1,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":2,"packets":1,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}}]
        """

    @Test func oneRowPerTapSortedByVMAndNICWithTheGuestsPointOfView() {
        let expected: [JSON] = [
            ["vmid": "7", "dev": "net0", "in": "42", "out": "0"],
            // `in` is what the guest received: what the tap transmitted.
            ["vmid": "100", "dev": "net0", "in": "9876543210", "out": "123456"],
            ["vmid": "100", "dev": "net1", "in": "7000", "out": "5000"],
        ]
        #expect(NetworkCounters.parse(Self.output) == expected)
    }

    @Test func outputThatIsNotALinkListGivesNoRows() {
        #expect(NetworkCounters.parse("").isEmpty)
        #expect(NetworkCounters.parse("Cannot find device").isEmpty)
        #expect(NetworkCounters.parse(#"{"ifname":"tap100i0"}"#).isEmpty)
    }

    @Test func theNodesTrafficIsItsPhysicalNICsOnly() {
        let traffic = NetworkCounters.physicalTraffic(Self.output)
        #expect(traffic.received == 1_072_799_256 && traffic.sent == 1_254_480)
        #expect(["eth0", "enp3s0", "ens18", "eno1", "ib0"].allSatisfy(NetworkCounters.isPhysical))
        #expect(
            !["lo", "vmbr0", "tap100i0", "enp3s0.100", "eth0:1", "ethx", "veth1", "bond0"].contains(
                where: NetworkCounters.isPhysical
            )
        )
    }

    @Test func tapNamesGiveTheVMAndTheNICIndex() {
        #expect(NetworkCounters.tapIndex("tap100i0").map { [$0.0, $0.1] } == [100, 0])
        #expect(NetworkCounters.tapIndex("tap999999999i31").map { [$0.0, $0.1] } == [999_999_999, 31])
        for name in ["eth0", "tap", "tapi0", "tap100", "tap100i", "tap100ix", "fwpr100p0", "veth100i0"] {
            #expect(NetworkCounters.tapIndex(name) == nil, "\(name)")
        }
    }
}
