public import Logging
import Synchronization
public import VireoCore
public import VireoStore

/// Each node's live status, shared through etcd (pvestatd's broadcast and pmxcfs's kvstore):
/// every node puts its status under a lease every `interval`, and follows everyone's. A node
/// that stops publishing (its daemon died, it lost the network) disappears when its lease ends:
/// that is what "offline" means. Reads never fan out to other nodes.
public final class ClusterStatusBoard: Sendable {
    public let node: String
    private let client: EtcdClient
    private let prefix: String
    private let ttl: Duration
    private let interval: Duration
    private let logger: Logger
    private let state = Mutex<State>(State())

    private struct State {
        var entries: [String: Entry] = [:]
        var lease: Int64 = 0
    }

    /// One node's last published status, and when it was published (etcd revision).
    public struct Entry: Sendable {
        public var status: JSON
        public var revision: Int64
    }

    public init(
        store: EtcdConfigStore,
        node: String,
        ttl: Duration = .seconds(6),
        interval: Duration = .seconds(2),
        logger: Logger
    ) {
        self.node = node
        client = store.client
        prefix = store.keyPrefix + "s/"
        self.ttl = ttl
        self.interval = interval
        self.logger = logger
    }

    /// The nodes publishing now, with their status.
    public var entries: [String: Entry] { state.withLock { $0.entries } }

    public func isOnline(_ node: String) -> Bool { state.withLock { $0.entries[node] != nil } }

    /// What a node publishes: its status, and the part of it whose change is worth publishing at
    /// once (usage figures alone go out every `refresh`, not to write etcd's history full).
    public struct Publication: Sendable {
        public var status: JSON
        public var significant: JSON

        public init(status: JSON, significant: JSON) {
            self.status = status
            self.significant = significant
        }
    }

    /// Keeps this node's entry alive and current, and follows every node's, until cancelled;
    /// then withdraws the entry (a clean stop shows offline at once). `wake` ends a wait early
    /// (a guest started or stopped).
    public func run(
        refresh: Duration = .seconds(10),
        wake: ChangeSignal? = nil,
        collect: @escaping @Sendable () async -> Publication
    ) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.publishLoop(refresh: refresh, wake: wake, collect) }
            group.addTask { await self.follow() }
        }
        let lease = state.withLock { $0.lease }
        if lease != 0 {
            _ = try? await client.call("/v3/lease/revoke", ["ID": EtcdCoding.int(lease)], timeout: .seconds(1))
        }
    }

    private func publishLoop(
        refresh: Duration,
        wake: ChangeSignal?,
        _ collect: @Sendable () async -> Publication
    ) async {
        let clock = ContinuousClock()
        var published: (significant: JSON, at: ContinuousClock.Instant)?
        var renewed: ContinuousClock.Instant?
        var seen = wake?.generation ?? 0
        while !Task.isCancelled {
            do {
                // The lease is renewed every `interval`, not on every wake (a burst of changes).
                var fresh = false
                if renewed.map({ clock.now - $0 >= interval }) ?? true {
                    fresh = try await keepLease()
                    renewed = clock.now
                }
                // The node's own copy of the tree as it is: no barrier per publication.
                let publication = await ReadSession.run(atLeast: 0) { await collect() }
                if fresh || published == nil || published?.significant != publication.significant
                    || clock.now - (published?.at ?? clock.now) >= refresh
                {
                    try await put(publication.status)
                    published = (publication.significant, clock.now)
                }
            } catch {
                published = nil
                renewed = nil
                logger.debug("node status not published: \(error)")
            }
            if let wake {
                seen = await wake.wait(after: seen, timeout: interval)
                // Let a burst of changes (a bulk start) settle into one publication.
                try? await Task.sleep(for: .milliseconds(50))
            } else {
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Renews this node's lease, taking a new one when it ended; true when the lease is new
    /// (the entry went with the old one and must be written again).
    private func keepLease() async throws -> Bool {
        let lease = state.withLock { $0.lease }
        if lease != 0 {
            let answer = try await client.call(
                "/v3/lease/keepalive",
                ["ID": EtcdCoding.int(lease)],
                timeout: .seconds(1)
            )
            if EtcdCoding.int64((answer["result"] ?? answer)["TTL"]) > 0 { return false }
        }
        let answer = try await client.call(
            "/v3/lease/grant",
            ["TTL": EtcdCoding.int(max(1, ttl.components.seconds))],
            timeout: .seconds(1)
        )
        let granted = EtcdCoding.int64(answer["ID"])
        state.withLock { $0.lease = granted }
        return true
    }

    private func put(_ status: JSON) async throws {
        let lease = state.withLock { $0.lease }
        _ = try await client.call(
            "/v3/kv/put",
            [
                "key": EtcdCoding.bytes(prefix + node), "value": EtcdCoding.bytes(status.serialized()),
                "lease": EtcdCoding.int(lease),
            ],
            timeout: .seconds(1)
        )
    }

    /// Keeps `entries` current: a full read, then a watch from its revision; again after a break.
    private func follow() async {
        while !Task.isCancelled {
            do {
                let answer = try await client.call(
                    "/v3/kv/range",
                    ["key": EtcdCoding.bytes(prefix), "range_end": EtcdCoding.bytes(EtcdCoding.prefixEnd(prefix))],
                    timeout: .seconds(2)
                )
                var entries: [String: Entry] = [:]
                for kv in (answer["kvs"]?.arrayValue ?? []).map(EtcdKeyValue.init) {
                    guard let entry = entry(kv) else { continue }
                    entries[String(kv.key.dropFirst(prefix.count))] = entry
                }
                state.withLock { $0.entries = entries }
                let revision = EtcdCoding.int64(answer["header"]?["revision"])
                let stream = client.watch([
                    "key": EtcdCoding.bytes(prefix), "range_end": EtcdCoding.bytes(EtcdCoding.prefixEnd(prefix)),
                    "start_revision": EtcdCoding.int(revision + 1),
                ])
                for try await message in stream {
                    if message["canceled"] == .bool(true) { break }
                    for event in message["events"]?.arrayValue ?? [] {
                        guard let kv = event["kv"].map(EtcdKeyValue.init) else { continue }
                        let name = String(kv.key.dropFirst(prefix.count))
                        let deleted = event["type"]?.stringValue == "DELETE"
                        let value = deleted ? nil : entry(kv)
                        state.withLock { $0.entries[name] = value }
                    }
                }
            } catch {
                // etcd away: keep what we knew, try again shortly.
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    private func entry(_ kv: EtcdKeyValue) -> Entry? {
        guard let status = try? JSON.parse(kv.value) else { return nil }
        return Entry(status: status, revision: kv.modRevision)
    }
}
