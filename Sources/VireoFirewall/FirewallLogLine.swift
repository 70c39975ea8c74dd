public import Foundation

/// A line of the firewall log as Proxmox writes it:
/// `<vmid> <level> <chain> <dd/Mon/yyyy:HH:MM:SS +zzzz> <text>`.
public enum FirewallLogLine {
    /// DateFormatter is not thread-safe: the log reader's thread formats while API calls parse.
    private static let lock = NSLock()
    private static let formatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "dd/MMM/yyyy:HH:mm:ss Z"
        return formatter
    }()

    public static func format(vmid: Int, level: Int, chain: String, time: Date, text: String) -> String {
        "\(vmid) \(level) \(chain) \(lock.withLock { formatter.string(from: time) }) \(text)"
    }

    /// Seconds since the epoch of a `dd/Mon/yyyy:HH:MM:SS +zzzz` stamp.
    public static func time(_ stamp: String) -> Int? {
        lock.withLock { formatter.date(from: stamp) }.map { Int($0.timeIntervalSince1970) }
    }
}
