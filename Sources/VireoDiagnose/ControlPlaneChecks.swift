import Foundation
import VireoAccess
import VireoCore
import VireoHost
import VireoQEMU
import VireoStore

/// The control plane: the daemon that answers the API, the store it keeps the configs in, and the
/// authentication in front of it.
struct ControlPlaneChecks {
    let context: DiagnosisContext

    func all() async -> [DiagnosisCheck] {
        [daemon(), await store(), auth()]
    }

    func daemon() -> DiagnosisCheck {
        switch context.daemon {
        case .online(let pid, let startedAt):
            let uptime = Int(Date().timeIntervalSince1970 - startedAt)
            return DiagnosisCheck(
                "control.daemon",
                .api,
                .ok,
                "vireod answers (PID \(pid), up \(Self.duration(uptime)))",
                evidence: ["pid": .int(pid), "uptime": .int(uptime)]
            )
        case .offline(let socket, let error, let lastSeen):
            var summary = "vireod is not running: \(socket): \(error)"
            var evidence: [String: JSON] = [
                "socket": .string(socket), "error": .string(error), "last_seen": lastSeen.map { .double($0) } ?? .null,
            ]
            if let lastSeen {
                let ago = Int(Date().timeIntervalSince1970 - lastSeen)
                summary += "; last seen working \(Self.timestamp(lastSeen)) (\(Self.duration(ago)) ago)"
                evidence["down_for_seconds"] = .int(ago)
            }
            return DiagnosisCheck("control.daemon", .api, .fail, summary, evidence: evidence)
        }
    }

    func store() async -> DiagnosisCheck {
        let path = context.storePath
        let probe = await BlockingPool.shared.run { SQLiteStoreProbe.probe(path: path) }
        var evidence: [String: JSON] = ["path": .string(path)]
        if let files = probe.files { evidence["files"] = .int(files) }
        if let holder = probe.writeLockHolder {
            let command = Self.commandLine(of: holder)
            // POSIX locks keep no time: how long the holder has run bounds how long it has held it.
            let running = VMManager.uptime(pid: holder)
            evidence["holder_pid"] = .int(holder)
            evidence["holder"] = .string(command)
            evidence["holder_running_seconds"] = .int(running)
            let age = ", running for \(Self.duration(running))"
            return DiagnosisCheck(
                "control.store",
                .store,
                .fail,
                "the config store is locked for writing by PID \(holder) (\(command)\(age)): changes wait, then fail",
                evidence: evidence
            )
        }
        guard probe.readable else {
            evidence["error"] = .string(probe.error ?? "unknown error")
            return DiagnosisCheck(
                "control.store",
                .store,
                .fail,
                "the config store cannot be read: \(probe.error ?? "unknown error")",
                evidence: evidence
            )
        }
        return DiagnosisCheck(
            "control.store",
            .store,
            .ok,
            "the config store reads (\(probe.files ?? 0) files) and nobody else holds its write lock",
            evidence: evidence
        )
    }

    /// Refused credentials of the last 10 minutes, by reason. A clock that is off shows as tickets
    /// from the future; expired tickets and disabled accounts each say so.
    func auth() -> DiagnosisCheck {
        guard let log = context.authFailures else {
            return DiagnosisCheck("control.auth", .auth, .ok, "no authentication failures recorded (vireod is down)")
        }
        let recent = log.recent(within: 600)
        guard !recent.isEmpty else {
            return DiagnosisCheck("control.auth", .auth, .ok, "no authentication failures in the last 10 minutes")
        }
        var groups: [String: (reason: AuthFailureLog.Reason, user: String, count: Int, last: Double, seconds: Int?)] =
            [:]
        for entry in recent {
            let key = entry.reason.rawValue + " " + entry.user
            var group = groups[key] ?? (entry.reason, entry.user, 0, 0, nil)
            group.count += 1
            group.last = max(group.last, entry.time)
            group.seconds = entry.seconds ?? group.seconds
            groups[key] = group
        }
        let sorted = groups.values.sorted { ($0.count, $0.last) > ($1.count, $1.last) }
        let failures: [JSON] = sorted.map { group in
            var object: [String: JSON] = [
                "reason": .string(group.reason.rawValue), "user": .string(group.user), "count": .int(group.count),
                "last": .double(group.last),
            ]
            if let seconds = group.seconds { object["seconds"] = .int(seconds) }
            return .object(object)
        }
        let first = sorted[0]
        let summary: String =
            switch first.reason {
            case .futureTicket:
                "tickets from the future (\(first.seconds.map(Self.duration) ?? "?") ahead of this node's clock): the node's clock is off, or the issuing node's"
            case .expiredTicket:
                "expired tickets refused (\(first.user), \(first.seconds.map(Self.duration) ?? "?") old; they last 2h): the client must log in again"
            case .disabledUser: "logins of a disabled or expired account refused (\(first.user))"
            case .unknownRealm: "logins to a realm that does not exist refused (\(first.user))"
            case .badPassword, .unknownUser: "wrong user name or password (\(first.user))"
            case .badToken, .expiredToken: "API token refused (\(first.user): \(first.reason.rawValue))"
            case .badSignature, .malformedTicket:
                "tickets not signed by this cluster refused (\(first.user)): a ticket from another cluster or a changed key"
            }
        let total = recent.count
        return DiagnosisCheck(
            "control.auth",
            .auth,
            .warn,
            "\(total) authentication failure\(total == 1 ? "" : "s") in 10 minutes: \(summary)",
            evidence: ["failures": .array(failures)]
        )
    }

    static func commandLine(of pid: Int) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else {
            return "?"
        }
        let text = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        // One line, and short: it goes into the verdict.
        let line = String(text.map { $0.isNewline || $0 == "\t" ? " " : $0 })
        return line.count > 120 ? String(line.prefix(117)) + "..." : line
    }

    static func duration(_ seconds: Int) -> String {
        if seconds < 120 { return "\(seconds)s" }
        if seconds < 7200 { return "\(seconds / 60)m\(String(format: "%02d", seconds % 60))s" }
        if seconds < 172_800 { return "\(seconds / 3600)h\(String(format: "%02d", seconds % 3600 / 60))m" }
        return "\(seconds / 86400)d"
    }

    static func timestamp(_ time: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: time))
    }
}

/// The host under the guests: memory and CPU.
struct HostChecks {
    let context: DiagnosisContext

    func all() -> [DiagnosisCheck] { [memory(), cpu()] }

    func memory() -> DiagnosisCheck {
        let text = (try? String(contentsOfFile: context.meminfoPath, encoding: .utf8)) ?? ""
        var kib: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            kib[String(parts[0])] = Int(parts[1].split(separator: " ").first ?? "")
        }
        guard let total = kib["MemTotal"], total > 0, let available = kib["MemAvailable"] else {
            return DiagnosisCheck("host.memory", .memory, .unknown, "cannot read \(context.meminfoPath)")
        }
        let percent = Double(available) * 100 / Double(total)
        let swapTotal = kib["SwapTotal"] ?? 0
        let swapUsed = swapTotal - (kib["SwapFree"] ?? swapTotal)
        let pressure = PressureStall.read(.memory, directory: context.pressureDirectory)
        var evidence: [String: JSON] = [
            "total": .int(total * 1024), "available": .int(available * 1024),
            "available_percent": .double((percent * 10).rounded() / 10), "swap_used": .int(swapUsed * 1024),
        ]
        if let pressure { evidence["psi_memory_some_avg10"] = .double(pressure.some.avg10) }
        let stalled = pressure?.full?.avg10 ?? 0
        let status: DiagnosisCheck.Status =
            percent < 5 || stalled >= 20 ? .fail : percent < 10 || stalled >= 5 ? .warn : .ok
        let summary =
            status == .ok
            ? String(format: "%.0f%% of memory available", percent)
            : String(
                format: "memory is short: %.1f%% available, tasks stalled %.1f%% of the last 10 s",
                percent,
                stalled
            )
        return DiagnosisCheck("host.memory", .memory, status, summary, evidence: evidence)
    }

    /// CPU contention as PSI shows it over a minute: guests waiting for a CPU. A short burst (a
    /// guest booting under TCG) is no fault.
    func cpu() -> DiagnosisCheck {
        guard let pressure = PressureStall.read(.cpu, directory: context.pressureDirectory) else {
            return DiagnosisCheck("host.cpu", .cpu, .unknown, "no CPU pressure information (PSI) in this kernel")
        }
        let evidence: [String: JSON] = [
            "psi_cpu_some_avg10": .double(pressure.some.avg10), "psi_cpu_some_avg60": .double(pressure.some.avg60),
            "cpus": .int(ProcessInfo.processInfo.activeProcessorCount),
        ]
        let stalled = pressure.some.avg60
        let status: DiagnosisCheck.Status = stalled >= 90 ? .fail : stalled >= 70 ? .warn : .ok
        let summary =
            status == .ok
            ? String(format: "CPU: tasks waited for a CPU %.1f%% of the last minute", stalled)
            : String(format: "CPU is overcommitted: tasks waited for a CPU %.0f%% of the last minute", stalled)
        return DiagnosisCheck("host.cpu", .cpu, status, summary, evidence: evidence)
    }
}
