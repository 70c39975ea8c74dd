public import VireoCore

/// Traffic counters of the guests' taps (`/nodes/{node}/netstat`).
public enum NetworkCounters {
    /// `[{vmid, dev: "net<N>", in, out}]` for every `tap<vmid>i<N>` of the node's namespace; `in` is
    /// what the guest received (the tap's transmit counter), `out` what it sent.
    public static func guestTaps(_ host: NodeHost) async throws -> [JSON] {
        let output = try await host.runner.run(host.namespace.wrap(Invocation("ip", ["-j", "-s", "link", "show"])))
        return parse(output.standardOutput)
    }

    /// Bytes received and sent by the node's physical NICs (Proxmox counts `eth*`, `en*` and `ib*`
    /// links, not bridges, taps or VLANs on top of them), for the node's `netin`/`netout`.
    public static func physicalTraffic(_ host: NodeHost) async throws -> (received: Int, sent: Int) {
        let output = try await host.runner.run(host.namespace.wrap(Invocation("ip", ["-j", "-s", "link", "show"])))
        return physicalTraffic(output.standardOutput)
    }

    static func physicalTraffic(_ text: String) -> (received: Int, sent: Int) {
        var total = (received: 0, sent: 0)
        for link in (try? JSON.parse(text))?.arrayValue ?? [] {
            guard case .string(let name)? = link["ifname"], isPhysical(name) else { continue }
            total.received += link["stats64"]?["rx"]?["bytes"]?.intValue ?? 0
            total.sent += link["stats64"]?["tx"]?["bytes"]?.intValue ?? 0
        }
        return total
    }

    /// `eth0`, `enp3s0`, `ens18`, `ib0`; not `enp3s0.100` (a VLAN) nor `eth0:1` (an alias).
    static func isPhysical(_ name: String) -> Bool {
        guard !name.contains("."), !name.contains(":") else { return false }
        if name.hasPrefix("eth") { return name.count > 3 && name.dropFirst(3).allSatisfy(\.isNumber) }
        return (name.hasPrefix("en") || name.hasPrefix("ib")) && name.count > 2
    }

    static func parse(_ text: String) -> [JSON] {
        guard let links = (try? JSON.parse(text))?.arrayValue else { return [] }
        var rows: [(vmid: Int, net: Int, json: JSON)] = []
        for link in links {
            guard case .string(let name)? = link["ifname"], let (vmid, net) = tapIndex(name) else { continue }
            let received = link["stats64"]?["rx"]?["bytes"]?.intValue ?? 0
            let transmitted = link["stats64"]?["tx"]?["bytes"]?.intValue ?? 0
            rows.append(
                (
                    vmid, net,
                    [
                        "vmid": .string(String(vmid)), "dev": .string("net\(net)"), "in": .string(String(transmitted)),
                        "out": .string(String(received)),
                    ]
                )
            )
        }
        return rows.sorted { ($0.vmid, $0.net) < ($1.vmid, $1.net) }.map(\.json)
    }

    /// `tap100i0` → (100, 0).
    static func tapIndex(_ name: String) -> (Int, Int)? {
        guard name.hasPrefix("tap"), let i = name.firstIndex(of: "i") else { return nil }
        guard let vmid = Int(name[name.index(name.startIndex, offsetBy: 3)..<i]),
            let net = Int(name[name.index(after: i)...])
        else { return nil }
        return (vmid, net)
    }
}
