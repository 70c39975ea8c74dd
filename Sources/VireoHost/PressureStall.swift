import Foundation

/// The kernel's pressure stall information for one resource (`/proc/pressure/{cpu,io,memory}`):
/// the share of wall time in which some (or all) runnable tasks waited for it. High `io` pressure
/// is how a storage bottleneck shows on the host, long before guests report anything.
public struct PressureStall: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        /// Percent of the last 10, 60 and 300 seconds.
        public var avg10: Double
        public var avg60: Double
        public var avg300: Double
        /// Microseconds stalled since boot.
        public var total: Int

        public init(avg10: Double, avg60: Double, avg300: Double, total: Int) {
            self.avg10 = avg10
            self.avg60 = avg60
            self.avg300 = avg300
            self.total = total
        }
    }

    public enum Resource: String, Sendable, CaseIterable {
        case cpu, io, memory
    }

    public var some: Line
    /// Nil for the system's CPU line, which the kernel leaves undefined (always zero).
    public var full: Line?

    /// Reads `<directory>/<resource>`; nil where the kernel has no PSI.
    public static func read(_ resource: Resource, directory: String = "/proc/pressure") -> PressureStall? {
        guard let text = try? String(contentsOfFile: "\(directory)/\(resource.rawValue)", encoding: .utf8) else {
            return nil
        }
        return parse(text, resource: resource)
    }

    /// `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and a `full` line.
    public static func parse(_ text: String, resource: Resource) -> PressureStall? {
        var lines: [String: Line] = [:]
        for row in text.split(separator: "\n") {
            let fields = row.split(separator: " ")
            guard let kind = fields.first else { continue }
            var values: [String: Substring] = [:]
            for field in fields.dropFirst() {
                let pair = field.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { values[String(pair[0])] = pair[1] }
            }
            guard let avg10 = values["avg10"].flatMap({ Double($0) }),
                let avg60 = values["avg60"].flatMap({ Double($0) }),
                let avg300 = values["avg300"].flatMap({ Double($0) }), let total = values["total"].flatMap({ Int($0) })
            else { continue }
            lines[String(kind)] = Line(avg10: avg10, avg60: avg60, avg300: avg300, total: total)
        }
        guard let some = lines["some"] else { return nil }
        return PressureStall(some: some, full: resource == .cpu ? nil : lines["full"])
    }
}
