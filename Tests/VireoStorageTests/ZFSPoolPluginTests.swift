import Testing
import VireoCore
import VireoHost
import VireoTestSupport

@testable import VireoStorage

private let spaceLine = "zfs get -o value -Hp available,used rpool/data"
private let listLine = "zfs list -o name,volsize,origin,type,refquota -t volume,filesystem -d1 -Hp rpool/data"
private let snapshotsLine = "zfs list -H -t snapshot -o name -s creation -d 1 rpool/data/vm-100-disk-1"

/// The installer's `local-zfs` on `rpool/data`, sparse. Equal answer prefixes resolve to the first
/// registered, so other captures are passed in here.
private func makePlugin(
    _ extra: [SectionConfig.Option] = [],
    space: String = ZFSFixtures.space
) throws
    -> (ZFSPoolPlugin, RecordingCommandRunner)
{
    let runner = RecordingCommandRunner()
    runner.answer(["zfs", "get", "-o", "value", "-Hp", "available,used"], with: .output(space))
    runner.answer(["zfs", "list", "-o", "name,volsize,origin,type,refquota", "-t"], with: .output(ZFSFixtures.list))
    runner.answer(["zfs", "list", "-H", "-t", "snapshot"], with: .output(ZFSFixtures.snapshots))
    let section = try SectionConfig.Section(
        type: "zfspool",
        id: "local-zfs",
        options: [.init("pool", "rpool/data"), .init("sparse")] + extra
    )
    return (ZFSPoolPlugin(definition: StorageDefinition(section: section), runner: runner), runner)
}

@Suite struct ZFSPoolPluginTests {
    @Test func statusIsAvailablePlusUsedOfThePoolDataset() async throws {
        let (plugin, runner) = try makePlugin()
        #expect(
            try await plugin.status()
                == StorageStatus(total: 139_586_437_120, used: 42_949_672_960, available: 96_636_764_160, active: true)
        )
        #expect(runner.commandLines == [spaceLine])
    }

    @Test func statusIsInactiveWhenThePoolCannotBeRead() async throws {
        let runner = RecordingCommandRunner()
        runner.answer(
            ["zfs", "get"],
            with: .failure(exitCode: 1, standardError: "cannot open 'tank': dataset does not exist\n")
        )
        let section = try SectionConfig.Section(type: "zfspool", id: "tank", options: [.init("pool", "tank")])
        let plugin = ZFSPoolPlugin(definition: StorageDefinition(section: section), runner: runner)
        #expect(try await plugin.status() == .inactive)
    }

    @Test func listReportsZvolsSubvolsAndClonesWithTheirBase() async throws {
        let (plugin, runner) = try makePlugin()
        let volumes = try await plugin.list(content: nil, vmid: nil)
        #expect(runner.commandLines == [listLine])
        #expect(
            volumes.map(\.volid) == [
                "local-zfs:base-100-disk-0", "local-zfs:base-100-disk-0/vm-101-disk-0", "local-zfs:basevol-103-disk-0",
                "local-zfs:subvol-102-disk-0", "local-zfs:vm-100-disk-1",
            ]
        )
        let clone = try #require(volumes.first { $0.vmid == 101 })
        #expect(
            clone
                == VolumeInfo(
                    volid: "local-zfs:base-100-disk-0/vm-101-disk-0",
                    content: .images,
                    format: "raw",
                    size: 34_359_738_368,
                    vmid: 101,
                    parent: "base-100-disk-0"
                )
        )
        let subvol = try #require(volumes.first { $0.vmid == 102 })
        #expect(subvol.format == "subvol")
        #expect(subvol.content == .rootdir)
        #expect(subvol.size == 8_589_934_592)
    }

    @Test func listFiltersByContentAndOwner() async throws {
        let (plugin, _) = try makePlugin()
        #expect(
            try await plugin.list(content: .images, vmid: nil).map(\.volid) == [
                "local-zfs:base-100-disk-0", "local-zfs:base-100-disk-0/vm-101-disk-0", "local-zfs:vm-100-disk-1",
            ]
        )
        #expect(try await plugin.list(content: nil, vmid: 102).map(\.volid) == ["local-zfs:subvol-102-disk-0"])
    }

    @Test func allocateCreatesASparseZvolRoundedUpToWholeMiB() async throws {
        let (plugin, runner) = try makePlugin([.init("blocksize", "16k")])
        let name = try await plugin.allocate(AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 1_048_577))
        #expect(name == "vm-100-disk-2")
        #expect(
            runner.commandLines == [
                spaceLine, listLine, "zfs create -s -b 16k -V 1049600k rpool/data/vm-100-disk-2",
                "udevadm settle --timeout=10 --exit-if-exists=/dev/zvol/rpool/data/vm-100-disk-2",
            ]
        )
    }

    @Test func allocateCreatesAContainerSubvolWithAQuota() async throws {
        let (plugin, runner) = try makePlugin()
        let name = try await plugin.allocate(
            AllocationRequest(vmid: 102, name: nil, format: .subvol, sizeKiB: 8_388_608)
        )
        #expect(name == "subvol-102-disk-1")
        #expect(
            runner.commandLines.last
                == "zfs create -o acltype=posixacl -o xattr=sa -o refquota=8388608k rpool/data/subvol-102-disk-1"
        )
    }

    @Test func allocateRefusesMoreThanThePoolHasFreeAndCreatesNothing() async throws {
        let (plugin, runner) = try makePlugin(space: ZFSFixtures.fullSpace)
        let error = await #expect(throws: VireoError.self) {
            try await plugin.allocate(AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 1_048_576))
        }
        #expect(error?.message == "not enough space on storage 'local-zfs' (requested 1.00 GiB, available 512.00 MiB)")
        #expect(runner.commandLines == [spaceLine])
    }

    @Test func freeDestroysTheDatasetWithItsSnapshots() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.free("base-100-disk-0/vm-101-disk-0")
        #expect(runner.commandLines == ["zfs destroy -r rpool/data/vm-101-disk-0"])
        #expect(runner.invocations.first?.timeout == .seconds(300))
    }

    @Test func freeOfAVolumeThatDoesNotExistSucceeds() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(["zfs", "destroy"], with: .failure(exitCode: 1, standardError: ZFSFixtures.missingDataset))
        try await plugin.free("vm-100-disk-9")
    }

    @Test func freeOfABaseWithClonesFailsWithTheToolsMessage() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            ["zfs", "destroy"],
            with: .failure(
                exitCode: 1,
                standardError: "cannot destroy 'rpool/data/base-100-disk-0': filesystem has dependent clones\n"
                    + "use '-R' to destroy the following datasets:\nrpool/data/vm-101-disk-0\n"
            )
        )
        let error = await #expect(throws: VireoError.self) { try await plugin.free("base-100-disk-0") }
        #expect(error?.message.contains("filesystem has dependent clones") == true)
        #expect(runner.commandLines == ["zfs destroy -r rpool/data/base-100-disk-0"])
    }

    @Test func snapshotCreateAndDeleteAddressTheDatasetSnapshot() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.createSnapshot("vm-100-disk-1", name: "latest")
        try await plugin.deleteSnapshot("vm-100-disk-1", name: "latest")
        #expect(
            runner.commandLines == [
                "zfs snapshot rpool/data/vm-100-disk-1@latest", "zfs destroy rpool/data/vm-100-disk-1@latest",
            ]
        )
    }

    @Test func subvolSnapshotsKeepTheQuota() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(["zfs", "get", "-Hp", "-o", "value", "refquota"], with: .output("8589934592\n"))
        try await plugin.createSnapshot("subvol-102-disk-0", name: "backup")
        #expect(
            runner.commandLines == [
                "zfs get -Hp -o value refquota rpool/data/subvol-102-disk-0",
                "zfs snapshot -o pve-storage:refquota=8589934592 rpool/data/subvol-102-disk-0@backup",
            ]
        )
    }

    @Test func rollbackToTheNewestSnapshotRollsBack() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.rollbackSnapshot("vm-100-disk-1", name: "latest")
        #expect(runner.commandLines == [snapshotsLine, "zfs rollback rpool/data/vm-100-disk-1@latest"])
    }

    @Test func rollbackToAnOlderSnapshotIsRefused() async throws {
        let (plugin, runner) = try makePlugin()
        let error = await #expect(throws: VireoError.self) {
            try await plugin.rollbackSnapshot("vm-100-disk-1", name: "before_upgrade")
        }
        #expect(error?.code == .conflict)
        #expect(error?.message == "can't rollback, 'before_upgrade' is not most recent snapshot on 'vm-100-disk-1'")
        #expect(runner.commandLines == [snapshotsLine])
    }

    @Test func rollbackToAnUnknownSnapshotIsNotFound() async throws {
        let (plugin, _) = try makePlugin()
        let error = await #expect(throws: VireoError.self) {
            try await plugin.rollbackSnapshot("vm-100-disk-1", name: "gone")
        }
        #expect(error?.code == .notFound)
    }

    @Test func createBaseRenamesAndTakesTheBaseSnapshot() async throws {
        let (plugin, runner) = try makePlugin()
        #expect(try await plugin.createBase("vm-100-disk-1") == "base-100-disk-1")
        #expect(
            runner.commandLines == [
                "zfs rename rpool/data/vm-100-disk-1 rpool/data/base-100-disk-1",
                "zfs snapshot rpool/data/base-100-disk-1@__base__",
            ]
        )
    }

    @Test func createBaseOfASubvolMakesABasevol() async throws {
        let (plugin, _) = try makePlugin()
        #expect(try await plugin.createBase("subvol-102-disk-0") == "basevol-102-disk-0")
    }

    @Test func createBaseRenamesBackWhenTheSnapshotFails() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            ["zfs", "snapshot"],
            with: .failure(exitCode: 1, standardError: "cannot create snapshot: out of space")
        )
        let error = await #expect(throws: VireoError.self) { _ = try await plugin.createBase("vm-100-disk-1") }
        #expect(error?.message.contains("out of space") == true)
        #expect(runner.commandLines.last == "zfs rename rpool/data/base-100-disk-1 rpool/data/vm-100-disk-1")
    }

    @Test func linkedCloneClonesTheBaseSnapshotAndRecordsTheBase() async throws {
        let (plugin, runner) = try makePlugin()
        let clone = try await plugin.linkedClone("base-100-disk-0", vmid: 101, snapshot: nil)
        #expect(clone == "base-100-disk-0/vm-101-disk-1")
        #expect(
            runner.commandLines == [listLine, "zfs clone rpool/data/base-100-disk-0@__base__ rpool/data/vm-101-disk-1"]
        )
    }

    @Test func linkedCloneOfABasevolCarriesItsQuota() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(["zfs", "get", "-Hp", "-o", "value", "refquota"], with: .output("4294967296\n"))
        let clone = try await plugin.linkedClone("basevol-103-disk-0", vmid: 104, snapshot: nil)
        #expect(clone == "basevol-103-disk-0/subvol-104-disk-0")
        #expect(
            runner.commandLines.last
                == "zfs clone -o refquota=4294967296 rpool/data/basevol-103-disk-0@__base__ "
                + "rpool/data/subvol-104-disk-0"
        )
    }

    @Test func linkedClonesOnlyComeFromBases() async throws {
        let (plugin, runner) = try makePlugin()
        await #expect(throws: VireoError.self) {
            _ = try await plugin.linkedClone("vm-100-disk-1", vmid: 101, snapshot: nil)
        }
        await #expect(throws: VireoError.self) {
            _ = try await plugin.linkedClone("base-100-disk-0", vmid: 101, snapshot: "latest")
        }
        #expect(runner.commandLines.isEmpty)
    }

    @Test func renameKeepsTheBaseOfAClone() async throws {
        let (plugin, runner) = try makePlugin()
        let renamed = try await plugin.rename("base-100-disk-0/vm-101-disk-0", toVMID: 105, name: "vm-105-disk-3")
        #expect(renamed == "base-100-disk-0/vm-105-disk-3")
        #expect(runner.commandLines == [listLine, "zfs rename rpool/data/vm-101-disk-0 rpool/data/vm-105-disk-3"])
    }

    @Test func resizeSetsTheVolsizeRoundedUpToWholeMiB() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            ["zfs", "list", "-o", "name,volsize,origin,type,refquota,used,creation"],
            with: .output(ZFSFixtures.cloneInfo)
        )
        try await plugin.resize("base-100-disk-0/vm-101-disk-0", sizeBytes: 34_359_738_368 + 4096)
        #expect(
            runner.commandLines == [
                "zfs list -o name,volsize,origin,type,refquota,used,creation -Hp rpool/data/vm-101-disk-0",
                "zfs set volsize=33555456k rpool/data/vm-101-disk-0",
            ]
        )
    }

    @Test func resizeRefusesToShrink() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            ["zfs", "list", "-o", "name,volsize,origin,type,refquota,used,creation"],
            with: .output(ZFSFixtures.cloneInfo)
        )
        await #expect(throws: VireoError.self) {
            try await plugin.resize("base-100-disk-0/vm-101-disk-0", sizeBytes: 1 << 30)
        }
        #expect(runner.commandLines.count == 1)
    }

    @Test func infoReadsSizeUsageOriginAndCreation() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            ["zfs", "list", "-o", "name,volsize,origin,type,refquota,used,creation"],
            with: .output(ZFSFixtures.cloneInfo)
        )
        let info = try await plugin.info("base-100-disk-0/vm-101-disk-0")
        #expect(
            info
                == VolumeInfo(
                    volid: "local-zfs:base-100-disk-0/vm-101-disk-0",
                    content: .images,
                    format: "raw",
                    size: 34_359_738_368,
                    used: 1_253_376,
                    vmid: 101,
                    parent: "base-100-disk-0",
                    ctime: 1_700_000_300
                )
        )
    }

    @Test func infoOfAMissingVolumeIsNotFoundWithTheToolsMessage() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            ["zfs", "list", "-o", "name,volsize,origin,type,refquota,used,creation"],
            with: .failure(exitCode: 1, standardError: ZFSFixtures.missingDataset)
        )
        let error = await #expect(throws: VireoError.self) { _ = try await plugin.info("vm-100-disk-9") }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("dataset does not exist") == true)
    }

    @Test func pathsAreTheZvolDeviceOrTheSubvolMountpoint() throws {
        let (plugin, _) = try makePlugin()
        #expect(try plugin.path("base-100-disk-0/vm-101-disk-0") == "/dev/zvol/rpool/data/vm-101-disk-0")
        #expect(try plugin.path("subvol-102-disk-0") == "/rpool/data/subvol-102-disk-0")
        let (mounted, _) = try makePlugin([.init("mountpoint", "/srv/ct/")])
        #expect(try mounted.path("subvol-102-disk-0") == "/srv/ct/subvol-102-disk-0")
    }

    @Test func activateImportsAPoolThatIsNotImported() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            ["zpool", "list"],
            with: .failure(exitCode: 1, standardError: "cannot open 'rpool': no such pool")
        )
        try await plugin.activate()
        #expect(
            runner.commandLines == [
                "zpool list -o name -H rpool", "zpool import -d /dev/disk/by-id/ -o cachefile=none rpool",
                "zfs mount -a",
            ]
        )
    }

    @Test(arguments: [
        "rpool/data/vm-100-disk-1", "../vm-100-disk-1", "vm-100-disk-1@snap", "-r", "vm-100-disk-1/vm-101-disk-0",
        "base-100-disk-0/subvol-101-disk-0", "base-100-disk-0/vm-101-disk-0/x", "images",
    ])
    func badVolumeNamesAreRejectedBeforeRunningAnything(_ volname: String) async throws {
        let (plugin, runner) = try makePlugin()
        await #expect(throws: VireoError.self) { try await plugin.free(volname) }
        await #expect(throws: VireoError.self) { try await plugin.rollbackSnapshot(volname, name: "latest") }
        await #expect(throws: VireoError.self) { _ = try await plugin.linkedClone(volname, vmid: 101, snapshot: nil) }
        await #expect(throws: VireoError.self) { _ = try await plugin.rename(volname, toVMID: 101, name: nil) }
        #expect(throws: VireoError.self) { _ = try plugin.path(volname) }
        #expect(runner.commandLines.isEmpty)
    }

    @Test func aBadBlocksizeIsRejectedBeforeRunningAnything() async throws {
        let (plugin, runner) = try makePlugin([.init("blocksize", "8k -o")])
        await #expect(throws: VireoError.self) {
            try await plugin.allocate(AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 1024))
        }
        #expect(runner.commandLines.isEmpty)
    }
}

@Suite struct ZFSReportTests {
    @Test func parsesListingsWithDashesForMissingProperties() throws {
        let datasets = ZFSReport.datasets(ZFSFixtures.list)
        #expect(datasets.count == 7)
        let clone = try #require(datasets.first { $0.shortName == "vm-101-disk-0" })
        #expect(clone.volsize == 34_359_738_368)
        #expect(clone.origin == "rpool/data/base-100-disk-0@__base__")
        #expect(clone.refquota == nil)
        #expect(clone.type == "volume")
    }

    @Test func parsesValuesAndSnapshotNames() {
        #expect(ZFSReport.values(ZFSFixtures.space) == ["96636764160", "42949672960"])
        #expect(ZFSReport.snapshotNames(ZFSFixtures.snapshots) == ["first", "before_upgrade", "latest"])
    }
}
