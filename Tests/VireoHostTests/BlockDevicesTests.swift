import Testing
import VireoCore

@testable import VireoHost

/// `/nodes/{node}/disks/list`: the node's disks from lsblk, and what uses them.
@Suite struct BlockDevicesTests {
    /// `lsblk --list --json --bytes --output NAME,PATH,TYPE,SIZE,MODEL,SERIAL,VENDOR,WWN,ROTA,
    /// MOUNTPOINTS,FSTYPE,PTTYPE,PKNAME,TRAN,PARTTYPE,HOTPLUG` (util-linux 2.38): an SSD `sda` with
    /// the root file system and an LVM partition, a free disk `sdb`, a whole-disk LVM physical
    /// volume `sdc`, a mounted whole-disk file system `sdd`, a zram swap, an attached loop device
    /// with a partition and an unattached one.
    static let lsblk = """
        {
           "blockdevices": [
              {"name":"zram0", "path":"/dev/zram0", "type":"disk", "size":4294967296, "model":null, "serial":null, "vendor":null, "wwn":null, "rota":false, "mountpoints":["[SWAP]"], "fstype":"swap", "pttype":null, "pkname":null, "tran":null, "parttype":null, "hotplug":false},
              {"name":"loop0", "path":"/dev/loop0", "type":"loop", "size":1073741824, "model":null, "serial":null, "vendor":null, "wwn":null, "rota":false, "mountpoints":[null], "fstype":null, "pttype":"gpt", "pkname":null, "tran":null, "parttype":null, "hotplug":false},
              {"name":"loop1", "path":"/dev/loop1", "type":"loop", "size":0, "model":null, "serial":null, "vendor":null, "wwn":null, "rota":false, "mountpoints":[null], "fstype":null, "pttype":null, "pkname":null, "tran":null, "parttype":null, "hotplug":false},
              {"name":"sda", "path":"/dev/sda", "type":"disk", "size":500107862016, "model":"Samsung SSD 870 EVO 500GB", "serial":"S62ANJ0R123456X", "vendor":"ATA     ", "wwn":"0x5002538f41234567", "rota":false, "mountpoints":[null], "fstype":null, "pttype":"gpt", "pkname":null, "tran":"sata", "parttype":null, "hotplug":false},
              {"name":"sda1", "path":"/dev/sda1", "type":"part", "size":1073741824, "model":null, "serial":null, "vendor":null, "wwn":"0x5002538f41234567", "rota":false, "mountpoints":["/"], "fstype":"ext4", "pttype":"gpt", "pkname":"sda", "tran":null, "parttype":"0fc63daf-8483-4772-8e79-3d69d8477de4", "hotplug":false},
              {"name":"sda2", "path":"/dev/sda2", "type":"part", "size":499033054720, "model":null, "serial":null, "vendor":null, "wwn":"0x5002538f41234567", "rota":false, "mountpoints":[null], "fstype":"LVM2_member", "pttype":"gpt", "pkname":"sda", "tran":null, "parttype":"e6d6d379-f507-44c2-a23c-238f2a3df928", "hotplug":false},
              {"name":"pve-swap", "path":"/dev/mapper/pve-swap", "type":"lvm", "size":8589934592, "model":null, "serial":null, "vendor":null, "wwn":null, "rota":false, "mountpoints":[null], "fstype":"swap", "pttype":null, "pkname":"sda2", "tran":null, "parttype":null, "hotplug":false},
              {"name":"sdb", "path":"/dev/sdb", "type":"disk", "size":4000787030016, "model":"WDC WD40EFRX-68N32N0", "serial":"WD-WCC7K1234567", "vendor":"ATA     ", "wwn":"0x50014ee2b1234567", "rota":true, "mountpoints":[null], "fstype":null, "pttype":null, "pkname":null, "tran":"sata", "parttype":null, "hotplug":false},
              {"name":"sdc", "path":"/dev/sdc", "type":"disk", "size":1000204886016, "model":"CT1000MX500SSD1", "serial":"2045E4A12345", "vendor":"ATA     ", "wwn":null, "rota":false, "mountpoints":[null], "fstype":"LVM2_member", "pttype":null, "pkname":null, "tran":"sata", "parttype":null, "hotplug":false},
              {"name":"data-vm--100--disk--0", "path":"/dev/mapper/data-vm--100--disk--0", "type":"lvm", "size":34359738368, "model":null, "serial":null, "vendor":null, "wwn":null, "rota":false, "mountpoints":[null], "fstype":null, "pttype":null, "pkname":"sdc", "tran":null, "parttype":null, "hotplug":false},
              {"name":"sdd", "path":"/dev/sdd", "type":"disk", "size":64023257088, "model":"Ultra", "serial":"4C530001230825117303", "vendor":"SanDisk ", "wwn":null, "rota":false, "mountpoints":["/mnt/usb"], "fstype":"exfat", "pttype":null, "pkname":null, "tran":"usb", "parttype":null, "hotplug":true},
              {"name":"loop0p1", "path":"/dev/loop0p1", "type":"part", "size":1072676864, "model":null, "serial":null, "vendor":null, "wwn":null, "rota":false, "mountpoints":[null], "fstype":null, "pttype":"gpt", "pkname":"loop0", "tran":null, "parttype":"0fc63daf-8483-4772-8e79-3d69d8477de4", "hotplug":false}
           ]
        }
        """

    static let devices = BlockDevices(devices: BlockDevice.parseList(lsblk))

    func device(_ name: String) throws -> BlockDevice {
        try #require(Self.devices.devices.first { $0.name == name })
    }

    @Test func readsEveryColumnTrimmingPaddingAndDroppingNulls() throws {
        #expect(Self.devices.devices.count == 12)
        let sda = try device("sda")
        #expect(
            sda
                == BlockDevice(
                    name: "sda",
                    path: "/dev/sda",
                    type: "disk",
                    size: 500_107_862_016,
                    model: "Samsung SSD 870 EVO 500GB",
                    serial: "S62ANJ0R123456X",
                    vendor: "ATA",
                    wwn: "0x5002538f41234567",
                    rotational: false,
                    mountpoints: [],
                    fstype: nil,
                    partitionTable: "gpt",
                    parent: nil,
                    transport: "sata",
                    partitionType: nil,
                    hotplug: false
                )
        )
        let root = try device("sda1")
        #expect(root.mountpoints == ["/"])
        #expect(root.fstype == "ext4")
        #expect(root.parent == "sda")
        #expect(root.partitionType == "0fc63daf-8483-4772-8e79-3d69d8477de4")
        #expect(try device("sdb").rotational)
        #expect(try device("sdd").hotplug)
        #expect(try device("sdd").vendor == "SanDisk")
    }

    @Test func olderLsblkPrintsFlagsAsStringsAndMayLeaveOutThePath() throws {
        // util-linux 2.33 (Debian 10): "rota":"1", no MOUNTPOINTS array.
        let old = #"""
            {"blockdevices": [{"name":"sda", "type":"disk", "size":500107862016, "rota":"1", "hotplug":"0", "mountpoint":null}]}
            """#
        let devices = BlockDevice.parseList(old)
        #expect(devices.map(\.path) == ["/dev/sda"])
        #expect(devices.first?.rotational == true)
        #expect(devices.first?.hotplug == false)
        #expect(BlockDevice.parseList("").isEmpty)
        #expect(BlockDevice.parseList(#"{"blockdevices": [{"path":"/dev/sda"}]}"#).isEmpty)
    }

    @Test func disksAreWholePhysicalDisksAndAttachedLoopDevices() {
        #expect(Self.devices.disks.map(\.name) == ["loop0", "sda", "sdb", "sdc", "sdd"])
    }

    @Test func partitionsAreThoseOfTheDiskOnly() throws {
        #expect(Self.devices.partitions(of: try device("sda")).map(\.name) == ["sda1", "sda2"])
        #expect(Self.devices.partitions(of: try device("loop0")).map(\.name) == ["loop0p1"])
        #expect(Self.devices.partitions(of: try device("sdb")).isEmpty)
        // A logical volume built on a disk is not a partition of it.
        #expect(Self.devices.partitions(of: try device("sdc")).isEmpty)
    }

    @Test func usageSaysWhatIsOnEachDisk() throws {
        #expect(Self.devices.usage(of: try device("sda")) == "partitions")
        #expect(Self.devices.usage(of: try device("sda1")) == "mounted")
        #expect(Self.devices.usage(of: try device("sda2")) == "LVM")
        #expect(Self.devices.usage(of: try device("sdb")) == nil)
        #expect(Self.devices.usage(of: try device("sdc")) == "LVM")
        #expect(Self.devices.usage(of: try device("sdd")) == "mounted")
        #expect(Self.devices.usage(of: try device("loop0")) == "partitions")
    }

    static func make(
        _ name: String,
        type: String = "disk",
        fstype: String? = nil,
        partitionTable: String? = nil,
        parent: String? = nil,
        partitionType: String? = nil
    ) -> BlockDevice {
        BlockDevice(
            name: name,
            path: "/dev/" + name,
            type: type,
            size: 1 << 30,
            rotational: true,
            mountpoints: [],
            fstype: fstype,
            partitionTable: partitionTable,
            parent: parent,
            partitionType: partitionType,
            hotplug: false
        )
    }

    @Test func usageNamesFileSystemsAndBIOSBootPartitions() {
        let devices = BlockDevices(devices: [
            Self.make("sde", fstype: "xfs"),
            Self.make("sdf", partitionTable: "gpt"),
            Self.make(
                "sdf1",
                type: "part",
                parent: "sdf",
                partitionType: "21686148-6449-6E6F-744E-656564454649"
            ),
            // A fresh GPT without partitions is free.
            Self.make("sdg", partitionTable: "gpt"),
        ])
        #expect(devices.devices.map { devices.usage(of: $0) } == ["xfs", "BIOS boot", nil, nil])
    }

    @Test func hostUseNamesTheMountOrTheDeviceThatHoldsTheDisk() throws {
        #expect(Self.devices.hostUse(of: try device("sda")) == "/dev/sda1 is mounted on /")
        #expect(
            Self.devices.hostUse(of: try device("sdc")) == "/dev/sdc is in use by /dev/mapper/data-vm--100--disk--0"
        )
        #expect(Self.devices.hostUse(of: try device("sdd")) == "/dev/sdd is mounted on /mnt/usb")
        #expect(Self.devices.hostUse(of: try device("sdb")) == nil)
        #expect(Self.devices.hostUse(of: try device("loop0")) == nil)
        #expect(Self.devices.hostUse(of: try device("sda2")) == "/dev/sda2 is in use by /dev/mapper/pve-swap")
    }
}
