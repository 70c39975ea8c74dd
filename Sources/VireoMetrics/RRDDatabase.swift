import CRRD
public import Foundation
import Synchronization
public import VireoCore

/// The metrics history in RRDtool's files (librrd, the library Proxmox's pmxcfs uses), one per node,
/// VM and storage under `<directory>/<layout>/…`, as Proxmox keeps them under
/// `/var/lib/rrdcached/db`. librrd's `_r` calls are thread-safe with numeric timestamps; one lock
/// still serialises them, so an update and a fetch of the same file never interleave.
public final class RRDDatabase: Sendable {
    public let directory: String
    private let lock = Mutex(())

    public init(directory: String) {
        self.directory = directory
    }

    /// `<dir>/pve-node-9.0/<node>`, `<dir>/pve-vm-9.0/<vmid>`, `<dir>/pve-storage-9.0/<node>/<storage>`.
    public func path(_ layout: RRDLayout, _ name: String) -> String { "\(directory)/\(layout.rawValue)/\(name)" }

    /// Adds one sample (`nil` is unknown) at `time`, creating the file on first use. A sample not
    /// later than the file's last one is skipped: RRD files only move forward.
    public func update(_ layout: RRDLayout, _ name: String, time: Int, values: [Double?]) throws {
        precondition(values.count == layout.sources.count, "one value per data source of \(layout)")
        let file = path(layout, name)
        try lock.withLock { _ in
            if !FileManager.default.fileExists(atPath: file) { try create(layout, file: file, start: time - 1) }
            rrd_clear_error()
            let last = rrd_last_r(file)
            guard last < time else { return }
            let line = ([String(time)] + values.map { $0.map(Self.number) ?? "U" }).joined(separator: ":")
            let status = Self.withCStrings([line]) { rrd_update_r(file, nil, 1, $0) }
            guard status == 0 else { throw Self.error("updating \(file)") }
        }
    }

    /// When the file last got a sample (seconds since the epoch); nil without one.
    public func lastUpdate(_ layout: RRDLayout, _ name: String) -> Int? {
        let file = path(layout, name)
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        let last = lock.withLock { _ in
            rrd_clear_error()
            return rrd_last_r(file)
        }
        return last > 0 ? Int(last) : nil
    }

    /// One row per interval of `timeframe` up to now, as Proxmox's `rrddata` answers: `time` (the
    /// interval's end) and each source's value; unknown values are left out.
    public func fetch(
        _ layout: RRDLayout,
        _ name: String,
        timeframe: RRDTimeframe,
        consolidation: RRDConsolidation,
        now: Int = Int(Date().timeIntervalSince1970)
    ) throws -> [[String: JSON]] {
        let file = path(layout, name)
        guard FileManager.default.fileExists(atPath: file) else { return [] }
        let resolution = timeframe.resolution
        let end = resolution * (now / resolution)
        var start = time_t(end - resolution * timeframe.rows)
        var last = time_t(end - 1)
        var step = UInt(resolution)
        var count: UInt = 0
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        var data: UnsafeMutablePointer<rrd_value_t>?
        let status = lock.withLock { _ in
            rrd_clear_error()
            return rrd_fetch_r(file, consolidation.rawValue, &start, &last, &step, &count, &names, &data)
        }
        guard status == 0, let names, let data else { throw Self.error("reading \(file)") }
        defer {
            for index in 0..<Int(count) { rrd_freemem(names[index]) }
            rrd_freemem(names)
            rrd_freemem(data)
        }
        let sources = (0..<Int(count)).map { names[$0].map { String(cString: $0) } ?? "" }
        let rows = Int((last - start) / time_t(step))
        var result: [[String: JSON]] = []
        result.reserveCapacity(rows)
        for row in 0..<rows {
            var fields: [String: JSON] = ["time": .int(Int(start) + (row + 1) * Int(step))]
            for (column, source) in sources.enumerated() {
                let value = data[row * sources.count + column]
                guard !value.isNaN else { continue }
                fields[source] = .double(value)
            }
            // Proxmox 9 names the node's free memory `memavailable` too.
            if layout == .node, let free = fields["memfree"] { fields["memavailable"] = free }
            result.append(fields)
        }
        return result
    }

    private func create(_ layout: RRDLayout, file: String, start: Int) throws {
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        rrd_clear_error()
        let arguments = layout.createArguments
        let status = Self.withCStrings(arguments) { argv in
            rrd_create_r2(file, UInt(RRDLayout.step), time_t(start), 1, nil, nil, Int32(arguments.count), argv)
        }
        guard status == 0 else { throw Self.error("creating \(file)") }
    }

    /// A value as `rrdupdate` reads it: a plain decimal, never an exponent it cannot parse.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "U" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.6f", value)
    }

    private static func error(_ what: String) -> VireoError {
        let text = rrd_test_error() != 0 ? String(cString: rrd_get_error()) : "unknown error"
        return VireoError(.internalError, "metrics history: \(what) failed: \(text)").at(.store)
    }

    private static func withCStrings<T>(
        _ strings: [String],
        _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>) -> T
    ) -> T {
        let copies = strings.map { strdup($0) }
        defer { for copy in copies { free(copy) } }
        var pointers = copies.map { UnsafePointer($0) }
        return pointers.withUnsafeMutableBufferPointer { buffer in
            // An empty array still has storage here: every caller passes at least one string.
            guard let base = buffer.baseAddress else { preconditionFailure("no C strings") }
            return body(base)
        }
    }
}
