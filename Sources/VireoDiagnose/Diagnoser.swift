import Foundation
public import VireoCore
import VireoHost
import VireoMetrics
import VireoQEMU
import VireoStorage

/// "Is this a control plane failure, a data plane failure, or a storage bottleneck?" Walks the
/// seed's paths layer by layer for a VM, the node, a storage or the network, and names the plane
/// and layer at fault first. It only reads.
public struct Diagnoser: Sendable {
    public let context: DiagnosisContext

    public init(context: DiagnosisContext) {
        self.context = context
    }

    /// A VM: the control plane, its process, its disks down to the physical disks, its NICs out to
    /// the uplink, and the host.
    public func vm(_ vmid: VMID) async -> DiagnosisReport {
        await timed("vm \(vmid)") {
            var checks = await ControlPlaneChecks(context: context).all()
            let (vmChecks, findings) = await VMChecks(context: context, vmid: vmid).all()
            checks += vmChecks
            if let config = findings.config {
                checks += await storagePath(config: config, vmid: vmid, findings: findings)
                if findings.pid != nil { checks += await networkPath(config: config, vmid: vmid) }
            }
            checks += HostChecks(context: context).all()
            return checks
        }
    }

    /// The node: control plane, host, every storage, every bridge, and each VM's process.
    public func node() async -> DiagnosisReport {
        await timed("node") {
            var checks = await ControlPlaneChecks(context: context).all()
            checks += HostChecks(context: context).all()
            checks += await storages(nil)
            checks.append(StorageChecks(context: context).physicalDisk())
            checks += await bridges(nil)
            checks += await guests()
            return checks
        }
    }

    /// One storage: the control plane, its state, space and provisioning, the disks under it, and
    /// the VMs it holds disks of.
    public func storage(_ id: String) async -> DiagnosisReport {
        await timed("storage \(id)") {
            var checks = await ControlPlaneChecks(context: context).all()
            checks += await storages(id)
            checks.append(StorageChecks(context: context).physicalDisk())
            return checks
        }
    }

    /// The bridges (or one): each with its ports, uplinks and their carrier.
    public func network(_ bridge: String?) async -> DiagnosisReport {
        await timed(bridge.map { "network \($0)" } ?? "network") {
            var checks = await ControlPlaneChecks(context: context).all()
            checks += await bridges(bridge)
            return checks
        }
    }

    // MARK: - Paths

    private func storagePath(
        config: VMConfig.Section,
        vmid: VMID,
        findings: VMChecks.Findings
    ) async
        -> [DiagnosisCheck]
    {
        let storage = StorageChecks(context: context)
        let disks = StorageChecks.disks(of: config)
        let definitions = (try? await context.storage.definitions()) ?? []
        var checks: [DiagnosisCheck] = []
        for disk in disks {
            checks.append(await storage.volume(disk, definitions: definitions))
            let stats = findings.drives.first { MetricsSampler.driveName($0) == disk.key }
            if findings.pid != nil { checks.append(storage.io(disk, stats: stats, vmid: vmid)) }
        }
        let users = await storageUsers()
        let storages = Set(disks.compactMap(\.storage))
        // Paused on "no space left": the storage of the drive that hit it.
        var pausedFull: String?
        if findings.qmpStatus == "io-error",
            let error = context.events?.events(vmid: vmid, limit: 20).last(where: { $0.name == "BLOCK_IO_ERROR" }),
            error.details["nospace"] == .bool(true)
        {
            let device = error.details["device"]?.stringValue ?? ""
            let key = device.hasPrefix("drive-") ? String(device.dropFirst(6)) : device
            pausedFull = disks.first { $0.key == key }?.storage
        }
        for id in storages.sorted() {
            guard let definition = definitions.first(where: { $0.id == id }) else { continue }
            checks += await storage.backend(
                definition,
                users: users[id] ?? [],
                pausedFull: pausedFull == id ? [vmid.value] : []
            )
        }
        let neighbours = Set(storages.flatMap { users[$0] ?? [] } + [vmid.value])
        if !disks.isEmpty { checks.append(storage.physicalDisk(sharing: neighbours)) }
        return checks
    }

    private func networkPath(config: VMConfig.Section, vmid: VMID) async -> [DiagnosisCheck] {
        let nics = (try? config.parsedNICs()) ?? []
        guard !nics.isEmpty else { return [] }
        guard let links = try? await context.network.links() else {
            return [DiagnosisCheck("network.links", .bridge, .unknown, "cannot list the node's links (ip link)")]
        }
        var checks: [DiagnosisCheck] = []
        for nic in nics { checks += await NetworkChecks(context: context).nic(nic, vmid: vmid, links: links) }
        return checks
    }

    private func storages(_ only: String?) async -> [DiagnosisCheck] {
        guard let definitions = try? await context.storage.definitions() else {
            return [DiagnosisCheck("storage.config", .store, .fail, "the storage config cannot be read")]
        }
        let selected = definitions.filter { ($0.id == only || only == nil) && $0.isEnabled(on: context.node) }
        if let only, selected.isEmpty {
            return [
                DiagnosisCheck(
                    "storage.\(only).state",
                    .storageBackend,
                    .fail,
                    "storage '\(only)' does not exist or is disabled here"
                )
            ]
        }
        let users = await storageUsers()
        var checks: [DiagnosisCheck] = []
        for definition in selected {
            checks += await StorageChecks(context: context).backend(definition, users: users[definition.id] ?? [])
        }
        return checks
    }

    private func bridges(_ only: String?) async -> [DiagnosisCheck] {
        guard let links = try? await context.network.links() else {
            return [DiagnosisCheck("network.links", .bridge, .unknown, "cannot list the node's links (ip link)")]
        }
        let network = NetworkChecks(context: context)
        let bridges = links.filter { $0.kind == "bridge" && (only == nil || $0.name == only) }
            // Vireo's own per-NIC bridges (rate limits, VLAN bridges) are checked with their NIC.
            .filter { !$0.name.hasPrefix("fwbr") }
        if let only, bridges.isEmpty {
            return [network.bridge(only, link: nil, links: links, id: "network.\(only).bridge")]
        }
        var checks: [DiagnosisCheck] = []
        for bridge in bridges {
            let id = "network.\(bridge.name)"
            checks.append(network.bridge(bridge.name, link: bridge, links: links, id: id + ".bridge"))
            if let uplink = network.uplink(bridge.name, links: links, id: id + ".uplink") { checks.append(uplink) }
        }
        return checks
    }

    /// Each VM's process and run state, briefly: the node report's view of the data plane.
    private func guests() async -> [DiagnosisCheck] {
        guard let configs = try? await context.vms.configs.readAllOnNode() else { return [] }
        return await withTaskGroup(of: [DiagnosisCheck].self) { group in
            for (vmid, _) in configs {
                group.addTask { [context] in
                    let checks = VMChecks(context: context, vmid: vmid)
                    let events = context.events?.events(vmid: vmid, limit: 8) ?? []
                    let pid = context.vms.runningPID(vmid)
                    var result = [checks.process(pid: pid, events: events)]
                    if pid != nil {
                        let status = await context.runtime.qmpStatus(vmid)
                        result.append(status.map { checks.runState($0, events: events) } ?? checks.qmp(answered: false))
                    }
                    return result.map { check in
                        var renamed = check
                        renamed.id = "vm.\(vmid)." + check.id.dropFirst("vm.".count)
                        return renamed
                    }
                }
            }
            var all: [DiagnosisCheck] = []
            for await checks in group { all += checks }
            return all.sorted { $0.id.localizedStandardCompare($1.id) == .orderedAscending }
        }
    }

    /// The VMs with a disk on each storage.
    private func storageUsers() async -> [String: [Int]] {
        guard let configs = try? await context.vms.configs.readAllOnNode() else { return [:] }
        var users: [String: Set<Int>] = [:]
        for (vmid, config) in configs {
            for disk in StorageChecks.disks(of: config.main) {
                if let storage = disk.storage { users[storage, default: []].insert(vmid.value) }
            }
        }
        return users.mapValues { $0.sorted() }
    }

    private func timed(_ subject: String, _ body: () async -> [DiagnosisCheck]) async -> DiagnosisReport {
        let clock = ContinuousClock.now
        let started = Date().timeIntervalSince1970
        var report = DiagnosisReport(subject: subject, node: context.node, time: started, checks: await body())
        let elapsed = ContinuousClock.now - clock
        report.duration = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if case .offline = context.daemon { report.offline = true }
        return report
    }
}
