import Foundation
import VireoCore
import VireoFirewall

/// `GET …/firewall/log`: the node's firewall log as Proxmox serves it, `[{n, t}]` (line number
/// from 1, text), paged with `start`/`limit` and filtered by time with `since`/`until`.
enum FirewallLogEndpoint {
    static func lines(_ request: APIRequest, vmid: Int?) async throws -> JSON {
        let p = request.parameters
        let path = await request.services.firewall?.logPath
        let (since, until) = (p.int("since"), p.int("until"))
        // Up to 8 MB read and filtered: off the cooperative threads.
        let selected = await BlockingPool.shared.run {
            select(path.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? "", vmid, since, until)
        }
        let start = max(p.int("start") ?? 0, 0)
        let limit = max(p.int("limit") ?? 50, 0)
        var result: [JSON] = []
        for (index, line) in selected.enumerated().dropFirst(start).prefix(limit) {
            result.append(["n": .int(index + 1), "t": .string(line)])
        }
        if result.isEmpty { result.append(["n": .int(start + 1), "t": "no content"]) }
        return .array(result)
    }

    /// The lines of `vmid` (all with nil) stamped within `since`...`until`.
    static func select(_ text: String, _ vmid: Int?, _ since: Int?, _ until: Int?) -> [String] {
        var selected: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 4)
            guard fields.count == 5 else { continue }
            if let vmid, fields[0] != "\(vmid)" { continue }
            if since != nil || until != nil {
                guard let time = FirewallLogLine.time(String(fields[3]) + " " + String(fields[4].prefix(5))) else {
                    continue
                }
                if let since, time < since { continue }
                if let until, time > until { continue }
            }
            selected.append(String(line))
        }
        return selected
    }
}
