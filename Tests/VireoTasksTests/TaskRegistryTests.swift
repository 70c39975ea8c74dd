import Foundation
import Logging
import Testing
import VireoCore
import VireoTasks

@Suite final class TaskRegistryTests: Sendable {
    // Each test gets its own instance; its temp directory goes with it, also when the test fails.
    deinit { try? FileManager.default.removeItem(at: directory) }

    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vireo-tasks-\(UUID().uuidString)")

    func registry() throws -> TaskRegistry {
        try TaskRegistry(directory: directory, node: "n1", logger: Logger(label: "test"))
    }

    @Test func successfulTaskEndsOKWithItsLog() async throws {
        let tasks = try registry()
        let upid = try tasks.start(type: "qmstart", id: "100", user: "root@pam") { log in
            log.append("starting VM 100")
        }
        #expect(upid.description.hasPrefix("UPID:n1:"))
        #expect(upid.description.split(separator: ":", omittingEmptySubsequences: false).count == 9)
        await tasks.wait(upid.description)
        let record = try #require(tasks.record(upid.description))
        #expect(record.exitStatus == "OK")
        let (lines, total) = try tasks.log(upid, start: 0, limit: 50)
        #expect(total == 2)
        #expect(lines.map(\.1) == ["starting VM 100", "TASK OK"])
        #expect(lines.map(\.0) == [1, 2])
    }

    @Test func failingTaskCarriesTheErrorText() async throws {
        let tasks = try registry()
        let upid = try tasks.start(type: "qmstop", id: "101", user: "alice@pve") { _ in
            throw VireoError.conflict("VM 101 not running")
        }
        await tasks.wait(upid.description)
        #expect(tasks.record(upid.description)?.exitStatus == "VM 101 not running")
        #expect(try tasks.log(upid, start: 0, limit: 10).lines.last?.1 == "TASK ERROR: VM 101 not running")
    }

    @Test func warningsAreCounted() async throws {
        let tasks = try registry()
        let upid = try tasks.start(type: "x", id: "", user: "root@pam") { log in
            log.warn("one")
            log.warn("two")
        }
        await tasks.wait(upid.description)
        #expect(tasks.record(upid.description)?.exitStatus == "WARNINGS: 2")
    }

    @Test func stopInterruptsARunningTask() async throws {
        let tasks = try registry()
        let upid = try tasks.start(type: "long", id: "", user: "root@pam") { _ in
            try await Task.sleep(for: .seconds(60))
        }
        #expect(tasks.record(upid.description)?.isRunning == true)
        #expect(tasks.stop(upid.description))
        await tasks.wait(upid.description)
        #expect(tasks.record(upid.description)?.exitStatus == "interrupted by signal")
    }

    @Test func finishedTasksSurviveARestartAndRunningOnesBecomeUnexpected() async throws {
        let first = try registry()
        let done = try first.start(type: "a", id: "", user: "root@pam") { _ in }
        await first.wait(done.description)
        let hanging = try first.start(type: "b", id: "", user: "root@pam") { _ in
            try await Task.sleep(for: .seconds(60))
        }
        let second = try registry()
        #expect(second.record(done.description)?.exitStatus == "OK")
        #expect(second.record(hanging.description)?.exitStatus == "unexpected status")
        _ = first.stop(hanging.description)
    }

    @Test func twoTasksInOneSecondGetDistinctUPIDs() throws {
        let tasks = try registry()
        let a = try tasks.start(type: "t", id: "1", user: "root@pam") { _ in }
        let b = try tasks.start(type: "t", id: "1", user: "root@pam") { _ in }
        #expect(a != b)
    }

    @Test func shutdownInterruptsRunningTasksAndRefusesNewOnes() async throws {
        let tasks = try registry()
        let upid = try tasks.start(type: "qmshutdown", id: "100", user: "root@pam") { log in
            log.append("waiting for the guest")
            try await Task.sleep(for: .seconds(600))
        }
        await tasks.shutdown(grace: .seconds(5))
        #expect(tasks.record(upid.description)?.exitStatus == "interrupted by signal")
        #expect(try tasks.log(upid, start: 0, limit: 10).lines.last?.1 == "TASK ERROR: interrupted by signal")
        #expect(throws: VireoError.self) { try tasks.start(type: "qmstart", id: "101", user: "root@pam") { _ in } }
    }

    @Test func aTaskThatIgnoresCancellationIsRecordedInterruptedAfterTheGrace() async throws {
        let tasks = try registry()
        let upid = try tasks.start(type: "qmstart", id: "100", user: "root@pam") { _ in
            // Work that does not look at cancellation (a blocking call).
            let end = ContinuousClock.now + .seconds(2)
            while ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(20)) }
        }
        await tasks.shutdown(grace: .milliseconds(100))
        #expect(tasks.record(upid.description)?.exitStatus == "interrupted by signal")
    }

    @Test func historyIsBoundedAndSurvivesARestart() async throws {
        let tasks = try registry()
        let count = TaskRegistry.historyLimit + TaskRegistry.historyLimit / 4 + 10
        var last: UPID?
        for index in 0..<count {
            let upid = try tasks.start(type: "vzdump", id: String(100 + index), user: "root@pam") { _ in }
            await tasks.wait(upid.description)
            last = upid
        }
        #expect(tasks.list().count <= TaskRegistry.historyLimit + TaskRegistry.historyLimit / 4)
        #expect(tasks.list().first?.upid == last)
        let reopened = try registry()
        #expect(reopened.list().count == tasks.list().count)
        #expect(reopened.list().first?.upid == last)
        // None of them is taken for a task that died with the daemon.
        #expect(reopened.list().allSatisfy { $0.exitStatus == "OK" })
    }

    @Test func aMultiLineErrorIsAOneLineStatusAndTheWholeTextIsLogged() async throws {
        let tasks = try registry()
        let upid = try tasks.start(type: "qmstart", id: "100", user: "root@pam") { _ in
            throw VireoError.conflict("start failed: qemu said\nline two\r\nline three")
        }
        await tasks.wait(upid.description)
        #expect(tasks.record(upid.description)?.exitStatus == "start failed: qemu said line two  line three")
        let logged = try tasks.log(upid, start: 0, limit: 10).lines.map(\.1).joined(separator: "\n")
        #expect(logged.contains("line two") && logged.contains("line three"))
        let reopened = try registry()
        #expect(reopened.record(upid.description)?.exitStatus == "start failed: qemu said line two  line three")
    }
}
