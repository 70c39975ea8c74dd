import Testing
import VireoCore
import VireoHost
import VireoTestSupport

@testable import VireoStorage

private let lvsLine =
    "lvs --separator : --noheadings --units b --unbuffered --nosuffix --config report/time_format=\"%s\" "
    + "-o vg_name,lv_name,lv_size,lv_attr,pool_lv,data_percent,metadata_percent,snap_percent,uuid,tags,"
    + "metadata_size,time pve"

/// The installer's `local-lvm`: thin pool `data` in VG `pve`.
private func makePlugin(
    _ extra: [SectionConfig.Option] = [],
    lvs: String = LVMFixtures.thinLVs
) throws
    -> (LVMThinPlugin, RecordingCommandRunner)
{
    let runner = RecordingCommandRunner()
    runner.answer(["vgs"], with: .output(LVMFixtures.vgs))
    runner.answer(["lvs"], with: .output(lvs))
    let section = try SectionConfig.Section(
        type: "lvmthin",
        id: "local-lvm",
        options: [.init("thinpool", "data"), .init("vgname", "pve")] + extra
    )
    return (LVMThinPlugin(definition: StorageDefinition(section: section), runner: runner), runner)
}

@Suite struct LVMThinPluginTests {
    @Test func statusIsThePoolSizeAndItsDataUsage() async throws {
        let (plugin, runner) = try makePlugin()
        let status = try await plugin.status()
        #expect(
            status
                == StorageStatus(total: 141_696_991_232, used: 17_712_123_904, available: 123_984_867_328, active: true)
        )
        #expect(runner.commandLines == [lvsLine])
    }

    @Test func statusWithoutThePoolIsInactive() async throws {
        let (plugin, _) = try makePlugin(lvs: "  pve:root:101468602368:-wi-ao----:::::aB1c:::1690000000\n")
        #expect(try await plugin.status() == .inactive)
    }

    @Test func listReportsThinVolumesAndBasesOfThePoolButNotSnapshots() async throws {
        let (plugin, _) = try makePlugin()
        let volumes = try await plugin.list(content: nil, vmid: nil)
        #expect(
            volumes.map(\.volid) == ["local-lvm:base-100-disk-1", "local-lvm:vm-100-disk-0", "local-lvm:vm-101-disk-0"]
        )
        let disk = try #require(volumes.first { $0.volid == "local-lvm:vm-100-disk-0" })
        #expect(
            disk
                == VolumeInfo(
                    volid: "local-lvm:vm-100-disk-0",
                    content: .images,
                    format: "raw",
                    size: 34_359_738_368,
                    used: 8_589_934_592,
                    vmid: 100,
                    ctime: 1_700_000_000
                )
        )
        // A clone forgets its base on lvmthin.
        #expect(volumes.allSatisfy { $0.parent == nil })
        #expect(try await plugin.list(content: .rootdir, vmid: 101).map(\.content) == [.rootdir])
    }

    @Test func allocateCreatesAThinVolumeWithTheNextFreeNumberAndDisablesAutoactivation() async throws {
        let (plugin, runner) = try makePlugin()
        let name = try await plugin.allocate(AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 33_554_432))
        #expect(name == "vm-100-disk-2")
        #expect(
            runner.commandLines == [
                lvsLine,
                "lvcreate -aly -V 33554432k --name vm-100-disk-2 --thinpool pve/data",
                "lvchange --setautoactivation n pve/vm-100-disk-2",
            ]
        )
    }

    @Test func allocateRemovesTheNewVolumeWhenTheSecondStepFails() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            ["lvchange", "--setautoactivation"],
            with: .failure(exitCode: 3, standardError: "  Option --setautoactivation is unsupported.\n")
        )
        let error = await #expect(throws: VireoError.self) {
            try await plugin.allocate(AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 1024))
        }
        #expect(error?.message.contains("Option --setautoactivation is unsupported.") == true)
        #expect(runner.commandLines.last == "lvremove -f pve/vm-100-disk-2")
    }

    @Test func allocateRefusesMoreThanThePoolHasFree() async throws {
        let (plugin, runner) = try makePlugin(lvs: LVMFixtures.fullThinPool)
        let error = await #expect(throws: VireoError.self) {
            try await plugin.allocate(AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 2 * 1024 * 1024))
        }
        #expect(error?.message == "not enough space on storage 'local-lvm' (requested 2.00 GiB, available 1.32 GiB)")
        #expect(runner.commandLines == [lvsLine])
    }

    @Test func freeRemovesTheSnapshotsBeforeTheVolume() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.free("vm-100-disk-0")
        #expect(
            runner.commandLines == [
                lvsLine, "lvremove -f pve/snap_vm-100-disk-0_before_upgrade", "lvremove -f pve/vm-100-disk-0",
            ]
        )
    }

    @Test func snapshotsAreReadOnlyThinSnapshotLVs() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.createSnapshot("vm-100-disk-0", name: "before_upgrade")
        try await plugin.deleteSnapshot("vm-100-disk-0", name: "before_upgrade")
        #expect(
            runner.commandLines == [
                "lvcreate -n snap_vm-100-disk-0_before_upgrade -pr -s pve/vm-100-disk-0",
                "lvremove -f pve/snap_vm-100-disk-0_before_upgrade",
            ]
        )
    }

    @Test func rollbackRecreatesTheVolumeFromTheSnapshot() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.rollbackSnapshot("vm-100-disk-0", name: "before_upgrade")
        #expect(
            runner.commandLines == [
                lvsLine, "lvremove -f pve/vm-100-disk-0",
                "lvcreate -kn -n vm-100-disk-0 -s pve/snap_vm-100-disk-0_before_upgrade",
            ]
        )
    }

    @Test func rollbackToAMissingSnapshotKeepsTheVolume() async throws {
        let (plugin, runner) = try makePlugin()
        let error = await #expect(throws: VireoError.self) {
            try await plugin.rollbackSnapshot("vm-100-disk-0", name: "nope")
        }
        #expect(error?.code == .notFound)
        #expect(runner.commandLines == [lvsLine])
    }

    @Test(arguments: ["", "1abc", "a/b", "x y", "__base__", "-rf"])
    func badSnapshotNamesAreRejectedBeforeRunningAnything(_ snapshot: String) async throws {
        let (plugin, runner) = try makePlugin()
        await #expect(throws: VireoError.self) { try await plugin.createSnapshot("vm-100-disk-0", name: snapshot) }
        await #expect(throws: VireoError.self) { try await plugin.rollbackSnapshot("vm-100-disk-0", name: snapshot) }
        await #expect(throws: VireoError.self) { try await plugin.deleteSnapshot("vm-100-disk-0", name: snapshot) }
        await #expect(throws: VireoError.self) {
            _ = try await plugin.linkedClone("vm-100-disk-0", vmid: 101, snapshot: snapshot)
        }
        #expect(runner.commandLines.isEmpty)
    }

    @Test func createBaseRenamesMakesReadOnlyAndDeactivates() async throws {
        let (plugin, runner) = try makePlugin()
        let base = try await plugin.createBase("vm-101-disk-0")
        #expect(base == "base-101-disk-0")
        #expect(
            runner.commandLines == [
                lvsLine, "lvrename pve vm-101-disk-0 base-101-disk-0", "lvchange -pr -ky pve/base-101-disk-0",
                "lvchange -an pve/base-101-disk-0",
            ]
        )
    }

    @Test func createBaseIsRefusedForAVolumeWithSnapshots() async throws {
        let (plugin, runner) = try makePlugin()
        let error = await #expect(throws: VireoError.self) { _ = try await plugin.createBase("vm-100-disk-0") }
        #expect(error?.code == .conflict)
        #expect(runner.commandLines == [lvsLine])
    }

    @Test func createBaseRenamesBackWhenTheVolumeCannotBeMadeReadOnly() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(["lvchange", "-pr"], with: .failure(exitCode: 5, standardError: "  Logical volume in use."))
        await #expect(throws: VireoError.self) { _ = try await plugin.createBase("vm-101-disk-0") }
        #expect(runner.commandLines.last == "lvrename pve base-101-disk-0 vm-101-disk-0")
    }

    @Test func linkedCloneOfABaseIsAWritableThinSnapshotWithoutBaseInItsName() async throws {
        let (plugin, runner) = try makePlugin()
        let clone = try await plugin.linkedClone("base-100-disk-1", vmid: 101, snapshot: nil)
        #expect(clone == "vm-101-disk-1")
        #expect(runner.commandLines == [lvsLine, "lvcreate -n vm-101-disk-1 -prw -kn -s pve/base-100-disk-1"])
    }

    @Test func linkedCloneOfASnapshotStartsFromTheSnapshotLV() async throws {
        let (plugin, runner) = try makePlugin()
        let clone = try await plugin.linkedClone("vm-100-disk-0", vmid: 102, snapshot: "before_upgrade")
        #expect(clone == "vm-102-disk-0")
        #expect(
            runner.commandLines.last == "lvcreate -n vm-102-disk-0 -prw -kn -s pve/snap_vm-100-disk-0_before_upgrade"
        )
    }

    @Test func linkedCloneOfAPlainVolumeIsRefused() async throws {
        let (plugin, runner) = try makePlugin()
        await #expect(throws: VireoError.self) {
            _ = try await plugin.linkedClone("vm-100-disk-0", vmid: 101, snapshot: nil)
        }
        #expect(runner.commandLines.isEmpty)
    }

    @Test func renameMovesTheVolumeToTheNextFreeNameOfTheNewOwner() async throws {
        let (plugin, runner) = try makePlugin()
        #expect(try await plugin.rename("vm-101-disk-0", toVMID: 100, name: nil) == "vm-100-disk-2")
        #expect(runner.commandLines == [lvsLine, "lvrename pve vm-101-disk-0 vm-100-disk-2"])
        let error = await #expect(throws: VireoError.self) {
            _ = try await plugin.rename("vm-100-disk-0", toVMID: 105, name: nil)
        }
        #expect(error?.code == .conflict)
    }

    @Test func resizeAndPathUseTheDeviceNode() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.resize("vm-100-disk-0", sizeBytes: 34_359_738_368 + 512)
        #expect(runner.commandLines == ["lvextend -L 33554433k /dev/pve/vm-100-disk-0"])
        #expect(try plugin.path("base-100-disk-1") == "/dev/pve/base-100-disk-1")
    }

    @Test func activationActivatesTheThinPool() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.activate()
        #expect(
            runner.commandLines == [
                "vgs --separator : --noheadings --units b --unbuffered --nosuffix -o vg_name,vg_size,vg_free,lv_count",
                "lvchange -ay -K pve/data",
            ]
        )
    }

    @Test(arguments: ["../data", "vm-100-disk-0/../../root", "-vm-100-disk-0", "snap_vm-100-disk-0_x", "data", "root"])
    func badVolumeNamesAreRejectedBeforeRunningAnything(_ volname: String) async throws {
        let (plugin, runner) = try makePlugin()
        await #expect(throws: VireoError.self) { try await plugin.free(volname) }
        await #expect(throws: VireoError.self) { try await plugin.createSnapshot(volname, name: "s") }
        await #expect(throws: VireoError.self) { _ = try await plugin.createBase(volname) }
        #expect(throws: VireoError.self) { _ = try plugin.path(volname) }
        #expect(runner.commandLines.isEmpty)
    }
}
