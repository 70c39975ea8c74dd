import Testing

@testable import QMP

@Suite struct QMPClientCommandTests {
    /// A typed helper, and the command and arguments it must put on the wire.
    struct WireCase: Sendable, CustomTestStringConvertible {
        var command: String
        var arguments: QMPValue?
        var call: @Sendable (QMPClient) async throws -> Void
        var testDescription: String { command }

        init(
            _ command: String,
            _ arguments: QMPValue? = nil,
            call: @escaping @Sendable (QMPClient) async throws -> Void
        ) {
            self.command = command
            self.arguments = arguments
            self.call = call
        }
    }

    static let wireCases: [WireCase] = [
        WireCase("query-status") { _ = try await $0.queryStatus() },
        WireCase("query-version") { _ = try await $0.queryVersion() },
        WireCase("stop") { try await $0.stop() },
        WireCase("cont") { try await $0.cont() },
        WireCase("system_powerdown") { try await $0.systemPowerdown() },
        WireCase("system_reset") { try await $0.systemReset() },
        WireCase("system_wakeup") { try await $0.systemWakeup() },
        WireCase("quit") { try await $0.quit() },
        WireCase("human-monitor-command", ["command-line": "sendkey ctrl-alt-delete"]) {
            _ = try await $0.humanMonitorCommand("sendkey ctrl-alt-delete")
        },
        WireCase("set_link", ["name": "net0", "up": true]) { try await $0.setLink(name: "net0", up: true) },
        WireCase("device_add", ["driver": "virtio-net-pci", "id": "net1", "netdev": "net1"]) {
            try await $0.deviceAdd(["driver": "virtio-net-pci", "id": "net1", "netdev": "net1"])
        },
        WireCase("device_del", ["id": "net1"]) { try await $0.deviceDel(id: "net1") },
        WireCase("netdev_add", ["type": "tap", "id": "net1", "ifname": "tap100i1"]) {
            try await $0.netdevAdd(["type": "tap", "id": "net1", "ifname": "tap100i1"])
        },
        WireCase("netdev_del", ["id": "net1"]) { try await $0.netdevDel(id: "net1") },
        WireCase("block_resize", ["node-name": "drive-scsi0", "size": 34_359_738_368]) {
            try await $0.blockResize(nodeName: "drive-scsi0", size: 32 << 30)
        },
        WireCase("query-blockstats") { _ = try await $0.queryBlockstats() },
        WireCase("balloon", ["value": 2_147_483_648]) { try await $0.balloon(bytes: 2 << 30) },
        WireCase("query-balloon") { _ = try await $0.queryBalloon() },
        WireCase("migrate", ["uri": "unix:/run/qemu-server/100.migrate"]) {
            try await $0.migrate(uri: "unix:/run/qemu-server/100.migrate")
        },
        WireCase("query-migrate") { _ = try await $0.queryMigrate() },
        WireCase(
            "snapshot-save",
            [
                "job-id": "snap-100", "tag": "before", "vmstate": "drive-state",
                "devices": ["drive-scsi0", "drive-efidisk0"],
            ]
        ) {
            try await $0.snapshotSave(
                jobID: "snap-100",
                tag: "before",
                vmstate: "drive-state",
                devices: ["drive-scsi0", "drive-efidisk0"]
            )
        },
        WireCase(
            "snapshot-load",
            ["job-id": "load-100", "tag": "before", "vmstate": "drive-state", "devices": ["drive-scsi0"]]
        ) {
            try await $0.snapshotLoad(
                jobID: "load-100",
                tag: "before",
                vmstate: "drive-state",
                devices: ["drive-scsi0"]
            )
        },
        WireCase("snapshot-delete", ["job-id": "del-100", "tag": "before", "devices": ["drive-scsi0"]]) {
            try await $0.snapshotDelete(jobID: "del-100", tag: "before", devices: ["drive-scsi0"])
        },
        WireCase("query-jobs") { _ = try await $0.queryJobs() },
        WireCase("job-dismiss", ["id": "snap-100"]) { try await $0.jobDismiss(id: "snap-100") },
    ]

    /// Replies valid for every helper above.
    static let validReplies: [String: ScriptedQMPTransport.Reply] = [
        "query-status": .value(["status": "running", "running": true]),
        "query-version": .value(["qemu": ["major": 9, "minor": 2, "micro": 0], "package": ""]),
        "human-monitor-command": .value(""),
        "query-blockstats": .value([]),
        "query-balloon": .value(["actual": 1_073_741_824]),
        "query-jobs": .value([]),
    ]

    private func connected(
        _ replies: [String: ScriptedQMPTransport.Reply] = validReplies
    ) async throws -> (QMPClient, ScriptedQMPTransport) {
        let transport = ScriptedQMPTransport(replies: replies)
        let client = QMPClient(transport: transport)
        try await client.connect(timeout: .seconds(5))
        return (client, transport)
    }

    @Test(arguments: wireCases)
    func helperSendsTheWireCommand(_ wireCase: WireCase) async throws {
        let (client, transport) = try await connected()
        try await wireCase.call(client)
        #expect(await transport.commands.dropFirst() == [.init(name: wireCase.command, arguments: wireCase.arguments)])
        await client.close()
    }

    @Test func queryStatusParsesRunState() async throws {
        let (client, _) = try await connected(["query-status": .value(["status": "io-error", "running": false])])
        let status = try await client.queryStatus()
        #expect(status.status == .ioError)
        #expect(status.running == false)
        await client.close()
    }

    @Test func queryStatusRejectsAMalformedReply() async throws {
        let (client, _) = try await connected(["query-status": .value(["running": true])])
        await #expect(throws: QMPError.self) { try await client.queryStatus() }
        await client.close()
    }

    @Test func queryVersionParsesVersionAndPackage() async throws {
        let (client, _) = try await connected([
            "query-version": .value(["qemu": ["major": 8, "minor": 1, "micro": 5], "package": "pve-qemu-kvm_8.1.5-6"])
        ])
        let version = try await client.queryVersion()
        #expect(version == QMPVersion(major: 8, minor: 1, micro: 5, package: "pve-qemu-kvm_8.1.5-6"))
        #expect(version > QMPVersion(major: 7, minor: 2, micro: 0))
        #expect(version.description == "8.1.5")
        await client.close()
    }

    @Test func queryBlockstatsParsesCounters() async throws {
        let (client, _) = try await connected([
            "query-blockstats": .value([
                [
                    "device": "drive-scsi0", "qdev": "scsi0",
                    "stats": ["rd_bytes": 4096, "wr_bytes": 8192, "rd_operations": 1, "wr_operations": 2],
                ],
                ["device": "", "node-name": "drive-efidisk0", "stats": ["rd_bytes": 0, "wr_bytes": 512]],
            ])
        ])
        #expect(
            try await client.queryBlockstats() == [
                QMPBlockStats(
                    device: "drive-scsi0",
                    qdev: "scsi0",
                    readBytes: 4096,
                    writtenBytes: 8192,
                    readOperations: 1,
                    writeOperations: 2
                ),
                QMPBlockStats(device: "", nodeName: "drive-efidisk0", readBytes: 0, writtenBytes: 512),
            ]
        )
        await client.close()
    }

    @Test func queryBlockstatsParsesTimesForLatency() async throws {
        let (client, _) = try await connected([
            "query-blockstats": .value([
                [
                    "device": "drive-virtio0",
                    "stats": [
                        "rd_bytes": 1, "wr_bytes": 2, "rd_operations": 10, "wr_operations": 20, "flush_operations": 3,
                        "rd_total_time_ns": 5_000_000, "wr_total_time_ns": 40_000_000, "flush_total_time_ns": 900,
                        "failed_rd_operations": 1, "failed_wr_operations": 7,
                    ],
                ]
            ])
        ])
        let stats = try #require(try await client.queryBlockstats().first)
        #expect(stats.readTotalTimeNs / stats.readOperations == 500_000)
        #expect(stats.writeTotalTimeNs / stats.writeOperations == 2_000_000)
        #expect(stats.flushOperations == 3 && stats.flushTotalTimeNs == 900)
        #expect(stats.failedReadOperations == 1 && stats.failedWriteOperations == 7)
        await client.close()
    }

    @Test func queryBalloonAndMigrateParse() async throws {
        let (client, _) = try await connected([
            "query-balloon": .value(["actual": 2_147_483_648]),
            "query-migrate": .value([
                "status": "failed", "error-desc": "Unable to write to socket: Broken pipe",
                "ram": ["transferred": 10, "remaining": 20, "total": 30],
            ]),
        ])
        #expect(try await client.queryBalloon() == QMPBalloonInfo(actual: 2 << 30))
        #expect(
            try await client.queryMigrate()
                == QMPMigrationInfo(
                    status: "failed",
                    errorDescription: "Unable to write to socket: Broken pipe",
                    transferredBytes: 10,
                    remainingBytes: 20,
                    totalBytes: 30
                )
        )
        await client.close()
    }

    @Test func queryMigrateBeforeAnyMigrationHasNoStatus() async throws {
        let (client, _) = try await connected(["query-migrate": .value([:])])
        #expect(try await client.queryMigrate() == QMPMigrationInfo())
        await client.close()
    }

    @Test func humanMonitorCommandReturnsOutput() async throws {
        let (client, _) = try await connected(["human-monitor-command": .value("VM status: running\r\n")])
        #expect(try await client.humanMonitorCommand("info status") == "VM status: running\r\n")
        await client.close()
    }

    @Test func waitForJobPollsUntilConcludedThenDismisses() async throws {
        let running: QMPValue = [
            "id": "snap", "type": "snapshot-save", "status": "running", "current-progress": 1, "total-progress": 2,
        ]
        let concluded: QMPValue = [
            "id": "snap", "type": "snapshot-save", "status": "concluded", "current-progress": 2, "total-progress": 2,
        ]
        let (client, transport) = try await connected([
            "query-jobs": .sequence([.value([running]), .value([running]), .value([concluded])])
        ])
        try await client.waitForJob(id: "snap", pollInterval: .milliseconds(1))
        #expect(
            await transport.commands.dropFirst() == [
                .init(name: "query-jobs", arguments: nil),
                .init(name: "query-jobs", arguments: nil),
                .init(name: "query-jobs", arguments: nil),
                .init(name: "job-dismiss", arguments: ["id": "snap"]),
            ]
        )
        await client.close()
    }

    @Test func waitForJobThrowsTheJobsError() async throws {
        let failed: QMPValue = [
            "id": "snap", "type": "snapshot-save", "status": "concluded",
            "current-progress": 1, "total-progress": 2, "error": "Device 'drive-scsi0' is not writable",
        ]
        let (client, transport) = try await connected(["query-jobs": .value([failed])])
        await #expect(throws: QMPError.jobFailed(id: "snap", description: "Device 'drive-scsi0' is not writable")) {
            try await client.waitForJob(id: "snap")
        }
        #expect(await transport.commands.last == .init(name: "job-dismiss", arguments: ["id": "snap"]))
        await client.close()
    }

    @Test func waitForJobRejectsAnUnknownJob() async throws {
        let (client, _) = try await connected(["query-jobs": .value([])])
        await #expect(throws: QMPError.unexpectedResponse(command: "query-jobs", reason: "no job snap")) {
            try await client.waitForJob(id: "snap")
        }
        await client.close()
    }

    @Test func waitForJobTimesOut() async throws {
        let running: QMPValue = ["id": "snap", "type": "snapshot-save", "status": "running"]
        let (client, _) = try await connected(["query-jobs": .value([running])])
        await #expect(throws: QMPError.timeout) {
            try await client.waitForJob(id: "snap", pollInterval: .milliseconds(10), timeout: .milliseconds(50))
        }
        await client.close()
    }
}
