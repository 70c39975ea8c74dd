import Testing
import VireoStorage

/// `GET /nodes/{node}/qemu/{vmid}/feature`: what a volume on each storage type can do.
@Suite struct StorageFeaturesTests {
    @Test(arguments: [
        // File storages snapshot qcow2 only.
        ("dir", "qcow2", true), ("dir", "raw", false), ("dir", "vmdk", false),
        ("nfs", "qcow2", true), ("cifs", "raw", false),
        // Thick LVM has no usable snapshots; thin LVM, ZFS, Btrfs and Ceph do.
        ("lvm", "raw", false), ("lvmthin", "raw", true), ("zfspool", "raw", true), ("btrfs", "raw", true),
        ("rbd", "raw", true), ("iscsi", "raw", false),
    ])
    func snapshots(type: String, format: String, supported: Bool) {
        #expect(VolumeFeature.snapshot.isSupported(storageType: type, format: format, isBase: false) == supported)
        #expect(VolumeFeature.snapshot.isSupported(storageType: type, format: format, isBase: true) == supported)
    }

    @Test(arguments: [
        ("dir", "qcow2", true), ("dir", "raw", true), ("dir", "vmdk", false), ("nfs", "qcow2", true),
        ("lvm", "raw", false), ("lvmthin", "raw", true), ("zfspool", "raw", true), ("btrfs", "raw", true),
        ("rbd", "raw", true),
    ])
    func linkedClonesComeFromBaseVolumesOnly(type: String, format: String, fromBase: Bool) {
        #expect(VolumeFeature.clone.isSupported(storageType: type, format: format, isBase: true) == fromBase)
        #expect(VolumeFeature.clone.isSupported(storageType: type, format: format, isBase: false) == false)
    }

    @Test(arguments: ["dir", "nfs", "lvm", "lvmthin", "zfspool", "btrfs", "rbd", "iscsi"])
    func aFullCopyIsAlwaysPossible(type: String) {
        for format in ["raw", "qcow2", "vmdk"] {
            for isBase in [false, true] {
                #expect(VolumeFeature.copy.isSupported(storageType: type, format: format, isBase: isBase))
            }
        }
    }

    @Test func theFeaturesAreNamedAsTheAPINamesThem() {
        #expect(VolumeFeature.allCases.map(\.rawValue) == ["snapshot", "clone", "copy"])
    }
}
