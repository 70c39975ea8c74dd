import Foundation
import Testing
import VireoCore
import VireoTestSupport

@testable import VireoHost

/// `/nodes/{node}/hardware/pci` and `…/usb` from a sysfs tree built in a temporary directory, laid
/// out as the kernel lays it out (the bus lists are symlinks to the device directories).
@Suite struct HostDevicesTests {
    struct FakeSysfs {
        let root: String
        init() throws {
            root =
                FileManager.default.temporaryDirectory.appendingPathComponent("vireo-sysfs-\(UUID().uuidString)")
                .path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }

        func write(_ directory: String, _ files: [String: String]) throws {
            try FileManager.default.createDirectory(atPath: root + directory, withIntermediateDirectories: true)
            for (name, content) in files {
                try Data((content + "\n").utf8).write(to: URL(fileURLWithPath: root + directory + "/" + name))
            }
        }

        func link(_ path: String, to destination: String) throws {
            try FileManager.default.createDirectory(
                atPath: ((root + path) as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try FileManager.default.createSymbolicLink(atPath: root + path, withDestinationPath: destination)
        }

        /// A PCI function under `/devices/pci0000:00`, listed in `/bus/pci/devices`.
        func pci(_ id: String, _ files: [String: String], iommuGroup: Int? = nil, mdev: Bool = false) throws {
            let directory = "/devices/pci0000:00/" + id
            try write(directory, files)
            try link("/bus/pci/devices/" + id, to: "../../../devices/pci0000:00/" + id)
            if let iommuGroup {
                try FileManager.default.createDirectory(
                    atPath: root + "/kernel/iommu_groups/\(iommuGroup)/devices",
                    withIntermediateDirectories: true
                )
                try link(directory + "/iommu_group", to: "../../../kernel/iommu_groups/\(iommuGroup)")
            }
            if mdev {
                try write(directory + "/mdev_supported_types/i915-GVTg_V5_4", ["name": "GVTg_V5_4"])
            }
        }

        /// A USB device or interface under `/devices/…/usbN`, listed in `/bus/usb/devices`.
        func usb(_ name: String, _ files: [String: String] = [:]) throws {
            let directory = "/devices/pci0000:00/0000:00:14.0/" + name
            try write(directory, files)
            try link("/bus/usb/devices/" + name, to: "../../../devices/pci0000:00/0000:00:14.0/" + name)
        }
    }

    static func host(_ sysfs: FakeSysfs) -> NodeHost {
        NodeHost(runner: RecordingCommandRunner(), sysfs: sysfs.root)
    }

    @Test func pciDevicesWithoutBridgesMemoryControllersAndProcessors() throws {
        let sysfs = try FakeSysfs()
        defer { sysfs.remove() }
        try sysfs.pci(
            "0000:00:00.0",
            ["class": "0x060000", "vendor": "0x8086", "device": "0x3e30"],
            iommuGroup: 0
        )
        try sysfs.pci(
            "0000:00:02.0",
            [
                "class": "0x030000", "vendor": "0x8086", "device": "0x3e92", "subsystem_vendor": "0x1462",
                "subsystem_device": "0x7b17",
            ],
            iommuGroup: 1,
            mdev: true
        )
        try sysfs.pci("0000:00:14.2", ["class": "0x050000", "vendor": "0x8086", "device": "0xa36f"], iommuGroup: 5)
        try sysfs.pci("0000:00:1f.0", ["class": "0x060100", "vendor": "0x8086", "device": "0xa305"], iommuGroup: 12)
        try sysfs.pci("0000:00:1f.3", ["class": "0x040300", "vendor": "0x8086", "device": "0xa348"])
        try sysfs.pci(
            "0000:01:00.0",
            [
                "class": "0x010802", "vendor": "0x144d", "device": "0xa808", "subsystem_vendor": "0x144d",
                "subsystem_device": "0xa801",
            ],
            iommuGroup: 13
        )
        try sysfs.pci("0000:02:00.0", ["class": "0x0b4000", "vendor": "0x1022", "device": "0x1450"], iommuGroup: 14)
        // A function whose files cannot be read (e.g. being removed) is left out.
        try sysfs.pci("0000:03:00.0", ["class": "0x020000"])

        let devices = Self.host(sysfs).pciDevices()
        #expect(devices.map(\.id) == ["0000:00:02.0", "0000:00:1f.3", "0000:01:00.0"])
        #expect(
            devices.first
                == NodeHost.PCIDevice(
                    id: "0000:00:02.0",
                    classCode: "0x030000",
                    vendor: "0x8086",
                    device: "0x3e92",
                    subsystemVendor: "0x1462",
                    subsystemDevice: "0x7b17",
                    iommuGroup: 1,
                    mediatedDevices: true
                )
        )
        let expected: [String: JSON] = [
            "id": "0000:00:02.0", "class": "0x030000", "vendor": "0x8086", "device": "0x3e92",
            "subsystem_vendor": "0x1462", "subsystem_device": "0x7b17", "iommugroup": 1, "mdev": 1,
        ]
        #expect(devices.first?.fields == expected)
        // No IOMMU group (IOMMU off) is -1; no mdev types, no `mdev` field.
        #expect(devices[1].iommuGroup == -1)
        #expect(devices[1].fields["mdev"] == nil)
        #expect(devices[1].subsystemVendor == nil)
        #expect(devices[2].iommuGroup == 13)
        #expect(devices[2].mediatedDevices == false)

        // Hiding nothing lists the bridges too; hiding by a longer prefix only that subclass.
        #expect(Self.host(sysfs).pciDevices(hiddenClasses: []).count == 7)
        #expect(
            Self.host(sysfs).pciDevices(hiddenClasses: ["0601"]).map(\.id) == [
                "0000:00:00.0", "0000:00:02.0", "0000:00:14.2", "0000:00:1f.3", "0000:01:00.0", "0000:02:00.0",
            ]
        )
    }

    @Test func usbDevicesWithoutHubsAndInterfaces() throws {
        let sysfs = try FakeSysfs()
        defer { sysfs.remove() }
        let hub = ["busnum": "1", "devnum": "1", "idVendor": "1d6b", "idProduct": "0002", "bDeviceClass": "09"]
        try sysfs.usb("usb1", hub.merging(["devpath": "0", "speed": "480"]) { $1 })
        try sysfs.usb("1-0:1.0", ["bInterfaceClass": "09"])
        try sysfs.usb(
            "1-1",
            [
                "busnum": "1", "devnum": "2", "idVendor": "05e3", "idProduct": "0610", "bDeviceClass": "09",
                "devpath": "1", "speed": "480", "product": "USB2.1 Hub",
            ]
        )
        try sysfs.usb("1-1:1.0", ["bInterfaceClass": "09"])
        try sysfs.usb(
            "1-1.2",
            [
                "busnum": "1", "devnum": "5", "idVendor": "0781", "idProduct": "5581", "bDeviceClass": "00",
                "devpath": "1.2", "speed": "480", "manufacturer": "SanDisk", "product": "Ultra",
                "serial": "4C530001230825117303",
            ]
        )
        try sysfs.usb("1-1.2:1.0", ["bInterfaceClass": "08"])
        try sysfs.usb(
            "2-3",
            [
                "busnum": "2", "devnum": "2", "idVendor": "046d", "idProduct": "c52b", "bDeviceClass": "ef",
                "devpath": "3", "speed": "12",
            ]
        )

        let devices = Self.host(sysfs).usbDevices()
        #expect(devices.map(\.usbPath) == ["1.2", "3"])
        #expect(
            devices.first
                == NodeHost.USBDevice(
                    busnum: 1,
                    devnum: 5,
                    port: 2,
                    usbPath: "1.2",
                    level: 2,
                    classCode: 0,
                    vendorID: "0781",
                    productID: "5581",
                    speed: "480",
                    manufacturer: "SanDisk",
                    product: "Ultra",
                    serial: "4C530001230825117303"
                )
        )
        let receiver = try #require(devices.last)
        #expect(receiver.level == 1)
        #expect(receiver.port == 3)
        #expect(receiver.classCode == 0xEF)
        let expected: [String: JSON] = [
            "busnum": 2, "devnum": 2, "port": 3, "usbpath": "3", "level": 1, "class": 239, "vendid": "046d",
            "prodid": "c52b", "speed": "12",
        ]
        #expect(receiver.fields == expected)
    }

    @Test func aMissingSysfsListsNothing() {
        let host = NodeHost(runner: RecordingCommandRunner(), sysfs: "/nonexistent-\(UUID().uuidString)")
        #expect(host.pciDevices().isEmpty)
        #expect(host.usbDevices().isEmpty)
    }
}
