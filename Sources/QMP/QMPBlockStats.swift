/// One entry of `query-blockstats`: I/O counters of a block backend.
public struct QMPBlockStats: Hashable, Sendable {
    /// The `-drive` id (e.g. `"drive-scsi0"`); empty or nil for `-blockdev` backends.
    public var device: String?
    /// The top node name of a `-blockdev` graph.
    public var nodeName: String?
    /// The QOM path or id of the guest device.
    public var qdev: String?
    /// Bytes read by the guest.
    public var readBytes: Int
    /// Bytes written by the guest.
    public var writtenBytes: Int
    /// Read requests.
    public var readOperations: Int
    /// Write requests.
    public var writeOperations: Int
    /// Flush requests.
    public var flushOperations = 0
    /// Nanoseconds spent on all reads, writes and flushes (latency = Δtime / Δoperations).
    public var readTotalTimeNs = 0
    public var writeTotalTimeNs = 0
    public var flushTotalTimeNs = 0
    /// Requests that failed (an I/O error reached the device model).
    public var failedReadOperations = 0
    public var failedWriteOperations = 0

    /// Creates counters.
    public init(
        device: String? = nil,
        nodeName: String? = nil,
        qdev: String? = nil,
        readBytes: Int,
        writtenBytes: Int,
        readOperations: Int = 0,
        writeOperations: Int = 0
    ) {
        self.device = device
        self.nodeName = nodeName
        self.qdev = qdev
        self.readBytes = readBytes
        self.writtenBytes = writtenBytes
        self.readOperations = readOperations
        self.writeOperations = writeOperations
    }

    /// Parses `{"device": …, "node-name": …, "qdev": …, "stats": {"rd_bytes": …, "wr_bytes": …, …}}`.
    init(reply: QMPValue) throws(QMPError) {
        let command = "query-blockstats"
        let stats = try reply.member("stats", of: command, as: { $0.objectValue == nil ? nil : $0 })
        self.init(
            device: reply["device"]?.stringValue,
            nodeName: reply["node-name"]?.stringValue,
            qdev: reply["qdev"]?.stringValue,
            readBytes: try stats.member("rd_bytes", of: command, as: \.intValue),
            writtenBytes: try stats.member("wr_bytes", of: command, as: \.intValue),
            readOperations: stats["rd_operations"]?.intValue ?? 0,
            writeOperations: stats["wr_operations"]?.intValue ?? 0
        )
        flushOperations = stats["flush_operations"]?.intValue ?? 0
        readTotalTimeNs = stats["rd_total_time_ns"]?.intValue ?? 0
        writeTotalTimeNs = stats["wr_total_time_ns"]?.intValue ?? 0
        flushTotalTimeNs = stats["flush_total_time_ns"]?.intValue ?? 0
        failedReadOperations = stats["failed_rd_operations"]?.intValue ?? 0
        failedWriteOperations = stats["failed_wr_operations"]?.intValue ?? 0
    }
}
