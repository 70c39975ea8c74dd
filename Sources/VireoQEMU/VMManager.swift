import Foundation
import Synchronization
public import VireoCore
public import VireoHost
public import VireoStorage
import VireoStore

/// The VMs of this node: their configs, validation of configs against what QEMU will be given,
/// disks named in `storage:size` form, and what is known about their processes.
public final class VMManager: Sendable {
    public let configs: VMConfigStore
    public let storage: StorageManager
    public let runDirectory: String
    public let binary: String
    /// Where taps are made and QEMU runs (`vireod --netns`).
    public let namespace: NetworkNamespace
    public let stats = VMProcessStats()
    /// Each running VM's QMP session with the daemon.
    public let sessions = QMPSessions()
    /// Console grants and sessions (`vncproxy`, `termproxy`, `vncwebsocket`).
    public let consoles = VMConsoles()
    /// The host's resolver config: cloud-init falls back to its name servers and search domain.
    public let resolvConfPath: String
    /// One guest-agent conversation per VM at a time: the agent's channel takes one client.
    let agentLocks = NamedLocks()
    /// Where QEMU events, QEMU exits and failed tasks are kept; nil in unit tests.
    public let events: EventHistory?
    /// QEMU processes Vireo is ending (a stop, a guest's power-off): their exit is no failure.
    let endingPIDs = Mutex<Set<Int>>([])

    public init(
        configs: VMConfigStore,
        storage: StorageManager,
        runDirectory: String,
        binary: String = "qemu-system-x86_64",
        namespace: NetworkNamespace = .host,
        resolvConfPath: String = "/etc/resolv.conf",
        events: EventHistory? = nil
    ) {
        self.events = events
        self.resolvConfPath = resolvConfPath
        self.configs = configs
        self.storage = storage
        self.runDirectory = runDirectory
        self.binary = binary
        self.namespace = namespace
    }

    public var node: String { configs.node }

    /// Whether KVM can be used here.
    public static var kvmAvailable: Bool { access("/dev/kvm", R_OK | W_OK) == 0 }

    // MARK: - Validation and command line

    /// QEMU's argv for a config; volumes are resolved through their storages.
    public func commandLine(vmid: VMID, config: VMConfig.Section, definitions: [StorageDefinition]) throws -> [String] {
        let byID = Dictionary(definitions.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let manager = storage
        let builder = QEMUCommandBuilder(
            environment: .init(binary: binary, runDirectory: runDirectory, kvmAvailable: Self.kvmAvailable) { volid in
                guard let colon = volid.firstIndex(of: ":") else {
                    throw VireoError.invalid("unable to parse volume ID '\(volid)'")
                }
                let id = String(volid[..<colon])
                guard let definition = byID[id] else { throw VireoError.invalid("storage '\(id)' does not exist") }
                let plugin = try manager.plugin(for: definition)
                let volname = String(volid[volid.index(after: colon)...])
                let format =
                    volname.split(separator: ".").last.flatMap { VolumeFormat(rawValue: String($0)) }?.rawValue ?? "raw"
                return (try plugin.path(volname), format)
            }
        )
        return try builder.build(vmid: vmid, config: config)
    }

    /// Checks a config as QEMU would get it, without KVM (so a config is judged on its values, not
    /// on this host) and with `storage:size` disks standing in as placeholders.
    public func validate(vmid: VMID, config: VMConfig.Section) async throws {
        var probe = config
        for entry in config.entries where Self.isDiskKey(entry.key) {
            if let allocation = try? DiskAllocation(key: entry.key, value: entry.value) {
                try probe.set(entry.key, "/dev/null" + (allocation.options.isEmpty ? "" : "," + allocation.options))
                do { _ = try await storage.definition(allocation.storage) } catch let error as VireoError {
                    throw VireoError.parameter(entry.key, error.message)
                }
            }
        }
        try probe.set("kvm", "0")
        _ = try commandLine(vmid: vmid, config: probe, definitions: try await storage.definitions())
    }

    /// Allocates every `storage:size` disk of a config and replaces it by the new volume; returns
    /// the new volume IDs. On failure, the volumes made so far are freed again.
    @discardableResult
    public func allocateDisks(vmid: VMID, config: inout VMConfig.Section) async throws -> [String] {
        var made: [(any StoragePlugin, String)] = []
        do {
            for entry in config.entries where Self.isDiskKey(entry.key) {
                guard let allocation = try? DiskAllocation(key: entry.key, value: entry.value) else { continue }
                let plugin = try await storage.activePlugin(allocation.storage)
                var format = allocation.format.flatMap(VolumeFormat.init(rawValue:)) ?? plugin.definition.defaultFormat
                var name: String?
                if allocation.isCloudInit {
                    if let other = VMCloudInit.drives(vmid: vmid, config: config).first {
                        throw VireoError.parameter(entry.key, "cloud-init drive is already attached at '\(other.key)'")
                    }
                    // Path storages keep a qcow2 file where they can; block storages a raw volume.
                    let isPath = plugin.definition.path != nil
                    let formats = StorageTypes.schema(for: plugin.definition.type)?.capabilities.formats ?? []
                    format = isPath && formats.contains(.qcow2) ? .qcow2 : .raw
                    name = VMCloudInit.volumeName(vmid: vmid.value) + (isPath ? ".\(format.rawValue)" : "")
                }
                var sizeKiB = allocation.sizeKiB
                var source: (path: String, info: QemuImg.Info)?
                if let importFrom = allocation.importFrom {
                    let path = try await importSourcePath(importFrom, key: entry.key)
                    let info = try await QemuImg(runner: storage.runner).info(path)
                    source = (path, info)
                    sizeKiB = max(sizeKiB, (info.virtualSize + 1023) / 1024)
                }
                let size = sizeKiB
                let volname = try await storage.withLock(allocation.storage) {
                    try await plugin.allocate(
                        AllocationRequest(vmid: vmid.value, name: name, format: format, sizeKiB: size)
                    )
                }
                made.append((plugin, volname))
                if let source {
                    try await QemuImg(runner: storage.runner).convert(
                        from: source.path,
                        format: QemuImg.Format(rawValue: source.info.format) ?? .raw,
                        to: try plugin.path(volname),
                        targetFormat: QemuImg.Format(rawValue: format.rawValue) ?? .raw
                    )
                }
                if allocation.isCloudInit {
                    try config.set(entry.key, "\(allocation.storage):\(volname),media=cdrom")
                    continue
                }
                let rest = allocation.options.split(separator: ",").filter {
                    !$0.hasPrefix("format=") && !$0.hasPrefix("size=") && !$0.hasPrefix("import-from=")
                }
                try config.set(
                    entry.key,
                    (["\(allocation.storage):\(volname)"] + rest.map(String.init) + [
                        "size=\(ByteSize(bytes: size * 1024))"
                    ]).joined(
                        separator: ","
                    )
                )
            }
        } catch {
            for (plugin, volname) in made { try? await plugin.free(volname) }
            throw error
        }
        return made.map { "\($0.0.definition.id):\($0.1)" }
    }

    /// The file behind `import-from`: an absolute path (root only, checked with the request), or a
    /// volume on a storage (a disk image, or an image of content `import`).
    func importSourcePath(_ source: String, key: String) async throws -> String {
        if source.hasPrefix("/") {
            guard FileManager.default.fileExists(atPath: source) else {
                throw VireoError.parameter(key, "import-from: '\(source)' does not exist")
            }
            return source
        }
        let volume: VolumeID
        do { volume = try VolumeID(validating: source) } catch {
            throw VireoError.parameter(key, "import-from: '\(source)' is neither a volume nor an absolute path")
        }
        let plugin = try await storage.activePlugin(volume.storage.description)
        guard try await plugin.exists(volume.volume) else {
            throw VireoError.parameter(key, "import-from: volume '\(source)' does not exist")
        }
        return try plugin.path(volume.volume)
    }

    /// A config entry as stored: Proxmox's API takes `cdrom` as the name of `ide2` as a CD drive.
    public static func canonicalEntry(key: String, value: String) -> (key: String, value: String) {
        guard key == "cdrom" else { return (key, value) }
        return ("ide2", value.contains("media=") ? value : value + ",media=cdrom")
    }

    public static func isDiskKey(_ key: String) -> Bool {
        for prefix in ["ide", "sata", "scsi", "virtio", "efidisk", "tpmstate"] where key.hasPrefix(prefix) {
            if Int(key.dropFirst(prefix.count)) != nil { return true }
        }
        return false
    }

    /// The volumes a VM owns (its disks and `unusedN` entries on a storage, owned by its VMID).
    public static func ownedVolumes(vmid: VMID, config: VMConfig) -> [String] {
        var result: [String] = []
        let sections = [config.main] + config.snapshots.map(\.section) + (config.pending.map { [$0] } ?? [])
        for section in sections {
            for entry in section.entries where isDiskKey(entry.key) || entry.key.hasPrefix("unused") {
                let volid = String(entry.value.split(separator: ",").first ?? "")
                guard let colon = volid.firstIndex(of: ":") else { continue }
                let volname = volid[volid.index(after: colon)...]
                let owned =
                    volname.hasPrefix("\(vmid)/") || volname.contains("-\(vmid)-disk-")
                    || volname.contains("/\(vmid)/") || volname.contains(VMCloudInit.volumeName(vmid: vmid.value))
                if owned, !result.contains(volid), !volname.hasPrefix("iso/") { result.append(volid) }
            }
        }
        return result
    }

    // MARK: - Processes

    /// The PID of the VM's running QEMU: the pidfile's process must be alive (not a zombie) and
    /// its command line must name that same pidfile (a recycled PID is not our VM).
    public func runningPID(_ vmid: VMID) -> Int? {
        let pidFile = QEMUCommandBuilder.pidFile(runDirectory: runDirectory, vmid: vmid)
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return nil }
        guard let stat = ProcessStat(pid: pid), stat.state != "Z", stat.state != "X" else { return nil }
        return Self.pidFileArgument(of: pid) == pidFile ? pid : nil
    }

    /// The `-pidfile` a process was started with (a QEMU of Vireo's), from `/proc/<pid>/cmdline`.
    static func pidFileArgument(of pid: Int) -> String? {
        guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        let arguments = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let index = arguments.firstIndex(of: "-pidfile"), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    /// The running VMs of this node by VMID, from one listing of the run directory.
    public func runningPIDs() -> [VMID: Int] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: runDirectory) else { return [:] }
        var result: [VMID: Int] = [:]
        for name in names where name.hasSuffix(".pid") {
            guard let vmid = VMID(String(name.dropLast(4))), let pid = runningPID(vmid) else { continue }
            result[vmid] = pid
        }
        return result
    }

    /// Seconds since the process started.
    public static func uptime(pid: Int) -> Int {
        guard let stat = ProcessStat(pid: pid), let now = ProcessStat.systemUptime() else { return 0 }
        return max(0, Int(now - stat.startSeconds))
    }
}

/// A disk given as `<storage>:<GiB>[,options]` in a create or update: to be allocated.
public struct DiskAllocation: Sendable {
    public var storage: String
    public var sizeKiB: Int
    public var format: String?
    public var options: String
    /// `<storage>:cloudinit`: the VM's cloud-init drive (a CD-ROM), not a disk of a given size.
    public var isCloudInit: Bool
    /// `import-from=`: a volume ID or an absolute path whose image becomes the new disk.
    public var importFrom: String?

    public init(key: String, value: String) throws {
        let first = value.split(separator: ",", maxSplits: 1)
        let head = String(first.first ?? "")
        let parts = head.split(separator: ":")
        guard parts.count == 2, !head.contains("/") else { throw VireoError.parameter(key, "not an allocation") }
        storage = String(parts[0])
        options = first.count > 1 ? String(first[1]) : ""
        importFrom = options.split(separator: ",").first { $0.hasPrefix("import-from=") }.map {
            String($0.dropFirst("import-from=".count))
        }
        if parts[1] == "cloudinit" {
            isCloudInit = true
            sizeKiB = VMCloudInit.volumeSizeKiB
        } else if parts[1] == "0", importFrom != nil {
            // `<storage>:0,import-from=<volume or path>`: the size is the source image's.
            isCloudInit = false
            sizeKiB = 0
        } else {
            guard let gib = Double(parts[1]), gib > 0 else { throw VireoError.parameter(key, "not an allocation") }
            isCloudInit = false
            sizeKiB = Int(gib * 1024 * 1024)
        }
        format = options.split(separator: ",").first { $0.hasPrefix("format=") }.map { String($0.dropFirst(7)) }
    }
}
