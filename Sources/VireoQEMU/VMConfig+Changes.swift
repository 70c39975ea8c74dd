public import VireoCore

extension VMConfig {
    /// Moves the pending section into the main config (what a start does, and any update of a
    /// stopped VM). Deleted disks are detached to `unusedN`, not forgotten. Returns the changed keys.
    @discardableResult
    public mutating func applyPending() throws -> [String] {
        guard let pending else { return [] }
        var changed: [String] = []
        for key in pending.pendingDeletions.map(\.key) {
            try main.detachOrRemove(key)
            changed.append(key)
        }
        for entry in pending.entries where entry.key != "delete" {
            if let old = main[entry.key], VMManager.isDiskKey(entry.key), old != entry.value {
                try main.detachOrRemove(entry.key)
            }
            try main.set(entry.key, entry.value)
            changed.append(entry.key)
        }
        if let description = pending.description { main.description = description }
        self.pending = nil
        return changed
    }

    /// The volumes still referenced by the main config, its pending changes or a snapshot.
    public var referencedVolumes: Set<String> {
        var result: Set<String> = []
        for section in [main] + snapshots.map(\.section) + (pending.map { [$0] } ?? []) {
            for disk in section.disks { result.insert(disk.volid) }
            for entry in section.entries where entry.key.hasPrefix("unused") { result.insert(entry.value) }
        }
        return result
    }
}

extension VMConfig.Section {
    /// One disk of a config that lives on a storage (CD-ROMs, `none` and host paths excluded).
    public struct Disk: Sendable, Equatable {
        public var key: String
        public var volid: String
        public var options: PropertyString

        public var storage: String { String(volid.prefix { $0 != ":" }) }
        public var volname: String { String(volid.drop { $0 != ":" }.dropFirst()) }
        public var format: String {
            options["format"] ?? volname.split(separator: ".").last.map(String.init).flatMap {
                ["qcow2", "raw", "vmdk"].contains($0) ? $0 : nil
            } ?? "raw"
        }
        /// QEMU's name for its block backend.
        public var driveID: String { "drive-\(key)" }
    }

    /// The storage-backed disks in key order.
    public var disks: [Disk] {
        entries.compactMap { entry in
            guard VMManager.isDiskKey(entry.key), let options = try? PropertyString(parsing: entry.value),
                options["media"] != "cdrom", let volid = options.defaultValue ?? options["file"],
                volid.contains(":"), !volid.hasPrefix("/")
            else { return nil }
            return Disk(key: entry.key, volid: volid, options: options)
        }
    }

    /// Removes `key`; a disk's volume stays attached as the first free `unusedN` (Proxmox's detach).
    public mutating func detachOrRemove(_ key: String) throws {
        guard let disk = disks.first(where: { $0.key == key }) else {
            _ = remove(key)
            return
        }
        _ = remove(key)
        let unusedValues = entries.filter { $0.key.hasPrefix("unused") }.map(\.value)
        guard !unusedValues.contains(disk.volid) else { return }
        let index = (0..<256).first { self["unused\($0)"] == nil } ?? 255
        try set("unused\(index)", disk.volid)
    }

    /// The first free key with `prefix` (`unused`, `scsi`, …).
    public func freeKey(_ prefix: String, limit: Int = 256) -> String? {
        (0..<limit).lazy.map { "\(prefix)\($0)" }.first { self[$0] == nil }
    }
}
