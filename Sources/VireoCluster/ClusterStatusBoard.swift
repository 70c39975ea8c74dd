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

    /// Publishes `collect()` every interval and follows every node's status, until cancelled;
    /// then withdraws this node's entry (a clean stop shows offline at once).
    public func run(collect: @escaping @Sendable () async -> JSON) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.publishLoop(collect) }
            group.addTask { await self.follow() }
        }
        let lease = state.withLock { $0.lease }
        if lease != 0 {
            _ = try? await client.call("/v3/lease/revoke", ["ID": EtcdCoding.int(lease)], timeout: .seconds(1))
        }
    }

    private func publishLoop(_ collect: @Sendable () async -> JSON) async {
        while !Task.isCancelled {
            do {
                try await publish(await collect())
            } catch {
                logger.debug("node status not published: \(error)")
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Puts this node's status under its lease, taking a new lease when the old one ended.
    func publish(_ status: JSON) async throws {
        var lease = state.withLock { $0.lease }
        if lease != 0 {
            let answer = try await client.call(
                "/v3/lease/keepalive",
                ["ID": EtcdCoding.int(lease)],
                timeout: .seconds(1)
            )
            if EtcdCoding.int64((answer["result"] ?? answer)["TTL"]) <= 0 { lease = 0 }
        }
        if lease == 0 {
            let answer = try await client.call(
                "/v3/lease/grant",
                ["TTL": EtcdCoding.int(max(1, ttl.components.seconds))],
                timeout: .seconds(1)
            )
            lease = EtcdCoding.int64(answer["ID"])
            state.withLock { $0.lease = lease }
        }
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
