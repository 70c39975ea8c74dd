import Foundation
import VireoAccess
import VireoCore
import VireoHost
import VireoStore

/// `/cluster/mapping/{pci,usb,dir}`: cluster-wide names for host devices and directories, so a
/// VM config can say `mapping=gpu` instead of a node's PCI address. Stored as Proxmox does, in
/// `mapping/<type>.cfg`: an ID line, then tab-indented `description`, `map` (one per node) and
/// flags.
enum DeviceMappingFile {
    struct Entry: Sendable, Equatable {
        var id: String
        var description: String?
        var maps: [String]
        var flags: [String: String]
    }

    static func parse(_ text: String) throws -> [Entry] {
        var entries: [Entry] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if line.first == "\t" || line.first == " " {
                guard !entries.isEmpty else {
                    throw VireoError.invalid("mapping line \(number + 1): option before an ID")
                }
                let body = line.trimmingCharacters(in: .whitespaces)
                let key = String(body.prefix { !$0.isWhitespace })
                let value = body.dropFirst(key.count).trimmingCharacters(in: .whitespaces)
                switch key {
                case "map": entries[entries.count - 1].maps.append(value)
                case "description": entries[entries.count - 1].description = PercentEncoding.decode(value)
                default: entries[entries.count - 1].flags[key] = value
                }
            } else {
                entries.append(Entry(id: line.trimmingCharacters(in: .whitespaces), maps: [], flags: [:]))
            }
        }
        return entries
    }

    static func render(_ entries: [Entry]) -> String {
        entries.map { entry in
            var lines = [entry.id]
            if let description = entry.description {
                lines.append("\tdescription \(PercentEncoding.encode(description))")
            }
            lines += entry.maps.map { "\tmap \($0)" }
            lines += entry.flags.sorted { $0.key < $1.key }.map { "\t\($0.key) \($0.value)" }
            return lines.joined(separator: "\n") + "\n"
        }.joined(separator: "\n")
    }
}

extension ClusterEndpoints {
    enum MappingType: String, CaseIterable {
        case pci, usb, dir

        var flags: [String] { self == .pci ? ["mdev", "live-migration-capable"] : [] }
        var mapKeys: Set<String> {
            switch self {
            case .pci: ["node", "path", "id", "subsystem-id", "iommugroup", "description"]
            case .usb: ["node", "path", "id", "description"]
            case .dir: ["node", "path", "description"]
            }
        }
        var path: String { "mapping/\(rawValue).cfg" }
    }

    static func registerMappings(in registry: inout APIRegistry) {
        registry.registerIndex("/cluster/mapping")
        for type in MappingType.allCases { registerMapping(type, in: &registry) }
    }

    static func mappingEntries(
        _ request: APIRequest,
        _ type: MappingType
    ) async throws -> ([DeviceMappingFile.Entry], String) {
        let file = try await request.services.store.read(type.path)
        return (try DeviceMappingFile.parse(file?.content ?? ""), file?.digest ?? ConfigDigest.sha1Hex(""))
    }

    static func mappingJSON(_ entry: DeviceMappingFile.Entry, _ type: MappingType) -> [String: JSON] {
        var fields: [String: JSON] = ["id": .string(entry.id), "map": .array(entry.maps.map { .string($0) })]
        if let description = entry.description { fields["description"] = .string(description) }
        for (key, value) in entry.flags { fields[key] = .flag(value == "1") }
        return fields
    }

    static func registerMapping(_ type: MappingType, in registry: inout APIRegistry) {
        let base = "/cluster/mapping/\(type.rawValue)"
        registry.register(.get, base, handles: ["check-node"]) { request in
            let (entries, _) = try await mappingEntries(request, type)
            let checkNode = request.parameters["check-node"]
            var items: [JSON] = []
            for entry in entries
            where request.access.permissions.check(
                request.identity.authID,
                path: "/mapping/\(type.rawValue)/\(entry.id)",
                privileges: ["Mapping.Audit", "Mapping.Use", "Mapping.Modify"],
                any: true
            ) {
                var fields = mappingJSON(entry, type)
                if let checkNode {
                    let problems = mappingProblems(entry, type, node: checkNode, request: request)
                    if type == .usb {
                        if let first = problems.first { fields["error"] = .string(first) }
                    } else {
                        fields["checks"] = .array(problems.map { ["severity": "error", "message": .string($0)] })
                    }
                }
                items.append(.object(fields))
            }
            return .init(.array(items))
        }
        registry.register(.get, base + "/{id}", handles: []) { request in
            let id = try request.parameters.require("id")
            let (entries, digest) = try await mappingEntries(request, type)
            guard let entry = entries.first(where: { $0.id == id }) else {
                throw VireoError.notFound("\(type.rawValue) mapping '\(id)' does not exist")
            }
            var fields = mappingJSON(entry, type)
            fields["digest"] = .string(digest)
            return .init(.object(fields))
        }
        registry.register(.post, base, handles: .all) { request in
            let p = request.parameters
            let id = try p.require("id")
            let maps = try mapEntries(p, type)
            try await request.services.store.update(type.path) { text in
                var entries = try DeviceMappingFile.parse(text ?? "")
                guard !entries.contains(where: { $0.id == id }) else {
                    throw VireoError.conflict("\(type.rawValue) mapping '\(id)' already exists")
                }
                var entry = DeviceMappingFile.Entry(id: id, description: p["description"], maps: maps, flags: [:])
                for flag in type.flags where p.bool(flag, default: false) { entry.flags[flag] = "1" }
                entries.append(entry)
                return DeviceMappingFile.render(entries)
            }
            return .null
        }
        registry.register(.put, base + "/{id}", handles: .all) { request in
            let p = request.parameters
            let id = try p.require("id")
            let deletions = p.list("delete")
            for key in deletions where !(["description"] + type.flags).contains(key) {
                throw VireoError.parameter("delete", "cannot delete '\(key)'")
            }
            let maps = p.has("map") ? try mapEntries(p, type) : nil
            try await request.services.store.update(type.path, digest: p["digest"]) { text in
                var entries = try DeviceMappingFile.parse(text ?? "")
                guard let index = entries.firstIndex(where: { $0.id == id }) else {
                    throw VireoError.notFound("\(type.rawValue) mapping '\(id)' does not exist")
                }
                for key in deletions {
                    if key == "description" {
                        entries[index].description = nil
                    } else {
                        entries[index].flags[key] = nil
                    }
                }
                if let description = p["description"] { entries[index].description = description }
                if let maps { entries[index].maps = maps }
                for flag in type.flags where p.has(flag) {
                    entries[index].flags[flag] = p.bool(flag, default: false) ? "1" : nil
                }
                return DeviceMappingFile.render(entries)
            }
            return .null
        }
        registry.register(.delete, base + "/{id}", handles: []) { request in
            let id = try request.parameters.require("id")
            try await request.services.store.update(type.path) { text in
                var entries = try DeviceMappingFile.parse(text ?? "")
                guard entries.contains(where: { $0.id == id }) else {
                    throw VireoError.notFound("\(type.rawValue) mapping '\(id)' does not exist")
                }
                entries.removeAll { $0.id == id }
                return DeviceMappingFile.render(entries)
            }
            return .null
        }
    }

    /// The `map` items, each a property string with this type's keys and a node.
    static func mapEntries(_ p: Parameters, _ type: MappingType) throws -> [String] {
        let items = p.list("map")
        guard !items.isEmpty else { throw VireoError.parameter("map", "at least one map entry is required") }
        var nodes: Set<String> = []
        for item in items {
            guard !item.contains(where: { $0.isNewline }) else { throw VireoError.parameter("map", "must be one line") }
            let property: PropertyString
            do { property = try PropertyString(parsing: item) } catch {
                throw VireoError.parameter("map", "invalid map entry '\(item)'")
            }
            for key in property.keys where !type.mapKeys.contains(key) {
                throw VireoError.parameter("map", "unknown property '\(key)' in '\(item)'")
            }
            guard let node = property["node"], (try? NodeName(validating: node)) != nil else {
                throw VireoError.parameter("map", "map entry '\(item)' needs a valid node")
            }
            guard nodes.insert(node).inserted else {
                throw VireoError.parameter("map", "node '\(node)' is mapped more than once")
            }
            switch type {
            case .pci:
                guard let path = property["path"], path.split(separator: ";").allSatisfy({ isPCIAddress(String($0)) })
                else {
                    throw VireoError.parameter("map", "map entry '\(item)' needs a PCI path like 0000:01:00.0")
                }
                guard let id = property["id"], isDeviceID(id) else {
                    throw VireoError.parameter("map", "map entry '\(item)' needs an id like 10de:1b80")
                }
            case .usb:
                guard property["id"].map(isDeviceID) ?? (property["path"] != nil) else {
                    throw VireoError.parameter("map", "map entry '\(item)' needs a USB id like 046d:c52b or a path")
                }
            case .dir:
                guard let path = property["path"], path.hasPrefix("/"), !path.split(separator: "/").contains("..")
                else {
                    throw VireoError.parameter("map", "map entry '\(item)' needs an absolute path")
                }
            }
        }
        return items
    }

    static func isPCIAddress(_ text: String) -> Bool {
        text.range(of: #"^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(\.[0-7])?$"#, options: .regularExpression)
            != nil
    }

    static func isDeviceID(_ text: String) -> Bool {
        text.range(of: #"^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$"#, options: .regularExpression) != nil
    }

    /// What does not match this node's hardware (checked only for this node).
    static func mappingProblems(
        _ entry: DeviceMappingFile.Entry,
        _ type: MappingType,
        node: String,
        request: APIRequest
    )
        -> [String]
    {
        guard let map = entry.maps.compactMap({ try? PropertyString(parsing: $0) }).first(where: { $0["node"] == node })
        else { return ["no mapping for node '\(node)'"] }
        guard node == request.services.node else { return [] }
        switch type {
        case .pci:
            let devices = request.services.host.pciDevices(hiddenClasses: [])
            var problems: [String] = []
            for path in (map["path"] ?? "").split(separator: ";").map(String.init) {
                let full = path.filter { $0 == ":" }.count == 1 ? "0000:" + path : path
                guard let device = devices.first(where: { $0.id == full || $0.id.hasPrefix(full + ".") }) else {
                    problems.append("PCI device '\(path)' does not exist on node '\(node)'")
                    continue
                }
                let id = "\(device.vendor.dropFirst(2)):\(device.device.dropFirst(2))"
                if let expected = map["id"], expected.lowercased() != id {
                    problems.append("PCI device '\(path)' has id \(id), the mapping expects \(expected)")
                }
            }
            return problems
        case .usb:
            guard let id = map["id"] else { return [] }
            let found = request.services.host.usbDevices().contains {
                "\($0.vendorID):\($0.productID)" == id.lowercased()
            }
            return found ? [] : ["USB device '\(id)' is not connected to node '\(node)'"]
        case .dir:
            var isDirectory: ObjCBool = false
            let path = map["path"] ?? ""
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
                ? [] : ["directory '\(path)' does not exist on node '\(node)'"]
        }
    }
}
