import Testing
import VireoCore

@testable import VireoDiagnose

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
