import Foundation
import Testing

@testable import QMP

@Suite struct UnixSocketQMPTransportTests {
    private func temporaryDirectory() throws -> URL {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("qmp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func talksToAStubServerThatAppearsLate() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = StubQMPServer(path: directory.appendingPathComponent("q.sock").path)
        server.start(
            after: .milliseconds(200),
            answering: 2,
            replies: ["query-status": ["status": "running", "running": true]]
        )

        let start = ContinuousClock.now
        let client = try await QMPClient.connect(unixSocket: server.path, timeout: .seconds(10))
        #expect(ContinuousClock.now - start >= .milliseconds(150), "the socket did not exist yet, so connect retried")
        #expect(await client.greeting?.version == QMPVersion(major: 9, minor: 2, micro: 1, package: "stub"))
        #expect(try await client.queryStatus() == QMPStatus(status: .running, running: true))

        // The server closes after its second answer.
        await #expect(throws: QMPError.disconnected) { try await client.queryStatus() }
        for await _ in client.events {}
        #expect(server.commands == ["qmp_capabilities", "query-status"])
        #expect(server.error == nil)
        await client.close()
    }

    @Test func connectGivesUpAtTheDeadline() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("never.sock").path
        let start = ContinuousClock.now
        await #expect(throws: QMPError.self) {
            _ = try await UnixSocketQMPTransport.connect(path: path, timeout: .milliseconds(200))
        }
        #expect(ContinuousClock.now - start >= .milliseconds(200))
    }

    @Test func rejectsAPathTooLongForSunPath() async {
        let path = "/tmp/" + String(repeating: "x", count: 200)
        await #expect(throws: QMPError.self) {
            _ = try await UnixSocketQMPTransport.connect(path: path, timeout: .seconds(1))
        }
    }

    @Test func closeEndsAPendingReceive() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = StubQMPServer(path: directory.appendingPathComponent("q.sock").path)
        server.start(after: .zero, answering: 1, replies: [:])
        let transport = try await UnixSocketQMPTransport.connect(path: server.path, timeout: .seconds(5))
        let greeting = try #require(try await transport.receive())
        #expect(try QMPValue(json: greeting)["QMP"] != nil)
        let next = Task { try await transport.receive() }
        try await Task.sleep(for: .milliseconds(50))
        await transport.close()
        #expect(try await next.value == nil)
        await #expect(throws: QMPError.disconnected) { try await transport.send(Array("{}\n".utf8)) }
    }
}
