public import VireoCore

/// Traffic counters of the guests' taps (`/nodes/{node}/netstat`).
public enum NetworkCounters {
    /// `[{vmid, dev: "net<N>", in, out}]` for every `tap<vmid>i<N>` of the node's namespace; `in` is
    /// what the guest received (the tap's transmit counter), `out` what it sent.
    public static func guestTaps(_ host: NodeHost) async throws -> [JSON] {
        let output = try await host.runner.run(host.namespace.wrap(Invocation("ip", ["-j", "-s", "link", "show"])))
        return parse(output.standardOutput)
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
