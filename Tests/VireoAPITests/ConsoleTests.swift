import Testing
import VireoCore

@testable import VireoAPI

@Suite struct TermproxyInputTests {
    @Test func readsInputResizeAndPingFromOneMessage() {
        var parser = TermproxyInput()
        let commands = parser.feed(Array("0:3:ls\n1:80:24:2".utf8))
        #expect(commands == [.input(Array("ls\n".utf8)), .resize(columns: 80, rows: 24), .ping])
    }

    @Test func messageBoundariesDoNotMatter() {
        var parser = TermproxyInput()
        var commands: [TermproxyInput.Command] = []
        for chunk in ["0:", "5:he", "llo", "1:1", "20:40", ":"] { commands += parser.feed(Array(chunk.utf8)) }
        #expect(commands == [.input(Array("hello".utf8)), .resize(columns: 120, rows: 40)])
    }

    @Test func inputMayHoldTheFramingCharacters() {
        var parser = TermproxyInput()
        #expect(parser.feed(Array("0:6:0:1:2:".utf8)) == [.input(Array("0:1:2:".utf8))])
    }

    @Test func unknownAndMalformedBytesAreSkipped() {
        var parser = TermproxyInput()
        #expect(parser.feed(Array("x9;0x:2".utf8)) == [.ping])
        #expect(parser.feed(Array("1:a:2:".utf8)) == [.ping])
    }

    @Test func anOversizedInputIsNotWaitedFor() {
        var parser = TermproxyInput()
        #expect(parser.feed(Array("0:99999999:2".utf8)) == [.ping])
    }
}

@Suite struct ConsolePasswordTests {
    @Test func passwordsAreEightCharactersWithoutTheSeparator() {
        for _ in 0..<200 {
            let password = ConsolePassword.make()
            #expect(password.count == 8)
            #expect(!password.contains(":"))
            #expect(password.allSatisfy { $0.isASCII && $0 >= "!" && $0 <= "~" })
        }
    }

    @Test func theTicketIsFoundBehindThePassword() {
        #expect(ConsolePassword.ticket(in: "abcd1234:PVEVNC:6B16AF96::sig") == "PVEVNC:6B16AF96::sig")
        #expect(ConsolePassword.ticket(in: "PVEVNC:6B16AF96::sig") == "PVEVNC:6B16AF96::sig")
        #expect(ConsolePassword.ticket(in: "garbage") == "garbage")
    }
}

@Suite struct ClusterEventsFeedTests {
    @Test func firstTheWholeListThenOnlyChangesAndRemovals() throws {
        var feed = ClusterEventsEndpoint.Feed()
        let vm100: JSON = ["id": "qemu/100", "status": "stopped"]
        let vm101: JSON = ["id": "qemu/101", "status": "running"]
        let firstEvent = feed.resources([vm100, vm101])
        let first = try #require(firstEvent)
        #expect(first["full"] == .bool(true))
        #expect(first["data"]?.arrayValue?.count == 2)
        #expect(feed.resources([vm100, vm101]) == nil)
        let started: JSON = ["id": "qemu/100", "status": "running"]
        let changeEvent = feed.resources([started])
        let change = try #require(changeEvent)
        #expect(change["full"] == .bool(false))
        #expect(change["data"] == .array([started]))
        #expect(change["removed"] == .array(["qemu/101"]))
    }

    @Test func tasksAreSentWhenTheyStartOrEnd() {
        var feed = ClusterEventsEndpoint.Feed()
        let running: JSON = ["upid": "UPID:a", "type": "qmstart"]
        let started = feed.tasks([running])
        #expect(started?["data"] == .array([running]))
        let unchanged = feed.tasks([running])
        #expect(unchanged == nil)
        let done: JSON = ["upid": "UPID:a", "type": "qmstart", "status": "OK", "endtime": 5]
        let ended = feed.tasks([done])
        #expect(ended?["data"] == .array([done]))
    }
}

@Suite struct ConsoleRelayTests {
    @Test func outputAlreadyInTheBacklogIsNotSentTwice() {
        let backlog = Array("boot\r\nVIREO-TICK 1\r\n".utf8)
        #expect(ConsoleRelay.overlap(of: backlog, with: Array("VIREO-TICK 1\r\nnext".utf8)) == 14)
        #expect(ConsoleRelay.overlap(of: backlog, with: Array("new output".utf8)) == 0)
        #expect(ConsoleRelay.overlap(of: [], with: Array("x".utf8)) == 0)
    }
}
