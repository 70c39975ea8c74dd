import Foundation
import QMP
import VireoCore
import VireoHost
import VireoMetrics
import VireoQEMU
import VireoStorage

/// The seed's storage path below a VM: its virtual disks, the storage backends holding them, and
/// the physical disks under those.
struct StorageChecks {
    let context: DiagnosisContext

    /// A VM's disk: its key (`virtio0`), volume ID and storage.
    struct Disk {
        var key: String
        var volid: String
        var storage: String?
        var volume: String
    }

    /// The disks of a config (not CD-ROMs, not `none`).
    static func disks(of config: VMConfig.Section) -> [Disk] {
        config.entries.compactMap { entry in
            guard VMManager.isDiskKey(entry.key), !entry.value.contains("media=cdrom"),
                let volid = (try? PropertyString(parsing: entry.value))?.defaultValue, volid != "none"
            else { return nil }
            if let colon = volid.firstIndex(of: ":"), !volid.hasPrefix("/") {
                return Disk(
                    key: entry.key,
                    volid: volid,
                    storage: String(volid[..<colon]),
                    volume: String(volid[volid.index(after: colon)...])
                )
            }
            return Disk(key: entry.key, volid: volid, storage: nil, volume: volid)
        }
    }

    // MARK: - Virtual disks

    /// Chains and snapshots that make every write slower: a qcow2 with many internal snapshots,
    /// or a deep chain of backing files.
    static let snapshotWarning = 20
    static let chainWarning = 8

    func volume(_ disk: Disk, definitions: [StorageDefinition]) async -> DiagnosisCheck {
        let id = "disk.\(disk.key).volume"
        var evidence: [String: JSON] = ["volid": .string(disk.volid)]
        let path: String
        do {
            if let storage = disk.storage {
                guard let definition = definitions.first(where: { $0.id == storage }) else {
                    return DiagnosisCheck(
                        id,
                        .virtualDisk,
                        .fail,
                        "\(disk.key): storage '\(storage)' does not exist",
                        evidence: evidence
                    )
                }
                path = try context.storage.plugin(for: definition).path(disk.volume)
            } else {
                path = disk.volume
            }
        } catch {
            return DiagnosisCheck(
                id,
                .virtualDisk,
                .unknown,
                "\(disk.key): no path for \(disk.volid): \(error)",
                evidence: evidence
            )
        }
        evidence["path"] = .string(path)
        let chain: [QemuImg.Info]
        do {
            chain = try await QemuImg(runner: context.runner).chain(path)
        } catch {
            evidence["error"] = .string("\(error)")
            let missing = !FileManager.default.fileExists(atPath: path)
            return DiagnosisCheck(
                id,
                .virtualDisk,
                .fail,
                missing
                    ? "\(disk.key): volume \(disk.volid) is missing (\(path))"
                    : "\(disk.key): \(path) cannot be read: \(error)",
                evidence: evidence
            )
        }
        let top = chain.first
        let snapshots = top?.snapshots.count ?? 0
        evidence["format"] = .string(top?.format ?? "?")
        evidence["virtual_size"] = .int(top?.virtualSize ?? 0)
        evidence["allocated"] = .int(top?.actualSize ?? 0)
        evidence["snapshots"] = .int(snapshots)
        evidence["chain_depth"] = .int(chain.count)
        if snapshots >= Self.snapshotWarning || chain.count >= Self.chainWarning {
            let what =
                snapshots >= Self.snapshotWarning
                ? "\(snapshots) internal snapshots" : "a backing chain \(chain.count) images deep"
            return DiagnosisCheck(
                id,
                .virtualDisk,
                .warn,
                "\(disk.key) (\(disk.volid)) has \(what): every write walks the metadata, and it grows with each",
                evidence: evidence
            )
        }
        let depth = chain.count > 1 ? ", chain of \(chain.count)" : ""
        return DiagnosisCheck(
            id,
            .virtualDisk,
            .ok,
            "\(disk.key): \(disk.volid) (\(top?.format ?? "?"), \(snapshots) snapshots\(depth))",
            evidence: evidence
        )
    }

    /// Failed requests and slow requests of a drive, from QEMU's counters (and the sampler's
    /// latencies over its last interval).
    func io(_ disk: Disk, stats: QMPBlockStats?, vmid: VMID) -> DiagnosisCheck {
        let id = "disk.\(disk.key).io"
        guard let stats else {
            return DiagnosisCheck(id, .virtualDisk, .ok, "\(disk.key): no I/O counters (VM not running)")
        }
        var evidence: [String: JSON] = [
            "read_bytes": .int(stats.readBytes), "written_bytes": .int(stats.writtenBytes),
            "failed_operations": .int(stats.failedReadOperations + stats.failedWriteOperations),
        ]
        let sampled = context.metrics?.vms.first { $0.vmid == vmid }?.drives.first { $0.name == disk.key }
        if let latency = sampled?.writeLatency { evidence["write_latency_ms"] = .double(latency) }
        if let latency = sampled?.readLatency { evidence["read_latency_ms"] = .double(latency) }
        if let rate = sampled?.writeBytesRate { evidence["write_bytes_per_second"] = .double(rate) }
        let failed = stats.failedReadOperations + stats.failedWriteOperations
        if failed > 0 {
            return DiagnosisCheck(
                id,
                .virtualDisk,
                .warn,
                "\(disk.key): \(failed) requests failed since QEMU started",
                evidence: evidence
            )
        }
        let worst = max(sampled?.writeLatency ?? 0, sampled?.readLatency ?? 0)
        if worst >= 1000 {
            return DiagnosisCheck(
                id,
                .virtualDisk,
                .warn,
                String(format: "\(disk.key): requests take %.0f ms on average", worst),
                evidence: evidence
            )
        }
        return DiagnosisCheck(id, .virtualDisk, .ok, "\(disk.key): I/O without errors", evidence: evidence)
    }

    // MARK: - Backends

    /// Full at 95%, filling at 85% (writes of thin and qcow2 volumes fail when it is full).
    static let fullPercent = 95.0
    static let fillingPercent = 85.0

    /// `pausedFull`: VMs paused now on a "no space left" write error of a disk here: the storage
    /// ran out, whatever it shows since (a file system gives back reserved blocks after the failed
    /// writes).
    func backend(_ definition: StorageDefinition, users: [Int], pausedFull: [Int] = []) async -> [DiagnosisCheck] {
        let id = definition.id
        let status = await context.storage.status(of: definition)
        guard status.active else {
            return [
                DiagnosisCheck(
                    "storage.\(id).state",
                    .storageBackend,
                    .fail,
                    "storage '\(id)' (\(definition.type)) is not active: not mounted, missing, or its tool failed",
                    evidence: ["type": .string(definition.type), "vms": .array(users.map { .int($0) })]
                )
            ]
        }
        // As df counts: space reserved for root (ext4's 5%) is neither used nor available to guests.
        let usable = status.used + status.available
        let percent = usable > 0 ? Double(status.used) * 100 / Double(usable) : 0
        var evidence: [String: JSON] = [
            "total": .int(status.total), "used": .int(status.used), "available": .int(status.available),
            "used_percent": .double((percent * 10).rounded() / 10), "vms": .array(users.map { .int($0) }),
        ]
        let atRisk = users.isEmpty ? "" : "; VMs at risk: \(users.map(String.init).joined(separator: ", "))"
        let free = ByteSize.describe(status.available)
        if !pausedFull.isEmpty { evidence["paused_vms"] = .array(pausedFull.map { .int($0) }) }
        let paused = pausedFull.map(String.init).joined(separator: ", ")
        let space: DiagnosisCheck =
            !pausedFull.isEmpty
            ? DiagnosisCheck(
                "storage.\(id).space",
                .storageBackend,
                .fail,
                String(
                    format:
                        "storage '\(id)' ran out of space: VM \(paused) paused on a write that found no space left; now %.1f%% used, \(free) free",
                    percent
                ),
                evidence: evidence
            )
            : percent >= Self.fullPercent
                ? DiagnosisCheck(
                    "storage.\(id).space",
                    .storageBackend,
                    .fail,
                    String(format: "storage '\(id)' is full: %.1f%% used, \(free) free\(atRisk)", percent),
                    evidence: evidence
                )
                : percent >= Self.fillingPercent
                    ? DiagnosisCheck(
                        "storage.\(id).space",
                        .storageBackend,
                        .warn,
                        String(format: "storage '\(id)' is filling up: %.1f%% used, \(free) free\(atRisk)", percent),
                        evidence: evidence
                    )
                    : DiagnosisCheck(
                        "storage.\(id).space",
                        .storageBackend,
                        .ok,
                        String(format: "storage '\(id)': %.1f%% used, \(free) free", percent),
                        evidence: evidence
                    )
        return [
            DiagnosisCheck(
                "storage.\(id).state",
                .storageBackend,
                .ok,
                "storage '\(id)' (\(definition.type)) is active"
            ),
            space, await provisioning(definition, available: status.available),
        ]
    }

    /// Thin provisioning: what the guests may still write into their sparse volumes, against the
    /// space left. More than what is free means the storage fills before the guests' disks do.
    func provisioning(_ definition: StorageDefinition, available: Int) async -> DiagnosisCheck {
        let id = "storage.\(definition.id).provisioning"
        guard definition.content.contains(.images),
            let volumes = try? await context.storage.plugin(for: definition).list(content: .images, vmid: nil)
        else {
            return DiagnosisCheck(id, .storageBackend, .ok, "storage '\(definition.id)' holds no VM disks")
        }
        let provisioned = volumes.reduce(0) { $0 + $1.size }
        let allocated = volumes.reduce(0) { $0 + min($1.used ?? $1.size, $1.size) }
        let growth = provisioned - allocated
        let evidence: [String: JSON] = [
            "provisioned": .int(provisioned), "allocated": .int(allocated), "available": .int(available),
            "volumes": .int(volumes.count),
        ]
        guard growth > available else {
            return DiagnosisCheck(
                id,
                .storageBackend,
                .ok,
                "storage '\(definition.id)': \(volumes.count) disks, \(ByteSize.describe(provisioned)) provisioned, fits the free space",
                evidence: evidence
            )
        }
        return DiagnosisCheck(
            id,
            .storageBackend,
            .warn,
            "storage '\(definition.id)' is overcommitted: \(ByteSize.describe(provisioned)) provisioned in \(volumes.count) thin disks, \(ByteSize.describe(allocated)) written, only \(ByteSize.describe(available)) free: it fills before the guests' disks do",
            evidence: evidence
        )
    }

    // MARK: - Physical disks

    /// I/O pressure on the host (PSI) with the VMs ranked by how much they read and write: a
    /// saturated disk shows as tasks waiting for I/O, and the ranking names the neighbour causing it.
    static let pressureWarning = 20.0
    static let pressureFailure = 50.0
    /// Average milliseconds per request (over the sampler's last interval, with at least one request
    /// a second) that mean the disk under a VM is not keeping up, whatever PSI says: throttled or
    /// remote disks make their waiters sleep outside the kernel's I/O accounting.
    static let latencyWarning = 150.0

    /// `sharing`: the VMs with a disk on the storages in question (a VM's report looks at the
    /// neighbours on its own storages); nil for every VM of the node.
    func physicalDisk(sharing: Set<Int>? = nil) -> DiagnosisCheck {
        guard let io = PressureStall.read(.io, directory: context.pressureDirectory) else {
            return DiagnosisCheck("physical-disk.io", .physicalDisk, .unknown, "no I/O pressure information (PSI)")
        }
        let vms = (context.metrics?.vms ?? []).filter { sharing?.contains($0.vmid.value) ?? true }
        let ranked = vms.compactMap { vm in vm.ioRate.map { (vm, $0) } }
            .filter { $0.1 > 0 }.sorted { $0.1 > $1.1 }
        var evidence: [String: JSON] = [
            "psi_io_some_avg10": .double(io.some.avg10), "psi_io_full_avg10": .double(io.full?.avg10 ?? 0),
            "psi_io_some_avg60": .double(io.some.avg60),
            "vms_by_io": .array(
                ranked.prefix(5).map { vm, rate in
                    [
                        "vmid": .int(vm.vmid.value), "name": .string(vm.name),
                        "bytes_per_second": .double(rate.rounded()),
                    ]
                }
            ),
        ]
        if context.metrics == nil { evidence["note"] = "no sampled rates: the VMs cannot be ranked" }
        let stalled = max(io.some.avg10, io.full.map { $0.avg10 * 2 } ?? 0)
        // The slowest busy drive, as QEMU timed its requests.
        // A paused guest's drives (io-error) say nothing about the disk's speed.
        let slowest = vms.filter { $0.qmpStatus == "running" }.flatMap { vm in
            vm.drives.compactMap { drive -> (vm: MetricsSnapshot.VM, drive: String, latency: Double)? in
                guard (drive.iops ?? 0) >= 1 else { return nil }
                let latency = max(drive.readLatency ?? 0, drive.writeLatency ?? 0)
                return latency > 0 ? (vm, drive.name, latency) : nil
            }
        }.max { $0.latency < $1.latency }
        if let slowest {
            evidence["slowest_drive"] = [
                "vmid": .int(slowest.vm.vmid.value), "drive": .string(slowest.drive),
                "latency_ms": .double((slowest.latency * 10).rounded() / 10),
            ]
        }
        let latency = slowest?.latency ?? 0
        // Slow requests alone warn: a hard fault found elsewhere (a full backend) is the likelier
        // cause; the kernel's own I/O stall can fail the check.
        let status: DiagnosisCheck.Status =
            stalled >= Self.pressureFailure
            ? .fail : stalled >= Self.pressureWarning || latency >= Self.latencyWarning ? .warn : .ok
        guard status != .ok else {
            return DiagnosisCheck(
                "physical-disk.io",
                .physicalDisk,
                .ok,
                String(format: "disks keep up: tasks waited for I/O %.1f%% of the last 10 s", io.some.avg10),
                evidence: evidence
            )
        }
        let top = ranked.first.map { vm, rate in
            "; the busiest VM: \(vm.vmid) (\(vm.name)) at \(ByteSize.describe(Int(rate)))/s"
        }
        let symptom =
            stalled >= Self.pressureWarning
            ? String(format: "tasks waited for I/O %.0f%% of the last 10 s", io.some.avg10)
            : "requests of VM \(slowest?.vm.vmid.value ?? 0)'s \(slowest?.drive ?? "?") take "
                + String(format: "%.0f ms", latency)
        return DiagnosisCheck(
            "physical-disk.io",
            .physicalDisk,
            status,
            "the disks are saturated: \(symptom)" + (top ?? ""),
            evidence: evidence
        )
    }
}
