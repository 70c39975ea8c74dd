public import VireoCore

/// Carries out a ``VMConfigPlan`` under the VM's lock: allocates new disks, applies the live
/// changes to a running VM, and writes the config with compare-and-swap. When anything fails
/// after the first host change, what was done is undone in reverse (live changes reverted,
/// allocated volumes freed), so a refused update leaves neither the VM nor the storage changed.
public struct VMConfigUpdater: Sendable {
    public let runtime: VMRuntime

    public init(runtime: VMRuntime) { self.runtime = runtime }

    var manager: VMManager { runtime.manager }

    /// - Parameters:
    ///   - digest: Proxmox's `digest`: the update applies only to the config the caller saw.
    ///   - authorize: checks the caller's privileges against the config as read under the lock.
    public func update(
        _ vmid: VMID,
        _ update: VMConfigUpdate,
        digest: String?,
        skipLock: Bool,
        authorize: (VMConfig.Section) throws -> Void,
        log: VMRuntime.Log = { _ in }
    ) async throws {
        try await manager.configs.withLock(vmid) {
            let loaded = try await manager.configs.load(vmid)
            if let digest, !digest.isEmpty, loaded.digest != digest.lowercased() {
                throw VireoError.modifiedConfiguration
            }
            try authorize(loaded.config.main)
            if !skipLock, let lock = loaded.config.main.lock { throw VireoError.conflict("VM is locked (\(lock))") }
            // Decided under the lock: a start or stop cannot slip in between.
            let running = manager.runningPID(vmid) != nil
            var plan = try VMConfigPlanner.plan(current: loaded.config, update: update, running: running)
            try VMConfigDefaults.addGenerated(to: &plan.main, creating: false)
            try VMConfigDefaults.addGenerated(to: &plan.pending, creating: false)
            try await manager.validate(vmid: vmid, config: try plan.effective.main)

            var allocated: [String] = []
            var applied: [VMConfigPlan.LiveChange] = []
            do {
                allocated += try await manager.allocateDisks(vmid: vmid, config: &plan.main)
                allocated += try await manager.allocateDisks(vmid: vmid, config: &plan.pending)
                for change in plan.live {
                    if let done = try await apply(change, vmid: vmid, plan: plan, current: loaded.config.main) {
                        applied.append(done)
                        try plan.applied(done)
                    }
                }
                var config = loaded.config
                config.main = plan.main
                config.pending = plan.pending.isEmpty ? nil : plan.pending
                guard try await manager.configs.commit(config, over: loaded) else {
                    throw VireoError.conflict("VM \(vmid): config file was changed concurrently - update undone")
                }
            } catch {
                for change in applied.reversed() {
                    do { try await revert(change, vmid: vmid, current: loaded.config.main) } catch {
                        log("could not undo \(change): \(error)")
                    }
                }
                for volid in allocated {
                    do { try await manager.free(volid) } catch { log("could not free '\(volid)': \(error)") }
                }
                throw error
            }
        }
    }

    /// Applies one live change with the value the plan now holds (allocated disks, generated
    /// MACs), returned as made; nil when the running VM cannot take it and it stays pending.
    private func apply(
        _ change: VMConfigPlan.LiveChange,
        vmid: VMID,
        plan: VMConfigPlan,
        current: VMConfig.Section
    ) async throws -> VMConfigPlan.LiveChange? {
        switch change {
        case .updateNIC(let key, let old, _):
            guard let value = plan.pending[key] else { return nil }
            guard try await runtime.updateNICLive(vmid, key: key, from: old, to: value) else { return nil }
            return .updateNIC(key: key, from: old, to: value)
        case .hotplugNIC(let key, _):
            guard let value = plan.pending[key] else { return nil }
            try await runtime.hotplugNIC(vmid, key: key, value: value) { _ in }
            return .hotplugNIC(key: key, value: value)
        case .unplugNIC(let key, _):
            try await runtime.unplugNIC(vmid, key: key)
            return change
        case .hotplugDisk(let key, _):
            guard let value = plan.pending[key] else { return nil }
            try await runtime.hotplugDisk(vmid, key: key, value: value, current: current)
            return .hotplugDisk(key: key, value: value)
        case .unplugDisk(let key, _):
            try await runtime.unplugDisk(vmid, key: key)
            return change
        }
    }

    private func revert(_ change: VMConfigPlan.LiveChange, vmid: VMID, current: VMConfig.Section) async throws {
        switch change {
        case .updateNIC(let key, let old, let new):
            _ = try await runtime.updateNICLive(vmid, key: key, from: new, to: old)
        case .hotplugNIC(let key, _):
            try await runtime.unplugNIC(vmid, key: key)
        case .unplugNIC(let key, let value):
            try await runtime.hotplugNIC(vmid, key: key, value: value) { _ in }
        case .hotplugDisk(let key, _):
            try await runtime.unplugDisk(vmid, key: key)
        case .unplugDisk(let key, let value):
            try await runtime.hotplugDisk(vmid, key: key, value: value, current: current)
        }
    }
}
