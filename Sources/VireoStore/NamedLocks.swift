import Synchronization
import VireoCore

/// Named, in-process mutual exclusion with a timeout (the role of pmxcfs's `lock-*` files).
///
/// Waiters are served in arrival order. A lock is held for the duration of the closure only.
/// Reentrant within a task: code running under a lock (a VM start applying its pending config)
/// may take the same lock again instead of deadlocking on itself.
public final class NamedLocks: Sendable {
    @TaskLocal private static var heldByTask: Set<String> = []

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var held: Set<String> = []
        var waiters: [String: [Waiter]] = [:]
        var nextID = 0
        var expired: Set<Int> = []
    }
    private let state = Mutex(State())

    public init() {}

    /// Runs `body` holding the lock `name`.
    /// - Throws: `.timeout` ("can't lock file … - got timeout") when not acquired within `timeout`.
    public func withLock<T: Sendable>(
        _ name: String,
        timeout: Duration = .seconds(10),
        _ body: () async throws -> T
    ) async throws -> T {
        let key = "\(ObjectIdentifier(self).hashValue)/\(name)"
        if Self.heldByTask.contains(key) { return try await body() }
        try await acquire(name, timeout: timeout)
        defer { release(name) }
        return try await Self.$heldByTask.withValue(Self.heldByTask.union([key])) { try await body() }
    }

    private func acquire(_ name: String, timeout: Duration) async throws {
        let waiterID: Int? = state.withLock { state in
            if !state.held.contains(name) {
                state.held.insert(name)
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let waiterID else { return }
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.expire(name, id: waiterID)
        }
        defer {
            timer.cancel()
            state.withLock { _ = $0.expired.remove(waiterID) }
        }
        try await withCheckedThrowingContinuation { continuation in
            enqueue(name, Waiter(id: waiterID, continuation: continuation))
        }
    }

    private func enqueue(_ name: String, _ waiter: Waiter) {
        enum Outcome { case granted, queued, expired }
        let outcome = state.withLock { state -> Outcome in
            if state.expired.contains(waiter.id) { return .expired }
            // The holder may have released between our first check and now.
            if !state.held.contains(name) {
                state.held.insert(name)
                return .granted
            }
            state.waiters[name, default: []].append(waiter)
            return .queued
        }
        switch outcome {
        case .granted: waiter.continuation.resume()
        case .expired: waiter.continuation.resume(throwing: Self.timeoutError(name))
        case .queued: break
        }
    }

    /// Fails a waiter whose time is up; a waiter already granted the lock is left alone.
    private func expire(_ name: String, id: Int) {
        let removed: Waiter? = state.withLock { state in
            guard let index = state.waiters[name]?.firstIndex(where: { $0.id == id }) else {
                state.expired.insert(id)  // not queued yet: `enqueue` will fail it
                return nil
            }
            return state.waiters[name]?.remove(at: index)
        }
        removed?.continuation.resume(throwing: Self.timeoutError(name))
    }

    private static func timeoutError(_ name: String) -> VireoError {
        VireoError(.timeout, "can't lock '\(name)' - got timeout").at(.store)
    }

    private func release(_ name: String) {
        let next: Waiter? = state.withLock { state in
            if var queue = state.waiters[name], !queue.isEmpty {
                let next = queue.removeFirst()
                state.waiters[name] = queue.isEmpty ? nil : queue
                return next  // ownership passes straight to the next waiter
            }
            state.held.remove(name)
            return nil
        }
        next?.continuation.resume()
    }
}
