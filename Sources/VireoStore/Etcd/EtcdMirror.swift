import Synchronization

/// The tree as of one etcd revision.
struct TreeSnapshot: Sendable {
    var files: [String: StoredFile]
    /// etcd's revision the snapshot was read at.
    var revision: Int64
    /// The tree's version then (the mod revision of `t`).
    var treeVersion: Int64
}

/// The whole configuration tree in memory, as of an etcd revision, with waiters for revisions
/// still to come (a read waits until the mirror has what etcd said is committed).
final class EtcdMirror: Sendable {
    private struct Waiter {
        let revision: Int64
        let continuation: CheckedContinuation<Bool, Never>
    }
    private struct State {
        var files: [String: StoredFile]
        var appliedRevision: Int64
        var treeVersion: Int64
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
        var closed = false
    }
    private let state: Mutex<State>

    init(files: [String: StoredFile], appliedRevision: Int64, treeVersion: Int64) {
        state = Mutex(State(files: files, appliedRevision: appliedRevision, treeVersion: treeVersion))
    }

    /// Every change of etcd up to this revision is in the mirror.
    var appliedRevision: Int64 { state.withLock { $0.appliedRevision } }

    func file(_ path: String) -> StoredFile? { state.withLock { $0.files[path] } }

    func snapshot() -> TreeSnapshot {
        state.withLock { TreeSnapshot(files: $0.files, revision: $0.appliedRevision, treeVersion: $0.treeVersion) }
    }

    /// The version of the tree in the mirror: the revision of its last change (every change
    /// bumps the tree's own key, deletions too).
    var treeVersion: Int64 { state.withLock { $0.treeVersion } }

    func names(in directory: String) -> [String] {
        let prefix = directory.isEmpty ? "" : directory + "/"
        let names = state.withLock { state in
            Set(
                state.files.keys.lazy.filter { $0.hasPrefix(prefix) }.map { path in
                    String(path.dropFirst(prefix.count).prefix { $0 != "/" })
                }
            )
        }
        return names.sorted()
    }

    func files(in directory: String) -> [StoredFile] {
        let prefix = directory.isEmpty ? "" : directory + "/"
        return state.withLock { state in
            state.files.values.filter { $0.path.hasPrefix(prefix) && !$0.path.dropFirst(prefix.count).contains("/") }
        }.sorted { $0.path < $1.path }
    }

    func isDirectory(_ path: String) -> Bool {
        let prefix = path + "/"
        return state.withLock { $0.files.keys.contains { $0.hasPrefix(prefix) } }
    }

    /// Applies changes of the tree; `body` returns the revision they bring the mirror to.
    func update(_ body: (inout [String: StoredFile]) -> Int64) {
        let ready = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            let revision = body(&state.files)
            state.appliedRevision = max(state.appliedRevision, revision)
            state.treeVersion = max(state.treeVersion, revision)
            return Self.takeReady(&state)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    func replace(files: [String: StoredFile], appliedRevision: Int64, treeVersion: Int64) {
        let ready = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.files = files
            state.treeVersion = treeVersion
            state.appliedRevision = max(state.appliedRevision, appliedRevision)
            return Self.takeReady(&state)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    /// Waits until the mirror has applied `revision`; false when `timeout` passed first.
    func wait(for revision: Int64, timeout: Duration) async -> Bool {
        if state.withLock({ $0.appliedRevision >= revision || $0.closed }) { return true }
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(returning: false)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.appliedRevision >= revision || state.closed { return true }
                state.waiters[id] = Waiter(revision: revision, continuation: continuation)
                return false
            }
            if now { continuation.resume(returning: true) }
        }
    }

    /// Releases every waiter (the store is closing).
    func close() {
        let waiters = state.withLock { state -> [Waiter] in
            state.closed = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.continuation.resume(returning: false) }
    }

    private static func takeReady(_ state: inout State) -> [CheckedContinuation<Bool, Never>] {
        let ready = state.waiters.filter { $0.value.revision <= state.appliedRevision }
        for id in ready.keys { state.waiters[id] = nil }
        return ready.values.map(\.continuation)
    }
}

/// Linearizable reads without a quorum round trip each: a caller joins the first question put
/// to etcd after it arrived, so concurrent readers share one.
actor ReadBarrier {
    private struct Question {
        let id: Int
        /// The callers that arrived before it was put: they may take its answer.
        let covers: Int
        let task: Task<Int64, any Error>
    }
    private var arrivals = 0
    private var asked = 0
    private var running: Question?

    func revision(_ ask: @escaping @Sendable () async throws -> Int64) async throws -> Int64 {
        arrivals += 1
        let ticket = arrivals
        while true {
            if let question = running {
                if question.covers >= ticket { return try await question.task.value }
                // Put before this caller arrived: its answer may be older than the caller's view.
                _ = await question.task.result
                if running?.id == question.id { running = nil }
                continue
            }
            asked += 1
            let question = Question(id: asked, covers: arrivals, task: Task { try await ask() })
            running = question
            let result = await question.task.result
            if running?.id == question.id { running = nil }
            return try result.get()
        }
    }
}
