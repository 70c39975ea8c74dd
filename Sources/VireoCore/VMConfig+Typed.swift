/// Typed reads of a VM config section: what the API, the runtime, the firewall and the cluster
/// ask of a config, parsed in one place instead of by string comparison at each use.
extension VMConfig.Section {
    public var isTemplate: Bool { flag("template") }
    /// `lock` (`backup`, `clone`, `snapshot`, `rollback`, `migrate`, …) when an operation holds the VM.
    public var lock: String? { self["lock"] }
    public var isProtected: Bool { flag("protection") }
    public var startsOnBoot: Bool { flag("onboot") }
    public var name: String? { self["name"] }
    public var tags: String? { self["tags"] }

    /// `agent: [enabled=]1[,…]`.
    public var agentEnabled: Bool {
        guard let text = self["agent"], let agent = try? PropertyString(parsing: text) else { return false }
        return PropertyString.parseBool(agent.defaultValue ?? agent["enabled"] ?? "0") == true
    }

    /// Virtual CPUs: `vcpus`, else `sockets` × `cores` (each 1 by default).
    public var cpuCount: Int {
        if let vcpus = integer("vcpus"), vcpus > 0 { return vcpus }
        return max(1, integer("sockets") ?? 1) * max(1, integer("cores") ?? 1)
    }

    /// Memory in MiB: `memory: [current=]N`, 512 by default.
    public var memoryMiB: Int {
        guard let text = self["memory"], let memory = try? PropertyString(parsing: text) else { return 512 }
        return Int(memory.defaultValue ?? memory["current"] ?? "") ?? 512
    }

    public var hotplug: HotplugFeatures { HotplugFeatures(self["hotplug"]) }

    /// The size of the boot disk (the first of scsi0, virtio0, sata0, ide0 that is not a CD-ROM),
    /// Proxmox's `maxdisk`; 0 without one.
    public var bootDiskBytes: Int {
        let disk = ["scsi0", "virtio0", "sata0", "ide0"].compactMap { self[$0] }.first { !$0.contains("media=cdrom") }
        guard let disk, let size = (try? PropertyString(parsing: disk))?["size"], let bytes = ByteSize(size) else {
            return 0
        }
        return bytes.bytes
    }

    /// The network devices in index order. - Throws: naming the first entry that does not parse.
    public func parsedNICs() throws -> [VMNIC] {
        try entries.filter { VMNIC.isKey($0.key) }.map { entry in
            do { return try VMNIC(key: entry.key, value: entry.value) } catch let error as VireoError {
                throw VireoError.parameter(entry.key, error.message)
            }
        }.sorted { $0.index < $1.index }
    }

    /// The integer value of `key`, nil when absent or not a number.
    public func integer(_ key: String) -> Int? { self[key].flatMap { Int($0) } }

    private func flag(_ key: String) -> Bool { self[key].flatMap { PropertyString.parseBool($0) } == true }

    // MARK: Pending deletions

    /// The `delete` list of a pending section: keys to remove at the next start (`!key` forces).
    public var pendingDeletions: [PendingDeletion] {
        ListText.items(self["delete"] ?? "").map { item in
            item.hasPrefix("!")
                ? PendingDeletion(key: String(item.dropFirst()), force: true) : PendingDeletion(key: item)
        }
    }

    public mutating func addPendingDeletion(_ key: String, force: Bool = false) throws {
        var list = pendingDeletions.filter { $0.key != key }
        list.append(PendingDeletion(key: key, force: force))
        try setPendingDeletions(list)
    }

    public mutating func dropPendingDeletion(_ key: String) throws {
        try setPendingDeletions(pendingDeletions.filter { $0.key != key })
    }

    private mutating func setPendingDeletions(_ list: [PendingDeletion]) throws {
        if list.isEmpty {
            _ = remove("delete")
        } else {
            try set("delete", list.map { ($0.force ? "!" : "") + $0.key }.joined(separator: ","))
        }
    }
}

/// One key of a pending `delete` list.
public struct PendingDeletion: Sendable, Hashable {
    public var key: String
    public var force: Bool
    public init(key: String, force: Bool = false) {
        self.key = key
        self.force = force
    }
}

/// `hotplug`: which device classes change on a running VM (Proxmox's default `network,disk,usb`;
/// `1` means that default, `0` none).
public struct HotplugFeatures: Sendable, Hashable {
    public let features: Set<String>

    public init(_ text: String?) {
        switch text {
        case nil, "1": features = ["network", "disk", "usb"]
        case "0": features = []
        case let text?: features = Set(ListText.items(text))
        }
    }

    public var network: Bool { features.contains("network") }
    public var disk: Bool { features.contains("disk") }
}

/// A VM network device, `netN: <model>[=<mac>],bridge=…,tag=…,firewall=1,rate=…,link_down=1`.
public struct VMNIC: Sendable, Hashable {
    public static let models: Set<String> = [
        "virtio", "e1000", "e1000e", "rtl8139", "vmxnet3", "ne2k_pci", "pcnet", "i82551", "i82557b", "i82559er",
        "ne2k_isa",
    ]

    public let key: String
    public let index: Int
    public var model: String
    public var mac: String?
    public var bridge: String?
    public var tag: Int?
    public var trunks: String?
    public var firewall: Bool
    public var linkDown: Bool
    /// MB/s, both directions; nil or 0 is unlimited.
    public var rate: Double?
    public var mtu: Int?
    public var queues: Int?
    public var options: PropertyString

    /// The index of a `netN` key (`net0`…`net31`), nil for any other key.
    public static func index(ofKey key: String) -> Int? {
        guard key.hasPrefix("net"), let index = Int(key.dropFirst(3)), (0..<32).contains(index),
            String(index) == key.dropFirst(3)
        else { return nil }
        return index
    }

    public static func isKey(_ key: String) -> Bool { index(ofKey: key) != nil }

    /// - Throws: `.invalidArgument` when `key` is not `netN` or the value does not parse.
    public init(key: String, value: String) throws {
        guard let index = Self.index(ofKey: key) else {
            throw VireoError.invalid("'\(key)' is not a network device key")
        }
        let options = try PropertyString(parsing: value)
        self.key = key
        self.index = index
        self.options = options
        let modelEntry = options.entries.first { Self.models.contains($0.key) }
        model = modelEntry?.key ?? options["model"] ?? options.defaultValue ?? "virtio"
        mac = modelEntry?.value ?? options["macaddr"]
        bridge = options["bridge"]
        tag = options["tag"].flatMap { Int($0) }
        trunks = options["trunks"]
        firewall = options["firewall"].flatMap { PropertyString.parseBool($0) } == true
        linkDown = options["link_down"].flatMap { PropertyString.parseBool($0) } == true
        rate = options["rate"].flatMap { Double($0) }.flatMap { $0 > 0 ? $0 : nil }
        mtu = options["mtu"].flatMap { Int($0) }
        queues = options["queues"].flatMap { Int($0) }
    }
}
