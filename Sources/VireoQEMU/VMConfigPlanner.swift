public import VireoCore

/// A requested change to a VM's config: keys to set, to delete, and pending changes to revert.
public struct VMConfigUpdate: Sendable, Equatable {
    public var changes: VMConfig.Section
    public var deletions: [String]
    public var reverts: [String]

    /// - Throws: `.invalidArgument` naming `delete`/`revert` when one key is asked two things.
    public init(changes: VMConfig.Section, deletions: [String] = [], reverts: [String] = []) throws {
        for key in deletions where changes[key] != nil || (key == "description" && changes.description != nil) {
            throw VireoError.parameter("delete", "cannot set and delete '\(key)' at the same time")
        }
        for key in reverts where changes[key] != nil || deletions.contains(key) {
            throw VireoError.parameter("revert", "cannot set, delete and revert '\(key)' at the same time")
        }
        self.changes = changes
        self.deletions = deletions
        self.reverts = reverts
    }

    /// Every key the update touches, with the value it sets or the current value it deletes: what
    /// the per-key privilege check looks at.
    public func touchedKeys(current: VMConfig.Section?) -> [(key: String, value: String?)] {
        var keys = changes.entries.map { (key: $0.key, value: Optional($0.value)) }
        keys += deletions.map { (key: $0, value: current?[$0]) }
        if changes.description != nil { keys.append((key: "description", value: nil)) }
        return keys
    }
}

/// What an update does to a VM: its new main and pending sections, and the changes to try on the
/// running VM. Pure: computed from configs only, so it is unit-tested without QEMU.
public struct VMConfigPlan: Sendable, Equatable {
    /// A change a running VM can take at once. When it succeeds the key moves from `pending` to
    /// `main`; when QEMU refuses, the change stays pending for the next start.
    public enum LiveChange: Sendable, Equatable {
        /// A NIC moved to another bridge or its link toggled (other NIC changes wait).
        case updateNIC(key: String, from: String, to: String)
        case hotplugNIC(key: String, value: String)
        case unplugNIC(key: String, value: String)
        case hotplugDisk(key: String, value: String)
        case unplugDisk(key: String, value: String)
    }

    public var main: VMConfig.Section
    public var pending: VMConfig.Section
    public var live: [LiveChange]

    /// The config the VM will have once every change applies: what validation judges.
    public var effective: VMConfig {
        get throws {
            var config = VMConfig(main: main, pending: pending.isEmpty ? nil : pending)
            try config.applyPending()
            return config
        }
    }

    /// Applies a live change that succeeded: the key leaves `pending` for `main`.
    public mutating func applied(_ change: LiveChange) throws {
        switch change {
        case .updateNIC(let key, _, let value), .hotplugNIC(let key, let value), .hotplugDisk(let key, let value):
            try main.set(key, value)
            _ = pending.remove(key)
        case .unplugNIC(let key, _):
            _ = main.remove(key)
            try pending.dropPendingDeletion(key)
        case .unplugDisk(let key, _):
            try main.detachOrRemove(key)
            try pending.dropPendingDeletion(key)
        }
    }
}

/// Decides where each key of an update goes: straight into the config (a stopped VM, or keys
/// that change nothing QEMU was given), into `pending` for the next start, or live into QEMU.
public enum VMConfigPlanner {
    /// Keys a running VM takes at once (they change nothing QEMU was given); others wait in `pending`.
    /// Cloud-init keys are taken at once too: they reach the guest through the next ISO.
    public static let fastPlugKeys: Set<String> = [
        "name", "description", "onboot", "protection", "tags", "startup", "vmstatestorage", "hookscript",
    ]

    /// - Parameters:
    ///   - current: the config as read under the VM's lock.
    ///   - running: whether QEMU runs, decided under the same lock.
    public static func plan(current: VMConfig, update: VMConfigUpdate, running: Bool) throws -> VMConfigPlan {
        var config = current
        // A stopped VM has nothing to wait for: earlier pending changes apply now.
        if !running { try config.applyPending() }
        var main = config.main
        var pending = config.pending ?? VMConfig.Section()
        let deferred = { (key: String) in running && !fastPlugKeys.contains(key) && !CloudInit.isOptionKey(key) }
        for key in update.reverts {
            _ = pending.remove(key)
            try pending.dropPendingDeletion(key)
        }
        for key in update.deletions {
            if key == "description" {
                main.description = nil
            } else if deferred(key) {
                try pending.addPendingDeletion(key)
                _ = pending.remove(key)
            } else {
                try main.detachOrRemove(key)
            }
        }
        if let description = update.changes.description { main.description = description }
        var live: [VMConfigPlan.LiveChange] = []
        for entry in update.changes.entries {
            if deferred(entry.key) {
                try pending.set(entry.key, entry.value)
            } else {
                try main.set(entry.key, entry.value)
            }
            guard running, deferred(entry.key) else { continue }
            let isNIC = (try? VMNIC(key: entry.key, value: entry.value)) != nil
            if isNIC, let old = config.main[entry.key] {
                live.append(.updateNIC(key: entry.key, from: old, to: entry.value))
            } else if isNIC, main.hotplug.network {
                live.append(.hotplugNIC(key: entry.key, value: entry.value))
            } else if VMManager.isDiskKey(entry.key), config.main[entry.key] == nil, main.hotplug.disk,
                VMRuntime.canHotplugDisk(entry.key, value: entry.value, current: config.main)
            {
                live.append(.hotplugDisk(key: entry.key, value: entry.value))
            }
        }
        if running {
            for key in update.deletions {
                guard let value = main[key] else { continue }
                if (try? VMNIC(key: key, value: value)) != nil, main.hotplug.network {
                    live.append(.unplugNIC(key: key, value: value))
                } else if VMManager.isDiskKey(key), main.hotplug.disk,
                    VMRuntime.canHotplugDisk(key, value: value, current: config.main)
                {
                    live.append(.unplugDisk(key: key, value: value))
                }
            }
        }
        return VMConfigPlan(main: main, pending: pending, live: live)
    }
}
