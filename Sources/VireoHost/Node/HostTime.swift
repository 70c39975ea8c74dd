public import Foundation
public import VireoCore

/// The node's clock and time zone (`/nodes/{node}/time`).
extension NodeHost {
    static let zoneinfo = "/usr/share/zoneinfo"

    /// The configured zone: `/etc/timezone`, else the target of the `/etc/localtime` link, else UTC.
    public func timezone() -> String {
        if let text = read("/etc/timezone")?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            return text
        }
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path(of: "/etc/localtime")),
            let range = target.range(of: "zoneinfo/")
        {
            return String(target[range.upperBound...])
        }
        return "UTC"
    }

    /// Sets the zone: `/etc/timezone` and the `/etc/localtime` link. The zone must exist in the
    /// host's zoneinfo database.
    public func setTimezone(_ zone: String) throws {
        let valid =
            !zone.isEmpty && !zone.hasPrefix("/") && !zone.split(separator: "/").contains("..")
            && zone.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/_+-".contains($0)) }
        var isDirectory: ObjCBool = false
        guard valid, FileManager.default.fileExists(atPath: "\(Self.zoneinfo)/\(zone)", isDirectory: &isDirectory),
            !isDirectory.boolValue
        else {
            throw VireoError.parameter("timezone", "invalid time zone '\(zone)'")
        }
        try write("/etc/timezone", zone + "\n")
        let link = path(of: "/etc/localtime")
        let staged = link + ".tmp.\(getpid())"
        try? FileManager.default.removeItem(atPath: staged)
        try FileManager.default.createSymbolicLink(atPath: staged, withDestinationPath: "\(Self.zoneinfo)/\(zone)")
        guard rename(staged, link) == 0 else {
            try? FileManager.default.removeItem(atPath: staged)
            throw VireoError(.internalError, "unable to set '\(link)': \(String(cString: strerror(errno)))")
        }
    }

    /// `time` (UTC epoch), `localtime` (the epoch shifted by the zone's offset, as Proxmox does)
    /// and `timezone`.
    public func clock(now: Date = Date()) -> [String: JSON] {
        let zone = timezone()
        let offset = TimeZone(identifier: zone)?.secondsFromGMT(for: now) ?? 0
        let time = Int(now.timeIntervalSince1970)
        return ["time": .int(time), "localtime": .int(time + offset), "timezone": .string(zone)]
    }
}
