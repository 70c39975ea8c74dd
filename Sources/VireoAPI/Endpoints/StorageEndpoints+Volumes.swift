import VireoAccess
import VireoCore
import VireoHost
import VireoStorage

/// Vireo's additions to the storage API: volume operations Proxmox only offers through a VM
/// (resize, snapshots, template, clone), here available on the volume itself.
extension StorageEndpoints {
    static let volumePath = "/nodes/{node}/storage/{storage}/content/{volume}"

    static func volumeSchema(_ extra: [ParameterSpec], returns: String = "null") -> EndpointSchema {
        EndpointSchema(
            parameters: [
                ParameterSpec("node", .string, format: "pve-node"),
                ParameterSpec("storage", .string, format: "pve-storage-id"),
                ParameterSpec("volume", .string),
            ] + extra,
            permission: .perm("/storage/{storage}", ["Datastore.AllocateSpace"], any: false, requireParam: nil),
            protected: true,
            returns: returns
        )
    }

    static let snapshotName = ParameterSpec("snapname", .string, pattern: "[A-Za-z][A-Za-z0-9_\\-]+", maxLength: 40)

    /// Vireo's own endpoints (not in Proxmox's schema): their schemas declare only what they handle.
    static func registerVolumeOperations(in registry: inout APIRegistry) {
        registry.register(
            .put,
            volumePath + "/resize",
            schema: volumeSchema([ParameterSpec("size", .string, pattern: "\\+?\\d+(\\.\\d+)?[KMGT]?")]),
            handles: .all
        ) { request in
            let (id, volname) = try volname(request)
            let text = try request.parameters.require("size")
            let plugin = try await request.services.storage.activePlugin(id)
            let current = try await plugin.info(volname).size
            guard let amount = ByteSize(text.hasPrefix("+") ? String(text.dropFirst()) : text)?.bytes else {
                throw VireoError.parameter("size", "invalid size '\(text)'")
            }
            let target = text.hasPrefix("+") ? current + amount : amount
            guard target >= current else {
                throw VireoError.parameter(
                    "size",
                    "shrinking from \(ByteSize(bytes: current)) to \(ByteSize(bytes: target)) is not allowed"
                )
            }
            try await request.services.storage.withLock(id) { try await plugin.resize(volname, sizeBytes: target) }
            return .null
        }
        registry.register(.post, volumePath + "/snapshot", schema: volumeSchema([snapshotName]), handles: .all) {
            request in
            let (id, volname) = try volname(request)
            let name = try request.parameters.require("snapname")
            let plugin = try await request.services.storage.activePlugin(id)
            try await request.services.storage.withLock(id) { try await plugin.createSnapshot(volname, name: name) }
            return .null
        }
        registry.register(
            .post,
            volumePath + "/snapshot/{snapname}/rollback",
            schema: volumeSchema([snapshotName]),
            handles: .all
        ) {
            request in
            let (id, volname) = try volname(request)
            let name = try request.parameters.require("snapname")
            let plugin = try await request.services.storage.activePlugin(id)
            if let user = try await request.services.storage.user(of: "\(id):\(volname)") {
                throw VireoError.conflict("volume '\(id):\(volname)' is in use by \(user); roll back through the VM")
            }
            try await request.services.storage.withLock(id) { try await plugin.rollbackSnapshot(volname, name: name) }
            return .null
        }
        registry.register(
            .delete,
            volumePath + "/snapshot/{snapname}",
            schema: volumeSchema([snapshotName]),
            handles: .all
        ) {
            request in
            let (id, volname) = try volname(request)
            let name = try request.parameters.require("snapname")
            let plugin = try await request.services.storage.activePlugin(id)
            try await request.services.storage.withLock(id) { try await plugin.deleteSnapshot(volname, name: name) }
            return .null
        }
        registry.register(.post, volumePath + "/template", schema: volumeSchema([], returns: "string"), handles: .all) {
            request in
            let (id, volname) = try volname(request)
            let plugin = try await request.services.storage.activePlugin(id)
            if let user = try await request.services.storage.user(of: "\(id):\(volname)") {
                throw VireoError.conflict("volume '\(id):\(volname)' is in use by \(user)")
            }
            let base = try await request.services.storage.withLock(id) { try await plugin.createBase(volname) }
            return .init(.string("\(id):\(base)"))
        }
        registry.register(
            .post,
            volumePath + "/clone",
            schema: volumeSchema(
                [
                    ParameterSpec("vmid", .integer, format: "pve-vmid", minimum: 100, maximum: 999_999_999),
                    ParameterSpec(
                        "snapname",
                        .string,
                        optional: true,
                        pattern: "[A-Za-z][A-Za-z0-9_\\-]+",
                        maxLength: 40
                    ),
                    ParameterSpec("full", .boolean, optional: true, defaultValue: "0"),
                    ParameterSpec("format", .string, optional: true, enumValues: ["raw", "qcow2", "vmdk"]),
                ],
                returns: "string"
            ),
            handles: .all
        ) { request in
            let (id, volname) = try volname(request)
            let p = request.parameters
            let vmid = p.int("vmid") ?? 0
            let manager = request.services.storage
            let plugin = try await manager.activePlugin(id)
            if p.bool("full", default: false) {
                return .init(.string(try await manager.copyVolume("\(id):\(volname)", vmid: vmid, format: p["format"])))
            }
            let clone = try await manager.withLock(id) {
                try await plugin.linkedClone(volname, vmid: vmid, snapshot: p["snapname"])
            }
            return .init(.string("\(id):\(clone)"))
        }
    }
}
