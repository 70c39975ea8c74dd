import Synchronization

/// A request that the daemon stop and start again in place (`execv` of itself): how a node
/// turns into a cluster node, or takes a cluster's tree, without stopping its guests.
public final class NodeRestart: Sendable {
    private let state = Mutex<(requested: Bool, trigger: (@Sendable () -> Void)?)>((false, nil))

    public init() {}

    /// What stops the daemon gracefully (set once the daemon's service group exists).
    public func onRequest(_ trigger: @escaping @Sendable () -> Void) {
        state.withLock { $0.trigger = trigger }
    }

    /// Asks for the restart after `delay` (time for the client to read the task's end).
    public func request(after delay: Duration = .seconds(1)) {
        Task {
            try? await Task.sleep(for: delay)
            let trigger = state.withLock { state -> (@Sendable () -> Void)? in
                state.requested = true
                return state.trigger
            }
            trigger?()
        }
    }

    public var isRequested: Bool { state.withLock { $0.requested } }
}
