import Testing
import VireoCore
import VireoHost
import VireoTestSupport

@testable import VireoStorage

private let vgsLine =
    "vgs --separator : --noheadings --units b --unbuffered --nosuffix -o vg_name,vg_size,vg_free,lv_count"
private let lvsLine =
    "lvs --separator : --noheadings --units b --unbuffered --nosuffix --config report/time_format=\"%s\" "
    + "-o vg_name,lv_name,lv_size,lv_attr,pool_lv,data_percent,metadata_percent,snap_percent,uuid,tags,"
    + "metadata_size,time vmdata"

/// An `lvm` storage `vg1` on VG `vmdata`. The runner answers the first registered of equal prefixes,
/// so other captures are passed in here.
private func makePlugin(
    _ extra: [SectionConfig.Option] = [],
    vgs: String = LVMFixtures.vgs,
    lvs: String = LVMFixtures.thickLVs
) throws -> (LVMPlugin, RecordingCommandRunner) {
    let runner = RecordingCommandRunner()
    runner.answer(["vgs"], with: .output(vgs))
    runner.answer(["lvs"], with: .output(lvs))
    let section = try SectionConfig.Section(type: "lvm", id: "vg1", options: [.init("vgname", "vmdata")] + extra)
    return (LVMPlugin(definition: StorageDefinition(section: section), runner: runner), runner)
}

@Suite struct LVMPluginTests {
    @Test func statusIsTheVolumeGroupSizeAndFreeSpace() async throws {
        let (plugin, runner) = try makePlugin()
        let status = try await plugin.status()
        #expect(
            status
                == StorageStatus(total: 107_369_988_096, used: 10_737_418_240, available: 96_632_569_856, active: true)
        )
        #expect(runner.commandLines == [vgsLine])
    }

    @Test func statusOfAMissingVolumeGroupIsInactive() async throws {
        let (plugin, _) = try makePlugin(vgs: "  pve:499570671616:16903045120:7\n")
        #expect(try await plugin.status() == .inactive)
    }

    @Test func listReportsPlainMirrorAndRaidDisksNamedAfterAGuest() async throws {
        let (plugin, runner) = try makePlugin()
        let volumes = try await plugin.list(content: nil, vmid: nil)
        #expect(runner.commandLines == [lvsLine])
        #expect(volumes.map(\.volid) == ["vg1:vm-100-disk-0", "vg1:vm-100-disk-2", "vg1:vm-101-disk-0"])
        let first = try #require(volumes.first)
        #expect(
            first
                == VolumeInfo(
                    volid: "vg1:vm-100-disk-0",
                    content: .images,
                    format: "raw",
                    size: 34_359_738_368,
                    vmid: 100,
                    ctime: 1_700_000_000
                )
        )
    }

    @Test func listFiltersByOwnerAndContent() async throws {
        let (plugin, _) = try makePlugin()
        #expect(try await plugin.list(content: nil, vmid: 101).map(\.volid) == ["vg1:vm-101-disk-0"])
        #expect(try await plugin.list(content: .iso, vmid: nil).isEmpty)
    }

    @Test func taggedOnlyListsOnlyVolumesTaggedForTheirOwner() async throws {
        let (plugin, _) = try makePlugin(
            [.init("tagged_only", "1")],
            lvs: """
                  vmdata:vm-100-disk-0:34359738368:-wi-ao----:::::uuid-a:pve-vm-100::1700000000
                  vmdata:vm-102-disk-0:34359738368:-wi-ao----:::::uuid-b:::1700000000

                """
        )
        #expect(try await plugin.list(content: nil, vmid: nil).map(\.volid) == ["vg1:vm-100-disk-0"])
    }

    @Test func allocatePicksTheLowestDiskNumberNotUsedByVMOrBaseVolumes() async throws {
        let (plugin, runner) = try makePlugin()
        let name = try await plugin.allocate(AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 4_194_304))
        #expect(name == "vm-100-disk-3")
        #expect(
            runner.commandLines == [
                vgsLine, lvsLine,
                "lvcreate -aly -Wy --yes --size 4194304k --name vm-100-disk-3 --setautoactivation n "
                    + "--addtag pve-vm-100 vmdata",
            ]
        )
    }

    @Test func allocateUsesTheRequestedName() async throws {
        let (plugin, runner) = try makePlugin()
        let name = try await plugin.allocate(
            AllocationRequest(vmid: 105, name: "vm-105-disk-7", format: .raw, sizeKiB: 1024)
        )
        #expect(name == "vm-105-disk-7")
        #expect(
            runner.commandLines.last
                == "lvcreate -aly -Wy --yes --size 1024k --name vm-105-disk-7 --setautoactivation n "
                + "--addtag pve-vm-105 vmdata"
        )
    }

    @Test func allocateRefusesAnExistingName() async throws {
        let (plugin, runner) = try makePlugin()
        let error = await #expect(throws: VireoError.self) {
            try await plugin.allocate(AllocationRequest(vmid: 100, name: "vm-100-disk-0", format: .raw, sizeKiB: 1024))
        }
        #expect(error?.code == .conflict)
        #expect(!runner.commandLines.contains { $0.hasPrefix("lvcreate") })
    }

    @Test func allocateRefusesMoreThanTheFreeSpaceAndCreatesNothing() async throws {
        let (plugin, runner) = try makePlugin()
        let error = await #expect(throws: VireoError.self) {
            try await plugin.allocate(AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 100 * 1024 * 1024))
        }
        #expect(error?.message == "not enough space on storage 'vg1' (requested 100.00 GiB, available 90.00 GiB)")
        #expect(runner.commandLines == [vgsLine])
    }

    @Test func allocateBeyondTheFreeSpaceIsAllowedWithOvercommit() async throws {
        let (plugin, runner) = try makePlugin([.init("overcommit", "1")])
        _ = try await plugin.allocate(AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 100 * 1024 * 1024))
        #expect(runner.commandLines.last?.hasPrefix("lvcreate -aly -Wy --yes --size 104857600k") == true)
    }

    @Test(arguments: [
        AllocationRequest(vmid: 100, name: "vm-101-disk-0", format: .raw, sizeKiB: 1024),
        AllocationRequest(vmid: 100, name: "vm-100-disk-0/../../x", format: .raw, sizeKiB: 1024),
        AllocationRequest(vmid: 100, name: "base-100-disk-0", format: .raw, sizeKiB: 1024),
        AllocationRequest(vmid: 100, name: nil, format: .qcow2, sizeKiB: 1024),
        AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 0),
        AllocationRequest(vmid: 99, name: nil, format: .raw, sizeKiB: 1024),
    ])
    func allocateRejectsBadRequestsBeforeRunningAnything(_ request: AllocationRequest) async throws {
        let (plugin, runner) = try makePlugin()
        let error = await #expect(throws: VireoError.self) { try await plugin.allocate(request) }
        #expect(error?.code == .invalidArgument)
        #expect(runner.commandLines.isEmpty)
    }

    @Test func failingCommandPutsItsStderrInTheError() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            ["lvcreate"],
            with: .failure(
                exitCode: 5,
                standardError: "  Volume group \"vmdata\" has insufficient free space (255 extents): 256 required.\n"
            )
        )
        let error = await #expect(throws: VireoError.self) {
            try await plugin.allocate(AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 1024))
        }
        #expect(error?.code == .internalError)
        #expect(error?.message.hasPrefix("storage 'vg1': creating 'vm-100-disk-3' failed: command 'lvcreate") == true)
        #expect(error?.message.contains("insufficient free space (255 extents): 256 required.") == true)
        #expect(error?.underlying is CommandError)
    }

    @Test func freeRemovesTheLogicalVolume() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.free("vm-100-disk-0")
        #expect(runner.commandLines == ["lvremove -f vmdata/vm-100-disk-0"])
        #expect(runner.invocations.first?.timeout == .seconds(300))
    }

    @Test func saferemoveZeroesTheVolumeUnderAnotherNameBeforeRemovingIt() async throws {
        let (plugin, runner) = try makePlugin([.init("saferemove", "1")])
        try await plugin.free("vm-100-disk-0")
        #expect(
            runner.commandLines == [
                "lvrename vmdata vm-100-disk-0 del-vm-100-disk-0",
                "lvchange -aly vmdata/del-vm-100-disk-0",
                "blkdiscard --zeroout /dev/vmdata/del-vm-100-disk-0",
                "lvremove -f vmdata/del-vm-100-disk-0",
            ]
        )
    }

    @Test func resizeExtendsToTheSizeInKiB() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.resize("vm-100-disk-0", sizeBytes: 40 * 1024 * 1024 * 1024)
        #expect(runner.commandLines == ["lvextend -L 41943040k /dev/vmdata/vm-100-disk-0"])
    }

    @Test func pathIsTheDeviceNodeOfTheVolume() throws {
        let (plugin, _) = try makePlugin()
        #expect(try plugin.path("vm-100-disk-0") == "/dev/vmdata/vm-100-disk-0")
    }

    @Test func infoDescribesOneVolumeAndMissingOnesAreNotFound() async throws {
        let (plugin, _) = try makePlugin()
        let info = try await plugin.info("vm-100-disk-2")
        #expect(info.size == 8_589_934_592)
        #expect(info.vmid == 100)
        let error = await #expect(throws: VireoError.self) { try await plugin.info("vm-100-disk-9") }
        #expect(error?.code == .notFound)
    }

    @Test(arguments: [
        "../etc/passwd", "vm-100-disk-0/../x", "-vm-100-disk-0", "vm-99-disk-0", "vm-100-", "vm-100-disk 0",
        "/dev/sda", "vm-100-..", "base-100-disk-0/vm-101-disk-0", "vm-0100-disk-0", "vm-100-disk-0;reboot", "",
    ])
    func badVolumeNamesAreRejectedBeforeRunningAnything(_ volname: String) async throws {
        let (plugin, runner) = try makePlugin()
        await #expect(throws: VireoError.self) { try await plugin.free(volname) }
        await #expect(throws: VireoError.self) { try await plugin.resize(volname, sizeBytes: 1 << 30) }
        await #expect(throws: VireoError.self) { try await plugin.info(volname) }
        await #expect(throws: VireoError.self) { _ = try await plugin.rename(volname, toVMID: 101, name: nil) }
        #expect(throws: VireoError.self) { _ = try plugin.path(volname) }
        #expect(runner.commandLines.isEmpty)
    }

    @Test func snapshotsTemplatesAndClonesAreNotSupported() async throws {
        let (plugin, runner) = try makePlugin()
        let error = await #expect(throws: VireoError.self) {
            try await plugin.createSnapshot("vm-100-disk-0", name: "before")
        }
        #expect(error?.message == "storage 'vg1' (type lvm): snapshots is not supported")
        await #expect(throws: VireoError.self) { try await plugin.rollbackSnapshot("vm-100-disk-0", name: "before") }
        await #expect(throws: VireoError.self) { try await plugin.deleteSnapshot("vm-100-disk-0", name: "before") }
        await #expect(throws: VireoError.self) { _ = try await plugin.createBase("vm-100-disk-0") }
        await #expect(throws: VireoError.self) {
            _ = try await plugin.linkedClone("vm-100-disk-0", vmid: 101, snapshot: nil)
        }
        #expect(runner.commandLines.isEmpty)
    }

    @Test func renameToAnotherGuestMovesTheOwnerTag() async throws {
        let (plugin, runner) = try makePlugin()
        let name = try await plugin.rename("vm-100-disk-0", toVMID: 101, name: nil)
        #expect(name == "vm-101-disk-1")
        #expect(
            runner.commandLines == [
                lvsLine, "lvrename vmdata vm-100-disk-0 vm-101-disk-1",
                "lvchange --deltag pve-vm-100 --addtag pve-vm-101 vmdata/vm-101-disk-1",
            ]
        )
    }

    @Test func renameIsUndoneWhenRetaggingFails() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(["lvchange"], with: .failure(exitCode: 5, standardError: "  Failed to change tag."))
        await #expect(throws: VireoError.self) { _ = try await plugin.rename("vm-100-disk-0", toVMID: 101, name: nil) }
        #expect(runner.commandLines.last == "lvrename vmdata vm-101-disk-1 vm-100-disk-0")
    }

    @Test func activateScansForTheVolumeGroupOnlyWhenItIsNotVisible() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.activate()
        #expect(runner.commandLines == [vgsLine])

        let (missing, missingRunner) = try makePlugin(vgs: "  pve:499570671616:16903045120:7\n")
        let error = await #expect(throws: VireoError.self) { try await missing.activate() }
        #expect(error?.code == .unavailable)
        #expect(missingRunner.commandLines == [vgsLine, "vgscan --ignorelockingfailure --mknodes", vgsLine])
    }

    @Test func aMissingVolumeGroupOptionIsAnErrorNotACommand() async throws {
        let runner = RecordingCommandRunner()
        let plugin = LVMPlugin(
            definition: StorageDefinition(section: try SectionConfig.Section(type: "lvm", id: "vg1")),
            runner: runner
        )
        await #expect(throws: VireoError.self) { try await plugin.status() }
        #expect(runner.commandLines.isEmpty)
    }

    @Test func capabilitiesAreThoseOfTheLVMType() throws {
        let (plugin, _) = try makePlugin()
        #expect(plugin.capabilities == StorageTypes.schema(for: "lvm")?.capabilities)
    }
}

@Suite struct LVMReportTests {
    @Test func parsesVolumeGroups() {
        #expect(
            LVMReport.volumeGroups(LVMFixtures.vgs) == [
                .init(name: "pve", size: 499_570_671_616, free: 16_903_045_120, lvCount: 7),
                .init(name: "vmdata", size: 107_369_988_096, free: 96_632_569_856, lvCount: 5),
            ]
        )
    }

    @Test func parsesThinPoolsThinVolumesAndPlainVolumes() throws {
        let lvs = LVMReport.logicalVolumes(LVMFixtures.thinLVs)
        #expect(lvs.count == 7)
        let pool = try #require(lvs.first)
        #expect(pool.name == "data")
        #expect(pool.type == "t")
        #expect(pool.isActive)
        #expect(pool.dataPercent == 12.5)
        #expect(pool.metadataSize == 1_459_617_792)
        #expect(pool.usedBytes == 17_712_123_904)
        let base = try #require(lvs.first { $0.name == "base-100-disk-1" })
        #expect(base.type == "V")
        #expect(base.pool == "data")
        #expect(!base.isActive)
        #expect(base.ctime == 1_700_000_100)
        let plain = try #require(LVMReport.logicalVolumes(LVMFixtures.thickLVs).first)
        #expect(plain.tags == ["pve-vm-100"])
        #expect(plain.pool == nil)
        #expect(plain.dataPercent == nil)
    }

    @Test func skipsLinesThatAreNotReports() {
        #expect(LVMReport.logicalVolumes("  WARNING: something odd\n\n").isEmpty)
        #expect(LVMReport.volumeGroups("garbage\n").isEmpty)
    }
}

@Suite struct BlockVolumeNameTests {
    @Test func parsesDiskBaseAndCloneNames() throws {
        let clone = try BlockVolumeName(
            parsing: "base-100-disk-0/vm-101-disk-0",
            kinds: [.vm, .base],
            allowsBase: true
        )
        #expect(clone.kind == .vm)
        #expect(clone.vmid == 101)
        #expect(clone.name == "vm-101-disk-0")
        #expect(clone.base == "base-100-disk-0")
        #expect(clone.volname == "base-100-disk-0/vm-101-disk-0")
        #expect(throws: VireoError.self) {
            try BlockVolumeName(parsing: "base-100-disk-0/vm-101-disk-0", kinds: [.vm, .base])
        }
        #expect(throws: VireoError.self) {
            try BlockVolumeName(parsing: "vm-100-disk-0/vm-101-disk-0", kinds: [.vm, .base], allowsBase: true)
        }
        #expect(throws: VireoError.self) { try BlockVolumeName(parsing: "subvol-101-disk-0", kinds: [.vm, .base]) }
    }

    @Test func nextDiskNameSkipsNumbersOfTheSameOwnerOnly() throws {
        let used = ["vm-100-disk-0", "base-100-disk-1", "vm-1000-disk-2", "vm-100-disk-3", "subvol-100-disk-2"]
        #expect(
            try BlockVolumeName.nextDiskName(kind: .vm, vmid: 100, used: used, counting: [.vm, .base])
                == "vm-100-disk-2"
        )
        #expect(
            try BlockVolumeName.nextDiskName(kind: .vm, vmid: 100, used: used, counting: [.vm, .base, .subvol])
                == "vm-100-disk-4"
        )
        let full = (0...1023).map { "vm-100-disk-\($0)" }
        #expect(throws: VireoError.self) {
            try BlockVolumeName.nextDiskName(kind: .vm, vmid: 100, used: full, counting: [.vm])
        }
    }

    @Test func snapshotNamesMustStartWithALetter() throws {
        try BlockVolumeName.validateSnapshotName("before_upgrade-2")
        for bad in ["", "1st", "__base__", "a/b", "a b", "-x", "x@y", String(repeating: "a", count: 41)] {
            #expect(throws: VireoError.self) { try BlockVolumeName.validateSnapshotName(bad) }
        }
    }

    @Test func sizesAreShownInBinaryUnits() {
        #expect(BlockBackend.humanReadable(512) == "512 B")
        #expect(BlockBackend.humanReadable(4_294_967_296) == "4.00 GiB")
        #expect(BlockBackend.humanReadable(1_610_612_736) == "1.50 GiB")
        #expect(BlockBackend.humanReadable(1_049_088) == "1.00 MiB")
    }
}
