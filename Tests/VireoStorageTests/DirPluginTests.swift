import Foundation
import Testing
import VireoCore
import VireoHost
import VireoTestSupport

@testable import VireoStorage

/// The dir plugin's commands, checked against a recording runner (no qemu-img needed).
@Suite final class DirPluginTests: Sendable {
    // Each test gets its own instance; its temp directory goes with it, also when the test fails.
    deinit { try? FileManager.default.removeItem(atPath: root) }

    let root = FileManager.default.temporaryDirectory.appendingPathComponent("vireo-dir-\(UUID().uuidString)").path
    let runner = RecordingCommandRunner()

    func plugin(_ options: [SectionConfig.Option] = []) throws -> DirPlugin {
        let section = try SectionConfig.Section(
            type: "dir",
            id: "store",
            options: [.init("path", root), .init("content", "images,iso")] + options
        )
        return try DirPlugin(definition: StorageDefinition(section: section), runner: runner)
    }

    @Test func allocatesQcow2WithQemuImgAndNames() async throws {
        let dir = try plugin()
        try await dir.activate()
        let volname = try await dir.allocate(AllocationRequest(vmid: 100, name: nil, format: .qcow2, sizeKiB: 1024))
        #expect(volname == "100/vm-100-disk-0.qcow2")
        #expect(
            runner.commandLines == [
                "qemu-img create -f qcow2 -o preallocation=metadata \(root)/images/100/vm-100-disk-0.qcow2 1024K"
            ]
        )
        try? FileManager.default.removeItem(atPath: root)
    }

    @Test func refusesAllocationsBeyondTheFreeSpaceAndRunsNothing() async throws {
        let dir = try plugin()
        try await dir.activate()
        await #expect(throws: VireoError.self) {
            _ = try await dir.allocate(AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: Int.max / 4096))
        }
        #expect(runner.invocations.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: root + "/images/100"))
        try? FileManager.default.removeItem(atPath: root)
    }

    @Test func overcommitAllowsItExplicitly() async throws {
        let dir = try plugin([.init("overcommit", "1")])
        try await dir.activate()
        _ = try await dir.allocate(
            AllocationRequest(vmid: 100, name: "vm-100-disk-5.raw", format: .raw, sizeKiB: 1 << 40)
        )
        #expect(runner.commandLines.count == 1)
        try? FileManager.default.removeItem(atPath: root)
    }

    @Test func failedCreateLeavesNothing() async throws {
        runner.answer(["qemu-img", "create"], with: .failure(exitCode: 1, standardError: "qemu-img: disk full\n"))
        let dir = try plugin()
        try await dir.activate()
        do {
            _ = try await dir.allocate(AllocationRequest(vmid: 100, name: nil, format: .qcow2, sizeKiB: 1024))
            Issue.record("expected the allocation to fail")
        } catch let error as VireoError {
            #expect(error.message.contains("disk full"))
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/images/100"))
        try? FileManager.default.removeItem(atPath: root)
    }

    @Test func refusesAnImageDirectoryThatLinksOutside() async throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("vireo-out-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let dir = try plugin()
        try await dir.activate()
        try FileManager.default.createDirectory(atPath: root + "/images", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/images/555", withDestinationPath: outside)
        await #expect(throws: VireoError.self) {
            _ = try await dir.allocate(AllocationRequest(vmid: 555, name: nil, format: .raw, sizeKiB: 1024))
        }
        #expect(runner.invocations.isEmpty)
        try? FileManager.default.removeItem(atPath: root)
        try? FileManager.default.removeItem(atPath: outside)
    }

    @Test func snapshotsOnlyQcow2() async throws {
        let dir = try plugin()
        try await dir.activate()
        try FileManager.default.createDirectory(atPath: root + "/images/100", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: root + "/images/100/vm-100-disk-0.raw", contents: Data())
        await #expect(throws: VireoError.self) { try await dir.createSnapshot("100/vm-100-disk-0.raw", name: "s1") }
        _ = FileManager.default.createFile(atPath: root + "/images/100/vm-100-disk-1.qcow2", contents: Data())
        try await dir.createSnapshot("100/vm-100-disk-1.qcow2", name: "s1")
        #expect(runner.commandLines == ["qemu-img snapshot -c s1 \(root)/images/100/vm-100-disk-1.qcow2"])
        try? FileManager.default.removeItem(atPath: root)
    }

    @Test func parsesQemuImgInfo() {
        let info = QemuImgInfoFixture.parse()
        #expect(info.virtualSize == 1_073_741_824)
        #expect(info.actualSize == 200_704)
        #expect(info.format == "qcow2")
        #expect(info.backingFile == "../100/base-100-disk-0.qcow2")
        #expect(info.snapshots == ["s1"])
    }
}

/// Output of `qemu-img info --output=json` for a linked clone with one snapshot (qemu-img 7.2).
enum QemuImgInfoFixture {
    static let json = """
        {
            "snapshots": [
                {"icount": 0, "vm-clock-nsec": 0, "name": "s1", "date-sec": 1764240000, "date-nsec": 0,
                 "vm-clock-sec": 0, "id": "1", "vm-state-size": 0}
            ],
            "virtual-size": 1073741824,
            "filename": "vm-101-disk-0.qcow2",
            "cluster-size": 131072,
            "format": "qcow2",
            "actual-size": 200704,
            "backing-filename": "../100/base-100-disk-0.qcow2",
            "full-backing-filename": "/var/lib/vz/images/100/base-100-disk-0.qcow2",
            "dirty-flag": false
        }
        """

    static func parse() -> QemuImg.Info { QemuImg.parseInfoForTesting(json) }
}
