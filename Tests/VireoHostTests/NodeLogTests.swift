import Testing

@testable import VireoHost

/// `/nodes/{node}/journal`: journalctl's JSON entries as short lines between two cursors.
@Suite struct NodeLogTests {
    static let cursor1 =
        "s=739ad463348b4ceca5a9e69c95a3c93d;i=4ece7;b=6c7c6013a8674e1a8a8f9f1e1fb0f6c2;m=9a7b0c5;t=613b1c7a5b2c0;x=3d94d0e4b8b87c6a"
    static let cursor2 =
        "s=739ad463348b4ceca5a9e69c95a3c93d;i=4ece8;b=6c7c6013a8674e1a8a8f9f1e1fb0f6c2;m=9a7b4e1;t=613b1c7a5c1f1;x=8f1e2a7d33c01b55"
    static let cursor3 =
        "s=739ad463348b4ceca5a9e69c95a3c93d;i=4ece9;b=6c7c6013a8674e1a8a8f9f1e1fb0f6c2;m=9a89f3a;t=613b1c7b4d8a0;x=11aa0b9c6e2f4d70"
    static let cursor4 =
        "s=739ad463348b4ceca5a9e69c95a3c93d;i=4ecea;b=6c7c6013a8674e1a8a8f9f1e1fb0f6c2;m=9a8a117;t=613b1c7b4da7d;x=5c0e96a2d1f3b8e4"

    /// `journalctl --output=json` (one object per line), trimmed to the fields that matter plus a
    /// few of the usual others.
    static let output = """
        {"__CURSOR":"\(cursor1)","__REALTIME_TIMESTAMP":"1710497250123456","__MONOTONIC_TIMESTAMP":"161984709","_BOOT_ID":"6c7c6013a8674e1a8a8f9f1e1fb0f6c2","PRIORITY":"6","SYSLOG_FACILITY":"3","_UID":"0","_GID":"0","_COMM":"pvedaemon worke","_HOSTNAME":"pve1","SYSLOG_IDENTIFIER":"pvedaemon","SYSLOG_PID":"1234","_PID":"1234","MESSAGE":"<root@pam> starting task UPID:pve1:00001F2A:0000C0DE:65F41E62:qmstart:100:root@pam:"}
        {"__CURSOR":"\(cursor2)","__REALTIME_TIMESTAMP":"1710497251000001","_HOSTNAME":"pve1","_COMM":"kernel","SYSLOG_IDENTIFIER":"kernel","MESSAGE":"vmbr0: port 2(tap100i0) entered forwarding state","_TRANSPORT":"kernel"}
        {"__CURSOR":"\(cursor3)","__REALTIME_TIMESTAMP":"1710497312500000","_HOSTNAME":"pve1","_COMM":"qm","_PID":"7946","MESSAGE":"VM 100 started"}
        {"__CURSOR":"\(cursor4)","__REALTIME_TIMESTAMP":"1710497312999999","_HOSTNAME":"pve1","SYSLOG_IDENTIFIER":"audit","_PID":"1","MESSAGE":[27,91,48,109]}

        """

    @Test func theFirstAndLastLinesAreTheCursorsAroundShortISOLines() {
        #expect(
            NodeHost.journalLines(Self.output) == [
                Self.cursor1,
                "2024-03-15T10:07:30Z pve1 pvedaemon[1234]: <root@pam> starting task UPID:pve1:00001F2A:0000C0DE:65F41E62:qmstart:100:root@pam:",
                "2024-03-15T10:07:31Z pve1 kernel: vmbr0: port 2(tap100i0) entered forwarding state",
                // No SYSLOG_IDENTIFIER: the command name; no SYSLOG_PID: the process id.
                "2024-03-15T10:08:32Z pve1 qm[7946]: VM 100 started",
                // A message journald stored as bytes.
                "2024-03-15T10:08:32Z pve1 audit[1]: [binary data]",
                Self.cursor4,
            ]
        )
    }

    @Test func stopsAfterTheEndCursor() {
        let lines = NodeHost.journalLines(Self.output, endCursor: Self.cursor2)
        #expect(lines.count == 4)
        #expect(lines.first == Self.cursor1)
        #expect(lines.last == Self.cursor2)
        #expect(lines[2] == "2024-03-15T10:07:31Z pve1 kernel: vmbr0: port 2(tap100i0) entered forwarding state")
    }

    @Test func anEndCursorThatNeverComesReadsToTheEnd() {
        #expect(NodeHost.journalLines(Self.output, endCursor: "s=nope") == NodeHost.journalLines(Self.output))
    }

    @Test func noEntriesGiveNoLinesAtAll() {
        #expect(NodeHost.journalLines("").isEmpty)
        #expect(NodeHost.journalLines("\n\n").isEmpty)
        // Lines that are not entries (a warning, an object without a cursor) are skipped.
        #expect(NodeHost.journalLines("-- No entries --\n{\"MESSAGE\":\"no cursor\"}\n").isEmpty)
        let single = #"{"__CURSOR":"c1","__REALTIME_TIMESTAMP":"0","MESSAGE":"hello"}"#
        #expect(NodeHost.journalLines(single) == ["c1", "1970-01-01T00:00:00Z localhost unknown: hello", "c1"])
    }
}
