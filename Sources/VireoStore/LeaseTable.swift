import Synchronization
import VireoCore

/// Leases kept in memory, for a store that one process owns (the embedded SQLite store: one
/// `vireod` per data directory). Same semantics as a cluster backend's leases: expiry on a
/// monotonic clock, takeover of an expired lease, and a fencing token that only grows.
final class LeaseTable: Sendable {
    private struct Entry {
        var lease: StoreLease
        var expires: ContinuousClock.Instant
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var lastToken: Int64 = 0
    }
    private let state = Mutex(State())
    private let clock = ContinuousClock()

    func acquire(_ name: String, holder: String, ttl: Duration) -> StoreLease? {
        let now = clock.now
        return state.withLock { state in
            if let entry = state.entries[name], entry.expires > now { return nil }
            state.lastToken += 1
            let lease = StoreLease(name: name, holder: holder, token: state.lastToken)
            state.entries[name] = Entry(lease: lease, expires: now.advanced(by: ttl))
            return lease
        }
    }

    func renew(_ lease: StoreLease, ttl: Duration) throws {
        let now = clock.now
        try state.withLock { state in
            guard let entry = state.entries[lease.name], entry.lease == lease, entry.expires > now else {
                throw VireoError.leaseLost(lease)
            }
            state.entries[lease.name]?.expires = now.advanced(by: ttl)
        }
    }

    func release(_ lease: StoreLease) {
        state.withLock { state in
            if state.entries[lease.name]?.lease == lease { state.entries[lease.name] = nil }
        }
    }

    func holder(_ name: String) -> StoreLease? {
        let now = clock.now
        return state.withLock { state in
            guard let entry = state.entries[name], entry.expires > now else { return nil }
            return entry.lease
        }
    }

    /// Throws when any of `leases` is no longer alive: the fence every write passes.
    func check(_ leases: [StoreLease]) throws {
        guard !leases.isEmpty else { return }
        let now = clock.now
        try state.withLock { state in
            for lease in leases {
                guard let entry = state.entries[lease.name], entry.lease == lease, entry.expires > now else {
                    throw VireoError.leaseLost(lease)
                }
            }
        }
    }
}
