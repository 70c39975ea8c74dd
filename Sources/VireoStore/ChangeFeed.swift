import Synchronization

/// Fans committed changes out to every live subscriber.
final class ChangeFeed: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<ConfigChange>.Continuation]>([:])
    private let nextID = Atomic<Int>(0)

    func subscribe() -> AsyncStream<ConfigChange> {
        let (stream, continuation) = AsyncStream<ConfigChange>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let id = nextID.add(1, ordering: .relaxed).newValue
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { _ = $0.removeValue(forKey: id) }
        }
        return stream
    }

    func publish(_ change: ConfigChange) {
        let all = subscribers.withLock { Array($0.values) }
        for continuation in all { continuation.yield(change) }
    }
}
