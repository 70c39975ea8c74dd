import Foundation
import VireoAccess
import VireoCore
import VireoStore

extension AccessEndpoints {
    // MARK: - Groups

    static func registerGroups(in registry: inout APIRegistry) {
        registry.register(.get, "/access/groups", handles: []) { request in
            let snapshot = request.access
            let privileges = ["User.Modify", "Sys.Audit", "Group.Allocate"]
            let groups = snapshot.config.groups.values.filter {
                snapshot.permissions.check(
                    request.identity.authID,
                    path: "/access/groups/\($0.groupid)",
                    privileges: privileges,
                    any: true
                )
            }
            return .init(
                .array(
                    groups.sorted { $0.groupid < $1.groupid }.map { group in
                        var object: [String: JSON] = [
                            "groupid": .string(group.groupid),
                            "users": .string(group.members.sorted().joined(separator: ",")),
                        ]
                        if !group.comment.isEmpty { object["comment"] = .string(group.comment) }
                        return .object(object)
                    }
                )
            )
        }
        registry.register(.post, "/access/groups", handles: ["comment", "groupid"]) { request in
            let groupid = try request.parameters.require("groupid")
            let comment = request.parameters["comment"]
            try await request.services.access.modifyUsers { config in
                guard config.groups[groupid] == nil else {
                    throw VireoError.conflict("group '\(groupid)' already exists")
                }
                var group = UserConfig.Group(groupid: groupid)
                group.comment = comment ?? ""
                config.groups[groupid] = group
            }
            return .null
        }
        registry.register(.get, "/access/groups/{groupid}", handles: []) { request in
            let groupid = try request.parameters.require("groupid")
            guard let group = request.access.config.groups[groupid] else {
                throw VireoError.notFound("group '\(groupid)' does not exist")
            }
            var object: [String: JSON] = ["members": .array(group.members.sorted().map { .string($0) })]
            if !group.comment.isEmpty { object["comment"] = .string(group.comment) }
            return .init(.object(object))
        }
        registry.register(.put, "/access/groups/{groupid}", handles: ["comment"]) { request in
            let groupid = try request.parameters.require("groupid")
            let comment = request.parameters["comment"]
            try await request.services.access.modifyUsers { config in
                guard config.groups[groupid] != nil else {
                    throw VireoError.notFound("group '\(groupid)' does not exist")
                }
                if let comment { config.groups[groupid]?.comment = comment }
            }
            return .null
        }
        registry.register(.delete, "/access/groups/{groupid}", handles: []) { request in
            let groupid = try request.parameters.require("groupid")
            try await request.services.access.modifyUsers { config in
                guard config.groups.removeValue(forKey: groupid) != nil else {
                    throw VireoError.notFound("group '\(groupid)' does not exist")
                }
                config.acl.removeAll { $0.subject == .group(groupid) }
            }
            return .null
        }
    }

    // MARK: - Roles

    static func registerRoles(in registry: inout APIRegistry) {
        registry.register(.get, "/access/roles", handles: []) { request in
            var all = BuiltinRole.roles.map { ($0.key, $0.value, true) }
            all += request.access.config.roles.filter { !BuiltinRole.isBuiltin($0.key) }.map {
                ($0.key, $0.value, false)
            }
            return .init(
                .array(
                    all.sorted { $0.0 < $1.0 }.map { name, privs, special in
                        var object: [String: JSON] = [
                            "roleid": .string(name), "privs": .string(privs.sorted().joined(separator: ",")),
                        ]
                        if special { object["special"] = 1 }
                        return .object(object)
                    }
                )
            )
        }
        registry.register(.get, "/access/roles/{roleid}", handles: []) { request in
            let roleid = try request.parameters.require("roleid")
            guard let privs = request.access.config.role(roleid) else {
                throw VireoError.notFound("role '\(roleid)' does not exist")
            }
            return .init(.object(Dictionary(uniqueKeysWithValues: privs.map { ($0, JSON.int(1)) })))
        }
        registry.register(.post, "/access/roles", handles: ["privs", "roleid"]) { request in
            let roleid = try request.parameters.require("roleid")
            if roleid.lowercased().hasPrefix("pve") || BuiltinRole.isBuiltin(roleid) {
                throw VireoError.parameter("roleid", "cannot use reserved role name '\(roleid)'")
            }
            let privs = try validatedPrivileges(request.parameters)
            try await request.services.access.modifyUsers { config in
                guard config.roles[roleid] == nil else { throw VireoError.conflict("role '\(roleid)' already exists") }
                config.roles[roleid] = Set(privs)
            }
            return .null
        }
        registry.register(.put, "/access/roles/{roleid}", handles: ["privs", "append"]) { request in
            let roleid = try request.parameters.require("roleid")
            if BuiltinRole.isBuiltin(roleid) { throw VireoError.invalid("cannot modify built-in role '\(roleid)'") }
            let privs = try validatedPrivileges(request.parameters)
            let append = request.parameters.bool("append", default: false)
            try await request.services.access.modifyUsers { config in
                guard let existing = config.roles[roleid] else {
                    throw VireoError.notFound("role '\(roleid)' does not exist")
                }
                config.roles[roleid] = append ? existing.union(privs) : Set(privs)
            }
            return .null
        }
        registry.register(.delete, "/access/roles/{roleid}", handles: []) { request in
            let roleid = try request.parameters.require("roleid")
            if BuiltinRole.isBuiltin(roleid) { throw VireoError.invalid("cannot delete built-in role '\(roleid)'") }
            try await request.services.access.modifyUsers { config in
                guard config.roles.removeValue(forKey: roleid) != nil else {
                    throw VireoError.notFound("role '\(roleid)' does not exist")
                }
                config.acl.removeAll { $0.role == roleid }
            }
            return .null
        }
    }

    static func validatedPrivileges(_ p: Parameters) throws -> [String] {
        let privs = p.list("privs")
        for priv in privs where !Privilege.isKnown(priv) {
            throw VireoError.parameter("privs", "invalid privilege name '\(priv)'")
        }
        return privs
    }

    // MARK: - ACL

    static func registerACL(in registry: inout APIRegistry) {
        registry.register(.get, "/access/acl", handles: []) { request in
            let snapshot = request.access
            let caller = request.identity.authID
            let auditor = snapshot.permissions.check(caller, path: "/access", privileges: ["Sys.Audit"])
            let entries = snapshot.config.acl.filter {
                auditor || snapshot.evaluator.canModifyPermissions(caller, path: $0.path)
            }
            return .init(
                .array(
                    entries.sorted { ($0.path, $0.subject.ugid, $0.role) < ($1.path, $1.subject.ugid, $1.role) }.map {
                        [
                            "path": .string($0.path), "type": .string($0.subject.typeName),
                            "ugid": .string($0.subject.ugid),
                            "roleid": .string($0.role), "propagate": .flag($0.propagate),
                        ]
                    }
                )
            )
        }
        registry.register(
            .put,
            "/access/acl",
            handles: ["delete", "groups", "path", "propagate", "roles", "tokens", "users"]
        ) { request in
            let p = request.parameters
            let rawPath = try p.require("path")
            let remove = p.bool("delete", default: false)
            // Proxmox checks the grammar only when adding: an odd path already in user.cfg can be removed.
            guard let path = ACLPath.normalized(rawPath), remove || ACLPath.isValidTarget(path) else {
                throw VireoError.parameter("path", "invalid ACL path '\(rawPath)'")
            }
            let roles = p.list("roles")
            let users = p.list("users")
            let groups = p.list("groups")
            let tokens = p.list("tokens")
            guard !(users.isEmpty && groups.isEmpty && tokens.isEmpty) else {
                throw VireoError.parameter("_root", "either 'users', 'groups' or 'tokens' is required")
            }
            let propagate = p.bool("propagate", default: true)
            let caller = request.identity.authID
            let snapshot = request.access
            // Without Permissions.Modify, only roles whose privileges the caller holds may be granted.
            if !remove, !snapshot.permissions.check(caller, path: path, privileges: ["Permissions.Modify"]) {
                let held = snapshot.permissions.privileges(of: caller, on: path)
                for role in roles {
                    let privs = snapshot.config.role(role) ?? []
                    let ok =
                        role != "NoAccess" && privs.allSatisfy { held[$0] != nil && (!propagate || held[$0] == true) }
                    if !ok { throw VireoError(.permissionDenied, "Permission check failed (\(path), \(role))") }
                }
            }
            try await request.services.access.modifyUsers { config in
                for role in roles where config.role(role) == nil {
                    throw VireoError.parameter("roles", "role '\(role)' does not exist")
                }
                var subjects: [UserConfig.Subject] = []
                for user in users {
                    guard config.users[user] != nil else {
                        throw VireoError.parameter("users", "user '\(user)' does not exist")
                    }
                    subjects.append(.user(user))
                }
                for group in groups {
                    guard config.groups[group] != nil else {
                        throw VireoError.parameter("groups", "group '\(group)' does not exist")
                    }
                    subjects.append(.group(group))
                }
                for token in tokens {
                    guard config.tokenExists(token) else {
                        throw VireoError.parameter("tokens", "token '\(token)' does not exist")
                    }
                    subjects.append(.token(token))
                }
                for subject in subjects {
                    for role in roles {
                        config.acl.removeAll { $0.path == path && $0.subject == subject && $0.role == role }
                        if !remove {
                            config.acl.append(.init(path: path, subject: subject, role: role, propagate: propagate))
                        }
                    }
                }
            }
            return .null
        }
    }
}
