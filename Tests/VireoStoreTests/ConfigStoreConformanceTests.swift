import Foundation
import Testing
import VireoCore
import VireoStore

/// A config store backend under test, made fresh in its own temp directory (and, for etcd, with
/// its own etcd member), torn down after the test also when it fails.
struct StoreBackend: CustomStringConvertible, Sendable {
    let description: String
    /// The shortest lease the backend grants (etcd counts whole seconds).
    let shortLease: Duration
    let run:
        @Sendable (_ directory: URL, _ changeHistory: Int, _ body: (any ConfigStore) async throws -> Void) async throws
            -> Void

    static let sqlite = StoreBackend(description: "sqlite", shortLease: .milliseconds(50)) { directory, history, body in
        try await body(
            try SQLiteConfigStore(path: directory.appendingPathComponent("config.db").path, changeHistory: history)
        )
    }

    static let etcd = StoreBackend(description: "etcd", shortLease: .seconds(1)) { _, history, body in
        try await EtcdTestServer.with { server in
            let store = try await EtcdConfigStore.open(
                server.connection,
                options: .init(prefix: "/conformance/", changeHistory: history)
            )
            do {
                try await body(store)
                await store.close()
            } catch {
                await store.close()
                throw error
            }
        }
    }

    /// Every backend the conformance suite runs against: etcd when installed (always in CI).
    static let all: [StoreBackend] = EtcdTestServer.available ? [sqlite, etcd] : [sqlite]
}

/// What every `ConfigStore` backend must do, the same for each: compare-and-swap, listings,
/// multi-file transactions, a change feed that resumes and reports loss, and fenced leases.
// One test at a time: each etcd case starts a member of its own, and a dozen at once on two cores
// make every answer slow.
@Suite(.serialized) struct ConfigStoreConformanceTests {
    /// Runs `body` with a fresh store; its directory goes away afterwards, also on failure.
    func withStore(
        _ backend: StoreBackend,
        changeHistory: Int = 4096,
        _ body: (any ConfigStore) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vireo-conf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await backend.run(directory, changeHistory, body)
    }

    @Test(arguments: StoreBackend.all) func readsBackWhatWasWrittenWithItsDigest(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let written = try await store.write(
                "nodes/a/qemu-server/100.conf",
                content: "memory: 512\n",
                condition: .absent
            )
            let read = try #require(try await store.read("nodes/a/qemu-server/100.conf"))
            #expect(read.content == "memory: 512\n")
            #expect(read.version == written.version)
            #expect(read.digest == ConfigDigest.sha1Hex("memory: 512\n"))
            #expect(try await store.read("nodes/a/qemu-server/101.conf") == nil)
        }
    }

    @Test(arguments: StoreBackend.all) func compareAndSwapRefusesStaleAndPresentFiles(
        _ backend: StoreBackend
    ) async throws {
        try await withStore(backend) { store in
            let first = try await store.write("user.cfg", content: "a", condition: .absent)
            try await store.write("user.cfg", content: "b", condition: .version(first.version))
            await #expect(throws: VireoError.self) {
                try await store.write("user.cfg", content: "c", condition: .version(first.version))
            }
            await #expect(throws: VireoError.self) {
                try await store.write("user.cfg", content: "d", condition: .absent)
            }
            await #expect(throws: VireoError.self) {
                try await store.delete("user.cfg", condition: .version(first.version))
            }
            #expect(try await store.read("user.cfg")?.content == "b")
        }
    }

    @Test(arguments: StoreBackend.all) func listingsShowOnlyDirectChildren(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            for path in [
                "nodes/a/qemu-server/100.conf", "nodes/a/qemu-server/101.conf", "nodes/a/host.fw", "nodes/b/x",
            ] {
                try await store.write(path, content: path, condition: .any)
            }
            #expect(try await store.list("nodes") == ["a", "b"])
            #expect(try await store.list("nodes/a") == ["host.fw", "qemu-server"])
            let all = try await store.readAll("nodes/a/qemu-server")
            #expect(all.map(\.path) == ["nodes/a/qemu-server/100.conf", "nodes/a/qemu-server/101.conf"])
            #expect(try await store.readAll("nodes/a").map(\.path) == ["nodes/a/host.fw"])
        }
    }

    @Test(arguments: StoreBackend.all) func renameMovesAndRefusesToOverwrite(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await store.write("a.cfg", content: "1", condition: .any)
            try await store.write("b.cfg", content: "2", condition: .any)
            await #expect(throws: VireoError.self) { try await store.rename("a.cfg", to: "b.cfg") }
            await #expect(throws: VireoError.self) { try await store.rename("missing.cfg", to: "c.cfg") }
            try await store.rename("a.cfg", to: "c.cfg")
            #expect(try await store.read("a.cfg") == nil)
            #expect(try await store.read("c.cfg")?.content == "1")
        }
    }

    @Test(arguments: StoreBackend.all) func concurrentUpdatesLoseNothing(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await store.update("counter") { text in String((Int(text ?? "0") ?? 0) + 1) }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.read("counter")?.content == "20")
        }
    }

    @Test(arguments: StoreBackend.all) func updateWithAStaleDigestChangesNothing(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await store.write("storage.cfg", content: "old", condition: .any)
            await #expect(throws: VireoError.self) {
                try await store.update("storage.cfg", digest: ConfigDigest.sha1Hex("other")) { _ in "new" }
            }
            #expect(try await store.read("storage.cfg")?.content == "old")
        }
    }

    @Test(arguments: StoreBackend.all) func aTransactionAppliesAllOrNothing(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            // VMID 100 exists on node b: creating it on node a must fail and write nothing.
            try await store.write("nodes/b/qemu-server/100.conf", content: "b", condition: .absent)
            await #expect(throws: VireoError.self) {
                try await store.commit([
                    .check("nodes/b/qemu-server/100.conf", condition: .absent),
                    .write("nodes/a/qemu-server/100.conf", content: "a", condition: .absent),
                ])
            }
            #expect(try await store.read("nodes/a/qemu-server/100.conf") == nil)
            let version = try await store.commit([
                .check("nodes/b/qemu-server/101.conf", condition: .absent),
                .write("nodes/a/qemu-server/101.conf", content: "a", condition: .absent),
                .delete("nodes/b/qemu-server/100.conf", condition: .any),
            ])
            #expect(try await store.read("nodes/a/qemu-server/101.conf")?.content == "a")
            #expect(try await store.read("nodes/b/qemu-server/100.conf") == nil)
            #expect(try await store.currentVersion() == version)
        }
    }

    @Test(arguments: StoreBackend.all) func aTransactionMayCheckTheFileItCreates(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            // VM create's shape: the VMID absent on every node, this node's file among them.
            let create: [StoreOperation] = [
                .check("nodes/a/qemu-server/100.conf", condition: .absent),
                .check("nodes/b/qemu-server/100.conf", condition: .absent),
                .write("nodes/a/qemu-server/100.conf", content: "memory: 64\n", condition: .absent),
            ]
            try await store.commit(create)
            #expect(try await store.read("nodes/a/qemu-server/100.conf")?.content == "memory: 64\n")
            await #expect(throws: VireoError.self) { try await store.commit(create) }
        }
    }

    @Test(arguments: StoreBackend.all) func theChangeFeedResumesFromAVersion(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let start = try await store.currentVersion()
            try await store.write("a", content: "1", condition: .any)
            let middle = try await store.currentVersion()
            try await store.write("b", content: "2", condition: .any)
            try await store.rename("b", to: "c")
            var fromStart = store.changes(after: start).makeAsyncIterator()
            var paths: [String] = []
            for _ in 0..<4 {
                guard case .changed(let change)? = await fromStart.next() else { break }
                paths.append("\(change.kind == .written ? "+" : "-")\(change.path)")
            }
            #expect(paths == ["+a", "+b", "-b", "+c"])
            var fromMiddle = store.changes(after: middle).makeAsyncIterator()
            guard case .changed(let next)? = await fromMiddle.next() else {
                Issue.record("no change after \(middle)")
                return
            }
            #expect(next.path == "b")
        }
    }

    @Test(arguments: StoreBackend.all) func aSubscriberThatFellBehindIsToldItLostChanges(
        _ backend: StoreBackend
    ) async throws {
        try await withStore(backend, changeHistory: 4) { store in
            let start = try await store.currentVersion()
            let slow = store.changes(after: start)
            for index in 0..<20 { try await store.write("f\(index)", content: "x", condition: .any) }
            var iterator = slow.makeAsyncIterator()
            guard case .lost(let through)? = await iterator.next() else {
                Issue.record("a subscriber 20 changes behind a history of 4 was not told it lost changes")
                return
            }
            #expect(through > start)
            // After the loss it goes on with what is still known, up to the newest change.
            var last: Int64 = through
            while last < (try await store.currentVersion()) {
                guard case .changed(let change)? = await iterator.next() else { break }
                last = change.version
            }
            #expect(last == (try await store.currentVersion()))
        }
    }

    @Test(arguments: StoreBackend.all) func aSubscriberResumingFromBeforeTheHistoryIsToldItLostChanges(
        _ backend: StoreBackend
    ) async throws {
        try await withStore(backend, changeHistory: 4) { store in
            for index in 0..<20 { try await store.write("f\(index)", content: "x", condition: .any) }
            var iterator = store.changes(after: 0).makeAsyncIterator()
            guard case .lost? = await iterator.next() else {
                Issue.record("resuming from version 0 after 20 changes with a history of 4 was not reported as lost")
                return
            }
        }
    }

    @Test(arguments: StoreBackend.all) func aLockHasOneHolderAtATime(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let first = try #require(try await store.acquireLock("vm-100", holder: "node-a", ttl: .seconds(30)))
            #expect(try await store.acquireLock("vm-100", holder: "node-b", ttl: .seconds(30)) == nil)
            #expect(try await store.lockHolder("vm-100")?.holder == "node-a")
            try await store.releaseLock(first)
            let second = try #require(try await store.acquireLock("vm-100", holder: "node-b", ttl: .seconds(30)))
            #expect(second.token > first.token)
            #expect(try await store.lockHolder("vm-100")?.holder == "node-b")
        }
    }

    @Test(arguments: StoreBackend.all) func aHolderWhoseLeaseExpiredCannotWrite(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let stale = try #require(try await store.acquireLock("vm-100", holder: "node-a", ttl: backend.shortLease))
            try await Task.sleep(for: backend.shortLease * 2.5)
            // The lease expired: another holder takes the lock; the first one is fenced out.
            let fresh = try #require(try await store.acquireLock("vm-100", holder: "node-b", ttl: .seconds(30)))
            await #expect(throws: VireoError.self) {
                try await StoreLease.$held.withValue([stale]) {
                    try await store.write("nodes/a/qemu-server/100.conf", content: "stale", condition: .any)
                }
            }
            await #expect(throws: VireoError.self) { try await store.renewLock(stale, ttl: .seconds(30)) }
            #expect(try await store.read("nodes/a/qemu-server/100.conf") == nil)
            try await StoreLease.$held.withValue([fresh]) {
                try await store.write("nodes/a/qemu-server/100.conf", content: "fresh", condition: .any)
            }
            #expect(try await store.read("nodes/a/qemu-server/100.conf")?.content == "fresh")
        }
    }

    @Test(arguments: StoreBackend.all) func withLockSerialisesAndIsReentrant(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<10 {
                    group.addTask {
                        try await store.withLock("counter", holder: "holder-\(index)") {
                            // A plain read then write: only the lock keeps these from interleaving.
                            let value = Int(try await store.read("counter")?.content ?? "0") ?? 0
                            try await Task.sleep(for: .milliseconds(2))
                            try await store.withLock("counter", holder: "holder-\(index)") {
                                try await store.write("counter", content: String(value + 1), condition: .any)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.read("counter")?.content == "10")
            #expect(try await store.lockHolder("counter") == nil)
        }
    }

    @Test(arguments: StoreBackend.all) func withLockTimesOutWhileAnotherHolderHasIt(
        _ backend: StoreBackend
    ) async throws {
        try await withStore(backend) { store in
            _ = try #require(try await store.acquireLock("storage-local", holder: "node-a", ttl: .seconds(30)))
            await #expect(throws: VireoError.self) {
                try await store.withLock("storage-local", holder: "node-b", timeout: .milliseconds(100)) {}
            }
        }
    }
}
