import Foundation
import VireoCore
import VireoFirewall
import VireoHost

/// The seed's network path, from the guest outwards: the VM's tap (vNIC), the bridge it should be
/// a port of, the bridge's uplink (physical NIC) and its carrier, the VLAN wiring, and the
/// firewall rules dropping the guest's traffic.
struct NetworkChecks {
    let context: DiagnosisContext

    /// The port a NIC's tap must be enslaved to: its own rate-limit bridge, the VLAN bridge of the
    /// traditional model (`vmbr0v10`), or the configured bridge.
    static func expectedMaster(of nic: VMNIC, vmid: VMID, bridge: HostNetwork.Link?) -> String? {
        guard let name = nic.bridge else { return nil }
        if let rate = nic.rate, rate > 0 { return "fwbr\(vmid)i\(nic.index)" }
        if let tag = nic.tag, bridge?.vlanFiltering == false { return "\(name)v\(tag)" }
        return name
    }

    /// The ports of `bridge` that lead out of the node (not guests' taps or veths).
    static func uplinks(of bridge: String, in links: [HostNetwork.Link]) -> [HostNetwork.Link] {
        links.filter { $0.master == bridge && !NetworkReconciler.isGuestPort($0.name) }
    }

    /// The checks of one NIC of a running VM.
    func nic(_ nic: VMNIC, vmid: VMID, links: [HostNetwork.Link]) async -> [DiagnosisCheck] {
        let key = nic.key
        guard let bridgeName = nic.bridge else {
            return [
                DiagnosisCheck("network.\(key).bridge", .bridge, .ok, "\(key) has no bridge (user-mode networking)")
            ]
        }
        let bridge = links.first { $0.name == bridgeName }
        var checks = [tap(nic, vmid: vmid, bridge: bridge, links: links)]
        checks.append(self.bridge(bridgeName, link: bridge, links: links, id: "network.\(key).bridge", nic: key))
        if let uplink = uplink(bridgeName, links: links, id: "network.\(key).uplink") { checks.append(uplink) }
        if nic.tag != nil {
            checks.append(Self.vlan(nic, bridge: bridge, links: links, has8021Q: HostNetwork.has8021Q))
        }
        if nic.firewall, let firewall = await firewall(nic, vmid: vmid) { checks.append(firewall) }
        return checks
    }

    func tap(_ nic: VMNIC, vmid: VMID, bridge: HostNetwork.Link?, links: [HostNetwork.Link]) -> DiagnosisCheck {
        let id = "network.\(nic.key).tap"
        let name = "tap\(vmid)i\(nic.index)"
        let expected = Self.expectedMaster(of: nic, vmid: vmid, bridge: bridge) ?? ""
        guard let tap = links.first(where: { $0.name == name }) else {
            return DiagnosisCheck(
                id,
                .vnic,
                .fail,
                "\(nic.key): the VM's tap \(name) does not exist: the guest has no link",
                evidence: ["tap": .string(name), "bridge": .string(nic.bridge ?? ""), "master": .null]
            )
        }
        let evidence: [String: JSON] = [
            "tap": .string(name), "master": tap.master.map { .string($0) } ?? .null,
            "bridge": .string(nic.bridge ?? ""), "expected_master": .string(expected), "up": .flag(tap.isUp),
        ]
        guard tap.master == expected else {
            let now = tap.master.map { "is on \($0)" } ?? "is on no bridge"
            return DiagnosisCheck(
                id,
                .vnic,
                .fail,
                "\(nic.key): tap \(name) \(now), but the config puts it on \(expected): the guest is cut off",
                evidence: evidence
            )
        }
        guard tap.isUp else {
            return DiagnosisCheck(id, .vnic, .fail, "\(nic.key): tap \(name) is down", evidence: evidence)
        }
        if nic.linkDown {
            return DiagnosisCheck(
                id,
                .vnic,
                .warn,
                "\(nic.key): the link is set down in the config (link_down=1)",
                evidence: evidence
            )
        }
        return DiagnosisCheck(id, .vnic, .ok, "\(nic.key): tap \(name) is up on \(expected)", evidence: evidence)
    }

    func bridge(
        _ name: String,
        link: HostNetwork.Link?,
        links: [HostNetwork.Link],
        id: String,
        nic: String? = nil
    ) -> DiagnosisCheck {
        let prefix = nic.map { "\($0): " } ?? ""
        guard let link else {
            return DiagnosisCheck(
                id,
                .bridge,
                .fail,
                "\(prefix)bridge \(name) does not exist",
                evidence: ["bridge": .string(name), "uplinks": [], "ports": []]
            )
        }
        let ports = links.filter { $0.master == name }.map(\.name)
        let uplinks = Self.uplinks(of: name, in: links).map(\.name)
        let evidence: [String: JSON] = [
            "bridge": .string(name), "up": .flag(link.isUp), "ports": .array(ports.map { .string($0) }),
            "uplinks": .array(uplinks.map { .string($0) }), "vlan_aware": .flag(link.vlanFiltering),
        ]
        guard link.isUp else {
            return DiagnosisCheck(id, .bridge, .fail, "\(prefix)bridge \(name) is down", evidence: evidence)
        }
        guard !uplinks.isEmpty else {
            return DiagnosisCheck(
                id,
                .bridge,
                .warn,
                "\(prefix)bridge \(name) has no uplink (only guests' ports): guests on it reach nothing outside the node",
                evidence: evidence
            )
        }
        return DiagnosisCheck(
            id,
            .bridge,
            .ok,
            "\(prefix)bridge \(name) is up with uplink \(uplinks.joined(separator: ", "))",
            evidence: evidence
        )
    }

    /// The carrier of the bridge's uplinks; nil without uplinks (the bridge check says so).
    func uplink(_ bridge: String, links: [HostNetwork.Link], id: String) -> DiagnosisCheck? {
        let uplinks = Self.uplinks(of: bridge, in: links)
        guard !uplinks.isEmpty else { return nil }
        let evidence: [String: JSON] = [
            "uplinks": .array(
                uplinks.map {
                    [
                        "name": .string($0.name), "carrier": .flag($0.hasCarrier), "up": .flag($0.isUp),
                        "operstate": .string($0.operState ?? "?"),
                    ]
                }
            )
        ]
        let down = uplinks.filter { !$0.hasCarrier || !$0.isUp }
        if down.count == uplinks.count {
            let names = down.map { "\($0.name) (\($0.operState ?? "?"))" }.joined(separator: ", ")
            return DiagnosisCheck(
                id,
                .physicalNIC,
                .fail,
                "the uplink of \(bridge) has no carrier: \(names): nothing leaves the node on it",
                evidence: evidence
            )
        }
        if !down.isEmpty {
            return DiagnosisCheck(
                id,
                .physicalNIC,
                .warn,
                "\(down.map(\.name).joined(separator: ", ")) of \(bridge) has no carrier; the others carry on",
                evidence: evidence
            )
        }
        return DiagnosisCheck(
            id,
            .physicalNIC,
            .ok,
            "uplink \(uplinks.map(\.name).joined(separator: ", ")) of \(bridge) has a carrier",
            evidence: evidence
        )
    }

    /// A tag needs a VLAN-aware bridge, or (traditional model) a VLAN device on the uplink under a
    /// bridge of its own; without either the guest's frames leave untagged or not at all.
    static func vlan(
        _ nic: VMNIC,
        bridge: HostNetwork.Link?,
        links: [HostNetwork.Link],
        has8021Q: Bool
    )
        -> DiagnosisCheck
    {
        let id = "network.\(nic.key).vlan"
        let tag = nic.tag ?? 0
        let name = nic.bridge ?? ""
        var evidence: [String: JSON] = [
            "tag": .int(tag), "bridge": .string(name), "vlan_aware": .flag(bridge?.vlanFiltering ?? false),
            "kernel_8021q": .flag(has8021Q),
        ]
        if bridge?.vlanFiltering == true {
            return DiagnosisCheck(
                id,
                .vlan,
                .ok,
                "\(nic.key): tag \(tag) on VLAN-aware bridge \(name)",
                evidence: evidence
            )
        }
        let vlanBridge = "\(name)v\(tag)"
        let device = links.first { $0.vlanID == tag && $0.master == vlanBridge }
        evidence["vlan_bridge"] = .string(vlanBridge)
        evidence["vlan_device"] = device.map { .string($0.name) } ?? .null
        if device != nil, links.contains(where: { $0.name == vlanBridge }) {
            return DiagnosisCheck(
                id,
                .vlan,
                .ok,
                "\(nic.key): tag \(tag) through \(device?.name ?? "") on \(vlanBridge)",
                evidence: evidence
            )
        }
        let why =
            has8021Q
            ? "no VLAN device for tag \(tag) on an uplink of \(name) under \(vlanBridge)"
            : "this kernel has no 802.1Q VLAN devices (module 8021q) and \(name) is not VLAN-aware"
        return DiagnosisCheck(
            id,
            .vlan,
            .fail,
            "\(nic.key): tag \(tag) cannot reach the network: \(why)",
            evidence: evidence
        )
    }

    /// DROP and REJECT rules of the guest (and its policies) whose counters rise: read, wait a
    /// second, read again, only when something matched at all.
    func firewall(_ nic: VMNIC, vmid: VMID) async -> DiagnosisCheck? {
        guard let service = context.firewall else { return nil }
        let id = "network.\(nic.key).firewall"
        let prefix = "guest/\(vmid)/"
        let before = await service.counters().filter { $0.key.hasPrefix(prefix) }
        guard let file = try? await service.file(.guest(vmid.value)) else { return nil }
        var dropping: [String: String] = [:]
        for (rule, _) in before {
            if let action = Self.dropAction(rule: String(rule.dropFirst(prefix.count)), file: file) {
                dropping[rule] = action
            }
        }
        let matched = before.filter { dropping[$0.key] != nil && $0.value.packets > 0 }
        guard !matched.isEmpty else {
            return DiagnosisCheck(
                id,
                .firewall,
                .ok,
                "\(nic.key): no packets dropped by the guest's firewall rules",
                evidence: ["rules": []]
            )
        }
        try? await Task.sleep(for: .seconds(1))
        let after = await service.counters()
        let rules: [(rule: String, action: String, before: Int, after: Int)] = matched.keys.sorted().map { rule in
            (rule, dropping[rule] ?? "DROP", before[rule]?.packets ?? 0, after[rule]?.packets ?? 0)
        }
        let evidence: [String: JSON] = [
            "rules": .array(
                rules.sorted { ($0.after - $0.before, $0.after) > ($1.after - $1.before, $1.after) }.map {
                    [
                        "rule": .string($0.rule), "action": .string($0.action), "packets_before": .int($0.before),
                        "packets_after": .int($0.after),
                    ]
                }
            )
        ]
        guard
            let rising = rules.filter({ $0.after > $0.before }).max(by: { $0.after - $0.before < $1.after - $1.before })
        else {
            let total = rules.reduce(0) { $0 + $1.after }
            return DiagnosisCheck(
                id,
                .firewall,
                .ok,
                "\(nic.key): the firewall dropped \(total) packets earlier, none now",
                evidence: evidence
            )
        }
        return DiagnosisCheck(
            id,
            .firewall,
            .warn,
            "\(nic.key): firewall rule \(rising.rule) (\(rising.action)) is dropping the guest's traffic now: \(rising.before) → \(rising.after) packets in 1 s",
            evidence: evidence
        )
    }

    /// `rules/3` → the action of rule 3 when it drops; `policy-in` → the policy when it drops.
    static func dropAction(rule: String, file: FirewallFile) -> String? {
        let drops: Set<String> = ["DROP", "REJECT"]
        if rule == "policy-in" || rule == "policy-out" {
            let key = rule == "policy-in" ? "policy_in" : "policy_out"
            let policy = (file.options[key] ?? (rule == "policy-in" ? "DROP" : "ACCEPT")).uppercased()
            return drops.contains(policy) ? policy : nil
        }
        let parts = rule.split(separator: "/")
        guard parts.count == 2, parts[0] == "rules", let index = Int(parts[1]), file.rules.indices.contains(index)
        else {
            return nil
        }
        let action = file.rules[index].action.uppercased()
        return drops.contains(action) ? action : nil
    }
}
