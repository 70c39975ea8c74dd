import Foundation
import Testing
import VireoCore
import VireoTestSupport

@testable import VireoQEMU

@Suite struct VMConsolesTests {
    @Test func grantsTakeTheLowestFreePortAndAreTakenOnce() throws {
        let consoles = VMConsoles()
        let first = try consoles.grant(.vnc, vmid: 100, user: "a@pve")
        let second = try consoles.grant(.serial(0), vmid: 100, user: "a@pve")
        #expect(first.port == 5900)
        #expect(second.port == 5901)
        #expect(consoles.isPending(port: 5900, vmid: 100, user: "a@pve"))
        #expect(consoles.take(port: 5900, vmid: 100, user: "a@pve") == first)
        #expect(consoles.take(port: 5900, vmid: 100, user: "a@pve") == nil)
        // A port in use is not handed out again until its session ends.
        #expect(try consoles.grant(.vnc, vmid: 101, user: "b@pve").port == 5902)
        consoles.end(port: 5900)
        #expect(try consoles.grant(.vnc, vmid: 101, user: "b@pve").port == 5900)
    }

    @Test func aGrantIsBoundToItsVMAndUser() throws {
        let consoles = VMConsoles()
        let grant = try consoles.grant(.vnc, vmid: 100, user: "a@pve")
        #expect(consoles.take(port: grant.port, vmid: 101, user: "a@pve") == nil)
        #expect(consoles.take(port: grant.port, vmid: 100, user: "b@pve") == nil)
        #expect(consoles.take(port: grant.port, vmid: 100, user: "a@pve") != nil)
    }

    @Test func theProxyTaskEndsWithTheSession() async throws {
        let consoles = VMConsoles()
        let grant = try consoles.grant(.vnc, vmid: 100, user: "a@pve")
        async let outcome = consoles.outcome(of: grant)
        _ = consoles.take(port: grant.port, vmid: 100, user: "a@pve")
        try await Task.sleep(for: .milliseconds(250))
        consoles.end(port: grant.port)
        #expect(await outcome == .ended)
    }

    @Test func allPortsInUseIsAClearError() throws {
        let consoles = VMConsoles()
        for _ in VMConsoles.ports { _ = try consoles.grant(.vnc, vmid: 100, user: "a@pve") }
        #expect(throws: VireoError.self) { try consoles.grant(.vnc, vmid: 100, user: "a@pve") }
    }

    @Test func theBacklogIsTheLogsTailFromALineStart() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("serial-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = (0..<10_000).map { "line \($0)\n" }.joined()
        try lines.write(toFile: path, atomically: true, encoding: .utf8)
        let backlog = String(decoding: VMConsoles.backlog(path: path, limit: 100), as: UTF8.self)
        #expect(backlog.hasPrefix("line "))
        #expect(backlog.hasSuffix("line 9999\n"))
        #expect(backlog.utf8.count <= 100)
        #expect(VMConsoles.backlog(path: path + ".missing").isEmpty)
    }

    @Test func aLongSerialLogIsCutBackToItsBacklog() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("serial-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = (0..<200_000).map { "boot message \($0)\n" }.joined()
        try lines.write(toFile: path, atomically: true, encoding: .utf8)
        VMConsoles.trimSerialLog(path: path)
        let kept = try String(contentsOfFile: path, encoding: .utf8)
        #expect(kept.utf8.count <= VMConsoles.backlogBytes)
        #expect(kept.hasSuffix("boot message 199999\n"))
    }
}
