import Foundation
public import Logging
public import QMP
import Synchronization
import VireoCore
public import VireoHost
public import VireoQEMU
public import VireoStorage

/// Proxmox's pvestatd in vireod: every `interval` it samples the node, each running VM and each
/// storage, keeps the snapshot for `/metrics` and the diagnosis, and adds it to the RRD history.
/// It runs on its own task; QEMU that does not answer within a second is skipped for that cycle,
/// and the files are written off the cooperative threads, so a cycle never holds up the API.
public final class MetricsSampler: Sendable {
    public let node: String
    let vms: VMManager
    let runtime: VMRuntime
    let storage: StorageManager
    let host: NodeHost
    public let database: RRDDatabase?
    let logger: Logger
    public let interval: Duration

    private let state = Mutex<(latest: MetricsSnapshot?, drives: [String: QMPBlockStats], driveTime: Double)>(
        (nil, [:], 0)
    )

    public init(
        node: String,
        vms: VMManager,
        runtime: VMRuntime,
        storage: StorageManager,
        host: NodeHost,
        database: RRDDatabase?,
        logger: Logger,
        interval: Duration = .seconds(10)
    ) {
        self.node = node
        self.vms = vms
        self.runtime = runtime
        self.storage = storage
        self.host = host
        self.database = database
        self.logger = logger
        self.interval = interval
    }

    /// The last cycle's snapshot; nil before the first one.
    public var latest: MetricsSnapshot? { state.withLock { $0.latest } }

    /// Samples until cancelled, on the interval's boundaries.
    public func run() async {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        while !Task.isCancelled {
            _ = await cycle()
            let now = Date().timeIntervalSince1970
            let next = (now / seconds).rounded(.down) * seconds + seconds
            try? await Task.sleep(for: .milliseconds(Int((next - now) * 1000) + 5))
        }
    }

    /// One sampling cycle: reads everything, records it, and returns it.
    @discardableResult
    public func cycle() async -> MetricsSnapshot {
        let started = Date().timeIntervalSince1970
        let clock = ContinuousClock.now
        async let nodeFigures = nodeSample()
        async let storageFigures = storageSamples()
        let vmFigures = await vmSamples(at: started)
        var snapshot = MetricsSnapshot(
            time: started,
            node: await nodeFigures,
            vms: vmFigures,
            storages: await storageFigures,
            duration: 0
        )
        let elapsed = ContinuousClock.now - clock
        snapshot.duration = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        state.withLock { $0.latest = snapshot }
        // A chatty guest's serial log stays bounded (it is the consoles' backlog).
        let serialLogs = snapshot.vms.filter { $0.status == "running" }.flatMap { vm in
            (0...3).map { VMConsoles.serialLog(runDirectory: vms.runDirectory, vmid: vm.vmid, index: $0) }
        }
        await BlockingPool.shared.run { for path in serialLogs { VMConsoles.trimSerialLog(path: path) } }
        if let database {
            let (node, recorded) = (self.node, snapshot)
            await BlockingPool.shared.run { [logger] in
                do {
                    try Self.record(recorded, node: node, into: database)
                } catch {
                    logger.warning("metrics history not written: \(error)")
                }
            }
        }
        return snapshot
    }

    // MARK: - Node

    private func nodeSample() async -> MetricsSnapshot.Node {
        let status = NodeStatus.current(maxAge: .milliseconds(500))
        var node = MetricsSnapshot.Node()
        node.cpu = status.cpu
        node.iowait = status.wait
        node.loadavg = Double(status.loadavg.first ?? "0") ?? 0
        node.maxcpu = status.cpuCount
        node.memtotal = status.memoryTotal
        node.memused = status.memoryUsed
        node.memfree = status.memoryFree
        node.swaptotal = status.swapTotal
        node.swapused = status.swapUsed
        node.roottotal = status.rootTotal
        node.rootused = status.rootUsed
        node.uptime = status.uptime
        for resource in PressureStall.Resource.allCases {
            node.pressure[resource] = PressureStall.read(resource)
        }
        if let traffic = try? await NetworkCounters.physicalTraffic(host) {
            node.netin = traffic.received
            node.netout = traffic.sent
        }
        return node
    }

    // MARK: - Storage

    private func storageSamples() async -> [MetricsSnapshot.Storage] {
        guard let definitions = try? await storage.definitions() else { return [] }
        var result: [MetricsSnapshot.Storage] = []
        for definition in definitions where definition.isEnabled(on: node) {
            let status = await storage.status(of: definition)
            result.append(
                .init(
                    id: definition.id,
                    type: definition.type,
                    total: status.total,
                    used: status.used,
                    available: status.available,
                    active: status.active,
                    shared: definition.shared
                )
            )
        }
        return result
    }

    // MARK: - VMs

    private func vmSamples(at time: Double) async -> [MetricsSnapshot.VM] {
        let running = vms.runningPIDs()
        guard let configs = try? await vms.configs.readAllOnNode() else { return [] }
        let probes = await withTaskGroup(of: (VMID, (status: String, drives: [QMPBlockStats])?).self) { group in
            for (vmid, _) in running {
                group.addTask { [runtime] in
                    (vmid, await Deadline.run(within: .seconds(1)) { await runtime.ioStatus(vmid) } ?? nil)
                }
            }
            var probes: [VMID: (status: String, drives: [QMPBlockStats])] = [:]
            for await (vmid, probe) in group { probes[vmid] = probe }
            return probes
        }
        let (previous, previousTime) = state.withLock { ($0.drives, $0.driveTime) }
        var seen: [String: QMPBlockStats] = [:]
        var result: [MetricsSnapshot.VM] = []
        for (vmid, config) in configs {
            let main = config.main
            var vm = MetricsSnapshot.VM(vmid: vmid, name: main.name ?? "VM \(vmid)", status: "stopped")
            vm.maxcpu = main.cpuCount
            vm.maxmem = main.memoryMiB * 1024 * 1024
            vm.maxdisk = main.bootDiskBytes
            if let pid = running[vmid] {
                vm.status = "running"
                let figures = vms.stats.figures(vmid: vmid, pid: pid, cpus: main.cpuCount)
                vm.cpu = figures.cpu
                vm.mem = figures.mem
                vm.netin = figures.netin
                vm.netout = figures.netout
                vm.uptime = VMManager.uptime(pid: pid)
                if let probe = probes[vmid] {
                    vm.qmpStatus = probe.status
                    vm.drives = probe.drives.map { stats in
                        let key = "\(vmid)/\(Self.driveName(stats))"
                        seen[key] = stats
                        return Self.drive(stats, previous: previous[key], seconds: time - previousTime)
                    }
                }
            }
            result.append(vm)
        }
        state.withLock {
            $0.drives = seen
            $0.driveTime = time
        }
        return result.sorted { $0.vmid.value < $1.vmid.value }
    }

    /// `drive-scsi0` → `scsi0`; a `-blockdev` node by its name.
    public static func driveName(_ stats: QMPBlockStats) -> String {
        let device = stats.device ?? ""
        if device.hasPrefix("drive-") { return String(device.dropFirst(6)) }
        return device.isEmpty ? (stats.nodeName ?? stats.qdev ?? "?") : device
    }

    static func drive(_ stats: QMPBlockStats, previous: QMPBlockStats?, seconds: Double) -> MetricsSnapshot.Drive {
        var drive = MetricsSnapshot.Drive(
            name: driveName(stats),
            readBytes: stats.readBytes,
            writtenBytes: stats.writtenBytes,
            readOperations: stats.readOperations,
            writeOperations: stats.writeOperations,
            failedOperations: stats.failedReadOperations + stats.failedWriteOperations
        )
        // Counters restart with QEMU: a smaller value is a new process, not a negative rate.
        guard let previous, seconds > 0, stats.readBytes >= previous.readBytes,
            stats.writtenBytes >= previous.writtenBytes
        else { return drive }
        drive.readBytesRate = Double(stats.readBytes - previous.readBytes) / seconds
        drive.writeBytesRate = Double(stats.writtenBytes - previous.writtenBytes) / seconds
        let reads = stats.readOperations - previous.readOperations
        let writes = stats.writeOperations - previous.writeOperations
        let flushes = stats.flushOperations - previous.flushOperations
        drive.iops = Double(reads + writes) / seconds
        func latency(_ time: Int, _ previousTime: Int, _ count: Int) -> Double? {
            count > 0 ? Double(time - previousTime) / Double(count) / 1e6 : nil
        }
        drive.readLatency = latency(stats.readTotalTimeNs, previous.readTotalTimeNs, reads)
        drive.writeLatency = latency(stats.writeTotalTimeNs, previous.writeTotalTimeNs, writes)
        drive.flushLatency = latency(stats.flushTotalTimeNs, previous.flushTotalTimeNs, flushes)
        return drive
    }

    // MARK: - History

    static func record(_ snapshot: MetricsSnapshot, node: String, into database: RRDDatabase) throws {
        let time = Int(snapshot.time)
        let n = snapshot.node
        func pressure(_ resource: PressureStall.Resource, full: Bool) -> Double? {
            guard let stall = n.pressure[resource] else { return nil }
            return full ? stall.full?.avg10 : stall.some.avg10
        }
        try database.update(
            .node,
            node,
            time: time,
            values: [
                n.loadavg, Double(n.maxcpu), n.cpu, n.iowait, Double(n.memtotal), Double(n.memused),
                Double(n.swaptotal), Double(n.swapused), Double(n.roottotal), Double(n.rootused), Double(n.netin),
                Double(n.netout), Double(n.memfree), nil, pressure(.cpu, full: false), pressure(.io, full: false),
                pressure(.io, full: true), pressure(.memory, full: false), pressure(.memory, full: true),
            ]
        )
        for vm in snapshot.vms {
            let running = vm.status == "running"
            // A stopped VM has no usage figures: unknown, as Proxmox records them.
            func live(_ value: Double) -> Double? { running ? value : nil }
            try database.update(
                .vm,
                "\(vm.vmid)",
                time: time,
                values: [
                    Double(vm.maxcpu), live(vm.cpu), Double(vm.maxmem), live(Double(vm.mem)), Double(vm.maxdisk), 0,
                    live(Double(vm.netin)), live(Double(vm.netout)), live(Double(vm.diskread)),
                    live(Double(vm.diskwrite)), live(Double(vm.mem)), nil, nil, nil, nil, nil, nil,
                ]
            )
        }
        for storage in snapshot.storages where storage.active {
            try database.update(
                .storage,
                "\(node)/\(storage.id)",
                time: time,
                values: [Double(storage.total), Double(storage.used)]
            )
        }
    }
}

/// Runs `body` for at most `duration`; nil when it took longer. Returns at the deadline even when
/// `body` does not honour cancellation (a QMP call waiting on a stuck QEMU): the body is cancelled
/// and left to finish on its own.
public enum Deadline {
    public static func run<T: Sendable>(
        within duration: Duration,
        _ body: @escaping @Sendable () async -> T
    ) async -> T? {
        let outcome = Mutex<(done: Bool, continuation: CheckedContinuation<T?, Never>?)>((false, nil))
        let finish = { @Sendable (value: T?) in
            let continuation = outcome.withLock { state -> CheckedContinuation<T?, Never>? in
                guard !state.done else { return nil }
                state.done = true
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume(returning: value)
        }
        return await withCheckedContinuation { continuation in
            outcome.withLock { $0.continuation = continuation }
            let work = Task { finish(await body()) }
            let timer = Task {
                try? await Task.sleep(for: duration)
                work.cancel()
                finish(nil)
            }
            // The timer's sleep ends early once the work is done.
            Task {
                _ = await work.value
                timer.cancel()
            }
        }
    }
}
