import Foundation
import Synchronization
public import VireoCore

/// Live figures of a VM's QEMU process from `/proc`: CPU share, resident memory and the traffic of
/// its tap devices. CPU is a rate, so the last sample per process is kept; the first reading
/// averages over the process's life.
public final class VMProcessStats: Sendable {
    public struct Figures: Sendable, Equatable {
        /// Share of the VM's vCPUs in use, 0…1 (Proxmox's `cpu`).
        public var cpu: Double
        /// Resident bytes of the QEMU process.
        public var mem: Int
        /// Bytes the guest received and sent on its tap devices.
        public var netin: Int
        public var netout: Int
    }

    private struct Sample {
        var at: Double
        var ticks: Double
    }
    private let samples = Mutex<[Int: Sample]>([:])
    private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    public init() {}

    public func figures(vmid: VMID, pid: Int, cpus: Int) -> Figures {
        Figures(
            cpu: cpuShare(pid: pid, cpus: cpus),
            mem: residentBytes(pid: pid),
            netin: 0,
            netout: 0
        ).with(
            traffic: Self.tapTraffic(
                vmid: vmid,
                netDev: try? String(contentsOfFile: "/proc/\(pid)/net/dev", encoding: .utf8)
            )
        )
    }

    private func cpuShare(pid: Int, cpus: Int) -> Double {
        guard let stat = ProcessStat(pid: pid), let now = ProcessStat.systemUptime() else { return 0 }
        let ticks = Double(stat.cpuTicks)
        let previous =
            samples.withLock { samples in
                defer { samples[pid] = Sample(at: now, ticks: ticks) }
                return samples[pid]
            } ?? Sample(at: stat.startSeconds, ticks: 0)
        let elapsed = now - previous.at
        guard elapsed > 0.01 else { return 0 }
        let share = (ticks - previous.ticks) / ProcessStat.clockTicks / elapsed / Double(max(1, cpus))
        return min(1, max(0, share))
    }

    private func residentBytes(pid: Int) -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * pageSize
    }

    /// Traffic of `tap<vmid>i<n>`: what the tap receives, the guest sent (Proxmox counts the same way).
    /// `netDev` is `/proc/<QEMU pid>/net/dev`: the taps live in QEMU's network namespace (`--netns`).
    static func tapTraffic(vmid: VMID, netDev: String?) -> (netin: Int, netout: Int) {
        guard let text = netDev else {
            return (0, 0)
        }
        var netin = 0
        var netout = 0
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            guard name.hasPrefix("tap\(vmid)i"), Int(name.dropFirst("tap\(vmid)i".count)) != nil else { continue }
            let counters = line[line.index(after: colon)...].split(separator: " ").compactMap { Int($0) }
            guard counters.count >= 9 else { continue }
            netout += counters[0]  // received by the host = sent by the guest
            netin += counters[8]
        }
        return (netin, netout)
    }

    /// Forgets samples of processes that are gone.
    public func prune(keeping pids: Set<Int>) {
        samples.withLock { $0 = $0.filter { pids.contains($0.key) } }
    }
}

extension VMProcessStats.Figures {
    fileprivate func with(traffic: (netin: Int, netout: Int)) -> Self {
        var copy = self
        copy.netin = traffic.netin
        copy.netout = traffic.netout
        return copy
    }
}

/// The fields of `/proc/<pid>/stat` Vireo reads.
struct ProcessStat {
    /// State letter (`R`, `S`, `Z`, …).
    var state: Character
    /// User plus system CPU time, in clock ticks.
    var cpuTicks: Int
    /// Start time, in seconds after boot.
    var startSeconds: Double

    static let clockTicks = Double(sysconf(Int32(_SC_CLK_TCK)))

    init?(pid: Int) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        self.init(text: text)
    }

    /// Parses the text; the command name in parentheses may itself contain spaces and `)`.
    init?(text: String) {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the name: state is field 0, utime 11, stime 12, starttime 19.
        guard fields.count > 19, let state = fields[0].first, let user = Int(fields[11]), let system = Int(fields[12]),
            let start = Double(fields[19])
        else { return nil }
        self.state = state
        cpuTicks = user + system
        startSeconds = start / Self.clockTicks
    }

    /// Seconds since boot (`/proc/uptime`).
    static func systemUptime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8) else { return nil }
        return Double(text.split(separator: " ").first ?? "")
    }
}
