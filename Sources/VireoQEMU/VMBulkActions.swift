import Foundation
import Synchronization
public import VireoCore

/// `startall` and `stopall` of a node: `onboot` VMs in `startup` order when the node comes up,
/// every running VM in reverse order when it goes down.
public struct VMBulkActions: Sendable {
    public let runtime: VMRuntime
    var manager: VMManager { runtime.manager }

    public init(runtime: VMRuntime) { self.runtime = runtime }

    /// `startup: order=N,up=S,down=S`.
    struct Startup: Comparable {
        var order: Int?
        var up: Int?
        var down: Int?
        var vmid: VMID
        var loaded: LoadedVMConfig?

        init(vmid: VMID, config: VMConfig.Section, loaded: LoadedVMConfig? = nil) {
            self.vmid = vmid
            self.loaded = loaded
            let parsed = config["startup"].flatMap { try? PropertyString(parsing: $0) }
            order = parsed?["order"].flatMap(Int.init)
            up = parsed?["up"].flatMap(Int.init)
            down = parsed?["down"].flatMap(Int.init)
        }

        static func == (a: Startup, b: Startup) -> Bool { a.vmid == b.vmid }

        /// Ordered VMs first by their order, then the rest; VMID breaks ties.
        static func < (a: Startup, b: Startup) -> Bool {
            switch (a.order, b.order) {
            case (let x?, let y?) where x != y: x < y
            case (.some, nil): true
            case (nil, .some): false
            default: a.vmid < b.vmid
            }
        }
    }

    /// Starts the VMs marked `onboot` (all listed ones with `force`) that are not running.
    /// A VM that fails to start is logged and the others still start.
    public func startAll(only vmids: Set<VMID>? = nil, force: Bool = false, log: VMRuntime.Log) async throws {
        var plan: [Startup] = []
        let (all, broken) = try await manager.configs.loadAllOnNode()
        for (vmid, reason) in broken where vmids?.contains(vmid) ?? true {
            log("WARN: VM \(vmid) not started: its config cannot be read: \(reason)")
        }
        let running = manager.runningPIDs()
        for loaded in all {
            if let vmids, !vmids.contains(loaded.vmid) { continue }
            let config = loaded.config.main
            guard !config.isTemplate, force || config.startsOnBoot, running[loaded.vmid] == nil else { continue }
            plan.append(Startup(vmid: loaded.vmid, config: config, loaded: loaded))
        }
        for entry in plan.sorted() {
            log("Starting VM \(entry.vmid)")
            do {
                try await runtime.start(entry.vmid, loaded: entry.loaded, log: log)
            } catch {
                log("Starting VM \(entry.vmid) failed: \(error)")
                continue
            }
            if let up = entry.up, up > 0 {
                log("Waiting for \(up) seconds (startup delay)")
                try await Task.sleep(for: .seconds(up))
            }
        }
    }

    /// Shuts every running VM down in reverse startup order; `forceStop` stops those that do not
    /// power off within their `down` time (or `timeout`).
    public func stopAll(
        only vmids: Set<VMID>? = nil,
        timeout: Int = 180,
        forceStop: Bool = true,
        log: VMRuntime.Log
    ) async throws {
        var plan: [Startup] = []
        let (all, broken) = try await manager.configs.loadAllOnNode()
        let running = manager.runningPIDs()
        for (vmid, reason) in broken where running[vmid] != nil && (vmids?.contains(vmid) ?? true) {
            // Still stopped: a running VM whose file is broken must not be left running by a node shutdown.
            log("WARN: VM \(vmid): config cannot be read (\(reason)); stopping it with the default timeout")
            plan.append(Startup(vmid: vmid, config: VMConfig.Section()))
        }
        for loaded in all where running[loaded.vmid] != nil {
            if let vmids, !vmids.contains(loaded.vmid) { continue }
            plan.append(Startup(vmid: loaded.vmid, config: loaded.config.main, loaded: loaded))
        }
        for entry in plan.sorted().reversed() {
            log("Stopping VM \(entry.vmid) (timeout = \(entry.down ?? timeout) seconds)")
            do {
                try await manager.configs.withLock(entry.vmid) {
                    try await runtime.shutdown(
                        entry.vmid,
                        timeout: .seconds(entry.down ?? timeout),
                        forceStop: forceStop,
                        log: log
                    )
                }
            } catch {
                log("Stopping VM \(entry.vmid) failed: \(error)")
            }
        }
    }

    /// What a bulk action does to one VM.
    public enum Action: Sendable {
        case start
        case shutdown(timeout: Int, forceStop: Bool)
        case suspend
    }

    /// `/cluster/bulk-action/guest/*`: `action` on the listed VMs of this node (all when nil), up
    /// to `maxWorkers` at once, in startup order (shutdowns in reverse). VMs already in the
    /// wanted state are skipped; one VM's failure is logged and the others go on. Throws when any failed.
    public func run(
        _ action: Action,
        only vmids: Set<VMID>?,
        maxWorkers: Int,
        log: @escaping VMRuntime.Log
    )
        async throws
    {
        let (all, _) = try await manager.configs.loadAllOnNode()
        if let vmids {
            let known = Set(all.map(\.vmid))
            for vmid in vmids.sorted() where !known.contains(vmid) {
                log("VM \(vmid) does not exist on this node - skipped")
            }
        }
        let running = manager.runningPIDs()
        var plan = all.filter { vmids?.contains($0.vmid) ?? true }.filter { loaded in
            switch action {
            case .start: running[loaded.vmid] == nil && !loaded.config.main.isTemplate
            case .shutdown, .suspend: running[loaded.vmid] != nil
            }
        }.map { Startup(vmid: $0.vmid, config: $0.config.main, loaded: $0) }.sorted()
        if case .shutdown = action { plan.reverse() }
        let runtime = self.runtime
        let failures = LockedCounter()
        for batch in stride(from: 0, to: plan.count, by: max(maxWorkers, 1)).map({
            Array(plan[$0..<min($0 + max(maxWorkers, 1), plan.count)])
        }) {
            await withTaskGroup(of: Void.self) { group in
                for entry in batch {
                    group.addTask {
                        do {
                            switch action {
                            case .start:
                                log("Starting VM \(entry.vmid)")
                                try await runtime.start(entry.vmid, loaded: entry.loaded, log: log)
                            case .shutdown(let timeout, let forceStop):
                                log("Shutting down VM \(entry.vmid)")
                                try await runtime.manager.configs.withLock(entry.vmid) {
                                    try await runtime.shutdown(
                                        entry.vmid,
                                        timeout: .seconds(entry.down ?? timeout),
                                        forceStop: forceStop,
                                        log: log
                                    )
                                }
                            case .suspend:
                                log("Suspending VM \(entry.vmid)")
                                try await runtime.suspend(entry.vmid)
                            }
                        } catch {
                            failures.increment()
                            log("VM \(entry.vmid) failed: \(error)")
                        }
                    }
                }
            }
        }
        let failed = failures.value
        if failed > 0 { throw VireoError(.internalError, "\(failed) of \(plan.count) guests failed") }
    }
}

/// A count shared by concurrent workers.
final class LockedCounter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// Tells the first vireod start after a node boot from later restarts, by the kernel's boot ID
/// remembered in the run directory: `onboot` VMs start with the node, not with every daemon restart.
public enum NodeBoot {
    public static func isFirstStart(runDirectory: String) -> Bool {
        guard let bootID = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else {
            return false
        }
        let marker = runDirectory + "/boot-id"
        let seen = try? String(contentsOfFile: marker, encoding: .utf8)
        guard seen != bootID else { return false }
        try? FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        try? bootID.write(toFile: marker, atomically: true, encoding: .utf8)
        return true
    }
}
