import Foundation
import VireoCore

/// A lock held in the config store: its name, who holds it, and the fencing token the store
/// checks on every write made under it. A lease that expired or was taken over fences its
/// holder: the store refuses that holder's writes (a paused or partitioned node cannot write
/// over the one that took the lock after it).
public struct StoreLease: Sendable, Hashable {
    public let name: String
    public let holder: String
    /// Grows with every grant of any lock: a newer holder always has a larger token.
    public let token: Int64

    public init(name: String, holder: String, token: Int64) {
        self.name = name
        self.holder = holder
        self.token = token
    }

    /// The leases the current task holds; every store write checks them.
    @TaskLocal public static var held: [StoreLease] = []

    /// This process, as a lock holder: host name, process ID and a random instance.
    public static let processHolder =
        "\(ProcessInfo.processInfo.hostName):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"

}

/// The error of a write by a holder whose lease is gone.
extension VireoError {
    static func leaseLost(_ lease: StoreLease) -> VireoError {
        VireoError(.conflict, "lock '\(lease.name)' was lost (expired or taken over) - write refused")
    }
}
