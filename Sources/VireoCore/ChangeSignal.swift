import Synchronization

/// "Something changed": a generation counter that waiters sleep on. Producers (tasks starting and
/// ending, QEMU events, store writes) bump it; the UI's event stream wakes and looks what changed,
/// instead of every browser polling every few seconds.
public final class ChangeSignal: Sendable {
    private struct State {
        var generation = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }
    private let state = Mutex(State())

    public init() {}

    public var generation: Int { state.withLock { $0.generation } }

    public func bump() {
        let waiting = state.withLock { state in
            state.generation += 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiting { waiter.resume() }
    }

    /// Returns the generation once it is past `seen`, or when `timeout` is over.
    @discardableResult
    public func wait(after seen: Int, timeout: Duration) async -> Int {
        let id = state.withLock { state -> Int? in
            guard state.generation == seen else { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return generation }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.resume(id)
        }
        await withCheckedContinuation { continuation in
            let bumped = state.withLock { state -> Bool in
                guard state.generation == seen else { return true }
                state.waiters[id] = continuation
                return false
            }
            if bumped { continuation.resume() }
        }
        timer.cancel()
        return generation
    }

    private func resume(_ id: Int) {
        state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
    }
}
