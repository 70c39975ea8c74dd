import Foundation
import Logging
import VireoAccess
import VireoCore
import VireoStorage
import VireoTasks

extension StorageEndpoints {
    static func volumeJSON(_ volume: VolumeInfo) -> JSON {
        var object: [String: JSON] = [
            "volid": .string(volume.volid), "content": .string(volume.content.rawValue),
            "format": .string(volume.format), "size": .int(volume.size),
        ]
        if let used = volume.used { object["used"] = .int(used) }
        if let vmid = volume.vmid { object["vmid"] = .int(vmid) }
        if let parent = volume.parent { object["parent"] = .string(parent) }
        if let ctime = volume.ctime { object["ctime"] = .int(ctime) }
        if let notes = volume.notes { object["notes"] = .string(notes) }
        if volume.protected { object["protected"] = 1 }
        return .object(object)
    }

    /// `{volume}` is a full volid or, with `{storage}`, a bare volname.
    static func volname(_ request: APIRequest) throws -> (storage: String, volname: String) {
        let storage = try request.parameters.storage()
        let volume = try request.parameters.require("volume")
        guard volume.contains(":") else { return (storage.description, volume) }
        let volid = try VolumeID(validating: volume)
        guard volid.storage == storage else {
            throw VireoError.parameter("volume", "volume '\(volume)' is not on storage '\(storage)'")
        }
        return (storage.description, volid.volume)
    }

    static func registerContent(in registry: inout APIRegistry) {
        registry.register(.get, "/nodes/{node}/storage/{storage}/content", handles: ["content", "vmid"]) { request in
            let id = try request.parameters.require("storage")
            let content = try request.parameters["content"].map { text -> ContentType in
                guard let type = ContentType(rawValue: text) else {
                    throw VireoError.parameter("content", "invalid content type '\(text)'")
                }
                return type
            }
            let plugin = try await request.services.storage.activePlugin(id)
            let volumes = try await plugin.list(content: content, vmid: request.parameters.int("vmid"))
            return .init(.array(volumes.sorted { $0.volid.lowercased() < $1.volid.lowercased() }.map(volumeJSON)))
        }
        registry.register(
            .post,
            "/nodes/{node}/storage/{storage}/content",
            handles: ["filename", "format", "size", "vmid"]
        ) { request in
            let p = request.parameters
            let id = try p.require("storage")
            let vmid = try p.int("vmid") ?? { throw VireoError.parameter("vmid", "property is missing") }()
            let filename = try p.require("filename")
            let sizeKiB = try AllocationSize(parsing: try p.require("size")).kibibytes
            let fromName = PathVolumeFormat.of(filename)
            if let given = p["format"], let fromName, given != fromName.rawValue {
                throw VireoError.parameter("format", "format '\(given)' does not match the extension of '\(filename)'")
            }
            let format =
                try VolumeFormat(rawValue: p["format"] ?? fromName?.rawValue ?? "raw")
                ?? { throw VireoError.parameter("format", "invalid format") }()
            guard !filename.contains("/"), filename != ".", filename != "..", !filename.hasPrefix(".") else {
                throw VireoError.parameter("filename", "invalid file name '\(filename)'")
            }
            let manager = request.services.storage
            let plugin = try await manager.activePlugin(id)
            guard plugin.definition.content.contains(.images) else {
                throw VireoError.invalid("storage '\(id)' does not allow content 'images'")
            }
            guard plugin.capabilities.formats.contains(format) else {
                throw VireoError.parameter("format", "format '\(format.rawValue)' is not supported on storage '\(id)'")
            }
            if plugin.definition.overcommit, let free = try? await plugin.status().available, sizeKiB * 1024 > free {
                // Allowed by the storage's explicit overcommit, but worth a trace: a full disk freezes VMs.
                request.services.logger.warning(
                    "overcommitted allocation",
                    metadata: [
                        "storage": "\(id)", "requested": "\(ByteSize(bytes: sizeKiB * 1024))",
                        "free": "\(ByteSize(bytes: free))",
                    ]
                )
            }
            let volname = try await manager.withLock(id) {
                do {
                    return try await plugin.allocate(
                        AllocationRequest(vmid: vmid, name: filename, format: format, sizeKiB: sizeKiB)
                    )
                } catch let error as VireoError
                    where error.code == .invalidArgument && error.parameterErrors.isEmpty
                    && error.message.hasPrefix("volume name")
                {
                    throw VireoError.parameter("filename", error.message)
                }
            }
            return .init(.string("\(id):\(volname)"))
        }
        registry.register(.get, "/nodes/{node}/storage/{storage}/content/{volume}", handles: []) { request in
            let (id, volname) = try volname(request)
            try checkVolumeAccess(request, storage: id, write: false)
            let plugin = try await request.services.storage.activePlugin(id)
            let info = try await plugin.info(volname)
            var object: [String: JSON] = [
                "path": .string(try plugin.path(volname)), "size": .int(info.size), "format": .string(info.format),
                "used": .int(info.used ?? info.size),
            ]
            if let notes = info.notes { object["notes"] = .string(notes) }
            if info.protected { object["protected"] = 1 }
            return .init(.object(object))
        }
        registry.register(.put, "/nodes/{node}/storage/{storage}/content/{volume}", handles: ["notes", "protected"]) {
            request in
            let (id, volname) = try volname(request)
            try checkVolumeAccess(request, storage: id, write: true)
            let plugin = try await request.services.storage.activePlugin(id)
            let volume = try PathVolume(parsing: volname)
            guard volume.vmid == nil else {
                throw VireoError.invalid(
                    "notes and protection are only supported on backups and templates, not on '\(id):\(volname)'"
                )
            }
            let path = try plugin.path(volname)
            _ = try await plugin.info(volname)
            if let notes = request.parameters["notes"] {
                try notes.isEmpty
                    ? try? FileManager.default.removeItem(atPath: path + ".notes")
                    : notes.write(toFile: path + ".notes", atomically: true, encoding: .utf8)
            }
            if let protected = request.parameters.bool("protected") {
                if protected {
                    guard FileManager.default.createFile(atPath: path + ".protected", contents: nil) else {
                        throw VireoError(.unavailable, "cannot mark '\(path)' protected")
                    }
                } else {
                    try? FileManager.default.removeItem(atPath: path + ".protected")
                }
            }
            return .null
        }
        registry.register(.delete, "/nodes/{node}/storage/{storage}/content/{volume}", handles: ["delay"]) { request in
            let (id, volname) = try volname(request)
            let volid = "\(id):\(volname)"
            try checkVolumeAccess(request, storage: id, write: true)
            let manager = request.services.storage
            let plugin = try await manager.activePlugin(id)
            guard try await plugin.exists(volname) else {
                throw VireoError.notFound("volume '\(volid)' does not exist")
            }
            if let user = try await manager.user(of: volid) {
                throw VireoError.conflict("volume '\(volid)' is in use by \(user)")
            }
            let owner = (try? PathVolume(parsing: volname))?.vmid
            let upid = try request.services.tasks.start(
                type: "imgdel",
                id: owner.map { "\($0)@\(id)" } ?? id,
                user: request.identity.authID
            ) { log in
                try await manager.withLock(id) { try await plugin.free(volname) }
                log.append("Removed volume '\(volid)'")
            }
            if let delay = request.parameters.int("delay") {
                let finished = await withTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        await request.services.tasks.wait(upid.description)
                        return true
                    }
                    group.addTask {
                        try? await Task.sleep(for: .seconds(delay))
                        return false
                    }
                    let first = await group.next() ?? false
                    group.cancelAll()
                    return first
                }
                if finished, request.services.tasks.record(upid.description)?.exitStatus == "OK" { return .null }
            }
            return .init(.string(upid.description))
        }
    }

    /// Datastore.Allocate grants all; reading needs Audit or AllocateSpace on the storage.
    static func checkVolumeAccess(_ request: APIRequest, storage: String, write: Bool) throws {
        let path = "/storage/\(storage)"
        let privileges =
            write
            ? ["Datastore.Allocate", "Datastore.AllocateSpace"]
            : ["Datastore.Audit", "Datastore.AllocateSpace", "Datastore.Allocate"]
        guard request.access.permissions.check(request.identity.authID, path: path, privileges: privileges, any: true)
        else {
            throw VireoError(
                .permissionDenied,
                "Permission check failed (\(path), \(privileges.joined(separator: "|")))"
            )
        }
    }
}

/// The image format an allocation's file name implies.
enum PathVolumeFormat {
    static func of(_ filename: String) -> VolumeFormat? {
        guard let dot = filename.lastIndex(of: ".") else { return nil }
        return VolumeFormat(rawValue: String(filename[filename.index(after: dot)...]))
    }
}
