import Foundation
public import VireoCore
public import VireoHost
import VireoStorage

/// A VM's cloud-init drive (`<storage>:vm-<vmid>-cloudinit`, a CD-ROM): the ISO is generated
/// from the config at start and on `PUT …/cloudinit`, and the values it was made from are kept
/// in the config's `[special:cloudinit]` section, so `GET …/cloudinit` can tell what a new ISO
/// would change.
public struct VMCloudInit: Sendable {
    public let manager: VMManager
    let runner: any CommandRunner

    public init(manager: VMManager, runner: any CommandRunner) {
        self.manager = manager
        self.runner = runner
    }

    /// The size of a new cloud-init volume.
    public static let volumeSizeKiB = 4096

    public static func volumeName(vmid: Int) -> String { "vm-\(vmid)-cloudinit" }

    /// The config's cloud-init drives: `(key, volid)`.
    public static func drives(vmid: VMID, config: VMConfig.Section) -> [(key: String, volid: String)] {
        config.entries.compactMap { entry in
            guard VMManager.isDiskKey(entry.key), let options = try? PropertyString(parsing: entry.value),
                let volid = options.defaultValue ?? options["file"], volid.contains(":")
            else { return nil }
            let volname = volid.drop { $0 != ":" }.dropFirst()
            let file = volname.split(separator: "/").last.map { String($0.prefix { $0 != "." }) }
            return file == volumeName(vmid: vmid.value) ? (entry.key, volid) : nil
        }
    }

    /// The generated data for `config` (custom snippets read from their storages).
    public func data(vmid: VMID, config: VMConfig.Section) async throws -> CloudInit {
        try CloudInit(vmid: vmid, config: config, hostDNS: hostDNS(), custom: try await customSnippets(config))
    }

    func hostDNS() -> (search: [String], nameservers: [String]) {
        // A contained node's copy exists once written; until then the host's file holds.
        let text = TextFile.read(manager.resolvConfPath) ?? TextFile.read(NodeHost.resolvConfPath) ?? ""
        let resolv = ResolvConf(parsing: text)
        return (
            resolv.search.map { $0.split(separator: " ").map(String.init) } ?? [], Array(resolv.nameservers.prefix(3))
        )
    }

    /// `cicustom: user=<volid>,network=…`: each a snippet of at most 1 MiB.
    func customSnippets(_ config: VMConfig.Section) async throws -> [String: String] {
        guard let text = config["cicustom"] else { return [:] }
        let property = try PropertyString(parsing: text)
        var files: [String: String] = [:]
        for kind in ["user", "network", "meta", "vendor"] {
            guard let volid = property[kind] else { continue }
            let volume = try VolumeID(validating: volid)
            guard volume.volume.hasPrefix("snippets/") else {
                throw VireoError.parameter("cicustom", "\(volid) is not in the snippets directory")
            }
            let plugin = try await manager.storage.activePlugin(volume.storage.description)
            let path = try plugin.path(volume.volume)
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw VireoError.parameter("cicustom", "cannot read snippet \(volid)")
            }
            defer { try? handle.close() }
            let bytes = try handle.read(upToCount: 1024 * 1024 + 1) ?? Data()
            guard bytes.count <= 1024 * 1024 else {
                throw VireoError.parameter("cicustom", "snippet \(volid) is larger than 1 MiB")
            }
            files[kind] = String(decoding: bytes, as: UTF8.self)
        }
        return files
    }

    /// Writes a new ISO to every cloud-init drive of `config` and records what it was made from
    /// in `[special:cloudinit]`. Returns false when the VM has no cloud-init drive.
    @discardableResult
    public func regenerate(vmid: VMID, config: inout VMConfig, log: (String) -> Void) async throws -> Bool {
        let drives = Self.drives(vmid: vmid, config: config.main)
        guard !drives.isEmpty else { return false }
        let data = try await data(vmid: vmid, config: config.main)
        let staging = "\(manager.runDirectory)/cloudinit/\(vmid)"
        try? FileManager.default.removeItem(atPath: staging)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        log("generating cloud-init ISO")
        let image = ISOImage(runner: runner)
        let iso = try await image.make(files: data.files, label: data.label, scratch: staging)
        let isoSize = (try FileManager.default.attributesOfItem(atPath: iso)[.size] as? Int) ?? 0
        for drive in drives {
            let volume = try VolumeID(validating: drive.volid)
            let plugin = try await manager.storage.activePlugin(volume.storage.description)
            let info = try await plugin.info(volume.volume)
            if info.size < isoSize {
                try await plugin.resize(
                    volume.volume,
                    sizeBytes: (isoSize + 1024 * 1024 - 1) / (1024 * 1024) * 1024 * 1024
                )
            }
            let format: QemuImg.Format = volume.volume.hasSuffix(".qcow2") ? .qcow2 : .raw
            try await image.write(iso, to: try plugin.path(volume.volume), format: format)
        }
        var baked = VMConfig.Section()
        for entry in config.main.entries where CloudInit.isOptionKey(entry.key) {
            try baked.set(entry.key, entry.value)
        }
        try config.setSpecial("cloudinit", baked)
        return true
    }

    /// `GET …/cloudinit`: per cloud-init key, the value in the last ISO and the one a new ISO
    /// would get (`pending`), or `delete` for a key that is gone. Passwords are masked.
    public static func pendingChanges(_ config: VMConfig) -> [[String: JSON]] {
        let current = config.main.entries.filter { CloudInit.isOptionKey($0.key) }
        let baked = config[special: "cloudinit"]
        func shown(_ key: String, _ value: String) -> JSON { .string(key == "cipassword" ? "**********" : value) }
        var items: [[String: JSON]] = []
        for entry in current {
            var item: [String: JSON] = ["key": .string(entry.key)]
            if let baked {
                if let old = baked[entry.key] {
                    item["value"] = shown(entry.key, old)
                    if old != entry.value { item["pending"] = shown(entry.key, entry.value) }
                } else {
                    item["pending"] = shown(entry.key, entry.value)
                }
            } else {
                item["value"] = shown(entry.key, entry.value)
            }
            items.append(item)
        }
        for entry in baked?.entries ?? [] where config.main[entry.key] == nil {
            items.append(["key": .string(entry.key), "delete": 1])
        }
        return items.sorted { ($0["key"]?.stringValue ?? "") < ($1["key"]?.stringValue ?? "") }
    }
}
