import Foundation
import Synchronization

/// Compiled schema patterns, compiled once each.
final class RegexCache: Sendable {
    static let shared = RegexCache()
    // NSRegularExpression is immutable and documented thread-safe; the box only lets it cross.
    private struct Box: @unchecked Sendable { let regex: NSRegularExpression? }
    private let cache = Mutex<[String: Box]>([:])

    func regex(for pattern: String) -> NSRegularExpression? {
        if let box = cache.withLock({ $0[pattern] }) { return box.regex }
        var source = pattern
        var options: NSRegularExpression.Options = []
        if source.hasPrefix("(?i)") {
            source.removeFirst(4)
            options.insert(.caseInsensitive)
        }
        let regex = try? NSRegularExpression(pattern: "^(?:" + source + ")$", options: options)
        cache.withLock { $0[pattern] = Box(regex: regex) }
        return regex
    }
}
