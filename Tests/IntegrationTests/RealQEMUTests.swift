import Foundation
import Glibc
import Testing

@testable import QMP

@Suite struct RealQEMUTests {
    static let binary = "/usr/bin/qemu-system-x86_64"
    static let installed = FileManager.default.isExecutableFile(atPath: binary)
    static let onCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Skips locally without QEMU; on CI a missing QEMU fails instead of passing by skipping.
    @Test(.enabled(if: installed || onCI, "qemu-system-x86_64 is not installed"))
    func talksToARealQEMU() async throws {
        try #require(Self.installed, "CI=true requires \(Self.binary)")
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("qmp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("q.sock").path

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "-machine", "none", "-nodefaults", "-display", "none", "-qmp", "unix:\(socket),server=on,wait=off",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        // Killed by PID whenever it is still this QEMU (its command line names our socket): the
        // process may outlive what `Process.isRunning` reports.
        defer {
            let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            if cmdline.contains(socket) { kill(pid, SIGKILL) }
        }

        let client = try await QMPClient.connect(unixSocket: socket, timeout: .seconds(20))
        let status = try await client.queryStatus()
        #expect([QMPRunState.prelaunch, .running].contains(status.status))
        #expect(try await client.queryVersion().major >= 7)
        #expect(try await client.humanMonitorCommand("info status").contains("VM status"))

        do {
            try await client.quit()
        } catch {
            // QEMU may exit before its reply is read.
            guard error == .disconnected else { throw error }
        }
        for _ in 0..<200 where process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!process.isRunning)
        await #expect(throws: QMPError.disconnected) { try await client.queryStatus() }
        await client.close()
    }
}
