/// Brings the kernel's links in line with a desired network config by the fewest `ip` commands:
/// it reads what is there, plans only the differences, and applying an unchanged config plans
/// nothing (no kernel writes). Links it does not manage (guest taps, links absent from both the
/// old and the new config) are left alone.
public struct NetworkReconciler: Sendable {
    /// One interface as the config wants it.
    public struct DesiredLink: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case bridge(vlanAware: Bool)
            case bond(mode: String)
            case vlan(parent: String, id: Int)
            /// Exists by itself (a NIC or a veth end): configured, never created or deleted.
            case existing
        }
        public var name: String
        public var kind: Kind
        /// Ports of a bridge, slaves of a bond.
        public var ports: [String]
        public var addresses: [String]
        public var gateway: String?
        public var mtu: Int?
        public var autostart: Bool

        public init(
            name: String,
            kind: Kind,
            ports: [String] = [],
            addresses: [String] = [],
            gateway: String? = nil,
            mtu: Int? = nil,
            autostart: Bool = true
        ) {
            self.name = name
            self.kind = kind
            self.ports = ports
            self.addresses = addresses
            self.gateway = gateway
            self.mtu = mtu
            self.autostart = autostart
        }
    }

    /// One kernel change: what a task log shows and the `ip` arguments that make it.
    public struct Step: Sendable, Equatable, CustomStringConvertible {
        public var arguments: [String]
        public var description: String { "ip " + arguments.joined(separator: " ") }
        public init(_ arguments: [String]) { self.arguments = arguments }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Ports named like a guest's NIC belong to VMs, not to the host config.
    public static func isGuestPort(_ name: String) -> Bool {
        for prefix in ["tap", "veth", "fwpr", "fwln"] where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            if let i = rest.firstIndex(of: "i"), Int(rest[..<i]) != nil, Int(rest[rest.index(after: i)...]) != nil {
                return true
            }
        }
        return false
    }

    /// The steps from `actual` to `desired`; `previous` is the config applied before (links it had
    /// that `desired` lacks are deleted when Vireo made them: bridges, bonds, VLANs).
    public static func plan(
        desired: [DesiredLink],
        previous: [DesiredLink],
        actual: [HostNetwork.Link],
        gateway: (gateway: String, device: String)?
    ) throws -> [Step] {
        let byName = Dictionary(actual.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var steps: [Step] = []
        var created: Set<String> = []
        // 1. Links to make, in dependency order: bonds and VLANs before the bridges using them.
        let order: (DesiredLink) -> Int = {
            switch $0.kind {
            case .existing: 0
            case .bond: 1
            case .vlan: 2
            case .bridge: 3
            }
        }
        for link in desired.sorted(by: { (order($0), $0.name) < (order($1), $1.name) }) {
            let current = byName[link.name]
            switch link.kind {
            case .existing:
                guard current != nil else { throw Failure(message: "interface '\(link.name)' does not exist") }
            case .bridge(let vlanAware):
                if let current {
                    guard current.kind == "bridge" else {
                        throw Failure(
                            message: "'\(link.name)' exists but is not a bridge (\(current.kind ?? "device"))"
                        )
                    }
                } else {
                    var add = ["link", "add", "name", link.name, "type", "bridge"]
                    if vlanAware { add += ["vlan_filtering", "1"] }
                    steps.append(Step(add))
                    created.insert(link.name)
                }
            case .bond(let mode):
                if let current {
                    guard current.kind == "bond" else {
                        throw Failure(message: "'\(link.name)' exists but is not a bond (\(current.kind ?? "device"))")
                    }
                } else {
                    steps.append(Step(["link", "add", "name", link.name, "type", "bond", "mode", mode]))
                    created.insert(link.name)
                }
            case .vlan(let parent, let id):
                if let current {
                    guard current.kind == "vlan" else {
                        throw Failure(message: "'\(link.name)' exists but is not a VLAN (\(current.kind ?? "device"))")
                    }
                } else {
                    steps.append(
                        Step(["link", "add", "link", parent, "name", link.name, "type", "vlan", "id", String(id)])
                    )
                    created.insert(link.name)
                }
            }
        }
        // 2. MTU (ports before their masters is what the kernel wants; ports come first in `order`).
        for link in desired.sorted(by: { (order($0), $0.name) < (order($1), $1.name) }) {
            guard let mtu = link.mtu else { continue }
            if byName[link.name]?.mtu != mtu || created.contains(link.name) {
                steps.append(Step(["link", "set", "dev", link.name, "mtu", String(mtu)]))
            }
        }
        // 3. Ports: attach what should be attached, release what should not (guest taps stay).
        for link in desired {
            switch link.kind {
            case .bridge, .bond: break
            default: continue
            }
            for port in link.ports.sorted() {
                guard byName[port] != nil || desired.contains(where: { $0.name == port }) else {
                    throw Failure(message: "port '\(port)' of '\(link.name)' does not exist")
                }
                if byName[port]?.master != link.name {
                    if case .bond = link.kind, byName[port]?.isUp == true {
                        steps.append(Step(["link", "set", "dev", port, "down"]))  // bonds take only down slaves
                    }
                    steps.append(Step(["link", "set", "dev", port, "master", link.name]))
                }
            }
            for current in actual where current.master == link.name {
                if !link.ports.contains(current.name), !isGuestPort(current.name) {
                    steps.append(Step(["link", "set", "dev", current.name, "nomaster"]))
                }
            }
        }
        // 4. Addresses.
        for link in desired {
            let have = Set(byName[link.name]?.addresses ?? [])
            for address in link.addresses where !have.contains(address) {
                steps.append(Step(["addr", "add", address, "dev", link.name]))
            }
            for address in (byName[link.name]?.addresses ?? []) where !link.addresses.contains(address) {
                steps.append(Step(["addr", "del", address, "dev", link.name]))
            }
        }
        // 5. Up: ports and then their masters.
        for link in desired.sorted(by: { (order($0), $0.name) < (order($1), $1.name) }) where link.autostart {
            for port in link.ports.sorted() where byName[port]?.isUp != true || created.contains(port) {
                if !steps.contains(Step(["link", "set", "dev", port, "up"])) {
                    steps.append(Step(["link", "set", "dev", port, "up"]))
                }
            }
            if byName[link.name]?.isUp != true || created.contains(link.name) {
                if !steps.contains(Step(["link", "set", "dev", link.name, "up"])) {
                    steps.append(Step(["link", "set", "dev", link.name, "up"]))
                }
            }
        }
        // 6. Default gateway.
        if let wanted = desired.first(where: { $0.gateway != nil }), let via = wanted.gateway {
            if gateway?.gateway != via || gateway?.device != wanted.name {
                steps.append(Step(["route", "replace", "default", "via", via, "dev", wanted.name]))
            }
        }
        // 7. Links Vireo made for the previous config and the new one drops.
        for old in previous where !desired.contains(where: { $0.name == old.name }) {
            if case .existing = old.kind { continue }
            if byName[old.name] != nil { steps.append(Step(["link", "del", "dev", old.name])) }
        }
        return steps
    }
}
