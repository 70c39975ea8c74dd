import Testing
import VireoCore
import VireoHost
import VireoTestSupport

@testable import VireoStorage

/// `rbd` before the operation for the managed cluster, pool `rbd`.
private let rbd = ["rbd", "-p", "rbd", "-c", "/etc/pve/ceph.conf", "-n", "client.admin"]
private let rbdLine = rbd.joined(separator: " ")
private let dfLine = "ceph -c /etc/pve/ceph.conf -n client.admin df --format json"
private let lsLine = rbdLine + " ls -l --format json"

/// A storage `ceph` on the Proxmox-managed cluster without a storage keyring.
private func makePlugin(
    _ extra: [SectionConfig.Option] = [],
    privateFiles: Set<String> = []
) throws
    -> (RBDPlugin, RecordingCommandRunner)
{
    let runner = RecordingCommandRunner()
    runner.answer(["ceph"], with: .output(RBDFixtures.df))
    runner.answer(["rbd"], with: .output(""))
    runner.answer(rbd + ["ls"], with: .output(RBDFixtures.list))
    runner.answer(rbd + ["snap", "ls"], with: .output(RBDFixtures.snapshots))
    runner.answer(rbd + ["info"], with: .output(RBDFixtures.cloneInfo))
    runner.answer(rbd + ["du"], with: .output(RBDFixtures.du))
    let section = try SectionConfig.Section(type: "rbd", id: "ceph", options: [.init("content", "images")] + extra)
    let plugin = RBDPlugin(definition: StorageDefinition(section: section), runner: runner) {
        privateFiles.contains($0)
    }
    return (plugin, runner)
}

@Suite struct RBDPluginTests {
    @Test func statusIsThePoolsStoredBytesAndMaxAvail() async throws {
        let (plugin, runner) = try makePlugin()
        #expect(
            try await plugin.status()
                == StorageStatus(
                    total: 73_014_444_032 + 949_187_313_664,
                    used: 73_014_444_032,
                    available: 949_187_313_664,
                    active: true
                )
        )
        #expect(runner.commandLines == [dfLine])
    }

    @Test func statusOfAnUnreachableClusterIsInactive() async throws {
        let (plugin, runner) = try makePlugin([.init("pool", "missing")])
        #expect(try await plugin.status() == .inactive)
        runner.answer(["ceph", "-c"], with: .failure(exitCode: 1, standardError: "error connecting to the cluster"))
        #expect(try await plugin.status() == .inactive)
    }

    @Test func listReportsImagesWithTheBaseOfLinkedClonesOnly() async throws {
        let (plugin, runner) = try makePlugin()
        let volumes = try await plugin.list(content: nil, vmid: nil)
        #expect(runner.commandLines == [lsLine])
        #expect(
            volumes.map(\.volid) == [
                "ceph:base-100-disk-0", "ceph:base-100-disk-0/vm-101-disk-0", "ceph:vm-100-disk-1",
                "ceph:vm-102-disk-0",
            ]
        )
        #expect(volumes.map(\.parent) == [nil, "base-100-disk-0", nil, nil])
        #expect(
            volumes.first
                == VolumeInfo(
                    volid: "ceph:base-100-disk-0",
                    content: .images,
                    format: "raw",
                    size: 34_359_738_368,
                    vmid: 100
                )
        )
        #expect(try await plugin.list(content: nil, vmid: 102).map(\.volid) == ["ceph:vm-102-disk-0"])
    }

    @Test func allocateCreatesAFormatTwoImageSizedInMiB() async throws {
        let (plugin, runner) = try makePlugin()
        let name = try await plugin.allocate(AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 33_554_433))
        #expect(name == "vm-100-disk-2")
        #expect(
            runner.commandLines == [dfLine, lsLine, rbdLine + " create --image-format 2 --size 32769 vm-100-disk-2"]
        )
    }

    @Test func allocateWithADataPoolChecksAndUsesThatPool() async throws {
        let (plugin, runner) = try makePlugin([.init("data-pool", "rbd-ec")])
        let name = try await plugin.allocate(AllocationRequest(vmid: 103, name: nil, format: .raw, sizeKiB: 262_144))
        #expect(name == "vm-103-disk-0")
        #expect(
            runner.commandLines.last == rbdLine + " create --image-format 2 --size 256 --data-pool rbd-ec vm-103-disk-0"
        )
        let error = await #expect(throws: VireoError.self) {
            try await plugin.allocate(AllocationRequest(vmid: 103, name: nil, format: .raw, sizeKiB: 1_048_576))
        }
        #expect(error?.message == "not enough space on storage 'ceph' (requested 1.00 GiB, available 512.00 MiB)")
    }

    @Test func allocateRefusedForLackOfSpaceCreatesNothing() async throws {
        let (plugin, runner) = try makePlugin()
        let error = await #expect(throws: VireoError.self) {
            try await plugin.allocate(
                AllocationRequest(vmid: 100, name: nil, format: .raw, sizeKiB: 1024 * 1024 * 1024)
            )
        }
        #expect(error?.message == "not enough space on storage 'ceph' (requested 1.00 TiB, available 884.00 GiB)")
        #expect(runner.commandLines == [dfLine])
    }

    @Test func freeUnprotectsProtectedSnapshotsThenPurgesAndRemoves() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.free("vm-100-disk-1")
        #expect(
            runner.commandLines == [
                rbdLine + " snap ls --format json vm-100-disk-1",
                rbdLine + " snap unprotect --snap presnap vm-100-disk-1",
                rbdLine + " snap purge vm-100-disk-1",
                rbdLine + " rm vm-100-disk-1",
            ]
        )
    }

    @Test func freeOfABaseWithClonesStopsAtTheUnprotect() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            rbd + ["snap", "unprotect"],
            with: .failure(
                exitCode: 16,
                standardError:
                    "2023-11-27T10:30:00.000+0000 7f0 -1 librbd::SnapshotUnprotectRequest: cannot unprotect: "
                    + "at least 1 child(ren) [7b8c9d0e1f2a] in pool 'rbd'\n"
                    + "rbd: unprotecting snap failed: (16) Device or resource busy\n"
            )
        )
        let error = await #expect(throws: VireoError.self) { try await plugin.free("vm-100-disk-1") }
        #expect(error?.message.contains("rbd: unprotecting snap failed: (16) Device or resource busy") == true)
        #expect(!runner.commandLines.contains { $0.hasSuffix(" rm vm-100-disk-1") })
    }

    @Test func snapshotCommandsNameTheSnapshotAndImage() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.createSnapshot("vm-100-disk-1", name: "later")
        try await plugin.rollbackSnapshot("vm-100-disk-1", name: "later")
        try await plugin.deleteSnapshot("vm-100-disk-1", name: "later")
        #expect(
            runner.commandLines == [
                rbdLine + " snap create --snap later vm-100-disk-1",
                rbdLine + " snap rollback --snap later vm-100-disk-1",
                rbdLine + " snap ls --format json vm-100-disk-1",
                rbdLine + " snap rm --snap later vm-100-disk-1",
            ]
        )
    }

    @Test func deletingAProtectedSnapshotUnprotectsItFirst() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.deleteSnapshot("vm-100-disk-1", name: "presnap")
        #expect(
            Array(runner.commandLines.dropFirst()) == [
                rbdLine + " snap unprotect --snap presnap vm-100-disk-1",
                rbdLine + " snap rm --snap presnap vm-100-disk-1",
            ]
        )
    }

    @Test func createBaseRenamesAndProtectsABaseSnapshot() async throws {
        let (plugin, runner) = try makePlugin()
        #expect(try await plugin.createBase("vm-100-disk-1") == "base-100-disk-1")
        #expect(
            runner.commandLines == [
                rbdLine + " info --format json vm-100-disk-1",
                rbdLine + " rename vm-100-disk-1 base-100-disk-1",
                rbdLine + " snap create --snap __base__ base-100-disk-1",
                rbdLine + " snap protect --snap __base__ base-100-disk-1",
            ]
        )
    }

    @Test func createBaseUndoesItsStepsWhenProtectingFails() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            rbd + ["snap", "protect"],
            with: .failure(exitCode: 22, standardError: "rbd: protecting snap failed: (22) Invalid argument")
        )
        let error = await #expect(throws: VireoError.self) { _ = try await plugin.createBase("vm-100-disk-1") }
        #expect(error?.message.contains("(22) Invalid argument") == true)
        #expect(
            Array(runner.commandLines.suffix(2)) == [
                rbdLine + " snap rm --snap __base__ base-100-disk-1", rbdLine + " rename base-100-disk-1 vm-100-disk-1",
            ]
        )
    }

    @Test func createBaseRefusesFormatOneImages() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(rbd + ["info", "--format", "json", "vm-100-disk-1"], with: .output(RBDFixtures.formatOneInfo))
        await #expect(throws: VireoError.self) { _ = try await plugin.createBase("vm-100-disk-1") }
        #expect(runner.commandLines.count == 1)
    }

    @Test func linkedCloneOfABaseClonesItsBaseSnapshot() async throws {
        let (plugin, runner) = try makePlugin()
        let clone = try await plugin.linkedClone("base-100-disk-0", vmid: 101, snapshot: nil)
        #expect(clone == "base-100-disk-0/vm-101-disk-1")
        #expect(
            runner.commandLines == [
                lsLine, rbdLine + " clone rbd/base-100-disk-0 --snap __base__ rbd/vm-101-disk-1",
            ]
        )
    }

    @Test func linkedCloneOfASnapshotProtectsItFirstAndRecordsNoBase() async throws {
        let (plugin, runner) = try makePlugin([.init("namespace", "tenant1")])
        runner.answer(
            [
                "rbd", "-p", "rbd", "--namespace", "tenant1", "-c", "/etc/pve/ceph.conf", "-n", "client.admin", "snap",
                "ls",
            ],
            with: .output(RBDFixtures.snapshots)
        )
        let clone = try await plugin.linkedClone("vm-100-disk-1", vmid: 104, snapshot: "later")
        #expect(clone == "vm-104-disk-0")
        let prefix = "rbd -p rbd --namespace tenant1 -c /etc/pve/ceph.conf -n client.admin"
        #expect(
            Array(runner.commandLines.suffix(3)) == [
                prefix + " snap ls --format json vm-100-disk-1",
                prefix + " snap protect --snap later vm-100-disk-1",
                prefix + " clone rbd/tenant1/vm-100-disk-1 --snap later rbd/tenant1/vm-104-disk-0",
            ]
        )
    }

    @Test func linkedCloneOfAPlainImageWithoutSnapshotIsRefused() async throws {
        let (plugin, runner) = try makePlugin()
        await #expect(throws: VireoError.self) {
            _ = try await plugin.linkedClone("vm-100-disk-1", vmid: 101, snapshot: nil)
        }
        #expect(runner.commandLines.isEmpty)
    }

    @Test func renameKeepsTheBasePrefix() async throws {
        let (plugin, runner) = try makePlugin()
        #expect(
            try await plugin.rename("base-100-disk-0/vm-101-disk-0", toVMID: 106, name: nil)
                == "base-100-disk-0/vm-106-disk-0"
        )
        #expect(runner.commandLines == [lsLine, rbdLine + " rename vm-101-disk-0 vm-106-disk-0"])
    }

    @Test func resizeRoundsUpToMiB() async throws {
        let (plugin, runner) = try makePlugin()
        try await plugin.resize("vm-100-disk-1", sizeBytes: 8_589_934_592 + 1024)
        #expect(runner.commandLines == [rbdLine + " resize --size 8193 vm-100-disk-1"])
    }

    @Test func infoReadsSizeParentAndUsage() async throws {
        let (plugin, runner) = try makePlugin()
        let info = try await plugin.info("base-100-disk-0/vm-101-disk-0")
        #expect(
            info
                == VolumeInfo(
                    volid: "ceph:base-100-disk-0/vm-101-disk-0",
                    content: .images,
                    format: "raw",
                    size: 34_359_738_368,
                    used: 2_147_483_648,
                    vmid: 101,
                    parent: "base-100-disk-0"
                )
        )
        #expect(
            runner.commandLines == [
                rbdLine + " info --format json vm-101-disk-0", rbdLine + " du --format json vm-101-disk-0",
            ]
        )
    }

    @Test func infoOfAMissingImageIsNotFound() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            rbd + ["info", "--format", "json", "vm-100-disk-9"],
            with: .failure(
                exitCode: 2,
                standardError: "rbd: error opening image vm-100-disk-9: (2) No such file or directory\n"
            )
        )
        let error = await #expect(throws: VireoError.self) { _ = try await plugin.info("vm-100-disk-9") }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("(2) No such file or directory") == true)
    }

    @Test func pathOfTheManagedClusterNamesItsConfig() throws {
        let (plugin, _) = try makePlugin()
        #expect(try plugin.path("base-100-disk-0/vm-101-disk-0") == "rbd:rbd/vm-101-disk-0:conf=/etc/pve/ceph.conf")
    }

    @Test func anExternalClusterIsReachedThroughItsMonitorsAndKeyring() async throws {
        let keyring = "/etc/pve/priv/ceph/ceph.keyring"
        let (plugin, runner) = try makePlugin(
            [.init("monhost", "10.0.0.1 10.0.0.2:6789;[fd00::3]"), .init("pool", "vms"), .init("username", "pve")],
            privateFiles: [keyring]
        )
        #expect(
            try plugin.path("vm-100-disk-0")
                == "rbd:vms/vm-100-disk-0:mon_host=10.0.0.1;10.0.0.2\\:6789;[fd00\\:\\:3]:auth_supported=cephx"
                + ":id=pve:keyring=/etc/pve/priv/ceph/ceph.keyring"
        )
        _ = try await plugin.list(content: nil, vmid: nil)
        #expect(
            runner.commandLines == [
                "rbd -p vms -m 10.0.0.1,10.0.0.2:6789,[fd00::3] --auth_supported cephx -n client.pve --keyring "
                    + keyring + " ls -l --format json"
            ]
        )
    }

    @Test func anExternalClusterWithoutKeyringUsesNoAuthentication() throws {
        let config = "/etc/pve/priv/ceph/ceph.conf"
        let (plugin, _) = try makePlugin([.init("monhost", "10.0.0.1")], privateFiles: [config])
        #expect(
            try plugin.path("vm-100-disk-0")
                == "rbd:rbd/vm-100-disk-0:conf=/etc/pve/priv/ceph/ceph.conf:mon_host=10.0.0.1:auth_supported=none"
        )
    }

    @Test(arguments: [
        [SectionConfig.Option("pool", "-rf")], [.init("monhost", "10.0.0.1,-c/etc/passwd")], [.init("username", "a b")],
        [.init("namespace", "../x")],
    ])
    func unsafeOptionsAreRejectedBeforeRunningAnything(_ options: [SectionConfig.Option]) async throws {
        let (plugin, runner) = try makePlugin(options)
        await #expect(throws: VireoError.self) { _ = try await plugin.list(content: nil, vmid: nil) }
        #expect(throws: VireoError.self) { _ = try plugin.path("vm-100-disk-0") }
        #expect(runner.commandLines.isEmpty)
    }

    @Test(arguments: [
        "vm-100-disk-0@snap", "rbd/vm-100-disk-0", "--pool=x", "base-100-disk-0/vm-101-disk-0/y", "vm-100",
    ])
    func badVolumeNamesAreRejectedBeforeRunningAnything(_ volname: String) async throws {
        let (plugin, runner) = try makePlugin()
        await #expect(throws: VireoError.self) { try await plugin.free(volname) }
        await #expect(throws: VireoError.self) { try await plugin.resize(volname, sizeBytes: 1 << 30) }
        await #expect(throws: VireoError.self) { try await plugin.createSnapshot(volname, name: "s") }
        await #expect(throws: VireoError.self) { _ = try await plugin.linkedClone(volname, vmid: 101, snapshot: "s") }
        #expect(throws: VireoError.self) { _ = try plugin.path(volname) }
        #expect(runner.commandLines.isEmpty)
    }

    @Test func failingCommandPutsItsStderrInTheError() async throws {
        let (plugin, runner) = try makePlugin()
        runner.answer(
            rbd + ["snap", "create"],
            with: .failure(exitCode: 17, standardError: "rbd: failed to create snapshot: (17) File exists\n")
        )
        let error = await #expect(throws: VireoError.self) {
            try await plugin.createSnapshot("vm-100-disk-1", name: "presnap")
        }
        #expect(error?.code == .internalError)
        #expect(
            error?.message
                == "storage 'ceph': creating snapshot 'presnap' of 'vm-100-disk-1' failed: command '" + rbdLine
                + " snap create --snap presnap vm-100-disk-1' failed: exit code 17 - "
                + "rbd: failed to create snapshot: (17) File exists"
        )
    }
}

@Suite struct RBDReportTests {
    @Test func decodesSnapshotsWithStringProtectedFlags() throws {
        let snapshots = try RBDReport.decode([RBDReport.Snapshot].self, from: RBDFixtures.snapshots, what: "test")
        #expect(
            snapshots == [
                .init(name: "presnap", size: 8_589_934_592, protected: true),
                .init(name: "later", size: 8_589_934_592, protected: false),
            ]
        )
    }

    @Test func emptyListingsDecodeAsEmpty() throws {
        #expect(try RBDReport.decode([RBDReport.ListedImage].self, from: "", empty: [], what: "test").isEmpty)
        #expect(throws: VireoError.self) { try RBDReport.decode(RBDReport.ImageInfo.self, from: "", what: "test") }
    }
}
