import Foundation
import VireoAccess
import VireoCore
import VireoHost
import VireoQEMU
import VireoStorage

/// The host's hardware, QEMU's capabilities, the storages a node can reach (`scan`) and its disks.
extension NodeEndpoints {
    static func registerHardware(in registry: inout APIRegistry) {
        registry.registerIndex("/nodes/{node}/hardware", key: "type")
        registry.register(.get, "/nodes/{node}/hardware/pci", handles: ["pci-class-blacklist", "verbose"]) { request in
            let hidden = (request.parameters["pci-class-blacklist"] ?? "05;06;0b").split(separator: ";").map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            for prefix in hidden where !prefix.allSatisfy(\.isHexDigit) {
                throw VireoError.parameter("pci-class-blacklist", "'\(prefix)' is not a hexadecimal class prefix")
            }
            return .init(.array(request.services.host.pciDevices(hiddenClasses: hidden).map { .object($0.fields) }))
        }
        registry.register(.get, "/nodes/{node}/hardware/pci/{pci-id-or-mapping}", handles: []) { request in
            try pciDevice(request)
            return .init([["method": "mdev"]])
        }
        registry.register(.get, "/nodes/{node}/hardware/pci/{pci-id-or-mapping}/mdev", handles: []) { request in
            // Mediated device types are listed by a device that has them; none here means none.
            let device = try pciDevice(request)
            guard device.mediatedDevices else { return .init([]) }
            let base = "\(request.services.host.sysfs)/bus/pci/devices/\(device.id)/mdev_supported_types"
            let types = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
            return .init(
                .array(
                    types.sorted().map { type in
                        func value(_ file: String) -> String {
                            TextFile.read("\(base)/\(type)/\(file)")?.trimmingCharacters(in: .whitespacesAndNewlines)
                                ?? ""
                        }
                        return [
                            "type": .string(type), "available": .int(Int(value("available_instances")) ?? 0),
                            "description": .string(value("description")), "name": .string(value("name")),
                        ]
                    }
                )
            )
        }
        registry.register(.get, "/nodes/{node}/hardware/usb", handles: []) { request in
            .init(.array(request.services.host.usbDevices().map { .object($0.fields) }))
        }
        registerCapabilities(in: &registry)
        registerScan(in: &registry)
    }

    @discardableResult
    static func pciDevice(_ request: APIRequest) throws -> NodeHost.PCIDevice {
        let id = try request.parameters.require("pci-id-or-mapping")
        let full = id.filter { $0 == ":" }.count == 1 ? "0000:" + id : id
        guard let device = request.services.host.pciDevices(hiddenClasses: []).first(where: { $0.id == full }) else {
            throw VireoError.notFound("no PCI device '\(id)' on this node")
        }
        return device
    }

    // MARK: - capabilities

    static func registerCapabilities(in registry: inout APIRegistry) {
        registry.registerIndex("/nodes/{node}/capabilities", key: "name")
        registry.registerIndex("/nodes/{node}/capabilities/qemu", key: "name")
        registry.register(.get, "/nodes/{node}/capabilities/qemu/cpu", handles: ["arch"]) { request in
            try checkArchitecture(request)
            let models = try await QEMUCapabilities.read(runner: request.services.host.runner).cpuModels
            return .init(.array(models.map { ["name": .string($0.name), "vendor": .string($0.vendor), "custom": 0] }))
        }
        registry.register(.get, "/nodes/{node}/capabilities/qemu/cpu-flags", handles: ["arch"]) { request in
            try checkArchitecture(request)
            return .init(
                .array(
                    QEMUCapabilities.cpuFlags.map {
                        ["name": .string($0.name), "description": .string($0.description)]
                    }
                )
            )
        }
        registry.register(.get, "/nodes/{node}/capabilities/qemu/machines", handles: ["arch"]) { request in
            try checkArchitecture(request)
            let machines = try await QEMUCapabilities.read(runner: request.services.host.runner).machines
            return .init(
                .array(
                    machines.map { ["id": .string($0.id), "type": .string($0.type), "version": .string($0.version)] }
                )
            )
        }
        registry.register(.get, "/nodes/{node}/capabilities/qemu/migration", handles: []) { _ in
            .init(["has-dbus-vmstate": .bool(false)])
        }
    }

    /// Vireo runs x86_64 guests only.
    static func checkArchitecture(_ request: APIRequest) throws {
        if let arch = request.parameters["arch"], arch != "x86_64" {
            throw VireoError.parameter("arch", "Vireo runs x86_64 guests only")
        }
    }

    // MARK: - scan

    static func registerScan(in registry: inout APIRegistry) {
        registry.registerIndex("/nodes/{node}/scan", key: "method")
        registry.register(.get, "/nodes/{node}/scan/nfs", handles: ["server"]) { request in
            let server = try hostName(request, "server")
            return .init(.array(try await request.services.host.scanNFS(server: server)))
        }
        registry.register(.get, "/nodes/{node}/scan/cifs", handles: ["server", "username", "password", "domain"]) {
            request in
            let p = request.parameters
            let server = try hostName(request, "server")
            for name in ["username", "domain"] {
                if let value = p[name], value.contains(where: { $0.isNewline || $0 == "%" }) || value.hasPrefix("-") {
                    throw VireoError.parameter(name, "invalid \(name)")
                }
            }
            return .init(
                .array(
                    try await request.services.host.scanCIFS(
                        server: server,
                        username: p["username"],
                        password: p["password"],
                        domain: p["domain"]
                    )
                )
            )
        }
        registry.register(.get, "/nodes/{node}/scan/iscsi", handles: ["portal"]) { request in
            let portal = try hostName(request, "portal", allowPort: true)
            return .init(.array(try await request.services.host.scanISCSI(portal: portal)))
        }
        registry.register(.get, "/nodes/{node}/scan/lvm", handles: []) { request in
            .init(.array(try await request.services.host.scanLVM()))
        }
        registry.register(.get, "/nodes/{node}/scan/lvmthin", handles: ["vg"]) { request in
            let vg = try request.parameters.require("vg")
            guard vg.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+_.-".contains($0)) }),
                !vg.hasPrefix("-")
            else { throw VireoError.parameter("vg", "invalid volume group name '\(vg)'") }
            return .init(.array(try await request.services.host.scanLVMThin(vg: vg)))
        }
        registry.register(.get, "/nodes/{node}/scan/zfs", handles: []) { request in
            .init(.array(try await request.services.host.scanZFS()))
        }
    }

    /// A server name or address for a scan tool: no option, no spaces, no path.
    static func hostName(_ request: APIRequest, _ name: String, allowPort: Bool = false) throws -> String {
        let value = try request.parameters.require(name)
        let allowed = value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]_".contains($0)) }
        guard allowed, !value.isEmpty, !value.hasPrefix("-") else {
            throw VireoError.parameter(name, "invalid server '\(value)'")
        }
        return value
    }
}
