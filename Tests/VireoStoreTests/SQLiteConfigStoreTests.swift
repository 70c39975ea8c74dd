import Foundation
import Testing
import VireoCore
import VireoStore

@Suite final class SQLiteConfigStoreTests: Sendable {
    // Each test gets its own instance; its temp directory goes with it, also when the test fails.
    deinit { try? FileManager.default.removeItem(at: directory) }

    let directory: URL
    let store: SQLiteConfigStore

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vireo-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteConfigStore(path: directory.appendingPathComponent("config.db").path)
    }

    @Test func writtenFileReadsBackWithSHA1Digest() async throws {
        try await store.write("nodes/n1/qemu-server/100.conf", content: "memory: 512\n", condition: .any)
        let file = try #require(try await store.read("nodes/n1/qemu-server/100.conf"))
        #expect(file.content == "memory: 512\n")
        // sha1("memory: 512\n"), computed independently with sha1sum.
        #expect(file.digest == ConfigDigest.sha1Hex("memory: 512\n"))
        #expect(file.digest.count == 40)
    }

    @Test func compareAndSwapRejectsAStaleVersion() async throws {
        let first = try await store.write("user.cfg", content: "a", condition: .absent)
        let second = try await store.write("user.cfg", content: "b", condition: .version(first.version))
        await #expect(throws: VireoError.self) {
            try await store.write("user.cfg", content: "c", condition: .version(first.version))
        }
        #expect(try await store.read("user.cfg")?.content == "b")
        #expect(second.version > first.version)
    }

    @Test func absentConditionRefusesToOverwrite() async throws {
        try await store.write("storage.cfg", content: "x", condition: .absent)
        await #expect(throws: VireoError.self) {
            try await store.write("storage.cfg", content: "y", condition: .absent)
        }
    }

    @Test func listShowsDirectChildrenOnly() async throws {
        try await store.write("nodes/a/qemu-server/100.conf", content: "", condition: .any)
        try await store.write("nodes/b/qemu-server/101.conf", content: "", condition: .any)
        try await store.write("nodes/a/pve-ssl.pem", content: "", condition: .any)
        try await store.write("user.cfg", content: "", condition: .any)
        #expect(try await store.list("") == ["nodes", "user.cfg"])
        #expect(try await store.list("nodes") == ["a", "b"])
        #expect(try await store.list("nodes/a") == ["pve-ssl.pem", "qemu-server"])
    }

    @Test func deleteAndRename() async throws {
        try await store.write("a.cfg", content: "1", condition: .any)
        try await store.rename("a.cfg", to: "b.cfg")
        #expect(try await store.read("a.cfg") == nil)
        #expect(try await store.read("b.cfg")?.content == "1")
        try await store.write("c.cfg", content: "2", condition: .any)
        await #expect(throws: VireoError.self) { try await store.rename("b.cfg", to: "c.cfg") }
        try await store.delete("b.cfg", condition: .any)
        #expect(try await store.read("b.cfg") == nil)
        await #expect(throws: VireoError.self) { try await store.delete("b.cfg", condition: .any) }
    }

    @Test(arguments: ["../etc/passwd", "a/../b", "", "/", "a/./b"])
    func rejectsPathsThatEscape(path: String) async throws {
        await #expect(throws: VireoError.self) { try await store.write(path, content: "x", condition: .any) }
    }

    @Test func updateWithWrongDigestChangesNothing() async throws {
        try await store.write("domains.cfg", content: "old", condition: .any)
        await #expect(throws: VireoError.self) {
            try await store.update("domains.cfg", digest: ConfigDigest.sha1Hex("other")) { _ in "new" }
        }
        #expect(try await store.read("domains.cfg")?.content == "old")
        try await store.update("domains.cfg", digest: ConfigDigest.sha1Hex("old")) { _ in "new" }
        #expect(try await store.read("domains.cfg")?.content == "new")
    }

    @Test func concurrentReadModifyWriteLosesNoUpdate() async throws {
        try await store.write("counter", content: "0", condition: .any)
        let store = self.store
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    _ = try? await store.update("counter") { text in String((Int(text ?? "0") ?? 0) + 1) }
                }
            }
        }
        #expect(try await store.read("counter")?.content == "20")
    }

    @Test func changesAreDeliveredAfterCommit() async throws {
        let changes = store.changes()
        try await store.write("x.cfg", content: "1", condition: .any)
        try await store.delete("x.cfg", condition: .any)
        var iterator = changes.makeAsyncIterator()
        guard case .changed(let first)? = await iterator.next(), case .changed(let second)? = await iterator.next()
        else {
            Issue.record("expected two changes")
            return
        }
        #expect(first.path == "x.cfg" && first.kind == .written)
        #expect(second.path == "x.cfg" && second.kind == .deleted)
    }

    @Test func contentSurvivesReopening() async throws {
        let path = directory.appendingPathComponent("reopen.db").path
        do {
            let first = try SQLiteConfigStore(path: path)
            try await first.write("user.cfg", content: "user:root@pam:1:0:::::\n", condition: .any)
        }
        let second = try SQLiteConfigStore(path: path)
        #expect(try await second.read("user.cfg")?.content == "user:root@pam:1:0:::::\n")
        #expect(try await second.integrityCheck())
    }
}

@Suite struct NamedLocksTests {
    @Test func serialisesHoldersOfOneName() async throws {
        let locks = NamedLocks()
        let log = LogBox()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<5 {
                group.addTask {
                    try? await locks.withLock("vm-100") {
                        log.append("in\(i)")
                        try await Task.sleep(for: .milliseconds(5))
                        log.append("out\(i)")
                    }
                }
            }
        }
        let entries = log.entries
        #expect(entries.count == 10)
        for pair in stride(from: 0, to: entries.count, by: 2) {
            #expect(entries[pair].dropFirst(2) == entries[pair + 1].dropFirst(3))
        }
    }

    @Test func isReentrantWithinATaskButNotAcrossLockSets() async throws {
        let locks = NamedLocks()
        let inner = try await locks.withLock("vm-100", timeout: .milliseconds(200)) {
            try await locks.withLock("vm-100", timeout: .milliseconds(200)) { "nested" }
        }
        #expect(inner == "nested")
        // A task outside the holder's task tree still has to wait for it.
        try await locks.withLock("vm-100") {
            let outsider = Task.detached { try await locks.withLock("vm-100", timeout: .milliseconds(100)) {} }
            await #expect(throws: VireoError.self) { try await outsider.value }
        }
    }

    @Test func timesOutWithAClearError() async throws {
        let locks = NamedLocks()
        async let holder: Void = locks.withLock("busy") { try await Task.sleep(for: .milliseconds(300)) }
        try await Task.sleep(for: .milliseconds(50))
        await #expect(throws: VireoError.self) {
            try await locks.withLock("busy", timeout: .milliseconds(50)) {}
        }
        try await holder
        // After the holder is done the lock is free again.
        try await locks.withLock("busy", timeout: .milliseconds(50)) {}
    }
}

final class LogBox: @unchecked Sendable {
    // Guarded by `lock`; only used from tests.
    private let lock = NSLock()
    private var storage: [String] = []
    func append(_ s: String) { lock.withLock { storage.append(s) } }
    var entries: [String] { lock.withLock { storage } }
}
