import Foundation

/// A few threads of their own for work that blocks (hashing a multi-GB upload, password hashing,
/// PAM, large file writes), so it never occupies the cooperative pool that serves requests, and a
/// burst of such work queues here instead of starving everything else.
public final class BlockingPool: Sendable {
    /// The process's pool: one thread per core, at least 2, at most 8.
    public static let shared = BlockingPool(threads: min(8, max(2, ProcessInfo.processInfo.activeProcessorCount)))

    private let queue = JobQueue()

    public init(threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [queue] in
                while true { queue.next()() }
            }
            thread.name = "vireo-blocking-\(index)"
            thread.start()
        }
    }

    /// Runs `work` on a pool thread and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.add { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Runs non-throwing `work` on a pool thread.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.add { continuation.resume(returning: work()) }
        }
    }
}

/// The pool's jobs in arrival order; `jobs` is only touched with `condition` locked.
private final class JobQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    func add(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// The next job, waiting for one.
    func next() -> @Sendable () -> Void {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty { condition.wait() }
        return jobs.removeFirst()
    }
}
