import Foundation
import VireoAccess
import VireoCore
import VireoQEMU
import VireoStorage

/// `sendkey` and `feature`.
extension QEMUEndpoints {
    static func registerFeatures(in registry: inout APIRegistry) {
        registry.register(.put, "/nodes/{node}/qemu/{vmid}/sendkey", handles: ["key", "skiplock"]) { request in
            let p = request.parameters
            let vmid = try p.vmid()
            let key = try p.require("key")
            // QEMU's key notation: names joined by '-' (`ctrl-alt-delete`, `shift-a`, `kp_add`).
            guard key.range(of: #"^[a-z0-9_]+(-[a-z0-9_]+)*$"#, options: .regularExpression) != nil, key.count <= 64
            else {
                throw VireoError.parameter(
                    "key",
                    "invalid key '\(key)' (QEMU key names joined by '-', e.g. ctrl-alt-delete)"
                )
            }
            let (config, _) = try await request.services.vms.configs.read(vmid)
            if !p.bool("skiplock", default: false), let lock = config.main.lock {
                throw VireoError.conflict("VM is locked (\(lock))")
            }
            let answer = try await runtime(request).monitor(vmid, command: "sendkey \(key)")
            guard answer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw VireoError.parameter("key", answer.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            return .null
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}/feature", handles: ["feature", "snapname"]) { request in
            let p = request.parameters
            let vmid = try p.vmid()
            guard let feature = VolumeFeature(rawValue: try p.require("feature")) else {
                throw VireoError.parameter("feature", "unknown feature")
            }
            let (config, _) = try await request.services.vms.configs.read(vmid)
            var section = config.main
            if let name = p["snapname"] {
                guard let snapshot = config[snapshot: name] else {
                    throw VireoError.notFound("snapshot '\(name)' does not exist")
                }
                section = snapshot
            }
            var supported = true
            for disk in section.disks {
                let definition = try await request.services.storage.definition(disk.storage)
                let isBase = disk.volname.split(separator: "/").last?.hasPrefix("base-") ?? false
                if !feature.isSupported(storageType: definition.type, format: disk.format, isBase: isBase) {
                    supported = false
                }
            }
            return .init(["hasFeature": .flag(supported), "nodes": .array([.string(request.services.node)])])
        }
    }
}
