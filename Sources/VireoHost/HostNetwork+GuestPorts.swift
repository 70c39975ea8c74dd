import Foundation

/// What a VM's NIC needs on the host besides its tap: VLAN wiring in Proxmox's two models, and a
/// rate limit with the qdiscs every kernel has (HTB) on a bridge of its own.
extension HostNetwork {
    /// Whether 802.1Q VLAN devices can be made (module `8021q` loaded).
    public static var has8021Q: Bool { FileManager.default.fileExists(atPath: "/proc/net/vlan/config") }

    /// Runs commands (`ip`, `bridge`, `tc`) one after the other in the namespace.
    public func run(_ commands: [Invocation]) async throws {
        for command in commands { _ = try await runner.run(namespace.wrap(command)) }
    }

    // MARK: - VLANs

    /// How a tagged NIC is wired.
    public struct VLANPlan: Sendable, Equatable {
        /// The bridge the tap joins.
        public var bridge: String
        /// Commands before the tap exists (traditional model: `ethX.Y` and `vmbrXvY`).
        public var prepare: [Invocation]
        /// Commands once the tap is on its bridge (VLAN-aware model: the tap's VLANs).
        public var afterAttach: [Invocation]
    }

    /// VLAN-aware bridge: the tap carries `tag` untagged (its PVID) and the `trunks` tagged.
    public static func vlanAwarePlan(tap: String, bridge: String, tag: Int?, trunks: String?) -> VLANPlan {
        var steps = [Invocation("bridge", ["vlan", "del", "dev", tap, "vid", "1"])]
        if let tag {
            steps.append(Invocation("bridge", ["vlan", "add", "dev", tap, "vid", String(tag), "pvid", "untagged"]))
        }
        for trunk in (trunks ?? "").split(separator: ";") where !trunk.isEmpty {
            steps.append(Invocation("bridge", ["vlan", "add", "dev", tap, "vid", String(trunk)]))
        }
        return VLANPlan(bridge: bridge, prepare: [], afterAttach: steps)
    }

    /// Traditional model: VLAN `tag` of the bridge's uplink gets a bridge of its own, `vmbrXvY`
    /// over `uplink.Y`, made once and shared by every NIC with that tag.
    public static func traditionalPlan(bridge: String, uplink: String, tag: Int, existing: Set<String>) -> VLANPlan {
        let vlanDevice = "\(uplink).\(tag)"
        let vlanBridge = "\(bridge)v\(tag)"
        var steps: [Invocation] = []
        if !existing.contains(vlanDevice) {
            steps.append(
                Invocation(
                    "ip",
                    ["link", "add", "link", uplink, "name", vlanDevice, "type", "vlan", "id", String(tag)]
                )
            )
        }
        if !existing.contains(vlanBridge) {
            steps.append(Invocation("ip", ["link", "add", "name", vlanBridge, "type", "bridge"]))
            steps.append(Invocation("ip", ["link", "set", "dev", vlanDevice, "master", vlanBridge]))
            steps.append(Invocation("ip", ["link", "set", "dev", vlanDevice, "up"]))
            steps.append(Invocation("ip", ["link", "set", "dev", vlanBridge, "up"]))
        }
        return VLANPlan(bridge: vlanBridge, prepare: steps, afterAttach: [])
    }

    // MARK: - Rate limits

    /// A NIC's own bridge (`fwbr`) with one veth end (`fwln`) on it and the other (`fwpr`) on the
    /// VM's bridge: what leaves the guest crosses `fwln`'s egress, where a qdisc can shape it.
    public struct RateBridge: Sendable, Equatable {
        public var bridge: String
        public var link: String
        public var port: String

        public init(bridge: String, link: String, port: String) {
            self.bridge = bridge
            self.link = link
            self.port = port
        }
    }

    public func createRateBridge(_ names: RateBridge, on bridge: String, mtu: Int) async throws {
        try await run(Self.rateBridgeSteps(names, on: bridge, mtu: mtu))
    }

    static func rateBridgeSteps(_ names: RateBridge, on bridge: String, mtu: Int) -> [NetworkReconciler.Step] {
        let mtu = String(mtu)
        return [
            .init(["link", "add", "name", names.bridge, "mtu", mtu, "type", "bridge"]),
            .init([
                "link", "add", "name", names.port, "mtu", mtu, "type", "veth", "peer", "name", names.link, "mtu", mtu,
            ]),
            .init(["link", "set", "dev", names.link, "master", names.bridge]),
            .init(["link", "set", "dev", names.port, "master", bridge]),
            .init(["link", "set", "dev", names.link, "up"]),
            .init(["link", "set", "dev", names.port, "up"]),
            .init(["link", "set", "dev", names.bridge, "up"]),
        ]
    }

    /// HTB on each device's egress (Proxmox's `rate` is in MB/s; tc's `bps` is bytes per second).
    public func setRateLimit(_ devices: [String], megabytesPerSecond rate: Double) async throws {
        try await run(Self.rateLimitCommands(devices: devices, rate: rate))
    }

    /// Removes the shapers; devices without one are fine.
    public func clearRateLimit(_ devices: [String]) async {
        for device in devices { try? await run([Invocation("tc", ["qdisc", "del", "dev", device, "root"])]) }
    }

    static func rateLimitCommands(devices: [String], rate: Double) -> [Invocation] {
        let bytes = max(1, Int(rate * 1024 * 1024))
        let burst = max(16 * 1024, bytes / 20)
        return devices.flatMap { device in
            [
                Invocation("tc", ["qdisc", "replace", "dev", device, "root", "handle", "1:", "htb", "default", "1"]),
                Invocation(
                    "tc",
                    [
                        "class", "replace", "dev", device, "parent", "1:", "classid", "1:1", "htb", "rate",
                        "\(bytes)bps", "burst", "\(burst)b",
                    ]
                ),
            ]
        }
    }
}
