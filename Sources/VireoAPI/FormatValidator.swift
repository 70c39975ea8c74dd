import VireoAccess
import VireoCore
import VireoFirewall
import VireoNetwork

/// Proxmox's named string formats (`pve-userid`, `pve-vmid-list`, …): a value's problem, or nil.
/// Formats Vireo does not know yet are accepted; the handler validates such values itself.
enum FormatValidator {
    static func problem(with value: String, format: String) -> String? {
        if format.hasSuffix("-list"), let item = itemFormats[String(format.dropLast(5))] {
            for part in ListText.items(value) {
                if let problem = item(part) { return problem }
            }
            return nil
        }
        return itemFormats[format]?(value)
    }

    private static let itemFormats: [String: @Sendable (String) -> String?] = [
        "pve-userid": userid,
        "pve-tokenid": tokenid,
        "pve-groupid": { matches($0, #"[A-Za-z0-9\.\-_]+"#) ? nil : "invalid group ID '\($0)'" },
        "pve-roleid": { matches($0, #"[A-Za-z0-9\.\-_]+"#) ? nil : "invalid role ID '\($0)'" },
        "pve-realm": realm,
        "pve-priv": { Privilege.isKnownName($0) ? nil : "invalid privilege '\($0)'" },
        "pve-configid": { matches($0, #"[a-z][a-z0-9_-]+"#) ? nil : "invalid configuration ID '\($0)'" },
        "pve-node": {
            matches($0, #"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?"#)
                ? nil : "value does not look like a valid node name"
        },
        "pve-poolid": { matches($0, #"[A-Za-z0-9\.\-_]+(/[A-Za-z0-9\.\-_]+){0,2}"#) ? nil : "invalid pool ID '\($0)'" },
        "pve-storage-id": {
            matches($0, #"[a-z][a-z0-9\-\_\.]*[a-z0-9]"#) ? nil : "storage ID '\($0)' contains illegal characters"
        },
        "pve-vmid": vmid,
        "email-opt": {
            $0.isEmpty || matches($0, #"[^\s@]+@[^\s@]+"#) ? nil : "value does not look like a valid email address"
        },
        "email": { matches($0, #"[^\s@]+@[^\s@]+"#) ? nil : "value does not look like a valid email address" },
        "string": { _ in nil },
        "pve-tag": { matches($0, #"[A-Za-z0-9_][A-Za-z0-9_\-\+\.]*"#) ? nil : "invalid tag '\($0)'" },
        "pve-cpuset": { matches($0, #"\d+(-\d+)?(,\d+(-\d+)?)*"#) ? nil : "invalid CPU set '\($0)'" },
        "pve-startup-order": {
            matches($0, #"((order|up|down)=\d+)(,(order|up|down)=\d+)*"#) ? nil : "invalid startup order '\($0)'"
        },
        "pve-qm-boot": {
            matches($0, #"[acdn]{1,4}|order=[a-z]+\d+(;[a-z]+\d+)*|(order=)?"#) ? nil : "invalid boot order '\($0)'"
        },
        "pve-hotplug-features": {
            matches($0, #"[01]|(network|disk|cpu|memory|usb|cloudinit)(,(network|disk|cpu|memory|usb|cloudinit))*"#)
                ? nil : "invalid hotplug features '\($0)'"
        },
        "urlencoded": { matches($0, #"[A-Za-z0-9%\-\._~+]*"#) ? nil : "value is not URL-encoded" },
        "ip": { IPText.isIPv4($0) || IPText.isIPv6($0) ? nil : "value does not look like a valid IP address" },
        "ipv4": { IPText.isIPv4($0) ? nil : "value does not look like a valid IPv4 address" },
        "ipv6": { IPText.isIPv6($0) ? nil : "value does not look like a valid IPv6 address" },
        "pve-iface": { NetworkInterface.isInterfaceName($0) ? nil : "invalid network interface name '\($0)'" },
        // Firewall rules. An empty value or `-` clears the field in a rule update. Whether a
        // named alias or ipset exists is the handler's check (it depends on the files).
        "pve-fw-addr-spec": { value in
            clearsField(value) ? nil : problem { _ = try FirewallAddress(parsing: value) }
        },
        "pve-fw-dport-spec": { value in
            clearsField(value) ? nil : problem { _ = try FirewallProtocols.portRanges(value) }
        },
        "pve-fw-sport-spec": { value in
            clearsField(value) ? nil : problem { _ = try FirewallProtocols.portRanges(value) }
        },
        "pve-fw-protocol-spec": {
            clearsField($0) || FirewallProtocols.number(ofProtocol: $0) != nil ? nil : "unknown protocol '\($0)'"
        },
        "pve-fw-conntrack-helper": { value in
            value.split(separator: ",").first { !FirewallOptionCheck.conntrackHelpers.contains(String($0)) }
                .map { "unknown conntrack helper '\($0)'" }
        },
        "IPorCIDR": { IPNetwork($0) != nil ? nil : "value '\($0)' is not an IP address or network" },
        "IPorCIDRorAlias": {
            IPNetwork($0) != nil || FirewallReference($0) != nil
                ? nil : "value '\($0)' is neither an IP address, a network nor an alias"
        },
    ]

    private static func clearsField(_ value: String) -> Bool { value.isEmpty || value == "-" }

    /// What a parser threw, as text; nil when it parsed.
    private static func problem(_ parse: () throws -> Void) -> String? {
        do {
            try parse()
            return nil
        } catch {
            return "\(error)"
        }
    }

    private static func userid(_ value: String) -> String? {
        guard value.utf8.count <= 64, value.utf8.count >= 3,
            let at = value.lastIndex(of: "@"),
            matches(String(value[..<at]), #"[^\s:/]+"#),
            realm(String(value[value.index(after: at)...])) == nil
        else { return "value '\(value)' does not look like a valid user name" }
        return nil
    }

    private static func tokenid(_ value: String) -> String? {
        guard let bang = value.lastIndex(of: "!"), userid(String(value[..<bang])) == nil,
            matches(String(value[value.index(after: bang)...]), #"[A-Za-z][A-Za-z0-9\.\-_]+"#)
        else { return "value '\(value)' does not look like a valid token ID" }
        return nil
    }

    private static func realm(_ value: String) -> String? {
        value.utf8.count <= 32 && matches(value, #"[A-Za-z][A-Za-z0-9\.\-_]+"#)
            ? nil : "value '\(value)' does not look like a valid realm"
    }

    private static func vmid(_ value: String) -> String? {
        matches(value, #"[1-9][0-9]{2,8}"#) ? nil : "value '\(value)' does not look like a valid VM ID"
    }

    private static func matches(_ value: String, _ pattern: String) -> Bool {
        ParameterValidator.matches(value, pattern: pattern)
    }
}

extension Privilege {
    static func isKnownName(_ name: String) -> Bool { isKnown(name) }
}
