import Logging
import VireoAccess
import VireoCore
import VireoHost
import VireoNetwork
import VireoTasks

/// `/nodes/{node}/network`: the host's interfaces with Proxmox's staging (`interfaces.new`):
/// list, create, read, update, delete, apply (`PUT`, a `srvreload` task) and revert (`DELETE`).
enum NetworkEndpoints {
    static func register(in registry: inout APIRegistry) {
        let base = "/nodes/{node}/network"
        // Proxmox's schema lets every user list; the list holds addresses and the pending diff,
        // so Vireo asks what reading one interface asks.
        registry.register(
            .get,
            base,
            permission: .perm("/nodes/{node}", ["Sys.Audit"], any: false, requireParam: nil),
            handles: ["type"]
        ) {
            request in
            let config = request.services.network
            let (file, _) = try config.read()
            let kernel = await kernelLinks(request)
            var items: [JSON] = []
            for (index, interface) in file.interfaces.enumerated() where interface.type != .loopback {
                items.append(.object(json(interface, priority: index + 1, kernel: kernel)))
            }
            // NICs (and veths standing in for them) the kernel has but the file does not name.
            for link in kernel
            where (link.kind == nil || link.kind == "veth") && link.name != "lo"
                && file[link.name] == nil && !NetworkReconciler.isGuestPort(link.name)
            {
                items.append([
                    "iface": .string(link.name), "type": "eth", "method": "manual", "families": ["inet"],
                    "exists": 1, "active": .flag(link.isUp), "autostart": 0, "priority": .int(items.count + 1),
                ])
            }
            if let type = request.parameters["type"] {
                items = items.filter { item in
                    let itemType = item["type"]?.stringValue ?? ""
                    switch type {
                    case "any_bridge", "any_local_bridge": return itemType == "bridge" || itemType == "OVSBridge"
                    case "include_sdn": return true
                    default: return itemType == type
                    }
                }
            }
            var extra: [String: JSON] = [:]
            if let changes = await config.changes() { extra["changes"] = .string(changes) }
            return .init(.array(items), extra: extra)
        }
        registry.register(.post, base, handles: .all) { request in
            let name = try request.parameters.require("iface")
            let type = try request.parameters.require("type")
            try request.services.network.modify { file in
                if file[name] != nil { throw VireoError.parameter("iface", "interface already exists") }
                var interface = NetworkInterface(name: name)
                interface.autostart = request.parameters.bool("autostart", default: false)
                switch type {
                case "bridge":
                    interface.bridgePorts = []
                    interface.bridgeSTP = false
                    interface.bridgeFD = 0
                case "bond":
                    interface.slaves = []
                    interface.bondMiimon = 100
                case "eth", "vlan": break
                default:
                    throw VireoError.parameter("type", "interface type '\(type)' is not supported by Vireo yet")
                }
                try update(&interface, from: request.parameters, deleting: [])
                guard interface.type.rawValue == type || (type == "eth" && interface.type == .unknown) else {
                    throw VireoError.parameter("type", "'\(name)' is not a valid name for an interface of type \(type)")
                }
                try file.set(interface)
            }
            return .null
        }
        registry.register(.get, base + "/{iface}", handles: []) { request in
            let name = try request.parameters.require("iface")
            let config = request.services.network
            let (file, _) = try config.read()
            guard let index = file.interfaces.firstIndex(where: { $0.name == name }) else {
                throw VireoError.notFound("interface '\(name)' does not exist")
            }
            let kernel = await kernelLinks(request)
            return .init(.object(json(file.interfaces[index], priority: index + 1, kernel: kernel)))
        }
        registry.register(.put, base + "/{iface}", handles: .all) { request in
            let name = try request.parameters.require("iface")
            try request.services.network.modify { file in
                guard var interface = file[name] else {
                    throw VireoError.notFound("interface '\(name)' does not exist")
                }
                if let type = request.parameters["type"], type != interface.type.rawValue {
                    throw VireoError.parameter("type", "interface '\(name)' is of type \(interface.type.rawValue)")
                }
                try update(&interface, from: request.parameters, deleting: request.parameters.list("delete"))
                try file.set(interface)
            }
            return .null
        }
        registry.register(.delete, base + "/{iface}", handles: []) { request in
            let name = try request.parameters.require("iface")
            try request.services.network.modify { file in
                guard file[name] != nil else { throw VireoError.notFound("interface '\(name)' does not exist") }
                try file.remove(name)
            }
            return .null
        }
        registry.register(.put, base, handles: []) { request in
            let config = request.services.network
            let upid = try request.services.tasks.start(
                type: "srvreload",
                id: "networking",
                user: request.identity.authID
            ) { log in
                try await config.apply { log.append($0) }
            }
            return .init(.string(upid.description))
        }
        registry.register(.delete, base, handles: []) { request in
            try request.services.network.revert()
            return .null
        }
    }

    /// Applies the API's fields to an interface; addressing decides `method` and `families`.
    static func update(_ interface: inout NetworkInterface, from p: Parameters, deleting: [String]) throws {
        for key in deleting {
            switch key {
            case "cidr", "address", "netmask":
                interface.cidr = nil
                interface.address = nil
                interface.netmask = nil
            case "gateway": interface.gateway = nil
            case "cidr6", "address6", "netmask6":
                interface.cidr6 = nil
                interface.address6 = nil
                interface.netmask6 = nil
            case "gateway6": interface.gateway6 = nil
            case "mtu": interface.mtu = nil
            case "comments": interface.comments = nil
            case "bridge_ports": interface.bridgePorts = interface.bridgePorts.map { _ in [] }
            case "bridge_vlan_aware": interface.bridgeVLANAware = false
            case "bridge_vids": interface.bridgeVIDs = nil
            case "slaves": interface.slaves = interface.slaves.map { _ in [] }
            case "bond-primary": interface.bondPrimary = nil
            case "bond_xmit_hash_policy": interface.bondXmitHashPolicy = nil
            default: throw VireoError.parameter("delete", "cannot delete '\(key)'")
            }
        }
        if let autostart = p.bool("autostart") { interface.autostart = autostart }
        if let cidr = p["cidr"] {
            interface.cidr = cidr
            interface.address = nil
            interface.netmask = nil
        } else if let address = p["address"] {
            guard let netmask = p["netmask"] else { throw VireoError.parameter("netmask", "address needs a netmask") }
            interface.address = address
            interface.netmask = netmask
            interface.cidr = nil
        }
        if let gateway = p["gateway"] { interface.gateway = gateway }
        if let cidr6 = p["cidr6"] { interface.cidr6 = cidr6 }
        if let gateway6 = p["gateway6"] { interface.gateway6 = gateway6 }
        if let mtu = p.int("mtu") { interface.mtu = mtu }
        if let comments = p["comments"] { interface.comments = comments }
        if p["bridge_ports"] != nil {
            guard interface.bridgePorts != nil else { throw VireoError.parameter("bridge_ports", "not a bridge") }
            interface.bridgePorts = p.list("bridge_ports").filter { $0 != "none" }
        }
        if let aware = p.bool("bridge_vlan_aware") { interface.bridgeVLANAware = aware }
        if let vids = p["bridge_vids"] { interface.bridgeVIDs = vids }
        if p["slaves"] != nil {
            guard interface.slaves != nil else { throw VireoError.parameter("slaves", "not a bond") }
            interface.slaves = p.list("slaves").filter { $0 != "none" }
        }
        if let mode = p["bond_mode"] { interface.bondMode = BondMode(rawValue: mode) }
        if let policy = p["bond_xmit_hash_policy"] { interface.bondXmitHashPolicy = policy }
        if let primary = p["bond-primary"] { interface.bondPrimary = primary }
        if let device = p["vlan-raw-device"] { interface.vlanRawDevice = device }
        if let id = p.int("vlan-id") { interface.vlanID = id }
        let hasV4 = interface.cidr != nil || interface.address != nil
        let hasV6 = interface.cidr6 != nil || interface.address6 != nil
        if interface.method != .dhcp { interface.method = hasV4 ? .static : .manual }
        if interface.method6 != .dhcp { interface.method6 = hasV6 ? .static : .manual }
        interface.families =
            hasV6 ? (hasV4 || !interface.families.contains(.inet6) ? [.inet, .inet6] : [.inet6]) : [.inet]
    }

    /// The API object of an interface: Proxmox's field names, 0/1 flags, space-separated lists.
    static func json(_ interface: NetworkInterface, priority: Int, kernel: [HostNetwork.Link]) -> [String: JSON] {
        let link = kernel.first { $0.name == interface.name }
        var object: [String: JSON] = [
            "iface": .string(interface.name), "type": .string(interface.type.rawValue),
            "method": .string(interface.method.rawValue), "priority": .int(priority),
            "families": .array(
                (interface.families.isEmpty ? [.inet] : interface.families).map { .string($0.rawValue) }
            ),
            "autostart": .flag(interface.autostart), "active": .flag(link?.isUp == true),
        ]
        if link != nil { object["exists"] = 1 }
        if interface.families.contains(.inet6) { object["method6"] = .string(interface.method6.rawValue) }
        let strings: [(String, String?)] = [
            ("address", interface.address), ("netmask", interface.netmask), ("cidr", interface.cidr),
            ("gateway", interface.gateway), ("address6", interface.address6), ("netmask6", interface.netmask6),
            ("cidr6", interface.cidr6), ("gateway6", interface.gateway6), ("comments", interface.comments),
            ("comments6", interface.comments6), ("bridge_vids", interface.bridgeVIDs),
            ("bond_mode", interface.bondMode?.rawValue), ("bond_xmit_hash_policy", interface.bondXmitHashPolicy),
            ("bond-primary", interface.bondPrimary), ("vlan-raw-device", interface.vlanRawDevice),
        ]
        for (key, value) in strings { if let value { object[key] = .string(value) } }
        if let mtu = interface.mtu { object["mtu"] = .int(mtu) }
        if let ports = interface.bridgePorts {
            object["bridge_ports"] = .string(ports.joined(separator: " "))
            object["bridge_stp"] = .string(interface.bridgeSTP == true ? "on" : "off")
            object["bridge_fd"] = .string(String(interface.bridgeFD ?? 0))
            if interface.bridgeVLANAware { object["bridge_vlan_aware"] = 1 }
        }
        if let slaves = interface.slaves { object["slaves"] = .string(slaves.joined(separator: " ")) }
        if let miimon = interface.bondMiimon { object["bond_miimon"] = .string(String(miimon)) }
        if let id = interface.vlanID { object["vlan-id"] = .int(id) }
        if !interface.options.isEmpty { object["options"] = .array(interface.options.map { .string($0) }) }
        return object
    }

    /// The kernel's view of the links, for `active` and the like; when `ip` fails the list still
    /// answers from the config, and the failure is logged (a data-plane problem, not the caller's).
    static func kernelLinks(_ request: APIRequest) async -> [HostNetwork.Link] {
        do {
            return try await request.services.network.network.links()
        } catch {
            request.services.logger.warning("cannot read the kernel's links: \(error)")
            return []
        }
    }
}
