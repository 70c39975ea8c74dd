/// Proxmox VE 9's round-robin layouts (`pve-node-9.0`, `pve-vm-9.0`, `pve-storage-9.0`): the data
/// sources in their order, one step a minute, and four archives kept as average and maximum, so
/// `rrddata` answers with Proxmox's fields and resolutions.
public enum RRDLayout: String, Sendable, CaseIterable {
    case node = "pve-node-9.0"
    case vm = "pve-vm-9.0"
    case storage = "pve-storage-9.0"

    /// A counter turned into a rate per second (bytes/s in `rrddata`), or a value as it is.
    public enum SourceType: String, Sendable {
        case gauge = "GAUGE"
        case derive = "DERIVE"
    }

    public var sources: [(name: String, type: SourceType)] {
        switch self {
        case .node:
            [
                ("loadavg", .gauge), ("maxcpu", .gauge), ("cpu", .gauge), ("iowait", .gauge), ("memtotal", .gauge),
                ("memused", .gauge), ("swaptotal", .gauge), ("swapused", .gauge), ("roottotal", .gauge),
                ("rootused", .gauge), ("netin", .derive), ("netout", .derive), ("memfree", .gauge),
                ("arcsize", .gauge), ("pressurecpusome", .gauge), ("pressureiosome", .gauge),
                ("pressureiofull", .gauge), ("pressurememorysome", .gauge), ("pressurememoryfull", .gauge),
            ]
        case .vm:
            [
                ("maxcpu", .gauge), ("cpu", .gauge), ("maxmem", .gauge), ("mem", .gauge), ("maxdisk", .gauge),
                ("disk", .gauge), ("netin", .derive), ("netout", .derive), ("diskread", .derive),
                ("diskwrite", .derive), ("memhost", .gauge), ("pressurecpusome", .gauge),
                ("pressurecpufull", .gauge), ("pressureiosome", .gauge), ("pressureiofull", .gauge),
                ("pressurememorysome", .gauge), ("pressurememoryfull", .gauge),
            ]
        case .storage: [("total", .gauge), ("used", .gauge)]
        }
    }

    /// Seconds per primary data point.
    public static let step = 60
    /// A source with no update for this long is unknown.
    static let heartbeat = 120

    /// `rrdcreate` arguments: the sources, then the archives (1 min × 1 day, 30 min × 30 days,
    /// 6 h × 360 days, 1 week × ~10 years), each as AVERAGE and MAX.
    var createArguments: [String] {
        let sources = sources.map { "DS:\($0.name):\($0.type.rawValue):\(Self.heartbeat):0:U" }
        let archives = [(1, 1440), (30, 1440), (360, 1440), (10080, 570)].flatMap { steps, rows in
            ["AVERAGE", "MAX"].map { "RRA:\($0):0.5:\(steps):\(rows)" }
        }
        return sources + archives
    }
}

/// `rrddata`'s `timeframe`: the resolution and number of rows Proxmox 9 answers with.
public enum RRDTimeframe: String, Sendable, CaseIterable {
    case hour, day, week, month, year, decade

    public var resolution: Int {
        switch self {
        case .hour, .day: 60
        case .week, .month: 1800
        case .year: 21600
        case .decade: 604_800
        }
    }

    public var rows: Int {
        switch self {
        case .hour: 60
        case .day, .month, .year: 1440
        case .week: 336
        case .decade: 570
        }
    }
}

/// `rrddata`'s `cf`.
public enum RRDConsolidation: String, Sendable, CaseIterable {
    case average = "AVERAGE"
    case max = "MAX"
}
