public import VireoCore
public import VireoHost

/// One sampling cycle's figures: what `rrddata` stores, `/metrics` exports and the diagnosis
/// ranks. Counters are cumulative (as the kernel and QEMU keep them); rates are per second over
/// the interval since the cycle before.
public struct MetricsSnapshot: Sendable {
    public struct Node: Sendable {
        public var cpu = 0.0
        public var iowait = 0.0
        public var loadavg = 0.0
        public var maxcpu = 0
        public var memtotal = 0
        public var memused = 0
        public var memfree = 0
        public var swaptotal = 0
        public var swapused = 0
        public var roottotal = 0
        public var rootused = 0
        public var netin = 0
        public var netout = 0
        public var uptime = 0
        public var pressure: [PressureStall.Resource: PressureStall] = [:]
    }

    /// A drive's counters and, from the cycle before, its rates and average latencies.
    public struct Drive: Sendable {
        public var name: String
        public var readBytes = 0
        public var writtenBytes = 0
        public var readOperations = 0
        public var writeOperations = 0
        public var failedOperations = 0
        /// Per second, over the last interval.
        public var readBytesRate: Double?
        public var writeBytesRate: Double?
        public var iops: Double?
        /// Milliseconds per request over the last interval; nil when there was none.
        public var readLatency: Double?
        public var writeLatency: Double?
        public var flushLatency: Double?
    }

    public struct VM: Sendable {
        public var vmid: VMID
        public var name: String
        public var status: String
        /// QEMU's own run state (`running`, `paused`, `io-error`); nil when QMP did not answer.
        public var qmpStatus: String?
        public var cpu = 0.0
        public var maxcpu = 1
        public var mem = 0
        public var maxmem = 0
        public var maxdisk = 0
        public var netin = 0
        public var netout = 0
        public var uptime = 0
        public var drives: [Drive] = []

        public var diskread: Int { drives.reduce(0) { $0 + $1.readBytes } }
        public var diskwrite: Int { drives.reduce(0) { $0 + $1.writtenBytes } }
        /// Bytes per second read and written over the last interval (nil on the first cycle).
        public var ioRate: Double? {
            let rates = drives.compactMap { drive in
                drive.readBytesRate.flatMap { read in drive.writeBytesRate.map { read + $0 } }
            }
            return rates.isEmpty ? nil : rates.reduce(0, +)
        }
    }

    public struct Storage: Sendable {
        public var id: String
        public var type: String
        public var total: Int
        public var used: Int
        public var available: Int
        public var active: Bool
        public var shared: Bool
    }

    /// Seconds since the epoch at the start of the cycle.
    public var time: Double
    public var node: Node
    public var vms: [VM]
    public var storages: [Storage]
    /// How long the cycle took, in seconds.
    public var duration: Double
}
