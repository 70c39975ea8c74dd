import Foundation
import QMP
public import VireoCore
public import VireoHost

/// The host side of a VM's NICs: `tap<vmid>i<n>` on the bridge each `netN` names, made before
/// QEMU starts and removed when it ends. A missing bridge fails the start before QEMU is launched.
public struct VMNetworkPlumbing: Sendable {
    public let network: HostNetwork

    public init(network: HostNetwork) { self.network = network }

    /// A bridged NIC of a config.
    public struct BridgedNIC: Sendable, Equatable {
        public var key: String
        public var index: Int
        public var bridge: String
        public var mtu: Int?
        public var linkDown: Bool
        public var tag: Int?
        public var trunks: String?
        public var tap: String
        /// `rate` in MB/s (Proxmox's unit), both directions.
        public var rate: Double?
        /// With a rate, the tap sits on a bridge of its own joined to the VM's bridge by a veth pair
        /// (Proxmox's `fwbr`/`fwln`/`fwpr`), so the guest's sending can be shaped on `fwln`'s egress.
        public var firewallBridge: String { "fwbr\(tap.dropFirst(3))" }
        public var firewallLink: String { "fwln\(tap.dropFirst(3))" }
        public var firewallPort: String { "fwpr\(tap.dropFirst(3))" }
        var rateBridge: HostNetwork.RateBridge {
            .init(bridge: firewallBridge, link: firewallLink, port: firewallPort)
        }
    }

    public static func tapName(vmid: VMID, index: Int) -> String { "tap\(vmid)i\(index)" }

    public static func bridgedNICs(vmid: VMID, config: VMConfig.Section) throws -> [BridgedNIC] {
        try config.parsedNICs().compactMap { nic in
            guard let bridge = nic.bridge else { return nil }
            return BridgedNIC(
                key: nic.key,
                index: nic.index,
                bridge: bridge,
                mtu: nic.mtu == 1 ? nil : nic.mtu,  // `mtu=1`: take the bridge's
                linkDown: nic.linkDown,
                tag: nic.tag,
                trunks: nic.trunks,
                tap: tapName(vmid: vmid, index: nic.index),
                rate: nic.rate
            )
        }
    }

    /// Makes the taps of every bridged NIC; on failure the ones made are removed again.
    public func plug(vmid: VMID, config: VMConfig.Section, log: VMRuntime.Log) async throws {
        var made: [String] = []
        do {
            for nic in try Self.bridgedNICs(vmid: vmid, config: config) {
                guard let bridge = try await network.link(nic.bridge), bridge.kind == "bridge" else {
                    throw VireoError.parameter(nic.key, "bridge '\(nic.bridge)' does not exist")
                }
                var attachTo = nic.bridge
                var vlanSteps: [Invocation] = []
                if nic.tag != nil || nic.trunks != nil {
                    let plan = try await vlanPlan(nic, bridge: bridge)
                    try await network.run(plan.prepare)
                    attachTo = plan.bridge
                    vlanSteps = plan.afterAttach
                }
                if let rate = nic.rate {
                    let mtu = nic.mtu ?? bridge.mtu
                    made.append(nic.firewallBridge)
                    made.append(nic.firewallLink)
                    try await network.createRateBridge(nic.rateBridge, on: attachTo, mtu: mtu)
                    try await network.createTap(nic.tap, bridge: nic.firewallBridge, mtu: mtu)
                    made.append(nic.tap)
                    try await network.setRateLimit([nic.tap, nic.firewallLink], megabytesPerSecond: rate)
                } else {
                    try await network.createTap(nic.tap, bridge: attachTo, mtu: nic.mtu)
                    made.append(nic.tap)
                }
                try await network.run(vlanSteps)
                log("\(nic.key): \(nic.tap) on \(attachTo) (MTU \(nic.mtu ?? bridge.mtu))")
            }
        } catch {
            for tap in made { try? await network.deleteLink(tap) }
            throw error
        }
    }

    /// The VLAN wiring of a NIC on this host, or an error saying what the kernel lacks.
    func vlanPlan(_ nic: BridgedNIC, bridge: HostNetwork.Link) async throws -> HostNetwork.VLANPlan {
        if bridge.vlanFiltering {
            return HostNetwork.vlanAwarePlan(tap: nic.tap, bridge: nic.bridge, tag: nic.tag, trunks: nic.trunks)
        }
        guard nic.trunks == nil else {
            throw VireoError.parameter(nic.key, "trunks need a VLAN-aware bridge ('\(nic.bridge)' is not)")
        }
        guard HostNetwork.has8021Q else {
            throw VireoError.parameter(
                nic.key,
                "VLAN tag \(nic.tag ?? 0) needs a VLAN-aware bridge (bridge VLAN filtering) or 802.1Q VLAN devices (module 8021q); this host's kernel has neither"
            )
        }
        let links = try await network.links()
        guard let uplink = links.first(where: { $0.master == nic.bridge && !NetworkReconciler.isGuestPort($0.name) })
        else {
            throw VireoError.parameter(
                nic.key,
                "bridge '\(nic.bridge)' has no physical port to carry VLAN \(nic.tag ?? 0)"
            )
        }
        return HostNetwork.traditionalPlan(
            bridge: nic.bridge,
            uplink: uplink.name,
            tag: nic.tag ?? 0,
            existing: Set(links.map(\.name))
        )
    }

    /// Removes the VM's taps and rate bridges (`tap|fwbr|fwln<vmid>i<n>`; `fwpr` goes with `fwln`).
    public func unplug(vmid: VMID) async {
        guard let links = try? await network.links() else { return }
        for link in links {
            for prefix in ["tap", "fwln", "fwbr"] where link.name.hasPrefix("\(prefix)\(vmid)i") {
                if Int(link.name.dropFirst("\(prefix)\(vmid)i".count)) != nil {
                    try? await network.deleteLink(link.name)
                }
            }
        }
    }
}

extension VMRuntime {
    /// Options of a NIC that change on a running VM without replugging the device.
    static let liveNICOptions: Set<String> = ["bridge", "link_down", "firewall", "rate"]

    /// Applies a change of `netN` to the running VM when only the bridge or the link state
    /// changes (moving the tap, QMP `set_link`); returns false when the change needs a restart.
    public func updateNICLive(_ vmid: VMID, key: String, from old: String, to new: String) async throws -> Bool {
        guard let before = try? PropertyString(parsing: old), let after = try? PropertyString(parsing: new) else {
            return false
        }
        let fixed = { (net: PropertyString) in
            net.entries.filter { !Self.liveNICOptions.contains($0.key) }.map { "\($0.key)=\($0.value)" }
        }
        guard fixed(before) == fixed(after), let index = Int(key.dropFirst(3)) else { return false }
        let tap = VMNetworkPlumbing.tapName(vmid: vmid, index: index)
        if before["bridge"] != after["bridge"] {
            guard let bridge = after["bridge"], before["bridge"] != nil else { return false }
            // With a rate bridge, its veth end is the port on the VM's bridge.
            let port = try await plumbing.network.link("fwpr\(vmid)i\(index)") != nil ? "fwpr\(vmid)i\(index)" : tap
            try await plumbing.network.attach(port, to: bridge, mtu: after["mtu"].flatMap(Int.init))
        }
        let down = (try? after.bool("link_down")) == true
        if down != ((try? before.bool("link_down")) == true) {
            try await qmp(vmid) { try await $0.setLink(name: key, up: !down) }
        }
        if before["rate"] != after["rate"] {
            try await changeRate(vmid, key: key, to: new)
        }
        return true
    }

    /// A new `rate` on a running NIC: the rate bridge is made when missing (the tap moves onto it)
    /// and both shapers replaced; without a rate the shapers go and the rate bridge stays.
    func changeRate(_ vmid: VMID, key: String, to value: String) async throws {
        guard let nic = try VMNetworkPlumbing.bridgedNICs(vmid: vmid, config: .single(key, value)).first else { return }
        let network = plumbing.network
        guard let rate = nic.rate else {
            await network.clearRateLimit([nic.tap, nic.firewallLink])
            return
        }
        if try await network.link(nic.firewallLink) == nil {
            let mtu = try await network.link(nic.tap)?.mtu ?? 1500
            try await network.createRateBridge(nic.rateBridge, on: nic.bridge, mtu: mtu)
            try await network.attach(nic.tap, to: nic.firewallBridge, mtu: mtu)
        }
        try await network.setRateLimit([nic.tap, nic.firewallLink], megabytesPerSecond: rate)
    }
}

extension VMRuntime {
    /// Adds a NIC to the running VM: its tap on the bridge, then QMP `netdev_add` and `device_add`.
    public func hotplugNIC(_ vmid: VMID, key: String, value: String, log: Log) async throws {
        let config = try VMConfig.Section.single(key, value)
        let nics = try VMNetworkPlumbing.bridgedNICs(vmid: vmid, config: config)
        try await plumbing.plug(vmid: vmid, config: config, log: log)
        do {
            let nic = try QEMUCommandBuilder.nic(key: key, value: value, vmid: vmid, kvm: false)
            let netdev = Self.qmpArguments(nic.netdev)
            let device = Self.qmpArguments(nic.device, firstIsDriver: true).merging(["id": .string(key)]) { $1 }
            try await qmp(vmid) { client in
                try await client.netdevAdd(netdev)
                do {
                    try await client.deviceAdd(device)
                } catch {
                    try? await client.netdevDel(id: key)
                    throw error
                }
            }
            if nics.first?.linkDown == true { try await qmp(vmid) { try await $0.setLink(name: key, up: false) } }
        } catch {
            for nic in nics { try? await plumbing.network.deleteLink(nic.tap) }
            throw error
        }
    }

    /// Removes a NIC from the running VM: `device_del` (the guest lets go of it), `netdev_del`, tap.
    public func unplugNIC(_ vmid: VMID, key: String) async throws {
        guard let index = Int(key.dropFirst(3)) else { return }
        try await qmp(vmid) { client in
            try await Self.removeDevice(key, client: client)
            try await client.netdevDel(id: key)
        }
        try? await plumbing.network.deleteLink(VMNetworkPlumbing.tapName(vmid: vmid, index: index))
    }

    /// `device_del`, then waits (up to 10 s) until the guest has let go of the device.
    static func removeDevice(_ id: String, client: QMPClient) async throws {
        try await client.deviceDel(id: id)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let devices = try await client.execute("qom-list", arguments: ["path": "/machine/peripheral"])
            if !(devices.arrayValue ?? []).contains(where: { $0["name"]?.stringValue == id }) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// `a=b,c=d` as QMP arguments; with `firstIsDriver` the first bare word is `driver`.
    static func qmpArguments(_ options: String, firstIsDriver: Bool = false) -> [String: QMPValue] {
        var result: [String: QMPValue] = [:]
        for (position, part) in options.split(separator: ",").enumerated() {
            if let equals = part.firstIndex(of: "=") {
                result[String(part[..<equals])] = .string(String(part[part.index(after: equals)...]))
            } else if position == 0, firstIsDriver {
                result["driver"] = .string(String(part))
            }
        }
        return result
    }
}

extension VMConfig.Section {
    /// A section with one entry (for code that takes a whole config).
    static func single(_ key: String, _ value: String) throws -> VMConfig.Section {
        var section = VMConfig.Section()
        try section.set(key, value)
        return section
    }
}
