import Foundation
import Synchronization

/// As the child subreaper, vireod inherits every orphan of the QEMUs it launches: `-daemonize`
/// forks twice and its middle process exits without being waited for, and a QEMU that dies before
/// its monitor connects is never reaped by the monitor's end. A sweep reaps QEMU zombies it has
/// seen in an earlier sweep too: a launcher's own exit is reaped by whoever launched it within
/// moments, so nothing still waiting for a child loses its status to the sweep.
public final class OrphanReaper: Sendable {
    private let seen = Mutex<Set<Int>>([])

    public init() {}

    /// Reaps the QEMU zombies left since the last sweep; returns their PIDs.
    @discardableResult
    public func sweep() -> [Int] {
        let zombies = Set(Self.children().filter { Self.isQEMUZombie($0) })
        let ripe = seen.withLock { seen in
            defer { seen = zombies }
            return zombies.intersection(seen)
        }
        return ripe.sorted().filter { ProcessExit.reap($0) != nil }
    }

    /// This process's children (every thread's: any may have forked).
    static func children() -> [Int] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/self/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { Int($0) }
        }
    }

    /// State `Z` and a `qemu-system-*` command name (`/proc/PID/stat`: "PID (comm) S …").
    static func isQEMUZombie(_ pid: Int) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
        else { return false }
        let name = stat[stat.index(after: open)..<close]
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state == "Z" && name.hasPrefix("qemu-system")
    }
}
