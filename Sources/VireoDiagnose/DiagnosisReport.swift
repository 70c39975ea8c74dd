public import Foundation
public import VireoCore

/// One layer looked at: a stable id (`storage.local.space`), where it sits, what was found, and
/// the numbers and tool output it was found from.
public struct DiagnosisCheck: Sendable {
    public enum Status: String, Sendable, Comparable {
        case ok, unknown, warn, fail

        var rank: Int {
            switch self {
            case .ok: 0
            case .unknown: 1
            case .warn: 2
            case .fail: 3
            }
        }

        public static func < (a: Status, b: Status) -> Bool { a.rank < b.rank }
    }

    public var id: String
    public var layer: Fault.Layer
    public var status: Status
    public var summary: String
    public var evidence: [String: JSON]

    public init(_ id: String, _ layer: Fault.Layer, _ status: Status, _ summary: String, evidence: [String: JSON] = [:])
    {
        self.id = id
        self.layer = layer
        self.status = status
        self.summary = summary
        self.evidence = evidence
    }

    public var fault: Fault { Fault(layer) }

    public var json: JSON {
        [
            "id": .string(id), "plane": .string(layer.plane.rawValue), "layer": .string(layer.rawValue),
            "status": .string(status.rawValue), "summary": .string(summary), "evidence": .object(evidence),
        ]
    }
}

/// A report: the verdict first, then every check. Reads only; building one changes nothing.
public struct DiagnosisReport: Sendable {
    public var subject: String
    public var node: String
    public var time: Double
    public var duration: Double = 0
    /// Produced without the daemon (`vireod diagnose --offline`).
    public var offline = false
    public var checks: [DiagnosisCheck]

    public init(subject: String, node: String, time: Double = Date().timeIntervalSince1970, checks: [DiagnosisCheck]) {
        self.subject = subject
        self.node = node
        self.time = time
        self.checks = checks
    }

    /// The check that names the cause: the worst status; among equals, the layer deepest along the
    /// seed's paths, so a full storage is named before the paused VM it caused.
    public var culprit: DiagnosisCheck? {
        let faults = checks.filter { $0.status == .fail || $0.status == .warn }
        return faults.min { a, b in
            if a.status != b.status { return a.status > b.status }
            if a.layer != b.layer { return Self.causeRank(a.layer) < Self.causeRank(b.layer) }
            // In one layer, a measurement of it (storage.x.space) before a VM's report of it (vm.events).
            return !a.id.hasPrefix("vm.") && b.id.hasPrefix("vm.")
        }
    }

    /// Causes before symptoms: a dead control plane explains everything after it; a disk or NIC
    /// explains the VM that cannot use it; the host's memory or CPU explains a struggling QEMU.
    static func causeRank(_ layer: Fault.Layer) -> Int {
        let order: [Fault.Layer] = [
            .api, .store, .cluster, .auth,
            .physicalDisk, .storageBackend, .virtualDisk,
            .physicalNIC, .vlan, .bridge, .vnic, .firewall,
            .memory, .cpu,
            .vmProcess,
        ]
        return order.firstIndex(of: layer) ?? order.count
    }

    /// `storage / storage-backend (fail): …`, or `no fault found (12 checks)`.
    public var verdictLine: String {
        guard let culprit else { return "no fault found (\(checks.count) checks)" }
        return "\(culprit.fault) (\(culprit.status.rawValue)): \(culprit.summary)"
    }

    public var json: JSON {
        let culprit = self.culprit
        var verdict: [String: JSON] = [
            "fault": .flag(culprit != nil), "status": .string(culprit?.status.rawValue ?? "ok"),
            "plane": culprit.map { .string($0.layer.plane.rawValue) } ?? .null,
            "layer": culprit.map { .string($0.layer.rawValue) } ?? .null,
            "check": culprit.map { .string($0.id) } ?? .null,
            "summary": .string(culprit?.summary ?? "no fault found"),
        ]
        verdict["line"] = .string(verdictLine)
        return [
            "subject": .string(subject), "node": .string(node), "time": .double(time), "duration": .double(duration),
            "offline": .flag(offline), "verdict": .object(verdict), "checks": .array(checks.map(\.json)),
            "text": .string(text),
        ]
    }

    /// For people: the verdict line, the symptoms it explains, then every check with the evidence of
    /// those not ok.
    public var text: String {
        var lines = [verdictLine]
        let culprit = self.culprit
        for check in checks where check.status >= .warn && check.id != culprit?.id {
            lines.append("  also \(check.fault) (\(check.status.rawValue)): \(check.summary)")
        }
        let seconds = String(format: "%.2f", duration)
        lines.append("")
        let what = subject == "node" ? "node \(node)" : "\(subject) on node \(node)"
        lines.append("\(what)\(offline ? " (vireod down: read from the host)" : "") in \(seconds) s:")
        let width = max(24, checks.map(\.id.count).max() ?? 0)
        for check in checks {
            let status = "[\(check.status.rawValue)]".padding(toLength: 9, withPad: " ", startingAt: 0)
            let id = check.id.padding(toLength: width + 2, withPad: " ", startingAt: 0)
            lines.append("  \(status)\(id)\(check.summary)")
            guard check.status != .ok, !check.evidence.isEmpty else { continue }
            for (key, value) in check.evidence.sorted(by: { $0.key < $1.key }) {
                lines.append("           \(key): \(Self.describe(value))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func describe(_ value: JSON) -> String {
        switch value {
        case .string(let text): text
        case .double(let number): String(format: "%.2f", number)
        default: value.serialized()
        }
    }
}
