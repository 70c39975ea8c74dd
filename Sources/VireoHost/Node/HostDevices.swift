import Foundation
public import VireoCore

/// PCI and USB devices of the host, read from sysfs (`/nodes/{node}/hardware/…`).
extension NodeHost {
    public struct PCIDevice: Sendable, Equatable {
        public var id: String
        public var classCode: String
        public var vendor: String
        public var device: String
        public var subsystemVendor: String?
        public var subsystemDevice: String?
        public var iommuGroup: Int
        public var mediatedDevices: Bool

        public var fields: [String: JSON] {
            var fields: [String: JSON] = [
                "id": .string(id), "class": .string(classCode), "vendor": .string(vendor), "device": .string(device),
                "iommugroup": .int(iommuGroup),
            ]
            if let subsystemVendor { fields["subsystem_vendor"] = .string(subsystemVendor) }
            if let subsystemDevice { fields["subsystem_device"] = .string(subsystemDevice) }
            if mediatedDevices { fields["mdev"] = .flag(true) }
            return fields
        }
    }

    /// PCI devices, without those whose class starts with one of `hiddenClasses` (hex prefixes of
    /// the class code; Proxmox hides memory controllers `05`, bridges `06` and processors `0b`).
    public func pciDevices(hiddenClasses: [String] = ["05", "06", "0b"]) -> [PCIDevice] {
        let base = sysfs + "/bus/pci/devices"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return names.sorted().compactMap { name -> PCIDevice? in
            let directory = base + "/" + name
            func value(_ file: String) -> String? {
                TextFile.read(directory + "/" + file)?.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let classCode = value("class"), let vendor = value("vendor"), let device = value("device") else {
                return nil
            }
            let shortClass = classCode.hasPrefix("0x") ? String(classCode.dropFirst(2)) : classCode
            if hiddenClasses.contains(where: { shortClass.hasPrefix($0) }) { return nil }
            let group = (try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/iommu_group"))
                .flatMap { Int(($0 as NSString).lastPathComponent) }
            return PCIDevice(
                id: name,
                classCode: classCode,
                vendor: vendor,
                device: device,
                subsystemVendor: value("subsystem_vendor"),
                subsystemDevice: value("subsystem_device"),
                iommuGroup: group ?? -1,
                mediatedDevices: FileManager.default.fileExists(atPath: directory + "/mdev_supported_types")
            )
        }
    }

    public struct USBDevice: Sendable, Equatable {
        public var busnum: Int
        public var devnum: Int
        public var port: Int
        public var usbPath: String
        public var level: Int
        public var classCode: Int
        public var vendorID: String
        public var productID: String
        public var speed: String
        public var manufacturer: String?
        public var product: String?
        public var serial: String?

        public var fields: [String: JSON] {
            var fields: [String: JSON] = [
                "busnum": .int(busnum), "devnum": .int(devnum), "port": .int(port), "usbpath": .string(usbPath),
                "level": .int(level), "class": .int(classCode), "vendid": .string(vendorID),
                "prodid": .string(productID), "speed": .string(speed),
            ]
            if let manufacturer { fields["manufacturer"] = .string(manufacturer) }
            if let product { fields["product"] = .string(product) }
            if let serial { fields["serial"] = .string(serial) }
            return fields
        }
    }

    /// USB devices other than hubs.
    public func usbDevices() -> [USBDevice] {
        let base = sysfs + "/bus/usb/devices"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return names.sorted().compactMap { name -> USBDevice? in
            // Interfaces (`1-1:1.0`) and root hubs (`usb1`) are not devices a VM is given.
            guard !name.contains(":"), !name.hasPrefix("usb") else { return nil }
            let directory = base + "/" + name
            func value(_ file: String) -> String? {
                TextFile.read(directory + "/" + file)?.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let bus = value("busnum").flatMap({ Int($0) }), let dev = value("devnum").flatMap({ Int($0) }),
                let vendor = value("idVendor"), let product = value("idProduct")
            else { return nil }
            let classCode = value("bDeviceClass").flatMap { Int($0, radix: 16) } ?? 0
            guard classCode != 9 else { return nil }
            let path = value("devpath") ?? String(name.split(separator: "-").last ?? "")
            let ports = path.split(separator: ".")
            return USBDevice(
                busnum: bus,
                devnum: dev,
                port: ports.last.flatMap { Int($0) } ?? 0,
                usbPath: path,
                level: ports.count,
                classCode: classCode,
                vendorID: vendor,
                productID: product,
                speed: value("speed") ?? "",
                manufacturer: value("manufacturer"),
                product: value("product"),
                serial: value("serial")
            )
        }
    }
}
