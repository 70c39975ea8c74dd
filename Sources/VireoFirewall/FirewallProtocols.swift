import Foundation

/// Protocol, port and ICMP-type syntax of rules: names from /etc/protocols and /etc/services,
/// numbers, ranges `a:b` and comma lists.
public enum FirewallProtocols {
    /// Protocols whose rules may name ports.
    static let portProtocols: Set<Int> = [6, 17, 33, 132, 136]  // tcp udp dccp sctp udplite
    static let icmp = 1
    static let icmpv6 = 58

    /// The IANA number of `-p`: a number 0-255 or a name /etc/protocols knows (`icmpv6` too).
    public static func number(ofProtocol text: String) -> Int? {
        if text.allSatisfy(\.isASCIIDigit) {
            guard text.count <= 3, let value = Int(text), value <= 255 else { return nil }
            return value
        }
        let name = text.lowercased()
        if name == "icmpv6" { return icmpv6 }
        return protocolTable[name]
    }

    /// nft's name for a protocol number (the payload protocol of its port or type matches).
    static func nftName(ofProtocol number: Int) -> String? {
        switch number {
        case 6: "tcp"
        case 17: "udp"
        case 33: "dccp"
        case 132: "sctp"
        case 136: "udplite"
        case 1: "icmp"
        case 58: "icmpv6"
        default: nil
        }
    }

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// `80`, `http`, `1000:2000`, `80,443,8000:8080` -> ranges. Proxmox caps a list at 15 ports,
    /// a range counting as two.
    public static func portRanges(_ text: String) throws(Invalid) -> [ClosedRange<Int>] {
        var ranges: [ClosedRange<Int>] = []
        var count = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = item.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count) else { throw Invalid(description: "invalid port '\(item)'") }
            var numbers: [Int] = []
            for end in ends {
                guard let port = port(String(end)) else {
                    throw Invalid(description: "invalid port '\(end)'")
                }
                numbers.append(port)
            }
            guard let first = numbers.first, let last = numbers.last, first <= last else {
                throw Invalid(description: "port range '\(item)' ends before it starts")
            }
            ranges.append(first...last)
            count += numbers.count
        }
        guard count <= 15 else { throw Invalid(description: "too many ports in '\(text)' (at most 15)") }
        return ranges
    }

    static func port(_ text: String) -> Int? {
        if !text.isEmpty, text.allSatisfy(\.isASCIIDigit) {
            guard text.count <= 5, let value = Int(text), value <= 65535 else { return nil }
            return value
        }
        return serviceTable[text.lowercased()]
    }

    /// An ICMP type (and code) by iptables' name or number.
    public struct ICMPType: Sendable, Hashable {
        public var type: Int
        public var code: Int?
    }

    public static func icmpType(_ text: String, ipv6: Bool) -> ICMPType? {
        if !text.isEmpty, text.allSatisfy(\.isASCIIDigit) {
            guard text.count <= 3, let value = Int(text), value <= 255 else { return nil }
            return ICMPType(type: value)
        }
        let table = ipv6 ? icmpv6Types : icmpv4Types
        guard let (type, code) = table[text.lowercased()] else { return nil }
        return ICMPType(type: type, code: code)
    }

    private static let icmpv4Types: [String: (Int, Int?)] = [
        "echo-reply": (0, nil), "pong": (0, nil),
        "destination-unreachable": (3, nil), "network-unreachable": (3, 0), "host-unreachable": (3, 1),
        "protocol-unreachable": (3, 2), "port-unreachable": (3, 3), "fragmentation-needed": (3, 4),
        "source-route-failed": (3, 5), "network-unknown": (3, 6), "host-unknown": (3, 7),
        "network-prohibited": (3, 9), "host-prohibited": (3, 10), "tos-network-unreachable": (3, 11),
        "tos-host-unreachable": (3, 12), "communication-prohibited": (3, 13),
        "host-precedence-violation": (3, 14), "precedence-cutoff": (3, 15),
        "source-quench": (4, nil),
        "redirect": (5, nil), "network-redirect": (5, 0), "host-redirect": (5, 1),
        "tos-network-redirect": (5, 2), "tos-host-redirect": (5, 3),
        "echo-request": (8, nil), "ping": (8, nil),
        "router-advertisement": (9, nil), "router-solicitation": (10, nil),
        "time-exceeded": (11, nil), "ttl-exceeded": (11, nil), "ttl-zero-during-transit": (11, 0),
        "ttl-zero-during-reassembly": (11, 1),
        "parameter-problem": (12, nil), "ip-header-bad": (12, 0), "required-option-missing": (12, 1),
        "timestamp-request": (13, nil), "timestamp-reply": (14, nil),
        "address-mask-request": (17, nil), "address-mask-reply": (18, nil),
    ]

    private static let icmpv6Types: [String: (Int, Int?)] = [
        "destination-unreachable": (1, nil), "no-route": (1, 0), "communication-prohibited": (1, 1),
        "beyond-scope": (1, 2), "address-unreachable": (1, 3), "port-unreachable": (1, 4),
        "failed-policy": (1, 5), "reject-route": (1, 6),
        "packet-too-big": (2, nil),
        "time-exceeded": (3, nil), "ttl-exceeded": (3, nil), "ttl-zero-during-transit": (3, 0),
        "ttl-zero-during-reassembly": (3, 1),
        "parameter-problem": (4, nil), "bad-header": (4, 0), "unknown-header-type": (4, 1),
        "unknown-option": (4, 2),
        "echo-request": (128, nil), "ping": (128, nil), "echo-reply": (129, nil), "pong": (129, nil),
        "router-solicitation": (133, nil), "router-advertisement": (134, nil),
        "neighbour-solicitation": (135, nil), "neighbor-solicitation": (135, nil),
        "neighbour-advertisement": (136, nil), "neighbor-advertisement": (136, nil),
        "redirect": (137, nil),
    ]

    /// /etc/protocols: name and aliases -> number.
    private static let protocolTable: [String: Int] = {
        var table: [String: Int] = ["tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58]
        for fields in tableLines("/etc/protocols") where fields.count >= 2 {
            guard let number = Int(fields[1]) else { continue }
            table[fields[0].lowercased()] = number
            for alias in fields.dropFirst(2) { table[alias.lowercased(), default: number] = number }
        }
        return table
    }()

    /// /etc/services: service name and aliases -> port (any protocol; they agree in practice).
    private static let serviceTable: [String: Int] = {
        var table: [String: Int] = [:]
        for fields in tableLines("/etc/services") where fields.count >= 2 {
            guard let port = fields[1].split(separator: "/").first.flatMap({ Int($0) }) else { continue }
            for name in [fields[0]] + fields.dropFirst(2) { table[name.lowercased(), default: port] = port }
        }
        return table
    }()

    private static func tableLines(_ path: String) -> [[String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let body = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = body.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            return fields.isEmpty ? nil : fields
        }
    }
}
