import NFTables

/// Short spellings of the nft statements the compiler writes.
enum NFTBuild {
    static func match(_ left: NFTExpression, _ right: NFTExpression, op: String = "==") -> NFTStatement {
        .match(op: op, left: left, right: right)
    }

    static func meta(_ key: String, _ value: NFTExpression, op: String = "==") -> NFTStatement {
        .match(op: op, left: .meta(key), right: value)
    }

    static func payload(
        _ proto: String,
        _ field: String,
        _ value: NFTExpression,
        op: String = "=="
    )
        -> NFTStatement
    {
        .match(op: op, left: .payload(protocol: proto, field: field), right: value)
    }

    static func ctState(_ states: [String]) -> NFTStatement {
        .match(
            op: "in",
            left: .ct("state"),
            right: states.count == 1 ? .string(states[0]) : .set(states.map { .string($0) })
        )
    }

    /// `left & mask`
    static func and(_ left: NFTExpression, _ mask: Int) -> NFTExpression {
        .other(["&": .array([left.json, .int(mask)])])
    }

    /// `meta mark set meta mark | bits`
    static func orMark(_ bits: Int) -> NFTStatement {
        .mangle(key: .meta("mark"), value: .other(["|": .array([NFTExpression.meta("mark").json, .int(bits)])]))
    }

    /// `meta mark set <key> map @name`
    static func setMark(from key: NFTExpression, map name: String) -> NFTStatement {
        .mangle(key: .meta("mark"), value: .other(["map": ["key": key.json, "data": .string("@" + name)]]))
    }

    /// `<key> vmap @name`
    static func vmap(_ key: NFTExpression, _ name: String) -> NFTStatement {
        .other(["vmap": ["key": key.json, "data": .string("@" + name)]])
    }

    static func jumpVerdict(_ chain: String) -> NFTExpression {
        .other(["jump": ["target": .string(chain)]])
    }

    static func reject(type: String, _ expr: String? = nil) -> NFTStatement {
        var body: [String: NFTValue] = ["type": .string(type)]
        if let expr { body["expr"] = .string(expr) }
        return .other(["reject": .object(body)])
    }

    static func log(prefix: String) -> NFTStatement {
        // NFLOG group 0, as Proxmox logs: the daemon reads it and keeps Proxmox's log lines.
        .other(["log": ["prefix": .string(prefix), "group": .int(0)]])
    }

    static let counter = NFTStatement.counter(packets: 0, bytes: 0)

    /// One port or a set of ports and ranges.
    static func ports(_ ranges: [ClosedRange<Int>]) -> NFTExpression {
        func one(_ range: ClosedRange<Int>) -> NFTExpression {
            range.count == 1 ? .int(range.lowerBound) : .range(.int(range.lowerBound), .int(range.upperBound))
        }
        return ranges.count == 1 ? one(ranges[0]) : .set(ranges.map(one))
    }

    static func network(_ network: IPNetwork) -> NFTExpression {
        network.isHost ? .string(network.address) : .prefix(address: network.address, length: network.prefixLength)
    }
}
