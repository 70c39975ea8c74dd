import Foundation
import Synchronization

/// The node's recent refused logins, tickets and tokens, with why, for the diagnosis: clients hear
/// only "authentication failure"; an operator needs to tell an expired ticket from a clock that
/// is off or a disabled account. Bounded, in memory.
public final class AuthFailureLog: Sendable {
    public enum Reason: String, Sendable, CaseIterable {
        case badPassword = "bad-password"
        case unknownUser = "unknown-user"
        case disabledUser = "disabled-user"
        /// The user's realm is not configured (deleted, or never made).
        case unknownRealm = "unknown-realm"
        case malformedTicket = "malformed-ticket"
        case badSignature = "bad-signature"
        case expiredTicket = "expired-ticket"
        /// A ticket issued ahead of this node's clock: one of the clocks is wrong.
        case futureTicket = "future-ticket"
        case badToken = "bad-token"
        case expiredToken = "expired-token"
    }

    public struct Entry: Sendable, Equatable {
        public var time: Double
        public var reason: Reason
        public var user: String
        /// Seconds: how far a ticket was ahead of the clock, or how old an expired one was.
        public var seconds: Int?
    }

    private let entries = Mutex<[Entry]>([])
    static let limit = 1000

    public init() {}

    public func record(_ reason: Reason, user: String, seconds: Int? = nil) {
        let entry = Entry(time: Date().timeIntervalSince1970, reason: reason, user: user, seconds: seconds)
        entries.withLock { entries in
            entries.append(entry)
            if entries.count > Self.limit { entries.removeFirst(entries.count - Self.limit) }
        }
    }

    /// Failures of the last `seconds`, oldest first.
    public func recent(within seconds: Double) -> [Entry] {
        let since = Date().timeIntervalSince1970 - seconds
        return entries.withLock { $0.filter { $0.time >= since } }
    }
}
