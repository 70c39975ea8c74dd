import Testing
import VireoCore
import VireoTestSupport

@testable import VireoQEMU

@Suite struct VMProcessStatsTests {
    /// /proc/net/dev of a node with two taps of VM 100 and one of VM 1000.
    static let netDev = """
        Inter-|   Receive                                                |  Transmit
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
            lo:   12345      10    0    0    0     0          0         0    12345      10    0    0    0     0       0          0
        tap100i0:    1000       5    0    0    0     0          0         0     7000      20    0    0    0     0       0          0
        tap100i1:     500       2    0    0    0     0          0         0      300       1    0    0    0     0       0          0
        tap1000i0:  999999     99    0    0    0     0          0         0   999999      99    0    0    0     0       0          0
        """

    @Test func sumsTheTapsOfOneVMWithDirectionsSeenFromTheGuest() {
        let traffic = VMProcessStats.tapTraffic(vmid: 100, netDev: Self.netDev)
        #expect(traffic.netout == 1500)  // the host received it: the guest sent it
        #expect(traffic.netin == 7300)
        #expect(VMProcessStats.tapTraffic(vmid: 101, netDev: Self.netDev) == (0, 0))
    }
}

@Suite struct ProcessStatTests {
    @Test func readsStateCPUAndStartEvenWithParenthesesInTheName() throws {
        // qemu names its threads; a name with ") " must not shift the fields.
        let text =
            "4242 (qemu) x) S 1 4241 4241 0 -1 4194624 1000 0 0 0 150 50 0 0 20 0 5 0 12345 1000000 5000 18446744073709551615"
        let stat = try #require(ProcessStat(text: text))
        #expect(stat.state == "S")
        #expect(stat.cpuTicks == 200)
        #expect(stat.startSeconds == 12345 / ProcessStat.clockTicks)
        #expect(ProcessStat(text: "4242 (qemu) S 1") == nil)
    }
}
