import Foundation
public import VireoCore

/// The cloud-init data of a VM, generated from its `ci*`, `ipconfigN`, `nameserver` and
/// `searchdomain` keys as Proxmox generates it: NoCloud (`cidata`) for Linux guests,
/// ConfigDrive2 (`config-2`) for Windows ones or when `citype` says so.
public struct CloudInit: Sendable, Equatable {
    public enum Format: String, Sendable {
        case nocloud, configdrive2
    }

    /// The keys whose change means a new cloud-init drive.
    public static let optionKeys: Set<String> = [
        "cicustom", "cipassword", "citype", "ciuser", "ciupgrade", "nameserver", "searchdomain", "sshkeys",
    ]
    public static func isOptionKey(_ key: String) -> Bool {
        optionKeys.contains(key) || (key.hasPrefix("ipconfig") && Int(key.dropFirst("ipconfig".count)) != nil)
    }

    static let windowsTypes: Set<String> = ["wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11"]

    public let format: Format
    public let userData: String
    public let networkConfig: String
    public let metaData: String
    public let vendorData: String

    /// The ISO's volume label.
    public var label: String { format == .nocloud ? "cidata" : "config-2" }

    /// The files at the ISO's root (relative paths).
    public var files: [(path: String, content: String)] {
        switch format {
        case .nocloud:
            [
                ("user-data", userData), ("network-config", networkConfig), ("meta-data", metaData),
                ("vendor-data", vendorData),
            ]
        case .configdrive2:
            [
                ("openstack/latest/user_data", userData), ("openstack/content/0000", networkConfig),
                ("openstack/latest/meta_data.json", metaData), ("openstack/latest/vendor_data.json", vendorData),
            ]
        }
    }

    /// Generates the data of VM `vmid` from `config`. `hostDNS` fills in `nameserver` and
    /// `searchdomain` when the VM has none; `custom` holds the snippets `cicustom` names
    /// (`user`, `network`, `meta`, `vendor`), which replace the generated files.
    public init(
        vmid: VMID,
        config: VMConfig.Section,
        hostDNS: (search: [String], nameservers: [String]),
        custom: [String: String] = [:]
    )
        throws
    {
        let ostype = config["ostype"] ?? "l26"
        let windows = Self.windowsTypes.contains(ostype)
        switch config["citype"] {
        case nil: format = windows ? .configdrive2 : .nocloud
        case "nocloud": format = .nocloud
        case "configdrive2": format = .configdrive2
        case let other?: throw VireoError.parameter("citype", "cloud-init type '\(other)' is not supported by Vireo")
        }
        let name = config["name"] ?? "VM\(vmid)"
        let search =
            config["searchdomain"].map { $0.split(whereSeparator: \.isWhitespace).map(String.init) } ?? hostDNS.search
        let nameservers =
            config["nameserver"].map { $0.split(whereSeparator: \.isWhitespace).map(String.init) }
            ?? hostDNS.nameservers
        let hostname = String(name.prefix { $0 != "." })
        // The VM's own search domain makes the FQDN; the host's does not.
        let ownDomain = config["searchdomain"]?.split(whereSeparator: \.isWhitespace).first
        let fqdn = name.contains(".") ? name : ownDomain.map { "\(hostname).\($0)" } ?? hostname
        let user = custom["user"] ?? Self.userData(config, hostname: hostname, fqdn: fqdn)
        let interfaces = try Self.interfaces(config)
        let network: String
        switch format {
        case .nocloud:
            network = custom["network"] ?? Self.noCloudNetwork(interfaces, nameservers: nameservers, search: search)
        case .configdrive2:
            network = custom["network"] ?? Self.eniNetwork(interfaces, nameservers: nameservers, search: search)
        }
        let instanceID = ConfigDigest.sha1Hex(user + network)
        userData = user
        networkConfig = network
        vendorData = custom["vendor"] ?? ""
        switch format {
        case .nocloud: metaData = custom["meta"] ?? "instance-id: \(instanceID)\n"
        case .configdrive2:
            metaData =
                custom["meta"]
                ?? "{\n     \"uuid\": \"\(instanceID)\",\n     \"network_config\": { \"content_path\": \"/content/0000\" }\n}\n"
        }
        let total = userData.utf8.count + networkConfig.utf8.count + metaData.utf8.count + vendorData.utf8.count
        guard total <= 3 * 1024 * 1024 else { throw VireoError.invalid("Cloud-Init sum of snippets too big (> 3 MiB)") }
    }

    static func userData(_ config: VMConfig.Section, hostname: String, fqdn: String) -> String {
        var lines = ["#cloud-config", "hostname: \(hostname)", "manage_etc_hosts: true", "fqdn: \(fqdn)"]
        let user = config["ciuser"]
        if let user {
            lines.append("user: \(user)")
            if user == "root" { lines.append("disable_root: False") }
        }
        if let password = config["cipassword"] { lines.append("password: \(password)") }
        if let keys = config["sshkeys"] {
            let decoded = PercentEncoding.decode(keys)
            let list = decoded.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            if !list.isEmpty {
                lines.append("ssh_authorized_keys:")
                lines += list.map { "  - \($0)" }
            }
        }
        lines += ["chpasswd:", "  expire: False"]
        if user != "root" { lines += ["users:", "  - default"] }
        if config["ciupgrade"].map({ PropertyString.parseBool($0) != false }) ?? true {
            lines.append("package_upgrade: true")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One NIC with its `ipconfigN`.
    struct Interface: Equatable {
        var index: Int
        var mac: String
        var ipv4: String?  // CIDR or "dhcp"
        var gateway4: String?
        var ipv6: String?  // CIDR, "dhcp" or "auto"
        var gateway6: String?
    }

    static func interfaces(_ config: VMConfig.Section) throws -> [Interface] {
        var result: [Interface] = []
        for entry in config.entries where entry.key.hasPrefix("ipconfig") {
            guard let index = Int(entry.key.dropFirst("ipconfig".count)) else { continue }
            guard let netValue = config["net\(index)"] else { continue }
            let nic = try VMNIC(key: "net\(index)", value: netValue)
            guard let mac = nic.mac else {
                throw VireoError.invalid("network interface 'net\(index)' has no mac address")
            }
            let ip = try PropertyString(parsing: entry.value)
            if let v4 = ip["ip"], v4 != "dhcp", !isCIDR(v4, bits: 32) {
                throw VireoError.parameter(entry.key, "not a CIDR: \(v4)")
            }
            if let v6 = ip["ip6"], !["dhcp", "auto"].contains(v6), !isCIDR(v6, bits: 128) {
                throw VireoError.parameter(entry.key, "not a CIDR: \(v6)")
            }
            result.append(
                Interface(
                    index: index,
                    mac: mac.lowercased(),
                    ipv4: ip["ip"],
                    gateway4: ip["gw"],
                    ipv6: ip["ip6"],
                    gateway6: ip["gw6"]
                )
            )
        }
        return result.sorted { "net\($0.index)" < "net\($1.index)" }
    }

    static func isCIDR(_ text: String, bits: Int) -> Bool {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let prefix = Int(parts[1]), (0...bits).contains(prefix) else { return false }
        if bits == 32 {
            let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
            return octets.count == 4 && octets.allSatisfy { $0.count <= 3 && UInt8($0) != nil }
        }
        return parts[0].contains(":") && parts[0].allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }

    /// The dotted netmask of an IPv4 prefix length.
    static func netmask(_ prefix: Int) -> String {
        let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix)
        return [24, 16, 8, 0].map { String((mask >> UInt32($0)) & 0xFF) }.joined(separator: ".")
    }

    static func split(_ cidr: String) -> (address: String, prefix: Int) {
        let parts = cidr.split(separator: "/")
        return (String(parts[0]), Int(parts.last ?? "") ?? 32)
    }

    /// NoCloud network-config, version 1.
    static func noCloudNetwork(_ interfaces: [Interface], nameservers: [String], search: [String]) -> String {
        var lines = ["version: 1", "config:"]
        for interface in interfaces {
            lines += [
                "    - type: physical", "      name: eth\(interface.index)", "      mac_address: '\(interface.mac)'",
            ]
            var subnets: [String] = []
            switch interface.ipv4 {
            case "dhcp"?: subnets.append("      - type: dhcp4")
            case let cidr?:
                let (address, prefix) = split(cidr)
                subnets += [
                    "      - type: static", "        address: '\(address)'", "        netmask: '\(netmask(prefix))'",
                ]
                if let gateway = interface.gateway4 { subnets.append("        gateway: '\(gateway)'") }
            case nil: break
            }
            switch interface.ipv6 {
            case "dhcp"?: subnets.append("      - type: dhcp6")
            case "auto"?: subnets.append("      - type: ipv6_slaac")
            case let cidr?:
                subnets += ["      - type: static6", "        address: '\(cidr)'"]
                if let gateway = interface.gateway6 { subnets.append("        gateway: '\(gateway)'") }
            case nil: break
            }
            if !subnets.isEmpty { lines.append("      subnets:") }
            lines += subnets
        }
        if !nameservers.isEmpty || !search.isEmpty {
            lines.append("    - type: nameserver")
            if !nameservers.isEmpty { lines += ["      address:"] + nameservers.map { "      - '\($0)'" } }
            if !search.isEmpty { lines += ["      search:"] + search.map { "      - '\($0)'" } }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// ConfigDrive2's network file, in Debian's interfaces format.
    static func eniNetwork(_ interfaces: [Interface], nameservers: [String], search: [String]) -> String {
        var lines = ["auto lo", "iface lo inet loopback", ""]
        if !nameservers.isEmpty { lines.append("        dns_nameservers \(nameservers.joined(separator: " "))") }
        if !search.isEmpty { lines.append("        dns_search \(search.joined(separator: " "))") }
        for interface in interfaces {
            lines.append("auto eth\(interface.index)")
            switch interface.ipv4 {
            case "dhcp"?: lines.append("iface eth\(interface.index) inet dhcp")
            case let cidr?:
                let (address, prefix) = split(cidr)
                lines += [
                    "iface eth\(interface.index) inet static", "        address \(address)",
                    "        netmask \(netmask(prefix))",
                ]
                if let gateway = interface.gateway4 { lines.append("        gateway \(gateway)") }
            case nil: break
            }
            switch interface.ipv6 {
            case let mode? where mode == "dhcp" || mode == "auto":
                lines.append("iface eth\(interface.index) inet6 \(mode)")
            case let cidr?:
                let (address, prefix) = split(cidr)
                lines += [
                    "iface eth\(interface.index) inet6 static", "        address \(address)",
                    "        netmask \(prefix)",
                ]
                if let gateway = interface.gateway6 { lines.append("        gateway \(gateway)") }
            case nil: break
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
