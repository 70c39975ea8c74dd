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
        var cursor: FeedCursor

        public mutating func next() async -> ConfigChangeEvent? {
            guard let event = await feed.next(after: cursor) else { return nil }
            switch event {
            case .changed(let change):
                cursor =
                    change.version == cursor.version
                    ? FeedCursor(version: cursor.version, deliveredAtVersion: cursor.deliveredAtVersion + 1)
                    : FeedCursor(version: change.version, deliveredAtVersion: 1)
            case .lost(let through): cursor = FeedCursor(after: through)
            }
            return event
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(feed: feed, cursor: FeedCursor(after: after)) }
}

/// Where a subscriber is: past `version`, of whose changes it has seen the first
/// `deliveredAtVersion`. One version may carry several changes (an etcd transaction commits all
/// its keys at one revision).
struct FeedCursor: Sendable {
    var version: Int64
    var deliveredAtVersion: Int

    init(version: Int64, deliveredAtVersion: Int) {
        self.version = version
        self.deliveredAtVersion = deliveredAtVersion
    }

    /// Past every change of `version`.
    init(after version: Int64) { self.init(version: version, deliveredAtVersion: .max) }
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
        /// Bumped by every publish and forget: a waiter that saw an older one has news.
        var generation = 0
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
            state.generation += 1
            if state.history.count > capacity * 2 {
                let dropped = state.history.count - capacity
                state.forgottenThrough = state.history[dropped - 1].version
                // A version's changes go together, so none is half forgotten.
                state.history.removeFirst(dropped)
                while let first = state.history.first, first.version <= state.forgottenThrough {
                    state.history.removeFirst()
                }
            }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Marks every change up to `version` as possibly missed (a backend whose own source of
    /// changes broke off, as an etcd watch resuming from a compacted revision): subscribers
    /// behind it get `.lost` and re-read.
    public func forget(through version: Int64) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard version > state.forgottenThrough else { return [] }
            state.forgottenThrough = version
            state.newest = max(state.newest, version)
            state.history.removeAll { $0.version <= version }
            state.generation += 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The newest version published or forgotten.
    public var newestVersion: Int64 { state.withLock { $0.newest } }

    /// The first event after `cursor`, waiting for one; nil when the task is cancelled.
    func next(after cursor: FeedCursor) async -> ConfigChangeEvent? {
        while !Task.isCancelled {
            let (ready, seen): (ConfigChangeEvent?, Int) = state.withLock { state in
                (Self.event(after: cursor, in: state), state.generation)
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
                        if Task.isCancelled || state.generation != seen { return true }
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

    private static func event(after cursor: FeedCursor, in state: State) -> ConfigChangeEvent? {
        // A cursor part-way through the newest forgotten version may have missed the rest of it.
        if cursor.version < state.forgottenThrough
            || (cursor.version == state.forgottenThrough && cursor.deliveredAtVersion != .max)
        {
            return .lost(through: state.forgottenThrough)
        }
        // History is in version order: binary-search the cursor's version, then step past the
        // changes of that version already delivered.
        var low = 0
        var high = state.history.count
        while low < high {
            let middle = (low + high) / 2
            if state.history[middle].version < cursor.version { low = middle + 1 } else { high = middle }
        }
        var seenAtCursor = 0
        for change in state.history[low...] {
            if change.version > cursor.version || seenAtCursor == cursor.deliveredAtVersion { return .changed(change) }
            seenAtCursor += 1
        }
        return nil
    }
}
