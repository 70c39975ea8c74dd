public import Foundation
public import Logging
import Synchronization
public import VireoCore

/// Worker tasks: long operations with a UPID, a log file and an exit status, as Proxmox reports
/// them, so clients polling `/nodes/{node}/tasks/{upid}/status` work unchanged.
///
/// Logs live in `<dir>/<last hex digit of starttime>/<UPID>`; finished tasks are appended to
/// `<dir>/index` (`UPID endtime status` per line). Tasks run in this process, so a daemon restart
/// ends running ones: they are then reported as `unexpected status`.
public final class TaskRegistry: Sendable {
    public struct Record: Sendable {
        public let upid: UPID
        public var endtime: Int?
        /// `OK`, `WARNINGS: n`, or the error text; nil while running.
        public var exitStatus: String?
        public var isRunning: Bool { exitStatus == nil }
    }

    private struct State {
        var records: [String: Record] = [:]
        var order: [String] = []
        var handles: [String: Task<Void, Never>] = [:]
        var accepting = true
        /// Tasks running their work now, and those waiting for a worker slot.
        var working = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    /// Finished tasks kept (in memory, in the index and as log files); older ones are pruned.
    public static let historyLimit = 1000
    /// Workers at once; more tasks wait for a slot. High enough that a node's start storm never
    /// queues behind it, low enough that a runaway client cannot start unbounded work.
    public static let workerLimit = 256

    public let directory: URL
    public let node: String
    private let state = Mutex(State())
    /// Serialises appends to the index with its compaction.
    private let indexLock = Mutex(())
    private let logger: Logger
    private let pid = Int(getpid())
    private let pstart: Int

    /// Told of every task that ends with an error: its UPID, the error, and where it lives.
    public typealias FailureObserver = @Sendable (UPID, String, Fault) -> Void
    private let onFailure: FailureObserver?

    /// Bumped when a task starts or ends (the UI's event stream wakes on it).
    public let activity: ChangeSignal

    public init(
        directory: URL,
        node: String,
        logger: Logger,
        activity: ChangeSignal = ChangeSignal(),
        onFailure: FailureObserver? = nil
    ) throws {
        self.activity = activity
        self.directory = directory
        self.node = node
        self.logger = logger
        self.onFailure = onFailure
        pstart = Self.processStartTicks()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try loadIndex()
    }

    /// Starts `work` as a task and returns its UPID at once.
    public func start(
        type: String,
        id: String,
        user: String,
        _ work: @escaping @Sendable (TaskLog) async throws -> Void
    ) throws -> UPID {
        let upid = try state.withLock { state throws -> UPID in
            guard state.accepting else { throw VireoError(.unavailable, "node is shutting down - task not started") }
            // The start time is the clock's; only a task that would repeat another's UPID (same
            // second, type, ID and user) moves a second on, so start times never run ahead.
            var now = Int(Date().timeIntervalSince1970)
            var upid = try UPID(node: node, pid: pid, pstart: pstart, starttime: now, type: type, id: id, user: user)
            while state.records[upid.description] != nil {
                now += 1
                upid = try UPID(node: node, pid: pid, pstart: pstart, starttime: now, type: type, id: id, user: user)
            }
            state.records[upid.description] = Record(upid: upid)
            state.order.append(upid.description)
            return upid
        }
        let log = try TaskLog(url: logURL(for: upid))
        let key = upid.description
        // Registered before the work can run: `wait` then always has the handle, whose end is
        // the task's whole end (its index line written).
        state.withLock { state in
            state.handles[key] = Task.detached { [self] in
                var status = "OK"
                do {
                    await acquireWorker()
                    defer { releaseWorker() }
                    try Task.checkCancellation()
                    try await work(log)
                    if log.warnings > 0 { status = "WARNINGS: \(log.warnings)" }
                } catch is CancellationError {
                    status = "interrupted by signal"
                } catch {
                    // One line: the status is a field of the index line (an error may carry a tool's
                    // multi-line output; the log keeps all of it).
                    let text = (error as? VireoError)?.summary ?? "\(error)"
                    let fault = Fault.of(error)
                    log.append("vireo-fault: \(fault)")
                    log.append("TASK ERROR: \(text)")
                    status = Self.oneLine(text)
                    onFailure?(upid, status, fault)
                }
                if status == "OK" {
                    log.append("TASK OK")
                } else if status.hasPrefix("WARNINGS") {
                    log.append("TASK \(status)")
                } else if status == "interrupted by signal" {
                    log.append("TASK ERROR: interrupted by signal")
                }
                log.close()
                await finish(key, status: status)
                self.state.withLock { _ = $0.handles.removeValue(forKey: key) }
                activity.bump()
            }
        }
        logger.info("task started", metadata: ["upid": "\(key)"])
        activity.bump()
        return upid
    }

    public func record(_ upid: String) -> Record? { state.withLock { $0.records[upid] } }

    /// Stops taking tasks, cancels the running ones and waits up to `grace` for them to end; a
    /// task still running then is recorded as interrupted. For the daemon's shutdown.
    public func shutdown(grace: Duration) async {
        let handles = state.withLock { state in
            state.accepting = false
            return Array(state.handles)
        }
        guard !handles.isEmpty else { return }
        logger.notice("stopping running tasks", metadata: ["count": "\(handles.count)"])
        for (_, handle) in handles { handle.cancel() }
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for (_, handle) in handles { await handle.value }
                return true
            }
            group.addTask {
                do { try await Task.sleep(for: grace) } catch { return true }
                return false
            }
            let first = await group.next() ?? true
            group.cancelAll()
            return first
        }
        guard !finished else { return }
        for (key, _) in handles where record(key)?.isRunning == true {
            await finish(key, status: "interrupted by signal")
        }
    }

    private func acquireWorker() async {
        await withCheckedContinuation { continuation in
            let granted = state.withLock { state -> Bool in
                guard state.working >= Self.workerLimit else {
                    state.working += 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    private func releaseWorker() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            // The slot passes straight to the next waiter.
            guard state.waiting.isEmpty else { return state.waiting.removeFirst() }
            state.working -= 1
            return nil
        }
        next?.resume()
    }

    /// Newest first.
    public func list() -> [Record] {
        state.withLock { state in state.order.reversed().compactMap { state.records[$0] } }
    }

    /// Asks a running task to stop (cancels its work).
    public func stop(_ upid: String) -> Bool {
        let handle = state.withLock { $0.handles[upid] }
        handle?.cancel()
        return handle != nil
    }

    /// Waits for a task to finish; for tests and the CLI's local use.
    public func wait(_ upid: String) async {
        let handle = state.withLock { $0.handles[upid] }
        await handle?.value
    }

    /// Log lines `(n, text)`, 1-based, from `start` (0-based) at most `limit`; and the total count.
    public func log(_ upid: UPID, start: Int, limit: Int) throws -> (lines: [(Int, String)], total: Int) {
        let text = (try? String(contentsOf: logURL(for: upid), encoding: .utf8)) ?? ""
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let slice = lines.enumerated().dropFirst(max(0, start)).prefix(max(0, limit))
        return (slice.map { ($0.offset + 1, $0.element) }, lines.count)
    }

    private func finish(_ key: String, status: String) async {
        let endtime = Int(Date().timeIntervalSince1970)
        let pruned = state.withLock { state -> [Record]? in
            // Finished once: a task interrupted at shutdown may still end on its own afterwards.
            guard state.records[key]?.isRunning == true else { return nil }
            state.records[key]?.endtime = endtime
            state.records[key]?.exitStatus = status
            return Self.prune(&state)
        }
        guard let pruned else { return }
        appendIndex("\(key) \(String(endtime, radix: 16, uppercase: true)) \(status)\n")
        logger.info("task finished", metadata: ["upid": "\(key)", "status": "\(status)"])
        // Hundreds of log files to delete: file work, off the cooperative pool.
        if !pruned.isEmpty { await BlockingPool.shared.run { self.removeHistory(pruned) } }
    }

    /// `text` with every control character (line breaks included) turned into a space.
    static func oneLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { ConfigValue.isControl($0) ? " " : $0 }))
    }

    /// Drops the oldest finished records beyond ``historyLimit`` (with slack, so pruning is rare).
    private static func prune(_ state: inout State) -> [Record] {
        let finished = state.order.count - state.order.count { state.records[$0]?.isRunning == true }
        guard finished > historyLimit + historyLimit / 4 else { return [] }
        var excess = finished - historyLimit
        var dropped: [Record] = []
        state.order.removeAll { key in
            guard excess > 0, let record = state.records[key], !record.isRunning else { return false }
            excess -= 1
            dropped.append(record)
            state.records[key] = nil
            return true
        }
        return dropped
    }

    /// Deletes pruned tasks' logs and rewrites the index with what is kept.
    private func removeHistory(_ pruned: [Record]) {
        for record in pruned { try? FileManager.default.removeItem(at: logURL(for: record.upid)) }
        let temporary = indexURL.appendingPathExtension("new")
        indexLock.withLock { _ in
            let kept = list().reversed().compactMap { record -> String? in
                guard let endtime = record.endtime, let status = record.exitStatus else { return nil }
                return "\(record.upid.description) \(String(endtime, radix: 16, uppercase: true)) \(status)\n"
            }
            do {
                try kept.joined().write(to: temporary, atomically: false, encoding: .utf8)
                // rename(2) replaces in one step; FileManager.replaceItemAt left the index unopenable
                // for the next append here, which then rewrote it with one line.
                guard rename(temporary.path, indexURL.path) == 0 else {
                    throw VireoError(.internalError, "rename: \(String(cString: strerror(errno)))")
                }
            } catch {
                logger.warning("task index not compacted", metadata: ["error": "\(error)"])
            }
        }
    }

    private func logURL(for upid: UPID) -> URL {
        let hex = String(upid.starttime, radix: 16, uppercase: true)
        return directory.appendingPathComponent(String(hex.last ?? "0")).appendingPathComponent(upid.description)
    }

    private var indexURL: URL { directory.appendingPathComponent("index") }
    private var activeURL: URL { directory.appendingPathComponent("active") }

    private func appendIndex(_ line: String) {
        indexLock.withLock { _ in appendIndexLocked(line) }
    }

    private func appendIndexLocked(_ line: String) {
        // Append only, created when missing: never rewrite what is there.
        let fd = open(indexURL.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            logger.warning("task index not written", metadata: ["error": "\(String(cString: strerror(errno)))"])
            return
        }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Loads finished tasks; tasks with a log but no index line died with the previous daemon.
    private func loadIndex() throws {
        let text = (try? String(contentsOf: indexURL, encoding: .utf8)) ?? ""
        var records: [String: Record] = [:]
        var order: [String] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, let upid = try? UPID(validating: String(parts[0])) else { continue }
            if records[upid.description] == nil { order.append(upid.description) }
            records[upid.description] = Record(
                upid: upid,
                endtime: Int(parts[1], radix: 16),
                exitStatus: String(parts[2])
            )
        }
        let fm = FileManager.default
        var orphans: [UPID] = []
        for bucket in (try? fm.contentsOfDirectory(atPath: directory.path)) ?? [] where bucket.count == 1 {
            for name in (try? fm.contentsOfDirectory(atPath: directory.appendingPathComponent(bucket).path)) ?? [] {
                guard records[name] == nil, let upid = try? UPID(validating: name) else { continue }
                orphans.append(upid)
            }
        }
        for upid in orphans.sorted(by: { $0.starttime < $1.starttime }) {
            let status = "unexpected status"
            records[upid.description] = Record(upid: upid, endtime: upid.starttime, exitStatus: status)
            order.append(upid.description)
            appendIndex("\(upid.description) \(String(upid.starttime, radix: 16, uppercase: true)) \(status)\n")
        }
        // By start time, and in index order within a second (tasks share seconds; sort is not stable).
        let position = Dictionary(order.enumerated().map { ($1, $0) }) { first, _ in first }
        order.sort { a, b in
            let (ta, tb) = (records[a]?.upid.starttime ?? 0, records[b]?.upid.starttime ?? 0)
            return ta != tb ? ta < tb : position[a, default: 0] < position[b, default: 0]
        }
        let pruned = state.withLock { state -> [Record] in
            state.records = records
            state.order = order
            return Self.prune(&state)
        }
        if !pruned.isEmpty { removeHistory(pruned) }  // at start-up, before any request
    }

    /// This process's start time in clock ticks since boot (`/proc/self/stat` field 22), as PVE's pstart.
    static func processStartTicks() -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? Int(fields[19]) ?? 0 : 0
    }
}

/// The log of one task: plain text lines, written as the task goes.
public final class TaskLog: Sendable {
    private let handle: Mutex<FileHandle?>
    private let warningCount = Atomic<Int>(0)

    init(url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw VireoError(.unavailable, "cannot create task log \(url.path)")
        }
        handle = Mutex(try FileHandle(forWritingTo: url))
    }

    public func append(_ line: String) {
        handle.withLock { handle in try? handle?.write(contentsOf: Data((line + "\n").utf8)) }
    }

    /// Logs a warning; the task then ends with `WARNINGS: n` instead of `OK`.
    public func warn(_ line: String) {
        warningCount.add(1, ordering: .relaxed)
        append("WARN: " + line)
    }

    var warnings: Int { warningCount.load(ordering: .relaxed) }

    func close() {
        handle.withLock { handle in
            try? handle?.close()
            handle = nil
        }
    }
}
