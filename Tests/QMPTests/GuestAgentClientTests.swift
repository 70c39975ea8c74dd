import Foundation
import Testing

@testable import QMP

/// Talking to a QEMU guest agent through its channel socket.
@Suite struct GuestAgentClientTests {
    private func temporaryDirectory() throws -> String {
        let directory = "/tmp/qga-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func decodingDropsTheSyncByteAndAnythingBeforeTheJSON() {
        #expect(GuestAgentClient.decode([0xFF] + Array(#"{"return": 4242}"#.utf8)) == ["return": 4242])
        #expect(GuestAgentClient.decode(Array(#"{"return": {}}"#.utf8)) == ["return": [:]])
        #expect(GuestAgentClient.decode([0xFF, 0xFF, 0x00] + Array(#"{"return": 7}"#.utf8)) == ["return": 7])
        #expect(GuestAgentClient.decode([0xFF]) == nil)
        #expect(GuestAgentClient.decode(Array("garbage".utf8)) == nil)
        #expect(GuestAgentClient.decode(Array(#"{"return": "#.utf8)) == nil)
    }

    @Test func syncsPastStaleRepliesThenRunsTheCommand() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = FakeGuestAgent(directory: directory)
        try agent.start(
            replies: [
                "guest-get-host-name": .line(#"{"return": {"host-name": "web01"}}"#)
            ],
            // What an abandoned earlier call left in the channel: its reply and a sync answer with
            // an id no new call uses.
            staleLines: [Array(#"{"return": {"host-name": "stale"}}"#.utf8), [0xFF] + Array(#"{"return": 0}"#.utf8)]
        )
        let client = try await GuestAgentClient.connect(path: agent.path, timeout: .seconds(5))
        #expect(try await client.execute("guest-ping") == [:])
        #expect(try await client.execute("guest-get-host-name") == ["host-name": "web01"])
        await client.close()
        for await _ in agent.finished {}
        #expect(
            agent.commands == [
                "guest-sync-delimited", "guest-ping", "guest-sync-delimited", "guest-get-host-name",
            ]
        )
        #expect(agent.error == nil)
    }

    @Test func anAgentErrorIsACommandFailure() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = FakeGuestAgent(directory: directory)
        try agent.start(replies: [
            "guest-file-open": .line(
                #"{"error": {"class": "GenericError", "desc": "failed to open file '/etc/nope' (mode: 'r'): No such file or directory"}}"#
            )
        ])
        let client = try await GuestAgentClient.connect(path: agent.path, timeout: .seconds(5))
        await #expect(
            throws: QMPError.commandFailed(
                class: "GenericError",
                description: "failed to open file '/etc/nope' (mode: 'r'): No such file or directory"
            )
        ) {
            try await client.execute("guest-file-open", arguments: ["path": "/etc/nope"])
        }
        // The channel is still usable after an error.
        #expect(try await client.execute("guest-ping") == [:])
        await client.close()
        for await _ in agent.finished {}
        #expect(agent.error == nil)
    }

    @Test func aSilentAgentTimesOut() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = FakeGuestAgent(directory: directory)
        try agent.start(replies: ["guest-ping": .silence])
        let client = try await GuestAgentClient.connect(path: agent.path, timeout: .seconds(5))
        await #expect(throws: QMPError.timeout) {
            try await client.execute("guest-ping", timeout: .milliseconds(300))
        }
        // The timeout closed the channel: the agent sees the hang-up and stops.
        for await _ in agent.finished {}
        #expect(agent.commands.first == "guest-sync-delimited")
        #expect(agent.error == nil)
        await client.close()
    }

    @Test func aHangUpIsSuccessOnlyForCommandsThatEndTheAgent() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = FakeGuestAgent(directory: directory)
        try agent.start(replies: ["guest-shutdown": .hangUp])
        let client = try await GuestAgentClient.connect(path: agent.path, timeout: .seconds(5))
        #expect(try await client.execute("guest-shutdown", expectsNoReply: true) == .null)
        await client.close()
        for await _ in agent.finished {}

        let second = FakeGuestAgent(directory: directory + "/second")
        try FileManager.default.createDirectory(atPath: directory + "/second", withIntermediateDirectories: true)
        try second.start(replies: ["guest-fsfreeze-freeze": .hangUp])
        let other = try await GuestAgentClient.connect(path: second.path, timeout: .seconds(5))
        await #expect(throws: QMPError.disconnected) { try await other.execute("guest-fsfreeze-freeze") }
        await other.close()
        for await _ in second.finished {}
    }
}
