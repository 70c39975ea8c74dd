import Foundation
import VireoCore
import VireoFirewall
import VireoStore

/// IP sets, aliases and options of the datacenter and of guests (and the host's options).
extension FirewallEndpoints {
    // MARK: - IP sets

    static func registerIPSets(
        in registry: inout APIRegistry,
        _ path: String,
        level: @escaping @Sendable (APIRequest) async throws -> FirewallLevel
    ) {
        registry.register(.get, path, handles: .all) { request in
            let file = try await FirewallFiles.load(request, try await level(request))
            return .init(.array(withDigest(ipsetEntries(file))))
        }
        registry.register(.post, path, handles: .all) { request in
            let p = request.parameters
            let name = try p.require("name")
            let comment = try FirewallFiles.comment(request)
            try await FirewallFiles.modify(request, try await level(request)) { file, _ in
                try FirewallFiles.checkDigest(request, ipsetEntries(file))
                if let old = p["rename"] {
                    guard let index = file.ipsets.firstIndex(where: { $0.name.lowercased() == old.lowercased() }) else {
                        throw VireoError.notFound("no such IPSet '\(old)'")
                    }
                    if old.lowercased() != name.lowercased(), file.ipset(named: name) != nil {
                        throw VireoError.parameter("name", "IPSet '\(name)' already exists")
                    }
                    file.ipsets[index].name = name
                    if comment != nil { file.ipsets[index].comment = comment }
                    return
                }
                guard file.ipset(named: name) == nil else {
                    throw VireoError.parameter("name", "IPSet '\(name)' already exists")
                }
                file.ipsets.append(FirewallIPSet(name: name, comment: comment))
            }
            return .null
        }
        registry.register(.get, path + "/{name}", handles: .all) { request in
            let file = try await FirewallFiles.load(request, try await level(request))
            return .init(.array(withDigest(try entryList(file, try request.parameters.require("name")))))
        }
        registry.register(.post, path + "/{name}", handles: .all) { request in
            let p = request.parameters
            let set = try p.require("name")
            let fileLevel = try await level(request)
            let cluster = fileLevel == .cluster ? nil : try await FirewallFiles.load(request, .cluster)
            try await FirewallFiles.modify(request, fileLevel) { file, _ in
                guard let index = file.ipsets.firstIndex(where: { $0.name.lowercased() == set.lowercased() }) else {
                    throw VireoError.notFound("no such IPSet '\(set)'")
                }
                let cidr = try checkEntry(p["cidr"] ?? "", file: file, cluster: cluster)
                guard !file.ipsets[index].entries.contains(where: { $0.cidr == cidr }) else {
                    throw VireoError.parameter("cidr", "address '\(cidr)' already exists in IPSet '\(set)'")
                }
                file.ipsets[index].entries.append(
                    .init(
                        cidr: cidr,
                        nomatch: p.bool("nomatch") ?? false,
                        comment: try FirewallFiles.comment(request)
                    )
                )
            }
            return .null
        }
        registry.register(.delete, path + "/{name}", handles: .all) { request in
            let p = request.parameters
            let set = try p.require("name")
            try await FirewallFiles.modify(request, try await level(request)) { file, _ in
                guard let ipset = file.ipset(named: set) else { throw VireoError.notFound("no such IPSet '\(set)'") }
                guard ipset.entries.isEmpty || p.bool("force") == true else {
                    throw VireoError.conflict("IPSet '\(set)' is not empty")
                }
                file.ipsets.removeAll { $0.name.lowercased() == set.lowercased() }
            }
            return .null
        }
        registry.register(.get, path + "/{name}/{cidr}", handles: .all) { request in
            let file = try await FirewallFiles.load(request, try await level(request))
            let (set, cidr) = (try request.parameters.require("name"), try request.parameters.require("cidr"))
            let entries = try entryList(file, set)
            guard let entry = entries.first(where: { $0["cidr"] == .string(normalized(cidr)) }) else {
                throw VireoError.notFound("no such IP/Network '\(cidr)' in IPSet '\(set)'")
            }
            return .init(.object(entry))
        }
        registry.register(.put, path + "/{name}/{cidr}", handles: .all) { request in
            let comment = try FirewallFiles.comment(request)
            try await changeEntry(request, level: try await level(request)) { entry in
                if request.parameters.has("comment") { entry.comment = comment }
                if let nomatch = request.parameters.bool("nomatch") { entry.nomatch = nomatch }
            }
            return .null
        }
        registry.register(.delete, path + "/{name}/{cidr}", handles: .all) { request in
            try await changeEntry(request, level: try await level(request), nil)
            return .null
        }
    }

    static func ipsetEntries(_ file: FirewallFile) -> [[String: JSON]] {
        file.ipsets.sorted { $0.name.lowercased() < $1.name.lowercased() }.map { ipset in
            var entry: [String: JSON] = ["name": .string(ipset.name)]
            if let comment = ipset.comment { entry["comment"] = .string(comment) }
            return entry
        }
    }

    static func entryList(_ file: FirewallFile, _ name: String) throws -> [[String: JSON]] {
        guard let ipset = file.ipset(named: name) else { throw VireoError.notFound("no such IPSet '\(name)'") }
        return ipset.entries.sorted { $0.cidr < $1.cidr }.map { entry in
            var fields: [String: JSON] = ["cidr": .string(entry.cidr)]
            if entry.nomatch { fields["nomatch"] = .int(1) }
            if let comment = entry.comment { fields["comment"] = .string(comment) }
            return fields
        }
    }

    /// An entry's canonical text: `/32` and `/128` dropped, as Proxmox stores them.
    static func normalized(_ cidr: String) -> String {
        for suffix in ["/32", "/128"] where cidr.hasSuffix(suffix) {
            let address = String(cidr.dropLast(suffix.count))
            if let network = IPNetwork(address), network.isIPv6 == (suffix == "/128") { return address }
        }
        return cidr
    }

    /// An address, a network (not `/0`) or a known alias.
    static func checkEntry(_ cidr: String, file: FirewallFile, cluster: FirewallFile?) throws -> String {
        if let network = IPNetwork(cidr) {
            guard network.prefixLength > 0 else {
                throw VireoError.parameter("cidr", "a /0 network is not allowed in an IPSet")
            }
            return normalized(cidr)
        }
        guard let reference = FirewallReference(cidr) else {
            throw VireoError.parameter("cidr", "value '\(cidr)' is neither an IP address, a network nor an alias")
        }
        let names = FirewallNames(cluster: cluster ?? file, guest: cluster == nil ? nil : file)
        guard names.alias(reference) != nil else { throw VireoError.parameter("cidr", "no such alias '\(cidr)'") }
        return cidr
    }

    /// Changes (or with nil, removes) one entry of an ipset.
    static func changeEntry(
        _ request: APIRequest,
        level: FirewallLevel,
        _ change: (@Sendable (inout FirewallIPSet.Entry) -> Void)?
    ) async throws {
        let p = request.parameters
        let (set, cidr) = (try p.require("name"), normalized(try p.require("cidr")))
        try await FirewallFiles.modify(request, level) { file, _ in
            guard let index = file.ipsets.firstIndex(where: { $0.name.lowercased() == set.lowercased() }) else {
                throw VireoError.notFound("no such IPSet '\(set)'")
            }
            try FirewallFiles.checkDigest(request, try entryList(file, set))
            guard let entry = file.ipsets[index].entries.firstIndex(where: { $0.cidr == cidr }) else {
                throw VireoError.notFound("no such IP/Network '\(cidr)' in IPSet '\(set)'")
            }
            if let change {
                change(&file.ipsets[index].entries[entry])
            } else {
                file.ipsets[index].entries.remove(at: entry)
            }
        }
    }

    static func withDigest(_ entries: [[String: JSON]]) -> [JSON] {
        let digest = FirewallFiles.listDigest(entries)
        return entries.map { entry in
            var entry = entry
            entry["digest"] = .string(digest)
            return .object(entry)
        }
    }

    // MARK: - Aliases

    static func registerAliases(
        in registry: inout APIRegistry,
        _ path: String,
        level: @escaping @Sendable (APIRequest) async throws -> FirewallLevel
    ) {
        registry.register(.get, path, handles: .all) { request in
            let file = try await FirewallFiles.load(request, try await level(request))
            return .init(.array(withDigest(aliasEntries(file))))
        }
        registry.register(.post, path, handles: .all) { request in
            let p = request.parameters
            let name = try p.require("name").lowercased()
            let cidr = try aliasAddress(try p.require("cidr"))
            try await FirewallFiles.modify(request, try await level(request)) { file, _ in
                guard file.alias(named: name) == nil else {
                    throw VireoError.parameter("name", "alias '\(name)' already exists")
                }
                file.aliases.append(
                    FirewallAlias(name: name, cidr: cidr, comment: try FirewallFiles.comment(request))
                )
            }
            return .null
        }
        registry.register(.get, path + "/{name}", handles: .all) { request in
            let file = try await FirewallFiles.load(request, try await level(request))
            let name = try request.parameters.require("name").lowercased()
            guard let entry = aliasEntries(file).first(where: { $0["name"] == .string(name) }) else {
                throw VireoError.notFound("no such alias '\(name)'")
            }
            return .init(.object(entry))
        }
        registry.register(.put, path + "/{name}", handles: .all) { request in
            let p = request.parameters
            let name = try p.require("name").lowercased()
            let cidr = try p["cidr"].map(aliasAddress)
            let comment = try FirewallFiles.comment(request)
            try await FirewallFiles.modify(request, try await level(request)) { file, _ in
                try FirewallFiles.checkDigest(request, aliasEntries(file))
                guard let index = file.aliases.firstIndex(where: { $0.name.lowercased() == name }) else {
                    throw VireoError.notFound("no such alias '\(name)'")
                }
                if let rename = p["rename"]?.lowercased(), rename != name {
                    guard file.alias(named: rename) == nil else {
                        throw VireoError.parameter("rename", "alias '\(rename)' already exists")
                    }
                    file.aliases[index].name = rename
                }
                if let cidr { file.aliases[index].cidr = cidr }
                if p.has("comment") { file.aliases[index].comment = comment }
            }
            return .null
        }
        registry.register(.delete, path + "/{name}", handles: .all) { request in
            let name = try request.parameters.require("name").lowercased()
            try await FirewallFiles.modify(request, try await level(request)) { file, _ in
                try FirewallFiles.checkDigest(request, aliasEntries(file))
                guard file.alias(named: name) != nil else { throw VireoError.notFound("no such alias '\(name)'") }
                file.aliases.removeAll { $0.name.lowercased() == name }
            }
            return .null
        }
    }

    static func aliasEntries(_ file: FirewallFile) -> [[String: JSON]] {
        file.aliases.sorted { $0.name.lowercased() < $1.name.lowercased() }.map { alias in
            var entry: [String: JSON] = ["name": .string(alias.name), "cidr": .string(alias.cidr)]
            if let comment = alias.comment { entry["comment"] = .string(comment) }
            return entry
        }
    }

    /// An alias is one address or network (no range, no list).
    static func aliasAddress(_ text: String) throws -> String {
        guard IPNetwork(text) != nil else {
            throw VireoError.parameter("cidr", "value '\(text)' is not an IP address or network")
        }
        return normalized(text)
    }

    // MARK: - Options

    static func registerOptions(
        in registry: inout APIRegistry,
        _ path: String,
        level: @escaping @Sendable (APIRequest) async throws -> FirewallLevel
    ) {
        registry.register(.get, path, handles: .all) { request in
            let stored = try await FirewallFiles.stored(request, try await level(request))
            let file = FirewallFile(parsing: stored?.content ?? "", level: try await level(request))
            var fields: [String: JSON] = [:]
            for (key, value) in file.options {
                fields[key] = Int(value).map { .int($0) } ?? .string(value)
            }
            fields["digest"] = .string(stored?.digest ?? ConfigDigest.sha1Hex(""))
            return .init(.object(fields))
        }
        registry.register(.put, path, handles: .all) { request in
            let p = request.parameters
            let edits = try OptionEdits(p, settable: OptionEdits.settable(path, captures: ["node", "vmid"]))
            let deletions = edits.deletions
            var values = edits.values
            for (key, value) in values {
                if let problem = FirewallOptionCheck.problem(key, value) { throw VireoError.parameter(key, problem) }
            }
            let fileLevel = try await level(request)
            if fileLevel == .cluster, let enable = values["enable"].flatMap(Int.init), enable > 1 {
                // Anti-lockout: a timestamp that turns the firewall off again after 60 s.
                values["enable"] = String(Int(Date().timeIntervalSince1970))
            }
            try await FirewallFiles.modify(request, fileLevel) { file, stored in
                if let digest = p["digest"], !digest.isEmpty,
                    digest.lowercased() != (stored?.digest ?? ConfigDigest.sha1Hex(""))
                {
                    throw VireoError.modifiedConfiguration
                }
                for key in deletions { file.options[key] = nil }
                for (key, value) in values { file.options[key] = value }
            }
            return .null
        }
    }
}
