import Testing
import VireoCore
import VireoTestSupport

@testable import VireoQEMU

@Suite struct QEMUCommandBuilderTests {
    let builder = QEMUCommandBuilder(
        environment: .init(runDirectory: "/run/vireo/qemu", kvmAvailable: false) { volid in
            guard volid.hasPrefix("local:") else {
                throw VireoError.notFound("storage '\(volid.prefix { $0 != ":" })' does not exist")
            }
            let name = volid.dropFirst("local:".count)
            let path =
                name.hasPrefix("iso/") ? "/var/lib/vireo/local/template/\(name)" : "/var/lib/vireo/local/images/\(name)"
            return (path, name.hasSuffix(".qcow2") ? "qcow2" : "raw")
        }
    )

    func config(_ text: String) throws -> VMConfig.Section {
        try VMConfig(parsing: text).main
    }

    @Test func testGuestConfigBuildsTheExpectedCommandLine() throws {
        let argv = try builder.build(
            vmid: 100,
            config: try config(
                """
                boot: order=virtio0;ide2
                cores: 2
                ide2: local:iso/vireo-test-guest.iso,media=cdrom
                kvm: 0
                memory: 256
                name: guest
                net0: virtio=BC:24:11:00:00:01,bridge=vmbr0
                serial0: socket
                smbios1: uuid=2c4a2cda-712b-44ab-8728-51f5e734b658
                vga: serial0
                virtio0: local:100/vm-100-disk-0.qcow2,size=1G

                """
            )
        )
        #expect(
            argv == [
                "qemu-system-x86_64", "-name", "guest,debug-threads=on", "-no-shutdown",
                "-chardev", "socket,id=qmp,path=/run/vireo/qemu/100.qmp,server=on,wait=off",
                "-mon", "chardev=qmp,mode=control", "-chardev",
                "socket,id=qmp-event,path=/run/vireo/qemu/qmeventd.sock,reconnect=5", "-mon",
                "chardev=qmp-event,mode=control", "-pidfile", "/run/vireo/qemu/100.pid", "-daemonize",
                "-smbios", "type=1,uuid=2c4a2cda-712b-44ab-8728-51f5e734b658",
                "-smp", "2,sockets=1,cores=2,maxcpus=2", "-nodefaults",
                "-boot", "menu=on,strict=on,reboot-timeout=1000", "-vnc", "unix:/run/vireo/qemu/100.vnc,password=on",
                "-cpu", "qemu64", "-m", "256",
                "-device", "pci-bridge,id=pci.1,chassis_nr=1,bus=pci.0,addr=0x1e",
                "-device", "pci-bridge,id=pci.2,chassis_nr=2,bus=pci.0,addr=0x1f",
                "-device", "piix3-usb-uhci,id=uhci,bus=pci.0,addr=0x1.0x2",
                "-device", "usb-tablet,id=tablet,bus=uhci.0,port=1",
                "-nographic", "-vga", "none",
                "-device", "virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x3",
                "-chardev",
                "socket,id=serial0,path=/run/vireo/qemu/100.serial0,server=on,wait=off"
                    + ",logfile=/run/vireo/qemu/100.serial0.log,logappend=on",
                "-device", "isa-serial,chardev=serial0",
                "-drive",
                "file=/var/lib/vireo/local/template/iso/vireo-test-guest.iso,if=none,id=drive-ide2,media=cdrom,aio=threads",
                "-device", "ide-cd,bus=ide.1,unit=0,drive=drive-ide2,id=ide2,bootindex=101",
                "-drive",
                "file=/var/lib/vireo/local/images/100/vm-100-disk-0.qcow2,if=none,id=drive-virtio0,format=qcow2,cache=none,aio=io_uring,detect-zeroes=on,werror=enospc,rerror=report",
                "-device", "virtio-blk-pci,drive=drive-virtio0,id=virtio0,bus=pci.0,addr=0xa,bootindex=100",
                "-netdev", "type=tap,id=net0,ifname=tap100i0,script=no,downscript=no",
                "-device", "virtio-net-pci,mac=BC:24:11:00:00:01,netdev=net0,bus=pci.0,addr=0x12,id=net0",
                "-machine", "type=pc,accel=tcg",
            ]
        )
    }

    @Test func kvmIsTheDefaultAndNeedsDevKVM() throws {
        do {
            _ = try builder.build(vmid: 100, config: try config("memory: 512\n"))
            Issue.record("expected an error without KVM")
        } catch let error as VireoError {
            #expect(error.message.contains("KVM"))
        }
        let kvmBuilder = QEMUCommandBuilder(
            environment: .init(runDirectory: "/r", kvmAvailable: true) { _ in ("/x", "raw") }
        )
        let argv = try kvmBuilder.build(vmid: 100, config: try config("memory: 512\n"))
        #expect(argv.contains("type=pc,accel=kvm"))
        #expect(argv.contains("kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep"))
    }

    @Test(arguments: [
        ("memory: abc\nkvm: 0\n", "memory"),
        ("kvm: maybe\n", "kvm"),
        ("kvm: 0\nvirtio0: nfs:100/vm-100-disk-0.raw\n", "virtio0"),
        ("kvm: 0\nboot: order=scsi0\n", "boot"),
        ("kvm: 0\nnet0: nosuchnic,bridge=vmbr0\n", "net0"),
        ("kvm: 0\nserial0: tcp:1.2.3.4\n", "serial0"),
    ])
    func badValuesNameTheirKey(text: String, key: String) throws {
        do {
            _ = try builder.build(vmid: 100, config: try config(text))
            Issue.record("expected an error for \(key)")
        } catch let error as VireoError {
            #expect(error.parameterErrors[key] != nil, "\(error)")
        }
    }

    @Test func legacyBootOrderGivesDiskThenCDThenNet() throws {
        let argv = try builder.build(
            vmid: 101,
            config: try config(
                "bootdisk: scsi0\nide2: none,media=cdrom\nkvm: 0\nnet0: e1000\nscsi0: local:101/vm-101-disk-0.raw\nscsihw: virtio-scsi-pci\n"
            )
        )
        #expect(
            argv.contains("scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0,id=scsi0,bootindex=100")
        )
        #expect(argv.contains("ide-cd,bus=ide.1,unit=0,drive=drive-ide2,id=ide2,bootindex=202"))
        #expect(argv.contains("e1000,netdev=net0,bus=pci.0,addr=0x12,id=net0,bootindex=300"))
        #expect(argv.contains("type=user,id=net0"))
        #expect(argv.contains("virtio-scsi-pci,id=scsihw0,bus=pci.0,addr=0x5"))
    }

    @Test func argsAreAppendedWithShellQuoting() throws {
        let argv = try builder.build(
            vmid: 100,
            config: try config("kvm: 0\nargs: -fw_cfg 'name=opt/x,string=a b' -S\n")
        )
        #expect(Array(argv.suffix(3)) == ["-fw_cfg", "name=opt/x,string=a b", "-S"])
    }
}
