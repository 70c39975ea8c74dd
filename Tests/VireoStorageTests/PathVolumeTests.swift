import Testing
import VireoCore

@testable import VireoStorage

@Suite struct PathVolumeTests {
    @Test(arguments: [
        ("100/vm-100-disk-0.qcow2", ContentType.images, "images/100/vm-100-disk-0.qcow2"),
        ("iso/debian-12.iso", .iso, "template/iso/debian-12.iso"),
        ("vztmpl/debian.tar.zst", .vztmpl, "template/cache/debian.tar.zst"),
        (
            "backup/vzdump-qemu-100-2024_01_01-00_00_00.vma.zst", .backup,
            "dump/vzdump-qemu-100-2024_01_01-00_00_00.vma.zst"
        ),
        ("snippets/user.yaml", .snippets, "snippets/user.yaml"),
    ])
    func parsesVolnamesIntoTheirDirectories(volname: String, content: ContentType, path: String) throws {
        let volume = try PathVolume(parsing: volname)
        #expect(volume.content == content)
        #expect(volume.relativePath == path)
        #expect(volume.volname == volname)
    }

    @Test func parsesLinkedClones() throws {
        let volume = try PathVolume(parsing: "100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2")
        #expect(volume.vmid == 101)
        #expect(volume.base?.vmid == 100)
        #expect(volume.base?.name == "base-100-disk-0.qcow2")
        #expect(volume.relativePath == "images/101/vm-101-disk-0.qcow2")
    }

    @Test(arguments: [
        "100/../../etc/passwd", "../100/x.raw", "iso/../../etc/shadow", "100/.hidden.raw", "100/-x.raw",
        "iso/a/b.iso", "100/vm-100-disk-0", "99/vm-99-disk-0.raw", "iso/notes.txt", "/etc/passwd", "100/",
        "100/vm 1.raw", "100/base-100-disk-0.qcow2/101/../x.qcow2",
    ])
    func rejectsNamesThatCouldEscapeOrAreMalformed(volname: String) {
        #expect(throws: VireoError.self) { try PathVolume(parsing: volname) }
    }

    @Test func nextDiskNameSkipsUsedNumbers() throws {
        let name = try PathStorage.nextDiskName(
            vmid: 100,
            used: ["vm-100-disk-0.qcow2", "base-100-disk-1.raw", "vm-100-disk-3.raw", "vm-1000-disk-2.raw"]
        )
        #expect(name == "vm-100-disk-2")
    }

    @Test func backupOwnerComesFromTheName() {
        #expect(PathStorage.backupOwner("vzdump-qemu-123-2024_01_01-00_00_00.vma.zst") == 123)
        #expect(PathStorage.backupOwner("other.tar") == nil)
    }
}
