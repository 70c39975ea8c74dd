import Foundation
import Synchronization
public import VireoCore

/// Live figures of this host from `/proc` and `statvfs`, as `/nodes/{node}/status` reports them.
public struct NodeStatus: Sendable {
    public var cpu: Double
    public var cpuCount: Int
    public var cpuModel: String
    public var sockets: Int
    public var memoryTotal: Int
    public var memoryUsed: Int
    public var memoryFree: Int
    public var swapTotal: Int
    public var swapUsed: Int
    public var loadavg: [String]
    public var uptime: Int
    public var kernelRelease: String
    public var kernelVersion: String
    public var machine: String
    public var rootTotal: Int
    public var rootUsed: Int
    public var rootAvail: Int
    public var wait: Double

    /// The figures, sampled at most once a second: status polls are frequent (every client
    /// dashboard), and CPU usage needs an interval to mean anything.
    public static func current(maxAge: Duration = .seconds(1)) -> NodeStatus {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0 }), now - cached.at < maxAge { return cached.status }
        let status = read()
        cache.withLock { $0 = (now, status) }
        return status
    }

    private static let cache = Mutex<(at: ContinuousClock.Instant, status: NodeStatus)?>(nil)

    /// Reads the current figures. CPU usage is measured over the time since the previous call
    /// (the first call returns the average since boot).
    public static func read() -> NodeStatus {
        let meminfo = Self.keyValues(Self.file("/proc/meminfo"))
        func kib(_ key: String) -> Int { (Int(meminfo[key]?.split(separator: " ").first ?? "0") ?? 0) * 1024 }
        let total = kib("MemTotal")
        let available = kib("MemAvailable")
        let load = Self.file("/proc/loadavg").split(separator: " ").prefix(3).map(String.init)
        let uptime = Double(Self.file("/proc/uptime").split(separator: " ").first ?? "0") ?? 0
        var uts = utsname()
        uname(&uts)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        var fs = statvfs()
        statvfs("/", &fs)
        let block = Int(fs.f_frsize)
        let rootTotal = Int(fs.f_blocks) * block
        let rootFree = Int(fs.f_bfree) * block
        let cpuinfo = Self.file("/proc/cpuinfo")
        let model =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) }
            ?? "unknown"
        let physicalIDs = Set(cpuinfo.split(separator: "\n").filter { $0.hasPrefix("physical id") })
        let (cpu, wait) = CPUSampler.shared.sample()
        return NodeStatus(
            cpu: cpu,
            cpuCount: ProcessInfo.processInfo.activeProcessorCount,
            cpuModel: model,
            sockets: max(1, physicalIDs.count),
            memoryTotal: total,
            memoryUsed: total - available,
            memoryFree: available,
            swapTotal: kib("SwapTotal"),
            swapUsed: kib("SwapTotal") - kib("SwapFree"),
            loadavg: load,
            uptime: Int(uptime),
            kernelRelease: field(uts.release),
            kernelVersion: field(uts.version),
            machine: field(uts.machine),
            rootTotal: rootTotal,
            rootUsed: rootTotal - rootFree,
            rootAvail: Int(fs.f_bavail) * block,
            wait: wait
        )
    }

    /// The `GET /nodes/{node}/status` object.
    public func statusJSON() -> JSON {
        [
            "cpu": .double(cpu), "wait": .double(wait), "uptime": .int(uptime),
            "loadavg": .array(loadavg.map { .string($0) }),
            "kversion": .string("Linux \(kernelRelease) \(kernelVersion)"),
            "current-kernel": [
                "sysname": "Linux", "release": .string(kernelRelease), "version": .string(kernelVersion),
                "machine": .string(machine),
            ],
            "pveversion": "vireo/9.0.0",
            "cpuinfo": [
                "cpus": .int(cpuCount), "model": .string(cpuModel), "sockets": .int(sockets),
                "cores": .int(max(1, cpuCount / sockets)), "mhz": "0", "hvm": "1", "flags": "", "user_hz": 100,
            ],
            "memory": [
                "total": .int(memoryTotal), "used": .int(memoryUsed), "free": .int(memoryFree),
                "available": .int(memoryFree),
            ],
            "swap": ["total": .int(swapTotal), "used": .int(swapUsed), "free": .int(swapTotal - swapUsed)],
            "rootfs": [
                "total": .int(rootTotal), "used": .int(rootUsed), "avail": .int(rootAvail),
                "free": .int(rootTotal - rootUsed),
            ],
            "ksm": ["shared": 0],
            "boot-info": ["mode": FileManager.default.fileExists(atPath: "/sys/firmware/efi") ? "efi" : "legacy-bios"],
        ]
    }

    /// The fields a node has in `/nodes` and `/cluster/resources`.
    public func resourceFields(node: String, listForm: Bool) -> [String: JSON] {
        var fields: [String: JSON] = [
            "node": .string(node), "status": "online", "type": "node", "id": .string("node/\(node)"),
            "cpu": .double(cpu), "maxcpu": .int(cpuCount), "mem": .int(memoryUsed), "maxmem": .int(memoryTotal),
            "disk": .int(rootUsed), "maxdisk": .int(rootTotal), "uptime": .int(uptime), "level": "",
        ]
        if listForm { fields["ssl_fingerprint"] = .string("") }
        return fields
    }

    static func file(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    static func keyValues(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return result
    }
}

/// Turns `/proc/stat` jiffies into a utilisation fraction between two calls.
final class CPUSampler: Sendable {
    static let shared = CPUSampler()
    private let previous = LockedValue<(total: Double, idle: Double, iowait: Double)?>(nil)

    func sample() -> (cpu: Double, wait: Double) {
        let line = NodeStatus.file("/proc/stat").split(separator: "\n").first ?? ""
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count >= 5 else { return (0, 0) }
        let total = values.reduce(0, +)
        let idle = values[3] + values[4]
        let iowait = values[4]
        let last = previous.exchange((total, idle, iowait)) ?? (0, 0, 0)
        let dTotal = total - last.total
        guard dTotal > 0 else { return (0, 0) }
        return (max(0, min(1, 1 - (idle - last.idle) / dTotal)), max(0, (iowait - last.iowait) / dTotal))
    }
}
