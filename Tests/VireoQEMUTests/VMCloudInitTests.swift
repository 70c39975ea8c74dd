import Testing
import VireoCore
import VireoTestSupport

@testable import VireoQEMU

/// A VM's cloud-init drives and `GET /nodes/{node}/qemu/{vmid}/cloudinit`.
@Suite struct VMCloudInitTests {
    @Test func findsTheVMsOwnCloudInitDrivesOnly() throws {
        let vmid: VMID = 100
        let config = try VMConfig.Section([
            "ide0": "local:101/vm-101-cloudinit.qcow2,media=cdrom",
            "ide2": "local:100/vm-100-cloudinit.qcow2,media=cdrom",
            "scsi0": "local-lvm:vm-100-disk-0,size=32G",
            "scsi1": "lvm:vm-100-cloudinit,media=cdrom",
            "sata0": "local:iso/vm-100-cloudinit-notes.iso,media=cdrom",
            "virtio0": "file=rbd:vm-100-disk-1,size=8G",
            "net0": "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0",
            "ide3": "none,media=cdrom",
            "unused0": "local:100/vm-100-cloudinit.raw",
        ])
        let drives = VMCloudInit.drives(vmid: vmid, config: config)
        #expect(drives.map(\.key) == ["ide2", "scsi1"])
        #expect(drives.map(\.volid) == ["local:100/vm-100-cloudinit.qcow2", "lvm:vm-100-cloudinit"])

        let other: VMID = 101
        #expect(VMCloudInit.drives(vmid: other, config: config).map(\.key) == ["ide0"])
        #expect(VMCloudInit.drives(vmid: vmid, config: VMConfig.Section()).isEmpty)
        #expect(VMCloudInit.volumeName(vmid: 100) == "vm-100-cloudinit")
    }

    static let current =
        (try? VMConfig.Section([
            "memory": "2048",
            "name": "web01",
            "ciuser": "admin",
            "cipassword": "$5$rounds=5000$new$Yw6aXq",
            "ipconfig0": "ip=dhcp",
            "nameserver": "1.1.1.1",
            "ide2": "local:100/vm-100-cloudinit.qcow2,media=cdrom",
        ])) ?? VMConfig.Section()

    @Test func withoutARecordOfTheLastISOEveryKeyIsShownAsItsValue() {
        let items = VMCloudInit.pendingChanges(VMConfig(main: Self.current))
        let expected: [[String: JSON]] = [
            ["key": "cipassword", "value": "**********"],
            ["key": "ciuser", "value": "admin"],
            ["key": "ipconfig0", "value": "ip=dhcp"],
            ["key": "nameserver", "value": "1.1.1.1"],
        ]
        #expect(items == expected)
    }

    @Test func changedNewAndRemovedKeysAgainstTheLastISO() throws {
        var config = VMConfig(main: Self.current)
        try config.setSpecial(
            "cloudinit",
            try VMConfig.Section([
                "ciuser": "admin",
                "cipassword": "$5$rounds=5000$old$Qx1bZt",
                "ipconfig0": "ip=10.0.0.5/24,gw=10.0.0.1",
                "sshkeys": "ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAI%20alice%40laptop",
            ])
        )
        let expected: [[String: JSON]] = [
            // The password changed; neither value is shown.
            ["key": "cipassword", "value": "**********", "pending": "**********"],
            ["key": "ciuser", "value": "admin"],
            ["key": "ipconfig0", "value": "ip=10.0.0.5/24,gw=10.0.0.1", "pending": "ip=dhcp"],
            ["key": "nameserver", "pending": "1.1.1.1"],
            ["key": "sshkeys", "delete": 1],
        ]
        #expect(VMCloudInit.pendingChanges(config) == expected)
    }

    @Test func nothingToShowWithoutCloudInitKeys() throws {
        let config = VMConfig(main: try VMConfig.Section(["memory": "512", "net0": "virtio,bridge=vmbr0"]))
        #expect(VMCloudInit.pendingChanges(config).isEmpty)
    }
}
