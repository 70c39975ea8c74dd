import Foundation
import VireoAccess
import VireoCore
import VireoStorage

/// `/storage` (storage.cfg) and `/nodes/{node}/storage/*` (status, content, volumes).
enum StorageEndpoints {
    /// Options that are flags: listed as 0/1 integers.
    static let booleanOptions: Set<String> = [
        "disable", "shared", "sparse", "krbd", "overcommit", "saferemove", "tagged_only", "nocow", "mkdir",
        "create-base-path", "create-subdirs",
    ]

    /// Vireo's additions to the storage options.
    static let extraOptions = [ParameterSpec("overcommit", .boolean, optional: true)]

    static func register(in registry: inout APIRegistry) {
        registerConfiguration(in: &registry)
        registerNodeStorage(in: &registry)
        registerContent(in: &registry)
        registerVolumeOperations(in: &registry)
        registerUpload(in: &registry)
        registerDownload(in: &registry)
    }

    static func configJSON(_ definition: StorageDefinition, digest: String?) -> JSON {
        var object: [String: JSON] = ["storage": .string(definition.id), "type": .string(definition.type)]
        for option in definition.section.options {
            if booleanOptions.contains(option.key) {
                object[option.key] = .flag(option.value == nil || option.value == "1")
            } else {
                object[option.key] = .string(option.value ?? "1")
            }
        }
        object["content"] = .string(ContentType.listText(definition.content))
        if definition.shared { object["shared"] = 1 }
        if let digest { object["digest"] = .string(digest) }
        return .object(object)
    }

    static func canSee(_ request: APIRequest, _ id: String) -> Bool {
        request.access.permissions.check(
            request.identity.authID,
            path: "/storage/\(id)",
            privileges: ["Datastore.Audit", "Datastore.AllocateSpace"],
            any: true
        )
    }

    // MARK: - storage.cfg

    static func registerConfiguration(in registry: inout APIRegistry) {
        registry.register(.get, "/storage", handles: ["type"]) { request in
            let (config, digest) = try await request.services.storage.configuration()
            let type = request.parameters["type"]
            let items = config.sections.map(StorageDefinition.init).filter {
                (type == nil || $0.type == type) && canSee(request, $0.id)
            }
            return .init(.array(items.map { configJSON($0, digest: digest) }))
        }
        registry.register(
            .post,
            "/storage",
            schema: APISchema.pveEndpoint(.post, "/storage")?.adding(extraOptions),
            handles: .all
        ) { request in
            let p = request.parameters
            let id = try p.require("storage")
            let type = try p.require("type")
            let section = try makeSection(id: id, type: type, parameters: p)
            let manager = request.services.storage
            try await manager.modifyConfiguration { config in
                guard config[id] == nil else { throw VireoError.conflict("storage ID '\(id)' already defined") }
                let definition = StorageDefinition(section: section)
                // A storage that cannot be activated here is not added.
                if definition.isEnabled(on: manager.node) {
                    do {
                        try await manager.plugin(for: definition).activate()
                    } catch let error as VireoError {
                        throw VireoError(.invalidArgument, "storage '\(id)': \(error.message)", underlying: error)
                    }
                }
                config.set(section)
            }
            return .init(["storage": .string(id), "type": .string(type)])
        }
        registry.register(.get, "/storage/{storage}", handles: []) { request in
            let id = try request.parameters.require("storage")
            let (config, digest) = try await request.services.storage.configuration()
            guard let section = config[id] else { throw VireoError.notFound("storage '\(id)' does not exist") }
            return .init(configJSON(StorageDefinition(section: section), digest: digest))
        }
        registry.register(
            .put,
            "/storage/{storage}",
            schema: APISchema.pveEndpoint(.put, "/storage/{storage}")?.adding(extraOptions),
            handles: .all
        ) { request in
            let p = request.parameters
            let id = try p.require("storage")
            let deletions = p.list("delete")
            let type = try await request.services.storage.configuration().config[id]?.type
            try await request.services.storage.modifyConfiguration(digest: p["digest"]) { config in
                guard var section = config[id] else { throw VireoError.notFound("storage '\(id)' does not exist") }
                guard let schema = StorageTypes.schema(for: section.type) else {
                    throw VireoError.invalid("storage '\(id)': type '\(section.type)' is not supported by Vireo")
                }
                for key in deletions {
                    guard schema.optional.contains(key) else {
                        throw VireoError.parameter("delete", "cannot delete required or unknown option '\(key)'")
                    }
                    guard p[key] == nil else {
                        throw VireoError.parameter("delete", "cannot set and delete option '\(key)' at the same time")
                    }
                    section.remove(key)
                }
                for (key, value) in try optionValues(p, type: type ?? section.type, creating: false) {
                    try section.set(key, value)
                }
                config.set(try canonical(section))
            }
            return .init(["storage": .string(id), "type": .string(type ?? "")])
        }
        registry.register(.delete, "/storage/{storage}", handles: []) { request in
            let id = try request.parameters.require("storage")
            try await request.services.storage.modifyConfiguration { config in
                guard config[id] != nil else { throw VireoError.notFound("storage '\(id)' does not exist") }
                if let user = config.sections.first(where: { $0["base"]?.hasPrefix("\(id):") == true }) {
                    throw VireoError.conflict("storage '\(id)' is used as base of storage '\(user.id)'")
                }
                config.remove(id: id)
            }
            // Its ACL entries and pool memberships go with it.
            try await request.services.access.modifyUsers { users in
                users.acl.removeAll { $0.path == "/storage/\(id)" }
                for pool in users.pools.keys { users.pools[pool]?.storage.removeAll { $0 == id } }
            }
            return .null
        }
    }

    /// A new section from the request, in Proxmox's canonical option order.
    static func makeSection(id: String, type: String, parameters p: Parameters) throws -> SectionConfig.Section {
        guard let schema = StorageTypes.schema(for: type) else {
            throw VireoError.parameter("type", "storage type '\(type)' is not supported by Vireo")
        }
        let values = try optionValues(p, type: type, creating: true)
        for required in schema.required where values[required] == nil {
            throw VireoError.parameter(required, "property is missing and it is not optional")
        }
        let section = try SectionConfig.Section(
            type: type,
            id: id,
            options: values.map { SectionConfig.Option($0.key, $0.value) }
        )
        return try canonical(section)
    }

    /// The options of a request that belong in storage.cfg, checked against the type.
    static func optionValues(_ p: Parameters, type: String, creating: Bool) throws -> [String: String?] {
        guard let schema = StorageTypes.schema(for: type) else { return [:] }
        let ignored: Set<String> = ["storage", "type", "delete", "digest"]
        var values: [String: String?] = [:]
        for (key, value) in p.values where !ignored.contains(key) {
            guard schema.allOptions.contains(key) else {
                throw VireoError.parameter(key, "option '\(key)' is not valid for storage type '\(type)'")
            }
            if !creating, schema.fixed.contains(key) {
                throw VireoError.parameter(key, "option '\(key)' cannot be changed after the storage is created")
            }
            switch key {
            case "content":
                let content = try ContentType.parseList(value)
                guard content.isSubset(of: schema.capabilities.validContent) else {
                    let invalid = content.subtracting(schema.capabilities.validContent).sorted().map(\.rawValue)
                    throw VireoError.parameter(
                        "content",
                        "content type '\(invalid.joined(separator: ","))' is not allowed on '\(type)' storages"
                    )
                }
                values[key] = ContentType.listText(content)
            case "path":
                values[key] = try StoragePathOption.validated(value)
            case "format":
                guard let format = VolumeFormat(rawValue: value), schema.capabilities.formats.contains(format) else {
                    throw VireoError.parameter("format", "format '\(value)' is not supported on '\(type)' storages")
                }
                values[key] = value
            case "disable":
                // Written as a bare flag, as Proxmox does.
                if value == "1" { values[key] = .some(nil) } else if !creating { values[key] = "0" }
            default:
                values[key] = value
            }
        }
        return values
    }

    /// Proxmox's option order: comment, disable, required options sorted, optional options sorted.
    static func canonical(_ section: SectionConfig.Section) throws -> SectionConfig.Section {
        let required = Set(StorageTypes.schema(for: section.type)?.required ?? [])
        func rank(_ option: SectionConfig.Option) -> (Int, String) {
            switch option.key {
            case "comment": (0, "")
            case "disable": (1, "")
            case _ where required.contains(option.key): (2, option.key)
            default: (3, option.key)
            }
        }
        var options = section.options.sorted { rank($0) < rank($1) }
        if let disable = options.firstIndex(where: { $0.key == "disable" }), options[disable].value == "0" {
            options.remove(at: disable)
        }
        return try SectionConfig.Section(type: section.type, id: section.id, options: options)
    }

    // MARK: - Node view

    static func statusJSON(
        _ definition: StorageDefinition,
        _ status: StorageStatus,
        node: String,
        fraction: Bool
    ) -> [String: JSON] {
        var object: [String: JSON] = [
            "storage": .string(definition.id), "type": .string(definition.type),
            "content": .string(ContentType.listText(definition.content)),
            "enabled": .flag(definition.isEnabled(on: node)), "active": .flag(status.active),
            "shared": .flag(definition.shared), "total": .int(status.total), "used": .int(status.used),
            "avail": .int(status.available),
        ]
        if fraction, status.total > 0 { object["used_fraction"] = .double(Double(status.used) / Double(status.total)) }
        if definition.overcommit { object["overcommit"] = 1 }
        return object
    }

    static func registerNodeStorage(in registry: inout APIRegistry) {
        registry.register(.get, "/nodes/{node}/storage", handles: ["content", "enabled", "format", "storage"]) {
            request in
            let node = request.services.node
            let p = request.parameters
            let wanted = try p["content"].map(ContentType.parseList)
            var items: [JSON] = []
            for definition in try await request.services.storage.definitions() where canSee(request, definition.id) {
                if let id = p["storage"], id != definition.id { continue }
                if let wanted, definition.content.isDisjoint(with: wanted) { continue }
                let enabled = definition.isEnabled(on: node)
                if p.bool("enabled", default: false) || wanted != nil, !enabled { continue }
                let status = await request.services.storage.status(of: definition)
                var object = statusJSON(definition, status, node: node, fraction: true)
                if p.bool("format", default: false), let caps = StorageTypes.schema(for: definition.type)?.capabilities
                {
                    object["formats"] = [
                        "supported": .array(caps.formats.map { .string($0.rawValue) }),
                        "default": .string(definition.defaultFormat.rawValue),
                    ]
                }
                items.append(.object(object))
            }
            return .init(.array(items))
        }
        registry.register(.get, "/nodes/{node}/storage/{storage}", handles: []) { request in
            _ = try await request.services.storage.definition(try request.parameters.require("storage"))
            return .init(.array(["content", "status", "upload"].map { ["subdir": .string($0)] }))
        }
        registry.register(.get, "/nodes/{node}/storage/{storage}/status", handles: []) { request in
            let definition = try await request.services.storage.definition(try request.parameters.require("storage"))
            let status = await request.services.storage.status(of: definition)
            return .init(.object(statusJSON(definition, status, node: request.services.node, fraction: false)))
        }
    }
}
