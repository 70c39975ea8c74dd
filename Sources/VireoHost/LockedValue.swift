import Synchronization

/// A value behind a mutex, for small shared state.
final class LockedValue<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func exchange(_ value: Value) -> Value {
        mutex.withLock { current in
            let old = current
            current = value
            return old
        }
    }
}
