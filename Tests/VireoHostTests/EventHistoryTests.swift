import Foundation
import Testing
import VireoCore
import VireoHost

@Suite struct EventHistoryTests {
    private func withHistory(
        nodeLimit: Int = 50,
        vmLimit: Int = 5,
        _ body: (EventHistory, String) throws -> Void
    )
        rethrows
    {
        let directory = NSTemporaryDirectory() + "vireo-events-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(EventHistory(directory: directory, nodeLimit: nodeLimit, vmLimit: vmLimit), directory)
    }

    @Test func eventsAreKeptPerVMAndForTheNodeAndReadBackByTime() throws {
        try withHistory { history, directory in
            let vm = try #require(VMID("100"))
            history.record(HistoryEvent(time: 10, kind: .daemon, name: "started", message: "vireod started"))
            history.record(
                HistoryEvent(
                    time: 20,
                    kind: .qemu,
                    vmid: vm,
                    name: "BLOCK_IO_ERROR",
                    message: "write error on drive-virtio0: No space left on device (action: stop)",
                    fault: Fault(.storageBackend),
                    details: ["nospace": .bool(true)]
                )
            )
            history.record(HistoryEvent(time: 30, kind: .exit, vmid: vm, name: "exited", message: "QEMU ended"))
            #expect(history.events().map(\.name) == ["started", "BLOCK_IO_ERROR", "exited"])
            #expect(history.events(vmid: vm).map(\.time) == [20, 30])
            #expect(history.events(vmid: vm, since: 21).map(\.name) == ["exited"])
            #expect(history.events(until: 20).count == 2)
            #expect(history.events(limit: 1).map(\.name) == ["exited"])
            // A new history on the same directory (a daemon restart) reads the same events.
            let again = EventHistory(directory: directory)
            let io = try #require(again.events(vmid: vm).first)
            #expect(io.fault == Fault(.storageBackend) && io.details["nospace"] == .bool(true) && io.vmid == vm)
            history.forget(vm)
            #expect(history.events(vmid: vm).isEmpty && history.events().count == 3)
        }
    }

    @Test func aFileIsCutToItsNewestEventsWhenItHoldsTwiceItsLimit() throws {
        try withHistory(vmLimit: 5) { history, directory in
            let vm = try #require(VMID("101"))
            for time in 1...11 {
                history.record(HistoryEvent(time: Double(time), kind: .qemu, vmid: vm, name: "STOP", message: "paused"))
            }
            #expect(history.events(vmid: vm).map(\.time) == [7, 8, 9, 10, 11])
            let text = try String(contentsOfFile: directory + "/vm-101.jsonl", encoding: .utf8)
            #expect(text.split(separator: "\n").count == 5)
            #expect(history.events(limit: 100).count == 11)  // the node's own limit is higher
        }
    }
}

@Suite struct PressureStallTests {
    @Test func bothLinesAreReadAndTheSystemsCPUHasNoFullLine() throws {
        let io = try #require(
            PressureStall.parse(
                "some avg10=4.69 avg60=6.72 avg300=2.21 total=290941817\nfull avg10=1.50 avg60=2.00 avg300=0.90 total=238692100\n",
                resource: .io
            )
        )
        #expect(io.some == .init(avg10: 4.69, avg60: 6.72, avg300: 2.21, total: 290_941_817))
        #expect(io.full?.avg10 == 1.5 && io.full?.total == 238_692_100)
        let cpu = PressureStall.parse(
            "some avg10=0.10 avg60=0.00 avg300=0.00 total=5\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
            resource: .cpu
        )
        #expect(cpu?.some.avg10 == 0.1 && cpu?.full == nil)
        #expect(PressureStall.parse("garbage", resource: .memory) == nil)
    }

    @Test func thisKernelHasPressureFiles() throws {
        // Every kernel Vireo supports has PSI (CONFIG_PSI); the diagnosis relies on it.
        for resource in PressureStall.Resource.allCases {
            #expect(PressureStall.read(resource) != nil, "\(resource)")
        }
    }
}
