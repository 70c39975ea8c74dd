import Glibc
import QMP
import Testing
import VireoCore
import VireoHost
import VireoTestSupport

@testable import VireoQEMU

@Suite struct VMEventHistoryTests {
    private let vm: VMID = 100

    @Test func aDiskFullIOErrorIsTheBackendsAndNamesTheDrive() throws {
        let event = QMPEvent(
            name: "BLOCK_IO_ERROR",
            data: [
                "device": "drive-virtio0", "node-name": "#block123", "operation": "write", "action": "stop",
                "nospace": true, "reason": "No space left on device",
            ],
            timestamp: 1_800_000_000.5
        )
        let recorded = try #require(VMEventWatcher.historyEvent(event, vmid: vm))
        #expect(recorded.message == "write error on drive-virtio0: No space left on device (action: stop)")
        #expect(recorded.fault == Fault(.storageBackend) && recorded.time == 1_800_000_000.5)
        #expect(recorded.details["nospace"] == .bool(true) && recorded.details["operation"] == .string("write"))
        let eio = QMPEvent(
            name: "BLOCK_IO_ERROR",
            data: [
                "device": "drive-scsi0", "operation": "read", "action": "report",
                "nospace": false, "reason": "Input/output error",
            ]
        )
        #expect(VMEventWatcher.historyEvent(eio, vmid: vm)?.fault == Fault(.physicalDisk))
    }

    @Test func runStateEventsAreKeptAndChatterIsNot() {
        let names = [
            "STOP", "RESUME", "SHUTDOWN", "RESET", "GUEST_PANICKED", "POWERDOWN", "JOB_STATUS_CHANGE",
            "DEVICE_DELETED",
        ]
        let kept = names.filter { VMEventWatcher.historyEvent(QMPEvent(name: $0, timestamp: 1), vmid: vm) != nil }
        #expect(kept == ["STOP", "RESUME", "SHUTDOWN", "RESET", "GUEST_PANICKED", "POWERDOWN"])
        let panic = VMEventWatcher.historyEvent(QMPEvent(name: "GUEST_PANICKED", data: ["action": "pause"]), vmid: vm)
        #expect(panic?.fault == Fault(.vmProcess) && panic?.message == "guest panicked (pause)")
        let shutdown = VMEventWatcher.historyEvent(
            QMPEvent(name: "SHUTDOWN", data: ["guest": true, "reason": "guest-shutdown"]),
            vmid: vm
        )
        #expect(shutdown?.message == "shutdown (guest-shutdown)" && shutdown?.fault == nil)
    }

    @Test func theWaitStatusSaysExitCodeOrSignal() {
        #expect(ProcessExit.decode(1 << 8) == .exited(1))
        #expect(ProcessExit.decode(0) == .exited(0))
        #expect(ProcessExit.decode(SIGKILL) == .signaled(SIGKILL))
        #expect(ProcessExit.decode(SIGSEGV | 0x80) == .signaled(SIGSEGV))  // with a core dump
        #expect(ProcessExit.signalName(SIGKILL) == "SIGKILL" && ProcessExit.signalName(64) == "signal 64")
    }
}
