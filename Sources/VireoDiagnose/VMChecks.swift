import Foundation
import QMP
import VireoCore
import VireoHost
import VireoMetrics
import VireoQEMU

/// The data plane of one VM: its config, its QEMU process, QEMU's monitor, the run state and the
/// events QEMU and Vireo recorded.
struct VMChecks {
    let context: DiagnosisContext
    let vmid: VMID

    /// What the VM checks learned that the disk and network checks build on.
    struct Findings {
        var config: VMConfig.Section?
        var pid: Int?
        var qmpStatus: String?
        var drives: [QMPBlockStats] = []
    }

    func all() async -> (checks: [DiagnosisCheck], findings: Findings) {
        var findings = Findings()
        var checks: [DiagnosisCheck] = []
        do {
            let (config, _) = try await context.vms.configs.read(vmid)
            findings.config = config.main
            checks.append(DiagnosisCheck("vm.config", .store, .ok, "config of VM \(vmid) reads from the store"))
        } catch let error as VireoError where error.code == .notFound {
            checks.append(DiagnosisCheck("vm.config", .api, .fail, "VM \(vmid) does not exist on this node"))
            return (checks, findings)
        } catch {
            checks.append(
                DiagnosisCheck(
                    "vm.config",
                    .store,
                    .fail,
                    "config of VM \(vmid) cannot be read: \(error)",
                    evidence: ["error": .string("\(error)")]
                )
            )
        }
        let events = context.events?.events(vmid: vmid, limit: 8) ?? []
        findings.pid = context.vms.runningPID(vmid)
        checks.append(process(pid: findings.pid, events: events))
        if findings.pid != nil {
            let probe = await Deadline.run(within: .seconds(2)) { [context, vmid] in
                await context.runtime.ioStatus(vmid, timeout: .seconds(2))
            }
            findings.qmpStatus = probe??.status
            findings.drives = probe??.drives ?? []
            checks.append(qmp(answered: findings.qmpStatus != nil))
            if let status = findings.qmpStatus { checks.append(runState(status, events: events)) }
        }
        checks.append(self.events(events, qmpStatus: findings.qmpStatus))
        return (checks, findings)
    }

    func process(pid: Int?, events: [HistoryEvent]) -> DiagnosisCheck {
        let pidFile = "\(context.vms.runDirectory)/\(vmid).pid"
        let recorded = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        var evidence: [String: JSON] = [
            "pid": pid.map { .int($0) } ?? recorded.map { .int($0) } ?? .null, "alive": .flag(pid != nil),
            "last_events": .array(events.suffix(5).map(\.json)),
        ]
        if let pid {
            let uptime = VMManager.uptime(pid: pid)
            evidence["uptime"] = .int(uptime)
            return DiagnosisCheck(
                "vm.process",
                .vmProcess,
                .ok,
                "QEMU of VM \(vmid) runs (PID \(pid), up \(ControlPlaneChecks.duration(uptime)))",
                evidence: evidence
            )
        }
        // Not running: was that Vireo's doing (a stop, the guest's power-off) or did QEMU die?
        let lastExit = events.last { $0.kind == .exit }
        let lastStop = events.last { $0.kind == .exit && $0.fault == nil }
        if let lastExit, lastExit.fault != nil, lastExit.time >= (lastStop?.time ?? 0) {
            return DiagnosisCheck(
                "vm.process",
                .vmProcess,
                .fail,
                "QEMU of VM \(vmid) is gone: \(lastExit.message) at \(ControlPlaneChecks.timestamp(lastExit.time))",
                evidence: evidence
            )
        }
        if recorded != nil {
            return DiagnosisCheck(
                "vm.process",
                .vmProcess,
                .fail,
                "QEMU of VM \(vmid) is gone but its pidfile remains: it was not stopped by Vireo",
                evidence: evidence
            )
        }
        return DiagnosisCheck("vm.process", .vmProcess, .ok, "VM \(vmid) is stopped", evidence: evidence)
    }

    func qmp(answered: Bool) -> DiagnosisCheck {
        answered
            ? DiagnosisCheck("vm.qmp", .vmProcess, .ok, "QEMU answers on its monitor (QMP)")
            : DiagnosisCheck(
                "vm.qmp",
                .vmProcess,
                .fail,
                "QEMU runs but does not answer on its monitor within 2 s: hung, or its socket is gone"
            )
    }

    func runState(_ status: String, events: [HistoryEvent]) -> DiagnosisCheck {
        let evidence: [String: JSON] = ["qmpstatus": .string(status)]
        switch status {
        case "running":
            return DiagnosisCheck("vm.runstate", .vmProcess, .ok, "the guest runs", evidence: evidence)
        case "io-error":
            let error = events.last { $0.name == QMPEvent.Name.blockIOError }
            let cause = error.map { ": \($0.message)" } ?? ""
            return DiagnosisCheck(
                "vm.runstate",
                .vmProcess,
                .fail,
                "VM \(vmid) is paused on a disk error (io-error)\(cause)",
                evidence: evidence
            )
        case "guest-panicked", "internal-error":
            return DiagnosisCheck(
                "vm.runstate",
                .vmProcess,
                .fail,
                "VM \(vmid) has stopped: \(status)",
                evidence: evidence
            )
        case "paused", "suspended":
            return DiagnosisCheck("vm.runstate", .vmProcess, .warn, "VM \(vmid) is paused", evidence: evidence)
        default:
            return DiagnosisCheck("vm.runstate", .vmProcess, .warn, "VM \(vmid) is \(status)", evidence: evidence)
        }
    }

    /// The recent history, as evidence; while the VM is stuck on a disk error it names that
    /// error's layer (a full backend, or a failing disk).
    func events(_ events: [HistoryEvent], qmpStatus: String?) -> DiagnosisCheck {
        let evidence: [String: JSON] = ["events": .array(events.map(\.json))]
        if qmpStatus == "io-error", let error = events.last(where: { $0.name == QMPEvent.Name.blockIOError }) {
            return DiagnosisCheck(
                "vm.events",
                error.fault?.layer ?? .storageBackend,
                .fail,
                "QEMU reported: \(error.message)",
                evidence: evidence
            )
        }
        let hour = Date().timeIntervalSince1970 - 3600
        let recent = events.filter { $0.time >= hour }
        return DiagnosisCheck(
            "vm.events",
            .vmProcess,
            .ok,
            recent.isEmpty
                ? "no events in the last hour"
                : "\(recent.count) event\(recent.count == 1 ? "" : "s") in the last hour, the last: \(recent.last?.message ?? "")",
            evidence: evidence
        )
    }
}
