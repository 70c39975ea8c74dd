import Foundation
import VireoAccess
import VireoCore
import VireoStore

extension AccessEndpoints {
    // MARK: - Realms

    static func registerDomains(in registry: inout APIRegistry) {
        registry.register(.get, "/access/domains", handles: []) { request in
            let snapshot = try await request.services.access.snapshot()
            return .init(
                .array(
                    snapshot.domains.sections.map { section in
                        var object: [String: JSON] = ["realm": .string(section.id), "type": .string(section.type)]
                        if let comment = section["comment"] { object["comment"] = .string(comment) }
                        if section["default"] == "1" { object["default"] = 1 }
                        if let tfa = section["tfa"] { object["tfa"] = .string(tfa) }
                        return .object(object)
                    }
                )
            )
        }
        registry.register(.get, "/access/domains/{realm}", handles: []) { request in
            let realm = try request.parameters.require("realm")
            let file = try await request.services.store.read(AccessControl.domainsPath)
            let config = try SectionConfig(parsing: file?.content ?? "")
            guard let section = config[realm] else { throw VireoError.notFound("domain '\(realm)' does not exist") }
            var object: [String: JSON] = ["type": .string(section.type), "digest": .string(file?.digest ?? "")]
            for option in section.options { object[option.key] = .string(option.value ?? "1") }
            return .init(.object(object))
        }
        registry.register(.post, "/access/domains", handles: .all) { request in
            let p = request.parameters
            let realm = try p.require("realm")
            let type = try p.require("type")
            guard type != "pam", type != "pve" else {
                throw VireoError.parameter("type", "cannot create a realm of type '\(type)'")
            }
            // LDAP, AD and OpenID realms are not implemented yet: say so about the parameter.
            throw VireoError.parameter(
                "type",
                "realm type '\(type)' is not supported by Vireo yet (realm '\(realm)' not created)"
            )
        }
        registry.register(
            .put,
            "/access/domains/{realm}",
            handles: ["case-sensitive", "comment", "default", "delete", "digest", "tfa"]
        ) { request in
            let p = request.parameters
            let realm = try p.require("realm")
            let settable = ["comment", "default", "tfa", "case-sensitive"]
            for name in p.values.keys where !["realm", "digest", "delete"].contains(name) && !settable.contains(name) {
                throw VireoError.parameter(name, "option '\(name)' is not supported for realm '\(realm)'")
            }
            let deletions = p.list("delete")
            let makeDefault = p.bool("default") == true
            try await request.services.access.modifyDomains(digest: p["digest"]) { config in
                guard var section = config[realm] else { throw VireoError.notFound("domain '\(realm)' does not exist") }
                for key in deletions { section.remove(key) }
                for key in settable { if let value = p[key] { try section.set(key, value) } }
                if makeDefault {
                    for var other in config.sections where other.id != realm && other.contains("default") {
                        other.remove("default")
                        config.set(other)
                    }
                }
                config.set(section)
            }
            return .null
        }
        registry.register(.delete, "/access/domains/{realm}", handles: []) { request in
            let realm = try request.parameters.require("realm")
            try await request.services.access.modifyDomains { config in
                guard let section = config[realm] else { throw VireoError.notFound("domain '\(realm)' does not exist") }
                guard section.type != "pam", section.type != "pve" else {
                    throw VireoError.invalid("cannot remove the built-in realm '\(realm)'")
                }
                config.remove(id: realm)
            }
            return .null
        }
    }

    // MARK: - Permissions

    static func registerPermissions(in registry: inout APIRegistry) {
        registry.register(.get, "/access/permissions", handles: ["path", "userid"]) { request in
            let snapshot = request.access
            let caller = request.identity
            let target = request.parameters["userid"] ?? caller.authID
            let ownToken = target.hasPrefix(caller.userID + "!")
            if target != caller.authID, !ownToken,
                !snapshot.permissions.check(caller.authID, path: "/access", privileges: ["Sys.Audit"])
            {
                throw VireoError(.permissionDenied, "Permission check failed (/access, Sys.Audit)")
            }
            var paths: Set<String> = ["/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"]
            if let path = request.parameters["path"] {
                paths = [ACLPath.normalize(path)]
            } else {
                for entry in snapshot.config.acl { paths.insert(entry.path) }
                for pool in snapshot.config.pools.values {
                    for vmid in pool.vms { paths.insert("/vms/\(vmid)") }
                    for storage in pool.storage { paths.insert("/storage/\(storage)") }
                }
            }
            var result: [String: JSON] = [:]
            for path in paths {
                let privileges = snapshot.permissions.privileges(of: target, on: path)
                if privileges.isEmpty && request.parameters["path"] == nil { continue }
                result[path] = .object(privileges.mapValues { .flag($0) })
            }
            return .init(.object(result))
        }
    }

    // MARK: - Two-factor (read side)

    /// Vireo has no second factors yet: the queries answer "none configured", so clients and
    /// dashboards that list TFA work; creating one is not implemented (501).
    static func registerTFAQueries(in registry: inout APIRegistry) {
        registry.register(.get, "/access/tfa", handles: []) { _ in .init([]) }
        registry.register(.get, "/access/tfa/{userid}", handles: []) { request in
            let userid = try request.parameters.require("userid")
            guard request.access.config.users[userid] != nil else { throw userNotFound(userid) }
            return .init([])
        }
        registry.register(.get, "/access/tfa/{userid}/{id}", handles: []) { request in
            let id = try request.parameters.require("id")
            throw VireoError.notFound("no such tfa entry '\(id)'")
        }
        registry.register(.get, "/access/users/{userid}/tfa", handles: ["multiple"]) { request in
            let userid = try request.parameters.require("userid")
            guard request.access.config.users[userid] != nil else { throw userNotFound(userid) }
            return .init([:])
        }
    }
}
