import Foundation
import Testing
import VireoCore

@testable import VireoStore

/// What only the etcd backend has to show: several nodes on one tree, losing etcd and getting it
/// back, and a watch that must bridge a gap. The shared semantics are in the conformance suite.
@Suite(.serialized, .enabled(if: EtcdTestServer.available, "etcd is not installed (apt-get install etcd-server)"))
struct EtcdConfigStoreTests {
    /// Two stores on one etcd, as two nodes of a cluster; both closed afterwards.
    func withTwoNodes(
        _ server: EtcdTestServer,
        _ body: (EtcdConfigStore, EtcdConfigStore) async throws -> Void
    ) async throws {
        let options = EtcdConfigStore.Options(prefix: "/pair/")
        let first = try await EtcdConfigStore.open(server.connection, options: options)
        let second: EtcdConfigStore
        do {
            second = try await EtcdConfigStore.open(server.connection, options: options)
        } catch {
            await first.close()
            throw error
        }
        do {
            try await body(first, second)
        } catch {
            await first.close()
            await second.close()
            throw error
        }
        await first.close()
        await second.close()
    }

    @Test func aWriteOnOneNodeIsReadOnTheOtherAtOnceAndReachesItsFeed() async throws {
        try await EtcdTestServer.with { server in
            try await withTwoNodes(server) { one, two in
                var feed = two.changes().makeAsyncIterator()
                let written = try await one.write("user.cfg", content: "user:alice@pve:1:0::::::\n", condition: .absent)
                // No waiting: the read asks etcd for the newest revision first.
                #expect(try await two.read("user.cfg") == written)
                guard case .changed(let change)? = await feed.next() else {
                    Issue.record("the second node's feed did not report the first node's write")
                    return
                }
                #expect(change == ConfigChange(path: "user.cfg", kind: .written, version: written.version))
            }
        }
    }

    @Test func aReadSessionAsksEtcdOnceAndSeesEveryWriteMadeBeforeIt() async throws {
        try await EtcdTestServer.with { server in
            try await withTwoNodes(server) { one, two in
                let ranges = { two.client.callCount("/v3/kv/range") }
                let first = try await one.write("user.cfg", content: "user:alice@pve:1:0::::::\n", condition: .any)
                let before = ranges()
                try await ReadSession.run {
                    #expect(try await two.read("user.cfg") == first)
                    #expect(try await two.list("").contains("user.cfg"))
                    #expect(try await two.readAll("").count == 1)
                    _ = try await two.currentVersion()
                }
                #expect(ranges() - before == 1, "four reads in one session, one barrier")
                // A later session sees a write made on the other node in between.
                let second = try await one.write("user.cfg", content: "user:bob@pve:1:0::::::\n", condition: .any)
                let later = try await ReadSession.run { try await two.read("user.cfg") }
                #expect(later == second)
                // Outside a session, every read is its own barrier.
                let unsessioned = ranges()
                _ = try await two.read("user.cfg")
                _ = try await two.read("user.cfg")
                #expect(ranges() - unsessioned == 2)
                // A reaction to a delivered change reads the node's copy: no barrier.
                let reacting = ranges()
                let reaction = try await ReadSession.run(atLeast: second.version) { try await two.read("user.cfg") }
                #expect(reaction == second)
                #expect(ranges() == reacting)
            }
        }
    }

    @Test func aVMIDTakenOnOneNodeCannotBeCreatedOnAnother() async throws {
        try await EtcdTestServer.with { server in
            try await withTwoNodes(server) { one, two in
                try await one.write("nodes/one/qemu-server/100.conf", content: "memory: 512\n", condition: .absent)
                await #expect(throws: VireoError.self) {
                    try await two.commit([
                        .check("nodes/one/qemu-server/100.conf", condition: .absent),
                        .write("nodes/two/qemu-server/100.conf", content: "memory: 256\n", condition: .absent),
                    ])
                }
                #expect(try await one.read("nodes/two/qemu-server/100.conf") == nil)
            }
        }
    }

    @Test func withoutAnAnswerWritesFailWithTheQuorumMessageAndReadsUseTheMirror() async throws {
        try await EtcdTestServer.with { server in
            let store = try await EtcdConfigStore.open(
                server.connection,
                options: .init(prefix: "/quorum/", writeDeadline: .seconds(3))
            )
            do {
                try await store.write("storage.cfg", content: "dir: local\n", condition: .any)
                server.freeze()
                let started = ContinuousClock.now
                do {
                    try await store.write("storage.cfg", content: "dir: other\n", condition: .any)
                    Issue.record("a write succeeded while etcd answered nothing")
                } catch let error as VireoError {
                    #expect(error.message == "cluster not ready - no quorum?")
                    #expect(error.code == .unavailable)
                }
                print("write refused after \(ContinuousClock.now - started) without an answer from etcd")
                #expect(!store.isQuorate)
                #expect(try await store.read("storage.cfg")?.content == "dir: local\n")
                await #expect(throws: VireoError.self) {
                    try await store.write("datacenter.cfg", content: "keyboard: de\n", condition: .any)
                }
                server.thaw()
                // Writes come back on their own once etcd answers again.
                var written = false
                for _ in 0..<100 where !written {
                    written = (try? await store.write("storage.cfg", content: "dir: back\n", condition: .any)) != nil
                    if !written { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(written)
                #expect(try await store.read("storage.cfg")?.content == "dir: back\n")
                await store.close()
            } catch {
                server.thaw()
                await store.close()
                throw error
            }
        }
    }

    @Test func aStoreThatCannotReadEtcdStartsReadOnlyFromItsLocalCopy() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vireo-copy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let options = EtcdConfigStore.Options(
            prefix: "/copy/",
            localCopy: directory.appendingPathComponent("tree.json").path
        )
        try await EtcdTestServer.with { server in
            let first = try await EtcdConfigStore.open(server.connection, options: options)
            let written = try await first.write("user.cfg", content: "user:alice@pve:1:0::::::\n", condition: .any)
            // Kept within a few seconds of a change.
            var saved = false
            for _ in 0..<50 where !saved {
                saved = (try? EtcdLocalCopy(path: options.localCopy!).load().files["user.cfg"]) == written
                if !saved { try await Task.sleep(for: .milliseconds(100)) }
            }
            await first.close()
            #expect(saved, "the local copy did not get the write")
            server.freeze()
            do {
                let second = try await EtcdConfigStore.open(
                    server.connection,
                    options: options,
                    loadTimeout: .milliseconds(300)
                )
                #expect(!second.isQuorate)
                #expect(try await second.read("user.cfg") == written)
                await #expect(throws: VireoError.self) {
                    try await second.write("user.cfg", content: "", condition: .any)
                }
                server.thaw()
                // Once etcd answers, the store follows it and takes writes.
                var back = false
                for _ in 0..<100 where !back {
                    back = (try? await second.write("pools.cfg", content: "x\n", condition: .any)) != nil
                    if !back { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(back)
                await second.close()
            } catch {
                server.thaw()
                throw error
            }
        }
    }

    @Test func aWatchResumingFromACompactedRevisionReloadsAndReportsLoss() async throws {
        try await EtcdTestServer.with { server in
            try await withTwoNodes(server) { one, two in
                try await one.write("a", content: "1", condition: .any)
                let start = try await two.currentVersion()
                var feed = two.changes(after: start).makeAsyncIterator()
                await two.stopFollowing()
                for index in 0..<5 { try await one.write("f\(index)", content: "x", condition: .any) }
                try await one.delete("a", condition: .any)
                let newest = try await one.currentVersion()
                _ = try await one.client.call(
                    "/v3/kv/compaction",
                    ["revision": .string(String(newest))],
                    timeout: .seconds(5)
                )
                two.startFollowing()
                guard case .lost(let through)? = await feed.next() else {
                    Issue.record("a watch that could not resume did not report lost changes")
                    return
                }
                #expect(through >= newest)
                #expect(try await two.read("a") == nil)
                #expect(try await two.readAll("").map(\.path) == ["f0", "f1", "f2", "f3", "f4"])
            }
        }
    }
}
