/// Locks as components take them: waiters in this process queue in arrival order (cheap, fair),
/// and the holder at the head takes the store's lease, which is what other processes and nodes
/// see and what fences the holder's writes.
public final class StoreLocks: Sendable {
    public let store: any ConfigStore
    private let local = NamedLocks()

    public init(store: any ConfigStore) { self.store = store }

    /// Runs `body` holding lock `name` in this process and in the store.
    /// - Throws: `.timeout` ("can't lock … - got timeout") when not acquired within `timeout`.
    @discardableResult
    public func withLock<T: Sendable>(
        _ name: String,
        timeout: Duration = .seconds(10),
        _ body: () async throws -> T
    ) async throws -> T {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        return try await local.withLock(name, timeout: timeout) {
            try await store.withLock(name, timeout: max(.zero, deadline - clock.now)) { try await body() }
        }
    }
}
