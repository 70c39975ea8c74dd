extension QMPClient {
    /// Sends `set_link`: sets the carrier of NIC `name` (the netdev or device id).
    public func setLink(name: String, up: Bool) async throws(QMPError) {
        try await execute("set_link", arguments: ["name": .string(name), "up": .bool(up)])
    }

    /// Sends `device_add` with `arguments` as given (at least `driver` and `id`).
    public func deviceAdd(_ arguments: [String: QMPValue]) async throws(QMPError) {
        try await execute("device_add", arguments: arguments)
    }

    /// Sends `device_del`; unplug completes when `DEVICE_DELETED` arrives.
    public func deviceDel(id: String) async throws(QMPError) {
        try await execute("device_del", arguments: ["id": .string(id)])
    }

    /// Sends `netdev_add` with `arguments` as given (at least `type` and `id`).
    public func netdevAdd(_ arguments: [String: QMPValue]) async throws(QMPError) {
        try await execute("netdev_add", arguments: arguments)
    }

    /// Sends `netdev_del`.
    public func netdevDel(id: String) async throws(QMPError) {
        try await execute("netdev_del", arguments: ["id": .string(id)])
    }

    /// Sends `block_resize` for a `-blockdev` node; `size` is the new size in bytes.
    public func blockResize(nodeName: String, size: Int) async throws(QMPError) {
        try await execute("block_resize", arguments: ["node-name": .string(nodeName), "size": .int(size)])
    }

    /// Sends `query-blockstats`.
    public func queryBlockstats() async throws(QMPError) -> [QMPBlockStats] {
        var stats: [QMPBlockStats] = []
        for entry in try await execute("query-blockstats").elements(of: "query-blockstats") {
            stats.append(try QMPBlockStats(reply: entry))
        }
        return stats
    }

    /// Sends `balloon`: asks the guest to shrink or grow to `bytes` of RAM.
    public func balloon(bytes: Int) async throws(QMPError) {
        try await execute("balloon", arguments: ["value": .int(bytes)])
    }

    /// Sends `query-balloon`.
    /// - Throws: `.commandFailed` with class `DeviceNotActive` when the VM has no balloon device.
    public func queryBalloon() async throws(QMPError) -> QMPBalloonInfo {
        try QMPBalloonInfo(reply: try await execute("query-balloon"))
    }
}
