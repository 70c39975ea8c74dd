import Testing
import VireoCore
import VireoTestSupport

@testable import VireoQEMU

@Suite struct MonitorCommandTierTests {
    @Test(arguments: ["info", "info block", "  info   status", "help", "?", "\tinfo\tcpus"])
    func readingCommandsNeedNothingMore(command: String) {
        #expect(MonitorCommandTier(command: command) == .read)
    }

    @Test(arguments: ["stop", "cont", "system_reset", "sendkey ctrl-alt-delete", "block_resize drive-virtio0 2G", "q"])
    func guestChangingCommandsNeedSysModify(command: String) {
        #expect(MonitorCommandTier(command: command) == .modify)
    }

    @Test(arguments: [
        #"migrate "exec:id > /tmp/x""#, "dump-guest-memory /tmp/x", "drive_add 0 file=/etc/shadow", "device_add e1000",
        "screendump /tmp/x.ppm", "memsave 0 100 /tmp/x", "pmemsave 0 100 /tmp/x", "chardev-add file,path=/tmp/x,id=c",
        "netdev_add user,id=n", "object_add memory-backend-file,id=m,mem-path=/etc", "gdbserver tcp::1234",
        "logfile /tmp/x", "infox", "information", "no_such_command", "",
    ])
    func hostTouchingAndUnknownCommandsAreRoots(command: String) {
        #expect(MonitorCommandTier(command: command) == .root)
    }
}

@Suite struct VMHostAccessTests {
    @Test(arguments: [
        ("virtio1", "/dev/sda"), ("scsi0", "/etc/shadow"), ("ide2", "/root/.ssh/authorized_keys,media=cdrom"),
        ("sata0", "file=/dev/sdb"), ("args", "-monitor stdio"), ("hookscript", "local:snippets/x.sh"),
        ("serial0", "/dev/ttyS0"), ("parallel0", "/dev/parport0"), ("usb0", "host=1234:5678"), ("hostpci0", "01:00.0"),
        ("virtio2", "local:0,import-from=/etc/shadow"), ("cicustom", "user=/etc/shadow"), ("unused0", "/dev/sda"),
    ])
    func hostPathsAndDevicesAreRoots(key: String, value: String) {
        let requirements = VMHostAccess.requirements(key: key, value: value, vmid: 100)
        #expect(requirements.contains { if case .root = $0 { true } else { false } }, "\(key)=\(value)")
    }

    @Test(arguments: [
        ("serial0", "socket"), ("usb0", "spice"), ("memory", "512"), ("net0", "virtio,bridge=vmbr0"),
        ("ide2", "none,media=cdrom"), ("virtio0", "local:100/vm-100-disk-0.qcow2"),
    ])
    func guestOnlyValuesNeedNoHostRights(key: String, value: String) {
        #expect(VMHostAccess.requirements(key: key, value: value, vmid: 100).isEmpty)
    }

    @Test func theHostCDROMNeedsSysConsole() {
        #expect(
            VMHostAccess.requirements(key: "ide2", value: "cdrom,media=cdrom", vmid: 100)
                == [.privileges(path: "/", ["Sys.Console"], any: false)]
        )
    }

    @Test func newDisksNeedSpaceOnTheirStorage() {
        #expect(
            VMHostAccess.requirements(key: "virtio1", value: "fast:4,format=raw", vmid: 100)
                == [.privileges(path: "/storage/fast", ["Datastore.AllocateSpace"], any: false)]
        )
    }

    @Test func anotherVMsDiskNeedsItsConfigRights() {
        let requirements = VMHostAccess.requirements(key: "virtio1", value: "local:101/vm-101-disk-0.raw", vmid: 100)
        guard case .oneOf(let alternatives, _)? = requirements.first else {
            Issue.record("expected alternatives, got \(requirements)")
            return
        }
        #expect(alternatives.last?.contains(.privileges(path: "/vms/101", ["VM.Config.Disk"], any: false)) == true)
    }

    @Test func isoVolumesNeedAuditOrSpace() {
        let requirements = VMHostAccess.requirements(key: "ide2", value: "local:iso/x.iso,media=cdrom", vmid: 100)
        guard case .oneOf(let alternatives, _)? = requirements.first else {
            Issue.record("expected alternatives, got \(requirements)")
            return
        }
        #expect(
            alternatives.contains([
                .privileges(path: "/storage/local", ["Datastore.AllocateSpace", "Datastore.Audit"], any: true)
            ])
        )
    }

    @Test(
        arguments: [
            ("vm-100-disk-0", 100), ("100/vm-100-disk-0.qcow2", 100), ("base-100-disk-0/vm-101-disk-0", 101),
            ("base-7-disk-1", 7), ("iso/x.iso", nil), ("snippets/x.yaml", nil),
        ] as [(String, Int?)]
    )
    func ownerOfAVolume(name: String, owner: Int?) {
        #expect(VMHostAccess.owner(of: name) == owner)
    }
}

@Suite struct SMBIOSTests {
    @Test func base64FieldsAreDecodedForQEMU() throws {
        let parsed = try PropertyString(
            parsing: "uuid=2c4a2cda-712b-44ab-8728-51f5e734b658,serial=dmlyZW8uaXA9MTAuMC4wLjIvMjQ=,base64=1"
        )
        #expect(
            try QEMUCommandBuilder.smbios1Argument(parsed)
                == "type=1,uuid=2c4a2cda-712b-44ab-8728-51f5e734b658,serial=vireo.ip=10.0.0.2/24"
        )
    }

    @Test(arguments: ["serial=a b", "manufacturer=x.y", "uuid=nope", "product=a\nb", "bogus=1", "serial=YQo=,base64=1"])
    func textOutsideBase64sAlphabetIsRefused(value: String) throws {
        guard let parsed = try? PropertyString(parsing: value) else { return }
        #expect(throws: VireoError.self) { try QEMUCommandBuilder.smbios1Argument(parsed) }
    }
}
