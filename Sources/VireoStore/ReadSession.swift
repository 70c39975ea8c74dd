import Synchronization

/// Reads that share one point of consistency. A replicated store (etcd) makes a read see every
/// write committed on any node before it began, and that costs a round trip to the cluster's
/// leader; the dozen reads one API request or one reaction to a change makes need it only once.
/// Inside a session the first read pays for that barrier and the others read the node's copy,
/// which is at least as new (it only moves forward), so a request still sees every write that
/// completed before it, as pmxcfs's readers do. A store without replicas (SQLite) ignores sessions.
///
/// Versions are those of the one store a process uses.
public final class ReadSession: Sendable {
    @TaskLocal public static var current: ReadSession?

    /// The version every read of this session sees at least; nil until the first read settles it.
    private let point: Mutex<Int64?>

    private init(point: Int64?) { self.point = Mutex(point) }

    /// Runs `body` in a read session, or in the enclosing one when that serves (a nested session
    /// would pay for a second barrier without seeing more). `atLeast`: the reads need only see
    /// that version, already applied here (a reaction to a change the feed delivered), so they
    /// need no barrier at all; 0 reads the node's copy as it is.
    public static func run<T>(
        atLeast version: Int64? = nil,
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> T
    ) async rethrows -> T {
        if let current, version == nil || current.settledPoint != nil { return try await body() }
        return try await $current.withValue(ReadSession(point: version)) { try await body() }
    }

    /// The version reads must see, if the session has one yet.
    public var settledPoint: Int64? { point.withLock { $0 } }

    /// Records what the first barrier (or a delivered change) established.
    public func settle(at version: Int64) {
        point.withLock { $0 = max($0 ?? version, version) }
    }
}
