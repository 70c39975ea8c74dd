import Synchronization

/// What a change-feed subscriber receives: the next committed change, or word that changes were
/// lost (the subscriber fell behind the retained history, or asked to resume from a version older
/// than it): it must re-read what it caches, then goes on from ``ConfigChangeEvent/lost(through:)``.
public enum ConfigChangeEvent: Sendable, Equatable {
    case changed(ConfigChange)
    /// Changes up to and including this version may be missing.
    case lost(through: Int64)
}

/// A subscription to the change feed; iteration ends when the task is cancelled.
public struct ConfigChangeStream: AsyncSequence, Sendable {
    public typealias Element = ConfigChangeEvent
    let feed: ChangeFeed
    let after: Int64

    public struct AsyncIterator: AsyncIteratorProtocol {
        let feed: ChangeFeed
        var cursor: Int64

        public mutating func next() async -> ConfigChangeEvent? {
            guard let event = await feed.next(after: cursor) else { return nil }
            switch event {
            case .changed(let change): cursor = change.version
            case .lost(let through): cursor = through
            }
            return event
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(feed: feed, cursor: after) }
}

/// The committed changes of a store, kept in a bounded history that subscribers read at their own
/// pace: nobody is dropped silently. A subscriber that falls further behind than the history
/// gets `.lost` and resynchronises; publishing never waits for a slow subscriber.
public final class ChangeFeed: Sendable {
    private struct State {
        var history: [ConfigChange] = []
        /// The newest version no longer in `history` (or never seen by this feed).
        var forgottenThrough: Int64
        var newest: Int64
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }
    private let state: Mutex<State>
    private let capacity: Int

    /// `startingAt`: the store's version when the feed begins; older changes count as lost.
    public init(startingAt version: Int64, capacity: Int = 4096) {
        state = Mutex(State(forgottenThrough: version, newest: version))
        self.capacity = capacity
    }

    /// Changes after `version` (nil: from now on).
    public func subscribe(after version: Int64? = nil) -> ConfigChangeStream {
        ConfigChangeStream(feed: self, after: version ?? state.withLock { $0.newest })
    }

    /// Changes must be published in version order (the store publishes after each commit).
    public func publish(_ changes: [ConfigChange]) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            for change in changes {
                state.history.append(change)
                state.newest = max(state.newest, change.version)
            }
            if state.history.count > capacity * 2 {
                let dropped = state.history.count - capacity
                state.forgottenThrough = state.history[dropped - 1].version
                state.history.removeFirst(dropped)
            }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The first event after `cursor`, waiting for one; nil when the task is cancelled.
    func next(after cursor: Int64) async -> ConfigChangeEvent? {
        while !Task.isCancelled {
            let ready: ConfigChangeEvent? = state.withLock { state in
                if cursor < state.forgottenThrough { return .lost(through: state.forgottenThrough) }
                // History is in version order: the first change newer than the cursor is next.
                return state.history.first { $0.version > cursor }.map { .changed($0) }
            }
            if let ready { return ready }
            let id = state.withLock { state -> Int in
                state.nextWaiter += 1
                return state.nextWaiter
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state -> Bool in
                        // A change may have landed since the check above.
                        if Task.isCancelled || state.newest > cursor || cursor < state.forgottenThrough { return true }
                        state.waiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
                waiter?.resume()
            }
        }
        return nil
    }
}
