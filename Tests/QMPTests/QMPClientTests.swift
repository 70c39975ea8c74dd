import Testing

@testable import QMP

@Suite struct QMPClientTests {
    private func connected(
        replies: [String: ScriptedQMPTransport.Reply] = [:]
    ) async throws -> (QMPClient, ScriptedQMPTransport) {
        let transport = ScriptedQMPTransport(replies: replies)
        let client = QMPClient(transport: transport)
        try await client.connect(timeout: .seconds(5))
        return (client, transport)
    }

    @Test func negotiatesCapabilitiesBeforeAnyCommand() async throws {
        let transport = ScriptedQMPTransport(replies: ["query-status": .value(["status": "running", "running": true])])
        let client = QMPClient(transport: transport)
        let greeting = try await client.connect()
        #expect(greeting.version == QMPVersion(major: 9, minor: 2, micro: 0, package: "pve-qemu-kvm_9.2.0-5"))
        #expect(greeting.capabilities == ["oob"])
        #expect(await client.greeting == greeting)
        #expect(await client.isConnected)
        #expect(await transport.commands == [.init(name: "qmp_capabilities", arguments: nil)])
        _ = try await client.queryStatus()
        #expect(await transport.commands.map(\.name) == ["qmp_capabilities", "query-status"])
        await client.close()
    }

    @Test func sendsOneNewlineTerminatedMessageWithUniqueIDs() async throws {
        let (client, transport) = try await connected()
        try await client.setLink(name: "net0", up: false)
        let raw = await transport.rawMessages
        #expect(
            raw.map { String(decoding: $0, as: UTF8.self) } == [
                #"{"execute":"qmp_capabilities","id":1}"# + "\n",
                #"{"arguments":{"name":"net0","up":false},"execute":"set_link","id":2}"# + "\n",
            ]
        )
        await client.close()
    }

    @Test func matchesRepliesByIDWhenAnsweredOutOfOrder() async throws {
        let (client, transport) = try await connected(replies: [
            "first": .held("one"), "second": .held("two"), "third": .held("three"),
        ])
        async let first = client.execute("first")
        async let second = client.execute("second")
        async let third = client.execute("third")
        await transport.waitForCommands(4)
        await transport.releaseHeld(reversed: true)
        #expect(try await [first, second, third] == ["one", "two", "three"])
        await client.close()
    }

    @Test func errorReplyThrowsCommandFailed() async throws {
        let (client, _) = try await connected(replies: [
            "device_del": .error(class: "DeviceNotFound", desc: "Device 'net9' not found")
        ])
        await #expect(throws: QMPError.commandFailed(class: "DeviceNotFound", description: "Device 'net9' not found")) {
            try await client.deviceDel(id: "net9")
        }
        #expect(await client.isConnected)
        await client.close()
    }

    @Test func timesOutAndStaysUsable() async throws {
        let (client, _) = try await connected(replies: [
            "slow": .none, "query-status": .value(["status": "paused", "running": false]),
        ])
        let start = ContinuousClock.now
        await #expect(throws: QMPError.timeout) {
            try await client.execute("slow", timeout: .milliseconds(100))
        }
        #expect(ContinuousClock.now - start >= .milliseconds(100))
        #expect(try await client.queryStatus() == QMPStatus(status: .paused, running: false))
        await client.close()
    }

    @Test func connectTimesOutWithoutGreeting() async throws {
        let client = QMPClient(transport: ScriptedQMPTransport(greeting: nil))
        await #expect(throws: QMPError.timeout) {
            try await client.connect(timeout: .milliseconds(100))
        }
        await #expect(throws: QMPError.disconnected) { try await client.execute("query-status") }
    }

    @Test func rejectsAGreetingThatIsNotOne() async throws {
        let client = QMPClient(transport: ScriptedQMPTransport(greeting: ["return": [:]]))
        await #expect(throws: QMPError.self) { try await client.connect(timeout: .seconds(5)) }
        #expect(await !client.isConnected)
    }

    @Test func executeBeforeConnectThrowsDisconnected() async throws {
        let client = QMPClient(transport: ScriptedQMPTransport())
        await #expect(throws: QMPError.disconnected) { try await client.execute("query-status") }
    }

    @Test func connectTwiceIsMisuse() async throws {
        let (client, _) = try await connected()
        await #expect(throws: QMPError.misuse("connect() called twice")) { try await client.connect() }
        await client.close()
    }

    @Test func routesEventsToTheStream() async throws {
        let (client, transport) = try await connected()
        await transport.emit(QMPEvent.Name.stop)
        await transport.emit(QMPEvent.Name.deviceDeleted, data: ["device": "net1", "path": "/machine/peripheral/net1"])
        var iterator = client.events.makeAsyncIterator()
        let stop = try #require(await iterator.next())
        #expect(stop == QMPEvent(name: "STOP", data: [:], timestamp: 1_700_000_000.25))
        let deleted = try #require(await iterator.next())
        #expect(deleted.name == QMPEvent.Name.deviceDeleted)
        #expect(deleted.data["device"]?.stringValue == "net1")
        await client.close()
        #expect(await iterator.next() == nil)
    }

    @Test func hangUpFailsPendingAndLaterCalls() async throws {
        let (client, transport) = try await connected(replies: ["slow": .none])
        let pending = Task { try await client.execute("slow", timeout: .seconds(30)) }
        await transport.waitForCommands(2)
        await transport.hangUp()
        await #expect(throws: QMPError.disconnected) { try await pending.value }
        await #expect(throws: QMPError.disconnected) { try await client.queryStatus() }
        #expect(await !client.isConnected)
        for await _ in client.events {}
    }

    @Test func closeFailsPendingCalls() async throws {
        let (client, transport) = try await connected(replies: ["slow": .none])
        let pending = Task { try await client.execute("slow", timeout: .seconds(30)) }
        await transport.waitForCommands(2)
        await client.close()
        await #expect(throws: QMPError.disconnected) { try await pending.value }
        await client.close()
    }

    @Test func cancellingACallThrowsCancelled() async throws {
        let (client, transport) = try await connected(replies: ["slow": .none])
        let call = Task { try await client.execute("slow", timeout: .seconds(30)) }
        await transport.waitForCommands(2)
        call.cancel()
        await #expect(throws: QMPError.cancelled) { try await call.value }
        #expect(try await client.execute("other") == [:])
        await client.close()
    }
}
