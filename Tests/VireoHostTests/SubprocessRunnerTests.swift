import Foundation
import Testing
import VireoTestSupport

@testable import VireoHost

@Suite struct SubprocessRunnerTests {
    let runner = SubprocessRunner()

    @Test func collectsStandardOutputAndPassesInput() async throws {
        let output = try await runner.run(Invocation("cat", [], standardInput: Array("hello".utf8)))
        #expect(output.standardOutput == "hello")
    }

    @Test func nonZeroExitCarriesStderrInTheError() async throws {
        do {
            _ = try await runner.run(Invocation("sh", ["-c", "echo broken disk >&2; exit 3"]))
            Issue.record("expected a failure")
        } catch {
            guard case .failed(_, let code, let stderr, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(code == 3)
            #expect(stderr.contains("broken disk"))
            #expect(error.description.contains("broken disk"))
        }
    }

    @Test func timesOut() async throws {
        // The error says the timeout ended it (a `sleep 10` that ran out would not throw at all).
        do {
            _ = try await runner.run(Invocation("sleep", ["10"], timeout: .milliseconds(200)))
            Issue.record("a command past its timeout returned")
        } catch {
            guard case .timedOut = error else {
                Issue.record("expected a timeout, got \(error)")
                return
            }
        }
    }

    @Test func reportsAMissingTool() async throws {
        await #expect(throws: CommandError.notFound("no-such-tool-vireo")) {
            _ = try await runner.run(Invocation("no-such-tool-vireo", []))
        }
    }
}

@Suite struct QemuImgTests {
    @Test func linkedCloneOverlayHasARelativeBackingFile() async throws {
        let runner = RecordingCommandRunner()
        try await QemuImg(runner: runner).create(
            at: "/s/images/101/vm-101-disk-0.qcow2",
            format: .qcow2,
            sizeKiB: nil,
            backing: ("../100/base-100-disk-0.qcow2", .qcow2),
            workingDirectory: "/s/images/101"
        )
        #expect(
            runner.commandLines == [
                "qemu-img create -F qcow2 -b ../100/base-100-disk-0.qcow2 -f qcow2 -o extended_l2=on,cluster_size=128k /s/images/101/vm-101-disk-0.qcow2"
            ]
        )
        #expect(runner.invocations.first?.workingDirectory == "/s/images/101")
    }

    @Test func resizeAndSnapshotArguments() async throws {
        let runner = RecordingCommandRunner()
        let qemuImg = QemuImg(runner: runner)
        try await qemuImg.resize("/a.raw", format: .raw, sizeBytes: 2_147_483_648)
        try await qemuImg.snapshot(.apply, name: "s1", path: "/a.qcow2")
        #expect(
            runner.commandLines == ["qemu-img resize -f raw /a.raw 2147483648", "qemu-img snapshot -a s1 /a.qcow2"]
        )
    }
}

@Suite struct FileSystemInfoTests {
    @Test func rootHasSpaceAndAType() throws {
        let info = try #require(FileSystemInfo.of("/"))
        #expect(info.total > 0)
        #expect(info.available <= info.total)
        #expect(info.type != "unknown")
    }

    @Test func decodesOctalEscapesOfMountPoints() {
        #expect(FileSystemInfo.decodeOctalEscapes("/mnt/my\\040disk") == "/mnt/my disk")
    }
}
