import Testing

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
        #expect(VMProcessStats.tapTraffic(vmid: 10, netDev: Self.netDev) == (0, 0))
    }
}
