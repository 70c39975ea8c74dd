import Testing
import VireoCore

@testable import VireoDiagnose
@testable import VireoStore

@Suite struct DiagnosisReportTests {
    @Test func theVerdictNamesTheCauseBeforeTheSymptom() {
        let report = DiagnosisReport(
            subject: "vm 100",
            node: "pve1",
            checks: [
                DiagnosisCheck("control.daemon", .api, .ok, "vireod answers"),
                DiagnosisCheck("vm.runstate", .vmProcess, .fail, "VM 100 is paused: io-error"),
                DiagnosisCheck("storage.tiny.space", .storageBackend, .fail, "storage 'tiny' is 99% full"),
                DiagnosisCheck("host.cpu", .cpu, .warn, "CPU is overcommitted"),
            ]
        )
        #expect(report.culprit?.id == "storage.tiny.space")
        #expect(report.verdictLine == "storage / storage-backend (fail): storage 'tiny' is 99% full")
        let lines = report.text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "storage / storage-backend (fail): storage 'tiny' is 99% full")
        #expect(lines[1] == "  also data / vm-process (fail): VM 100 is paused: io-error")
        #expect(report.json["verdict"]?["layer"] == .string("storage-backend"))
        #expect(report.json["verdict"]?["fault"] == .int(1))
    }

    @Test func aFailOutranksAWarningAndAHealthyReportSaysSo() {
        let warned = DiagnosisReport(
            subject: "node",
            node: "pve1",
            checks: [
                DiagnosisCheck("network.vmbr1.bridge", .bridge, .warn, "no uplink"),
                DiagnosisCheck("vm.process", .vmProcess, .fail, "QEMU was killed"),
            ]
        )
        #expect(warned.culprit?.id == "vm.process")
        let healthy = DiagnosisReport(
            subject: "node",
            node: "pve1",
            checks: [DiagnosisCheck("control.daemon", .api, .ok, "fine"), DiagnosisCheck("x", .cpu, .unknown, "?")]
        )
        #expect(healthy.culprit == nil && healthy.verdictLine == "no fault found (2 checks)")
        #expect(healthy.json["verdict"]?["fault"] == .int(0) && healthy.json["verdict"]?["plane"] == .null)
    }

    @Test func aDeadControlPlaneExplainsEverythingElse() {
        let report = DiagnosisReport(
            subject: "vm 100",
            node: "pve1",
            checks: [
                DiagnosisCheck("physical-disk.io", .physicalDisk, .fail, "disk saturated"),
                DiagnosisCheck("control.daemon", .api, .fail, "vireod is not running"),
            ]
        )
        #expect(report.culprit?.id == "control.daemon")
    }
}

@Suite struct StoreLockProbeTests {
    static let locks = """
        1: POSIX  ADVISORY  READ 4381 fe:00:16442463 1073741826 1073742335
        2: POSIX  ADVISORY  WRITE 4984 fe:00:16441874 120 120
        2: -> POSIX  ADVISORY  WRITE 5000 fe:00:16441874 120 120
        3: POSIX  ADVISORY  READ 4984 fe:00:16441874 128 128
        4: OFDLCK ADVISORY  READ -1 fe:00:16335309 100 100
        """

    @Test func theWriteLockHolderIsFoundByDeviceInodeAndByte() {
        let holder = SQLiteStoreProbe.holder(
            locks: Self.locks,
            device: (0xfe, 0),
            inode: 16_441_874,
            byte: 120,
            excluding: 1
        )
        #expect(holder == 4984)
        // The daemon's own lock is no conflict, another file is not this one, a read lock is no writer.
        #expect(
            SQLiteStoreProbe.holder(locks: Self.locks, device: (0xfe, 0), inode: 16_441_874, byte: 120, excluding: 4984)
                == nil
        )
        #expect(SQLiteStoreProbe.holder(locks: Self.locks, device: (0xfe, 0), inode: 1, byte: 120, excluding: 1) == nil)
        #expect(
            SQLiteStoreProbe.holder(locks: Self.locks, device: (0xfe, 0), inode: 16_441_874, byte: 128, excluding: 1)
                == nil
        )
    }
}
