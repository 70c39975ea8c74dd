import Foundation
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

        init(vmid: VMID, config: VMConfig.Section) {
            self.vmid = vmid
            let parsed = config["startup"].flatMap { try? PropertyString(parsing: $0) }
            order = parsed?["order"].flatMap(Int.init)
            up = parsed?["up"].flatMap(Int.init)
            down = parsed?["down"].flatMap(Int.init)
        }

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
        for (vmid, node) in try await manager.configs.all() where node == manager.node {
            if let vmids, !vmids.contains(vmid) { continue }
            guard let (config, _) = try? await manager.configs.read(vmid) else { continue }
            guard !config.main.isTemplate, force || config.main.startsOnBoot else { continue }
            guard manager.runningPID(vmid) == nil else { continue }
            plan.append(Startup(vmid: vmid, config: config.main))
        }
        for entry in plan.sorted() {
            log("Starting VM \(entry.vmid)")
            do {
                try await manager.configs.withLock(entry.vmid) { try await runtime.start(entry.vmid, log: log) }
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
        for (vmid, node) in try await manager.configs.all() where node == manager.node {
            if let vmids, !vmids.contains(vmid) { continue }
            guard manager.runningPID(vmid) != nil, let (config, _) = try? await manager.configs.read(vmid) else {
                continue
            }
            plan.append(Startup(vmid: vmid, config: config.main))
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
