import Foundation
import Synchronization
import VireoCore

/// The cluster backend: the configuration tree in etcd, so every node shares it.
///
/// Like pmxcfs, each node keeps the whole tree in memory — a mirror that one etcd watch keeps
/// current — and answers reads from it. A read is still linearizable: it first asks etcd (one
/// small quorum read) which tree revision is the newest, and waits until the mirror has applied
/// it. Without quorum that question fails fast, and reads answer from the mirror as it stands
/// (``isQuorate`` tells callers the answer may be stale) while every write fails with Proxmox's
/// "cluster not ready - no quorum?".
///
/// Keys, under `prefix`: `t/<path>` holds a file (its value the mtime, a newline, then the
/// content; its version the key's etcd mod revision), `t` is bumped by every transaction that
/// changes the tree (its mod revision is the tree's version), and `l/<name>` is a lock, bound
/// to an etcd lease, whose create revision is the lock's fencing token.
public final class EtcdConfigStore: ConfigStore {
    public struct Options: Sendable {
        /// Where this tree lives in etcd's key space; tests give each store its own.
        public var prefix: String
        /// Changes kept for subscribers that fall behind (see ``ChangeFeed``).
        public var changeHistory: Int
        /// How long a write waits for etcd before asking whether the cluster has quorum at all:
        /// without, it fails then; with, it waits on (a slow disk is not a lost quorum).
        public var writeTimeout: Duration
        /// The longest a write waits while the member does not say it lost quorum.
        public var writeDeadline: Duration
        /// How long the member must go without a leader before writes fail. None by default:
        /// etcd itself takes over a second to notice a lost majority, and a write must fail
        /// within two; an election on a busy machine fails the writes it catches, as Proxmox's
        /// do while corosync's membership changes.
        public var leaderlessGrace: Duration
        /// How long a read waits for the quorum question before answering from the mirror.
        public var readTimeout: Duration
        /// How often quorum is checked while nothing else asks.
        public var quorumProbeInterval: Duration
        /// A file for the node's own copy of the tree (``EtcdLocalCopy``): kept current, and
        /// opened read-only when etcd cannot be read at start.
        public var localCopy: String?

        public init(
            prefix: String = "/vireo/",
            changeHistory: Int = 4096,
            writeTimeout: Duration = .milliseconds(250),
            writeDeadline: Duration = .seconds(15),
            leaderlessGrace: Duration = .zero,
            readTimeout: Duration = .milliseconds(1000),
            quorumProbeInterval: Duration = .seconds(1),
            localCopy: String? = nil
        ) {
            self.prefix = prefix
            self.changeHistory = changeHistory
            self.writeTimeout = writeTimeout
            self.writeDeadline = writeDeadline
            self.leaderlessGrace = leaderlessGrace
            self.readTimeout = readTimeout
            self.quorumProbeInterval = quorumProbeInterval
            self.localCopy = localCopy
        }
    }

    public let client: EtcdClient
    let keys: EtcdKeys
    /// Where this store lives in etcd's key space; other cluster state goes beside it.
    public var keyPrefix: String { keys.prefix }
    private let options: Options
    private let mirror: EtcdMirror
    private let feed: ChangeFeed
    private let barrier = ReadBarrier()
    private let quorum = Mutex(true)
    /// etcd lease IDs of the locks this store granted, by lock name and token.
    private let leaseIDs = Mutex<[LeaseKey: Int64]>([:])
    private let background = Mutex<[Task<Void, Never>]>([])
    private let following = Mutex<Task<Void, Never>?>(nil)

    private struct LeaseKey: Hashable {
        let name: String
        let token: Int64
    }

    /// Loads the tree and starts following it; when etcd cannot be read within `loadTimeout`
    /// (nil: its member is known not to serve yet, so it is not asked), starts from the local
    /// copy (``Options/localCopy``) without quorum, and follows etcd once it answers.
    /// - Throws: `.unavailable` when neither can be read.
    public static func open(
        _ connection: EtcdConnection,
        options: Options = Options(),
        loadTimeout: Duration? = .seconds(10)
    ) async throws -> EtcdConfigStore {
        let client = try EtcdClient(connection)
        do {
            let store = try await EtcdConfigStore(client: client, options: options, loadTimeout: loadTimeout)
            store.startBackgroundWork()
            return store
        } catch {
            await client.shutdown()
            throw error
        }
    }

    private init(client: EtcdClient, options: Options, loadTimeout: Duration?) async throws {
        self.client = client
        self.options = options
        keys = EtcdKeys(prefix: options.prefix)
        let snapshot: TreeSnapshot
        var fromCopy = false
        do {
            guard let loadTimeout else {
                throw VireoError(.unavailable, "the etcd member does not serve clients yet").at(.cluster)
            }
            snapshot = try await Self.loadTree(client, keys, timeout: loadTimeout)
        } catch {
            guard let copy = try? options.localCopy.map({ try EtcdLocalCopy(path: $0).load() }) else { throw error }
            snapshot = copy
            fromCopy = true
        }
        mirror = EtcdMirror(
            files: snapshot.files,
            appliedRevision: snapshot.revision,
            treeVersion: snapshot.treeVersion
        )
        feed = ChangeFeed(startingAt: snapshot.treeVersion, capacity: options.changeHistory)
        // Read-only until the member has a leader (the quorum probe says so).
        if fromCopy { quorum.withLock { $0 = false } }
    }

    /// Stops following etcd and closes the connection.
    public func close() async {
        let tasks = background.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        await stopFollowing()
        mirror.close()
        await client.shutdown()
    }

    /// False while etcd cannot reach quorum (as last seen): writes fail, reads may be stale.
    public var isQuorate: Bool { quorum.withLock { $0 } }

    // MARK: - Reads

    public func read(_ path: String) async throws -> StoredFile? {
        let path = try ConfigPath.normalize(path)
        await synchronise()
        return mirror.file(path)
    }

    public func list(_ directory: String) async throws -> [String] {
        let directory = try ConfigPath.normalize(directory, allowRoot: true)
        await synchronise()
        return mirror.names(in: directory)
    }

    public func readAll(_ directory: String) async throws -> [StoredFile] {
        let directory = try ConfigPath.normalize(directory, allowRoot: true)
        await synchronise()
        return mirror.files(in: directory)
    }

    /// Reads made after this include every change up to the answer (within a ``ReadSession``,
    /// at no cost once it is settled).
    public func currentVersion() async throws -> Int64 {
        await synchronise()
        return mirror.treeVersion
    }

    /// Brings the mirror up to the newest tree revision etcd has committed, so a read after any
    /// node's write sees it; once per ``ReadSession``. Without quorum the mirror answers as it is.
    private func synchronise() async {
        let session = ReadSession.current
        if let point = session?.settledPoint {
            // Settled by an earlier read: the mirror is that new already (it only moves forward).
            _ = await mirror.wait(for: point, timeout: options.readTimeout)
            return
        }
        guard let revision = try? await treeRevision() else { return }
        _ = await mirror.wait(for: revision, timeout: options.readTimeout)
        session?.settle(at: revision)
    }

    /// The tree's newest revision by a linearizable read of `t` (shared by concurrent readers).
    private func treeRevision() async throws -> Int64 {
        guard isQuorate else { throw Self.noQuorum }
        return try await barrier.revision { [client, keys, options] in
            let answer = try await client.call(
                "/v3/kv/range",
                ["key": EtcdCoding.bytes(keys.tree)],
                timeout: options.readTimeout
            )
            return answer["kvs"]?.arrayValue?.first.map { EtcdKeyValue($0).modRevision } ?? 0
        }
    }

    // MARK: - Writes

    @discardableResult
    public func write(_ path: String, content: String, condition: WriteCondition) async throws -> StoredFile {
        let path = try ConfigPath.normalize(path)
        if mirror.file(path) == nil, mirror.isDirectory(path) {
            throw VireoError.conflict("config path '\(path)' is a directory")
        }
        let now = Int64(Date().timeIntervalSince1970)
        let revision = try await transact([.write(path, content: content, condition: condition)], mtime: now)
        return StoredFile(path: path, content: content, version: revision, mtime: now)
    }

    public func delete(_ path: String, condition: WriteCondition) async throws {
        let path = try ConfigPath.normalize(path)
        try await transact([.delete(path, condition: condition)], mtime: 0)
    }

    public func rename(_ from: String, to: String) async throws {
        let from = try ConfigPath.normalize(from)
        let to = try ConfigPath.normalize(to)
        await synchronise()
        guard let source = mirror.file(from) else { throw VireoError.notFound("config file '\(from)' does not exist") }
        do {
            try await transact(
                [
                    .delete(from, condition: .version(source.version)),
                    .write(to, content: source.content, condition: .absent),
                ],
                mtime: Int64(Date().timeIntervalSince1970)
            )
        } catch let error as VireoError where error.code == .conflict && mirror.file(to) == nil {
            // The source changed under us: say so as SQLite's store would.
            throw VireoError.conflict("config file '\(from)' was changed concurrently")
        }
    }

    @discardableResult
    public func commit(_ operations: [StoreOperation]) async throws -> Int64 {
        let operations = try operations.map { try $0.normalized() }
        guard operations.contains(where: { if case .check = $0 { false } else { true } }) else {
            // Only conditions: check them against the newest state, change nothing.
            await synchronise()
            for case .check(let path, let condition) in operations {
                try condition.check(existing: mirror.file(path), path: path)
            }
            return try await currentVersion()
        }
        return try await transact(operations, mtime: Int64(Date().timeIntervalSince1970))
    }

    /// One etcd transaction: every condition and every held lease compared, then all writes,
    /// deletions and the bump of `t`. Returns its revision once the mirror has applied it, so
    /// the writer reads its own write and its change is in the feed.
    @discardableResult
    private func transact(_ operations: [StoreOperation], mtime: Int64) async throws -> Int64 {
        try await requireQuorum()
        let transaction = try EtcdTransaction(operations, fences: StoreLease.held, keys: keys, mtime: mtime)
        let answer = try await call("/v3/kv/txn", transaction.body)
        guard answer["succeeded"] == .bool(true) else { throw transaction.failure(answer) }
        let revision = EtcdCoding.int64(answer["header"]?["revision"])
        _ = await mirror.wait(for: revision, timeout: .seconds(5))
        return revision
    }

    /// A call that changes etcd: it waits for its answer as long as the cluster has quorum, and
    /// fails with the quorum message once it does not (asked after `writeTimeout` and then every
    /// tenth of a second), so a partitioned node refuses writes in under two seconds.
    private func call(_ path: String, _ body: JSON) async throws -> JSON {
        do {
            return try await withThrowingTaskGroup(of: JSON?.self) { group in
                group.addTask { [client, options] in try await client.call(path, body, timeout: options.writeDeadline) }
                group.addTask { [options] in
                    try await Task.sleep(for: options.writeTimeout)
                    // Only the member's word fails the write (no answer from it may be a busy
                    // machine, and the write's own deadline still holds), and only when it has
                    // been leaderless for longer than an election on a busy machine takes.
                    try await self.waitWhileLed(failingAfter: options.leaderlessGrace)
                    throw EtcdError.unreachable("no quorum")
                }
                defer { group.cancelAll() }
                while let answer = try await group.next() {
                    if let answer { return answer }
                }
                throw EtcdError.unreachable("no answer")
            }
        } catch let error as EtcdError {
            throw noteFailure(error)
        }
    }

    /// Refuses at once when this node's member has no leader; a node believed inquorate asks
    /// again first (the member may have elected one since the last probe).
    private func requireQuorum() async throws {
        if isQuorate { return }
        let clock = ContinuousClock()
        let deadline = clock.now + options.leaderlessGrace + .milliseconds(250)
        repeat {
            if await leadership() == .led {
                quorum.withLock { $0 = true }
                return
            }
            try await Task.sleep(for: .milliseconds(250))
        } while clock.now < deadline
        throw Self.noQuorum
    }

    /// Returns once this node's member has said it has no leader for `grace` on end; asks
    /// every tenth of a second.
    private func waitWhileLed(failingAfter grace: Duration) async throws {
        let clock = ContinuousClock()
        var leaderlessSince: ContinuousClock.Instant?
        while true {
            switch await leadership() {
            case .leaderless:
                let since = leaderlessSince ?? clock.now
                leaderlessSince = since
                if clock.now - since >= grace { return }
            case .led:
                leaderlessSince = nil
            case .silent:
                break
            }
            // Often: the member's own status is cheap, and the write must fail within two seconds.
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// What this node's etcd member says of its leader.
    enum Leadership { case led, leaderless, silent }

    /// Whether this node's etcd member follows a leader: a member cut off from the majority has
    /// none once its election timeout passed. Answered from the member's own state, so a busy
    /// cluster does not look partitioned.
    func leadership(timeout: Duration = .milliseconds(1500)) async -> Leadership {
        guard let status = try? await client.call("/v3/maintenance/status", [:], timeout: timeout) else {
            return .silent
        }
        // Member IDs are unsigned 64-bit: compared as text, not as Int64.
        return EtcdCoding.isSet(status["leader"]) ? .led : .leaderless
    }

    // MARK: - Changes

    public func changes(after version: Int64?) -> ConfigChangeStream { feed.subscribe(after: version) }

    // MARK: - Locks

    public func acquireLock(_ name: String, holder: String, ttl: Duration) async throws -> StoreLease? {
        try await requireQuorum()
        let key = keys.lock(name)
        let leaseID = try await grantLease(ttl: ttl)
        let answer = try await call(
            "/v3/kv/txn",
            [
                "compare": [
                    ["key": EtcdCoding.bytes(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"]
                ],
                "success": [
                    [
                        "request_put": [
                            "key": EtcdCoding.bytes(key), "value": EtcdCoding.bytes(holder),
                            "lease": EtcdCoding.int(leaseID),
                        ]
                    ]
                ],
            ]
        )
        guard answer["succeeded"] == .bool(true) else {
            try? await revokeLease(leaseID)
            return nil
        }
        let lease = StoreLease(name: name, holder: holder, token: EtcdCoding.int64(answer["header"]?["revision"]))
        // Taking a lock is a barrier too (as pmxcfs's): what the last holder wrote before it let
        // go is in the mirror before this holder reads, whatever its read session.
        if let revision = try? await treeRevision() {
            _ = await mirror.wait(for: revision, timeout: options.readTimeout)
            ReadSession.current?.settle(at: revision)
        }
        leaseIDs.withLock { $0[LeaseKey(name: name, token: lease.token)] = leaseID }
        return lease
    }

    public func renewLock(_ lease: StoreLease, ttl: Duration) async throws {
        guard let leaseID = leaseIDs.withLock({ $0[LeaseKey(name: lease.name, token: lease.token)] }) else {
            throw VireoError.leaseLost(lease)
        }
        let answer = try await call("/v3/lease/keepalive", ["ID": EtcdCoding.int(leaseID)])
        guard EtcdCoding.int64((answer["result"] ?? answer)["TTL"]) > 0 else {
            leaseIDs.withLock { _ = $0.removeValue(forKey: LeaseKey(name: lease.name, token: lease.token)) }
            throw VireoError.leaseLost(lease)
        }
    }

    public func releaseLock(_ lease: StoreLease) async throws {
        let leaseID = leaseIDs.withLock { $0.removeValue(forKey: LeaseKey(name: lease.name, token: lease.token)) }
        let key = keys.lock(lease.name)
        _ = try await call(
            "/v3/kv/txn",
            [
                "compare": [
                    [
                        "key": EtcdCoding.bytes(key), "target": "CREATE", "result": "EQUAL",
                        "create_revision": EtcdCoding.int(lease.token),
                    ]
                ],
                "success": [["request_delete_range": ["key": EtcdCoding.bytes(key)]]],
            ]
        )
        if let leaseID { try? await revokeLease(leaseID) }
    }

    public func lockHolder(_ name: String) async throws -> StoreLease? {
        let answer = try await call("/v3/kv/range", ["key": EtcdCoding.bytes(keys.lock(name))])
        guard let entry = answer["kvs"]?.arrayValue?.first.map(EtcdKeyValue.init) else { return nil }
        return StoreLease(name: name, holder: entry.value, token: entry.createRevision)
    }

    private func grantLease(ttl: Duration) async throws -> Int64 {
        // etcd counts whole seconds; never shorter than asked.
        let seconds = max(
            1,
            Int64((Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18).rounded(.up))
        )
        let answer = try await call("/v3/lease/grant", ["TTL": EtcdCoding.int(seconds)])
        return EtcdCoding.int64(answer["ID"])
    }

    private func revokeLease(_ id: Int64) async throws {
        _ = try await call("/v3/lease/revoke", ["ID": EtcdCoding.int(id)])
    }

    // MARK: - Quorum

    static var noQuorum: VireoError {
        VireoError(.unavailable, "cluster not ready - no quorum?").at(.cluster)
    }

    /// An etcd failure as the caller should see it: no answer means no quorum (and is remembered
    /// until the next probe succeeds); a refusal is reported as it is.
    private func noteFailure(_ error: EtcdError) -> VireoError {
        switch error {
        case .unreachable:
            quorum.withLock { $0 = false }
            return VireoError(.unavailable, "cluster not ready - no quorum?", underlying: error).at(.cluster)
        case .refused(_, _, let message) where message.contains("no leader") || message.contains("timed out"):
            quorum.withLock { $0 = false }
            return VireoError(.unavailable, "cluster not ready - no quorum?", underlying: error).at(.cluster)
        case .refused, .malformed:
            return VireoError(.unavailable, "config store failure: \(error)", underlying: error).at(.store)
        }
    }

    private func startBackgroundWork() {
        startFollowing()
        let probe = Task { [weak self] in await self?.probeQuorum() ?? () }
        background.withLock { $0 += [probe] }
        if let path = options.localCopy {
            let keeper = Task { [weak self] in await self?.keepLocalCopy(EtcdLocalCopy(path: path)) ?? () }
            background.withLock { $0 += [keeper] }
        }
    }

    /// Writes the local copy at once and then every two seconds after a change.
    private func keepLocalCopy(_ copy: EtcdLocalCopy) async {
        var saved: Int64 = -1
        while !Task.isCancelled {
            let snapshot = mirror.snapshot()
            if snapshot.revision != saved {
                do {
                    // The whole tree serialised and written: off the cooperative pool.
                    try await BlockingPool.shared.run { try copy.save(snapshot) }
                    saved = snapshot.revision
                } catch {
                    // The next round tries again; the copy only matters at a start without quorum.
                }
            }
            try? await Task.sleep(for: .seconds(2))
        }
    }

    /// Starts following the tree from the last revision applied.
    func startFollowing() {
        let task = Task { [weak self] in await self?.followTree() ?? () }
        following.withLock { $0 = task }
    }

    /// Stops following (tests use it to make a gap the watch must bridge).
    func stopFollowing() async {
        let task = following.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
    }

    /// Asks this node's member every interval whether it follows a leader (``leadership()``).
    /// Three silent answers in a row count as lost quorum: a late answer on a busy machine is
    /// not a partition; a member that says it has no leader is believed at once.
    private func probeQuorum() async {
        var silent = 0
        while !Task.isCancelled {
            switch await leadership(timeout: .milliseconds(700)) {
            case .led:
                silent = 0
                quorum.withLock { $0 = true }
            case .leaderless:
                silent = 0
                quorum.withLock { $0 = false }
            case .silent:
                silent += 1
                if silent >= 3 { quorum.withLock { $0 = false } }
            }
            try? await Task.sleep(for: options.quorumProbeInterval)
        }
    }

    // MARK: - Following the tree

    /// Keeps the mirror current with one watch on the tree, resuming after a break from the last
    /// revision applied; a resume etcd can no longer serve (compacted) reloads the whole tree and
    /// tells subscribers they lost changes.
    private func followTree() async {
        var pause = Duration.milliseconds(50)
        while !Task.isCancelled {
            let from = mirror.appliedRevision + 1
            let stream = client.watch([
                "key": EtcdCoding.bytes(keys.tree),
                "range_end": EtcdCoding.bytes(EtcdCoding.prefixEnd(keys.tree)),
                "start_revision": EtcdCoding.int(from),
            ])
            do {
                for try await message in stream {
                    pause = .milliseconds(50)
                    if message["canceled"] == .bool(true) {
                        let compacted = EtcdCoding.int64(message["compact_revision"])
                        if compacted > 0 { try await reload() }
                        break
                    }
                    apply(message["events"]?.arrayValue ?? [])
                }
            } catch {
                // etcd went away: keep serving the mirror, come back when it does.
            }
            if Task.isCancelled { return }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(1))
        }
    }

    private func apply(_ events: [JSON]) {
        guard !events.isEmpty else { return }
        var changes: [ConfigChange] = []
        var revision: Int64 = 0
        mirror.update { files in
            for event in events {
                guard let kv = event["kv"] else { continue }
                let entry = EtcdKeyValue(kv)
                revision = max(revision, entry.modRevision)
                guard let path = keys.path(ofFileKey: entry.key) else { continue }
                if event["type"]?.stringValue == "DELETE" {
                    files[path] = nil
                    changes.append(ConfigChange(path: path, kind: .deleted, version: entry.modRevision))
                } else {
                    files[path] = EtcdFileValue.decode(path: path, entry: entry)
                    changes.append(ConfigChange(path: path, kind: .written, version: entry.modRevision))
                }
            }
            return revision
        }
        if !changes.isEmpty { feed.publish(changes) }
    }

    private func reload() async throws {
        let snapshot = try await Self.loadTree(client, keys, timeout: .seconds(10))
        mirror.replace(files: snapshot.files, appliedRevision: snapshot.revision, treeVersion: snapshot.treeVersion)
        feed.forget(through: snapshot.treeVersion)
    }

    private static func loadTree(
        _ client: EtcdClient,
        _ keys: EtcdKeys,
        timeout: Duration
    ) async throws
        -> TreeSnapshot
    {
        let answer: JSON
        let range: JSON = [
            "key": EtcdCoding.bytes(keys.tree), "range_end": EtcdCoding.bytes(EtcdCoding.prefixEnd(keys.tree)),
        ]
        do {
            answer = try await client.call("/v3/kv/range", range, timeout: timeout)
        } catch {
            // Without quorum, this member's own copy: a node starts read-only, as pmxcfs does,
            // rather than not at all.
            guard case .object(var local) = range else { throw error }
            local["serializable"] = true
            if let copy = try? await client.call("/v3/kv/range", .object(local), timeout: timeout) {
                return snapshot(of: copy, keys)
            }
            throw VireoError(.unavailable, "config store cannot be read from etcd: \(error)", underlying: error).at(
                .cluster
            )
        }
        return snapshot(of: answer, keys)
    }

    private static func snapshot(of answer: JSON, _ keys: EtcdKeys) -> TreeSnapshot {
        var files: [String: StoredFile] = [:]
        var treeVersion: Int64 = 0
        for entry in (answer["kvs"]?.arrayValue ?? []).map(EtcdKeyValue.init) {
            if entry.key == keys.tree { treeVersion = entry.modRevision }
            guard let path = keys.path(ofFileKey: entry.key) else { continue }
            files[path] = EtcdFileValue.decode(path: path, entry: entry)
        }
        return TreeSnapshot(
            files: files,
            revision: EtcdCoding.int64(answer["header"]?["revision"]),
            treeVersion: treeVersion
        )
    }
}

/// The store's keys in etcd.
struct EtcdKeys: Sendable {
    let prefix: String

    /// Bumped by every change of the tree; the tree's files are under it.
    var tree: String { prefix + "t" }
    func file(_ path: String) -> String { prefix + "t/" + path }
    func lock(_ name: String) -> String { prefix + "l/" + name }

    func path(ofFileKey key: String) -> String? {
        let filePrefix = prefix + "t/"
        guard key.hasPrefix(filePrefix) else { return nil }
        return String(key.dropFirst(filePrefix.count))
    }
}

/// A file's value in etcd: its mtime, a newline, its content.
enum EtcdFileValue {
    static func encode(content: String, mtime: Int64) -> String { "\(mtime)\n" + content }

    static func decode(path: String, entry: EtcdKeyValue) -> StoredFile {
        let value = entry.value
        guard let newline = value.firstIndex(of: "\n"), let mtime = Int64(value[..<newline]) else {
            return StoredFile(path: path, content: value, version: entry.modRevision, mtime: 0)
        }
        return StoredFile(
            path: path,
            content: String(value[value.index(after: newline)...]),
            version: entry.modRevision,
            mtime: mtime
        )
    }
}
