import VireoAccess
import VireoCore
import VireoStore
import Foundation

/// `/access`: login, users, groups, roles, ACLs, realms, tokens, permissions, password.
enum AccessEndpoints {
    static func register(in registry: inout APIRegistry) {
        registry.registerIndex("/access")
        registerTicket(in: &registry)
        registerUsers(in: &registry)
        registerTokens(in: &registry)
        registerGroups(in: &registry)
        registerRoles(in: &registry)
        registerACL(in: &registry)
        registerDomains(in: &registry)
        registerPermissions(in: &registry)
        registerTFAQueries(in: &registry)
    }

    // MARK: - Two-factor (read side)

    /// Vireo has no second factors yet: the queries answer "none configured", so clients and
    /// dashboards that list TFA work; creating one is not implemented (501).
    static func registerTFAQueries(in registry: inout APIRegistry) {
        registry.register(.get, "/access/tfa") { _ in .init([]) }
        registry.register(.get, "/access/tfa/{userid}") { request in
            let userid = try request.parameters.require("userid")
            guard request.access.config.users[userid] != nil else { throw userNotFound(userid) }
            return .init([])
        }
        registry.register(.get, "/access/tfa/{userid}/{id}") { request in
            let id = try request.parameters.require("id")
            throw VireoError.notFound("no such tfa entry '\(id)'")
        }
        registry.register(.get, "/access/users/{userid}/tfa") { request in
            let userid = try request.parameters.require("userid")
            guard request.access.config.users[userid] != nil else { throw userNotFound(userid) }
            return .init([:])
        }
    }

    // MARK: - Ticket

    static func registerTicket(in registry: inout APIRegistry) {
        registry.register(.get, "/access/ticket") { _ in .null }
        registry.register(.post, "/access/ticket") { request in
            let p = request.parameters
            var username = try p.require("username")
            if !username.contains("@"), let realm = p["realm"] { username += "@" + realm }
            let access = request.services.access
            let userid = try await access.authenticate(username: username, password: try p.require("password"))
            let snapshot = try await access.snapshot()
            if let path = p["path"], let privs = p["privs"] {
                // Verify-only: credentials and privileges, no ticket.
                let wanted = privs.split(separator: ",").map(String.init)
                guard snapshot.permissions.check(userid, path: path, privileges: wanted) else {
                    throw VireoError(.permissionDenied, "Permission check failed (\(path), \(privs))")
                }
                return .init(["username": .string(userid), "cap": capabilities(of: userid, snapshot)])
            }
            return .init([
                "username": .string(userid),
                "ticket": .string(try access.tickets.issueTicket(for: userid)),
                "CSRFPreventionToken": .string(access.tickets.csrfToken(for: userid)),
                "cap": capabilities(of: userid, snapshot),
            ])
        }
        registry.register(.put, "/access/password") { request in
            let userid = try request.parameters.require("userid")
            let password = try request.parameters.require("password")
            let identity = request.identity
            if userid == "root@pam", !identity.isRoot {
                throw VireoError(.permissionDenied, "Permission check failed (only root may change root's password)")
            }
            if !identity.isRoot, identity.userID == userid {
                let confirmation = request.parameters["confirmation-password"] ?? ""
                _ = try await request.services.access.authenticate(username: userid, password: confirmation)
            }
            guard let user = request.access.config.users[userid] else { throw userNotFound(userid) }
            guard request.access.domains[user.realm]?.type == "pve" else {
                throw VireoError.invalid("changing the password of a '\(user.realm)' realm user is not supported")
            }
            try await request.services.access.setPVEPassword(userid: userid, password: password)
            return .null
        }
    }

    /// `cap` of the login answer: the caller's privileges grouped as the GUI expects.
    static func capabilities(of userid: String, _ snapshot: AccessSnapshot) -> JSON {
        var paths: Set<String> = ["/", "/nodes", "/access/groups", "/vms", "/storage", "/sdn", "/mapping"]
        for entry in snapshot.config.acl { paths.insert(entry.path) }
        let categories: [(String, [String])] = [
            ("vms", ["VM."]), ("storage", ["Datastore."]), ("access", ["User.", "Group.", "Realm."]),
            ("nodes", ["Sys."]), ("sdn", ["SDN."]), ("mapping", ["Mapping."]),
        ]
        var cap: [String: [String: JSON]] = [:]
        for (name, _) in categories { cap[name] = [:] }
        cap["dc"] = [:]
        for path in paths {
            let privileges = snapshot.permissions.privileges(of: userid, on: path)
            for privilege in privileges.keys {
                for (name, prefixes) in categories
                where prefixes.contains(where: privilege.hasPrefix) || privilege == "Permissions.Modify" {
                    cap[name]?[privilege] = 1
                }
                if path == "/", privilege == "Sys.Audit" || privilege == "Sys.Modify" || privilege.hasPrefix("SDN.") {
                    cap["dc"]?[privilege] = 1
                }
            }
        }
        return .object(cap.mapValues { .object($0) })
    }

    // MARK: - Users

    static func userNotFound(_ userid: String) -> VireoError { .notFound("user '\(userid)' does not exist") }

    static func userJSON(_ user: UserConfig.User, config: UserConfig, full: Bool, groupsAsArray: Bool, realmType: String?) -> JSON {
        var object: [String: JSON] = [
            "userid": .string(user.userid), "enable": .flag(user.enable), "expire": .int(user.expire),
        ]
        for (key, value) in [
            ("firstname", user.firstname), ("lastname", user.lastname), ("email", user.email),
            ("comment", user.comment), ("keys", user.keys),
        ] where !value.isEmpty {
            object[key] = .string(value)
        }
        if let realmType { object["realm-type"] = .string(realmType) }
        let groups = config.groups(of: user.userid)
        if groupsAsArray {
            object["groups"] = .array(groups.map { .string($0) })
            object["tokens"] = .object(
                Dictionary(uniqueKeysWithValues: user.tokens.values.map { ($0.name, tokenJSON($0)) }))
        } else if full {
            object["groups"] = .string(groups.joined(separator: ","))
            object["tokens"] = .array(
                user.tokens.values.sorted { $0.name < $1.name }.map {
                    var json = tokenJSON($0)
                    if case .object(var o) = json { o["tokenid"] = .string($0.name); json = .object(o) }
                    return json
                })
        }
        return .object(object)
    }

    static func tokenJSON(_ token: UserConfig.Token) -> JSON {
        var object: [String: JSON] = ["expire": .int(token.expire), "privsep": .flag(token.privsep)]
        if !token.comment.isEmpty { object["comment"] = .string(token.comment) }
        return .object(object)
    }

    static func applyUserFields(_ p: Parameters, to user: inout UserConfig.User) {
        if let v = p.bool("enable") { user.enable = v }
        if let v = p.int("expire") { user.expire = v }
        if let v = p["firstname"] { user.firstname = v }
        if let v = p["lastname"] { user.lastname = v }
        if let v = p["email"] { user.email = v }
        if let v = p["comment"] { user.comment = v }
        if let v = p["keys"] { user.keys = v }
    }

    static func registerUsers(in registry: inout APIRegistry) {
        registry.register(.get, "/access/users") { request in
            let snapshot = request.access
            let caller = request.identity.authID
            let seeAll = snapshot.permissions.check(caller, path: "/access/groups", privileges: ["User.Modify", "Sys.Audit"], any: true)
            let visibleGroups = Set(
                snapshot.config.groups.keys.filter {
                    snapshot.permissions.check(caller, path: "/access/groups/\($0)", privileges: ["User.Modify", "Sys.Audit"], any: true)
                })
            let enabledFilter = request.parameters.bool("enabled")
            let full = request.parameters.bool("full", default: false)
            let users = snapshot.config.users.values.filter { user in
                if let enabledFilter, user.enable != enabledFilter { return false }
                return seeAll || user.userid == request.identity.userID
                    || snapshot.config.groups(of: user.userid).contains(where: visibleGroups.contains)
            }
            return .init(.array(users.sorted { $0.userid < $1.userid }.map {
                userJSON($0, config: snapshot.config, full: full, groupsAsArray: false, realmType: snapshot.domains[$0.realm]?.type)
            }))
        }
        registry.register(.post, "/access/users") { request in
            let p = request.parameters
            let userid = try p.require("userid")
            guard let realmType = request.access.domains[String(userid.split(separator: "@").last ?? "")]?.type else {
                throw VireoError.parameter("userid", "domain '\(userid.split(separator: "@").last ?? "")' does not exist")
            }
            let groups = p.list("groups")
            if let password = p["password"], realmType != "pve" {
                _ = password
                throw VireoError.parameter("password", "setting a password is only supported for the 'pve' realm")
            }
            try await request.services.access.modifyUsers { config in
                guard config.users[userid] == nil else {
                    throw VireoError.conflict("create user failed: user '\(userid)' already exists")
                }
                for group in groups where config.groups[group] == nil {
                    throw VireoError.parameter("groups", "no such group '\(group)'")
                }
                var user = UserConfig.User(userid: userid)
                applyUserFields(p, to: &user)
                config.users[userid] = user
                for group in groups { config.groups[group]?.members.append(userid) }
            }
            if let password = p["password"] {
                try await request.services.access.setPVEPassword(userid: userid, password: password)
            }
            return .null
        }
        registry.register(.get, "/access/users/{userid}") { request in
            let userid = try request.parameters.require("userid")
            guard let user = request.access.config.users[userid] else { throw userNotFound(userid) }
            var json = userJSON(user, config: request.access.config, full: true, groupsAsArray: true, realmType: nil)
            if case .object(var o) = json { o["userid"] = nil; json = .object(o) }
            return .init(json)
        }
        registry.register(.put, "/access/users/{userid}") { request in
            let p = request.parameters
            let userid = try p.require("userid")
            let append = p.bool("append", default: false)
            try await request.services.access.modifyUsers { config in
                guard var user = config.users[userid] else { throw userNotFound(userid) }
                applyUserFields(p, to: &user)
                config.users[userid] = user
                if p.has("groups") {
                    let groups = p.list("groups")
                    for group in groups where config.groups[group] == nil {
                        throw VireoError.parameter("groups", "no such group '\(group)'")
                    }
                    if !append {
                        for id in config.groups.keys { config.groups[id]?.members.removeAll { $0 == userid } }
                    }
                    for group in groups where config.groups[group]?.members.contains(userid) == false {
                        config.groups[group]?.members.append(userid)
                    }
                }
            }
            return .null
        }
        registry.register(.delete, "/access/users/{userid}") { request in
            let userid = try request.parameters.require("userid")
            if userid == "root@pam" { throw VireoError.invalid("cannot delete user 'root@pam'") }
            let tokens = try await request.services.access.modifyUsers { config -> [String] in
                guard let user = config.users.removeValue(forKey: userid) else { throw userNotFound(userid) }
                for id in config.groups.keys { config.groups[id]?.members.removeAll { $0 == userid } }
                config.acl.removeAll {
                    switch $0.subject {
                    case .user(let id): id == userid
                    case .token(let id): id.hasPrefix(userid + "!")
                    case .group: false
                    }
                }
                return user.tokens.keys.map { "\(userid)!\($0)" }
            }
            for token in tokens { try await request.services.access.removeTokenSecret(tokenID: token) }
            try await request.services.access.removePVEPassword(userid: userid)
            return .null
        }
    }

    // MARK: - Tokens

    static func registerTokens(in registry: inout APIRegistry) {
        registry.register(.get, "/access/users/{userid}/token") { request in
            let userid = try request.parameters.require("userid")
            guard let user = request.access.config.users[userid] else { throw userNotFound(userid) }
            return .init(.array(user.tokens.values.sorted { $0.name < $1.name }.map { token in
                var json = tokenJSON(token)
                if case .object(var o) = json { o["tokenid"] = .string(token.name); json = .object(o) }
                return json
            }))
        }
        registry.register(.get, "/access/users/{userid}/token/{tokenid}") { request in
            let userid = try request.parameters.require("userid")
            let name = try request.parameters.require("tokenid")
            guard let token = request.access.config.users[userid]?.tokens[name] else {
                throw VireoError.notFound("no such token '\(name)' for user '\(userid)'")
            }
            return .init(tokenJSON(token))
        }
        registry.register(.post, "/access/users/{userid}/token/{tokenid}") { request in
            let p = request.parameters
            let userid = try p.require("userid")
            let name = try p.require("tokenid")
            let token = try await request.services.access.modifyUsers { config -> UserConfig.Token in
                guard var user = config.users[userid] else { throw userNotFound(userid) }
                guard user.tokens[name] == nil else {
                    throw VireoError.parameter("tokenid", "Token already exists.")
                }
                var token = UserConfig.Token(name: name)
                token.privsep = p.bool("privsep", default: true)
                token.expire = p.int("expire") ?? user.expire
                token.comment = p["comment"] ?? ""
                user.tokens[name] = token
                config.users[userid] = user
                return token
            }
            let fullID = "\(userid)!\(name)"
            let secret = try await request.services.access.storeTokenSecret(tokenID: fullID)
            return .init(["full-tokenid": .string(fullID), "info": tokenJSON(token), "value": .string(secret)])
        }
        registry.register(.put, "/access/users/{userid}/token/{tokenid}") { request in
            let p = request.parameters
            let userid = try p.require("userid")
            let name = try p.require("tokenid")
            let token = try await request.services.access.modifyUsers { config -> UserConfig.Token in
                guard var token = config.users[userid]?.tokens[name] else {
                    throw VireoError.notFound("no such token '\(name)' for user '\(userid)'")
                }
                for key in p.list("delete") {
                    switch key {
                    case "comment": token.comment = ""
                    case "expire": token.expire = 0
                    case "privsep": token.privsep = true
                    default: throw VireoError.parameter("delete", "unknown property '\(key)'")
                    }
                }
                if let v = p.bool("privsep") { token.privsep = v }
                if let v = p.int("expire") { token.expire = v }
                if let v = p["comment"] { token.comment = v }
                config.users[userid]?.tokens[name] = token
                return token
            }
            return .init(tokenJSON(token))
        }
        registry.register(.delete, "/access/users/{userid}/token/{tokenid}") { request in
            let userid = try request.parameters.require("userid")
            let name = try request.parameters.require("tokenid")
            let fullID = "\(userid)!\(name)"
            try await request.services.access.modifyUsers { config in
                guard config.users[userid]?.tokens.removeValue(forKey: name) != nil else {
                    throw VireoError.notFound("no such token '\(name)' for user '\(userid)'")
                }
                config.acl.removeAll { $0.subject == .token(fullID) }
            }
            try await request.services.access.removeTokenSecret(tokenID: fullID)
            return .null
        }
    }

    // MARK: - Groups

    static func registerGroups(in registry: inout APIRegistry) {
        registry.register(.get, "/access/groups") { request in
            let snapshot = request.access
            let privileges = ["User.Modify", "Sys.Audit", "Group.Allocate"]
            let groups = snapshot.config.groups.values.filter {
                snapshot.permissions.check(request.identity.authID, path: "/access/groups/\($0.groupid)", privileges: privileges, any: true)
            }
            return .init(.array(groups.sorted { $0.groupid < $1.groupid }.map { group in
                var object: [String: JSON] = ["groupid": .string(group.groupid), "users": .string(group.members.sorted().joined(separator: ","))]
                if !group.comment.isEmpty { object["comment"] = .string(group.comment) }
                return .object(object)
            }))
        }
        registry.register(.post, "/access/groups") { request in
            let groupid = try request.parameters.require("groupid")
            let comment = request.parameters["comment"]
            try await request.services.access.modifyUsers { config in
                guard config.groups[groupid] == nil else { throw VireoError.conflict("group '\(groupid)' already exists") }
                var group = UserConfig.Group(groupid: groupid)
                group.comment = comment ?? ""
                config.groups[groupid] = group
            }
            return .null
        }
        registry.register(.get, "/access/groups/{groupid}") { request in
            let groupid = try request.parameters.require("groupid")
            guard let group = request.access.config.groups[groupid] else {
                throw VireoError.notFound("group '\(groupid)' does not exist")
            }
            var object: [String: JSON] = ["members": .array(group.members.sorted().map { .string($0) })]
            if !group.comment.isEmpty { object["comment"] = .string(group.comment) }
            return .init(.object(object))
        }
        registry.register(.put, "/access/groups/{groupid}") { request in
            let groupid = try request.parameters.require("groupid")
            let comment = request.parameters["comment"]
            try await request.services.access.modifyUsers { config in
                guard config.groups[groupid] != nil else { throw VireoError.notFound("group '\(groupid)' does not exist") }
                if let comment { config.groups[groupid]?.comment = comment }
            }
            return .null
        }
        registry.register(.delete, "/access/groups/{groupid}") { request in
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
        registry.register(.get, "/access/roles") { request in
            var all = BuiltinRole.roles.map { ($0.key, $0.value, true) }
            all += request.access.config.roles.filter { !BuiltinRole.isBuiltin($0.key) }.map { ($0.key, $0.value, false) }
            return .init(.array(all.sorted { $0.0 < $1.0 }.map { name, privs, special in
                var object: [String: JSON] = ["roleid": .string(name), "privs": .string(privs.sorted().joined(separator: ","))]
                if special { object["special"] = 1 }
                return .object(object)
            }))
        }
        registry.register(.get, "/access/roles/{roleid}") { request in
            let roleid = try request.parameters.require("roleid")
            guard let privs = request.access.config.role(roleid) else {
                throw VireoError.notFound("role '\(roleid)' does not exist")
            }
            return .init(.object(Dictionary(uniqueKeysWithValues: privs.map { ($0, JSON.int(1)) })))
        }
        registry.register(.post, "/access/roles") { request in
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
        registry.register(.put, "/access/roles/{roleid}") { request in
            let roleid = try request.parameters.require("roleid")
            if BuiltinRole.isBuiltin(roleid) { throw VireoError.invalid("cannot modify built-in role '\(roleid)'") }
            let privs = try validatedPrivileges(request.parameters)
            let append = request.parameters.bool("append", default: false)
            try await request.services.access.modifyUsers { config in
                guard let existing = config.roles[roleid] else { throw VireoError.notFound("role '\(roleid)' does not exist") }
                config.roles[roleid] = append ? existing.union(privs) : Set(privs)
            }
            return .null
        }
        registry.register(.delete, "/access/roles/{roleid}") { request in
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
        registry.register(.get, "/access/acl") { request in
            let snapshot = request.access
            let caller = request.identity.authID
            let auditor = snapshot.permissions.check(caller, path: "/access", privileges: ["Sys.Audit"])
            let entries = snapshot.config.acl.filter {
                auditor || snapshot.evaluator.canModifyPermissions(caller, path: $0.path)
            }
            return .init(.array(entries.sorted { ($0.path, $0.subject.ugid, $0.role) < ($1.path, $1.subject.ugid, $1.role) }.map {
                [
                    "path": .string($0.path), "type": .string($0.subject.typeName), "ugid": .string($0.subject.ugid),
                    "roleid": .string($0.role), "propagate": .flag($0.propagate),
                ]
            }))
        }
        registry.register(.put, "/access/acl") { request in
            let p = request.parameters
            let path = ACLPath.normalize(try p.require("path"))
            guard ACLPath.isValidTarget(path) else { throw VireoError.parameter("path", "invalid ACL path '\(path)'") }
            let roles = p.list("roles")
            let users = p.list("users")
            let groups = p.list("groups")
            let tokens = p.list("tokens")
            guard !(users.isEmpty && groups.isEmpty && tokens.isEmpty) else {
                throw VireoError.parameter("_root", "either 'users', 'groups' or 'tokens' is required")
            }
            let remove = p.bool("delete", default: false)
            let propagate = p.bool("propagate", default: true)
            let caller = request.identity.authID
            let snapshot = request.access
            // Without Permissions.Modify, only roles whose privileges the caller holds may be granted.
            if !remove, !snapshot.permissions.check(caller, path: path, privileges: ["Permissions.Modify"]) {
                let held = snapshot.permissions.privileges(of: caller, on: path)
                for role in roles {
                    let privs = snapshot.config.role(role) ?? []
                    let ok = role != "NoAccess" && privs.allSatisfy { held[$0] != nil && (!propagate || held[$0] == true) }
                    if !ok { throw VireoError(.permissionDenied, "Permission check failed (\(path), \(role))") }
                }
            }
            try await request.services.access.modifyUsers { config in
                for role in roles where config.role(role) == nil {
                    throw VireoError.parameter("roles", "role '\(role)' does not exist")
                }
                var subjects: [UserConfig.Subject] = []
                for user in users {
                    guard config.users[user] != nil else { throw VireoError.parameter("users", "user '\(user)' does not exist") }
                    subjects.append(.user(user))
                }
                for group in groups {
                    guard config.groups[group] != nil else { throw VireoError.parameter("groups", "group '\(group)' does not exist") }
                    subjects.append(.group(group))
                }
                for token in tokens {
                    guard config.tokenExists(token) else { throw VireoError.parameter("tokens", "token '\(token)' does not exist") }
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

    // MARK: - Realms

    static func registerDomains(in registry: inout APIRegistry) {
        registry.register(.get, "/access/domains") { request in
            let snapshot = try await request.services.access.snapshot()
            return .init(.array(snapshot.domains.sections.map { section in
                var object: [String: JSON] = ["realm": .string(section.id), "type": .string(section.type)]
                if let comment = section["comment"] { object["comment"] = .string(comment) }
                if section["default"] == "1" { object["default"] = 1 }
                if let tfa = section["tfa"] { object["tfa"] = .string(tfa) }
                return .object(object)
            }))
        }
        registry.register(.get, "/access/domains/{realm}") { request in
            let realm = try request.parameters.require("realm")
            let file = try await request.services.store.read(AccessControl.domainsPath)
            let config = try SectionConfig(parsing: file?.content ?? "")
            guard let section = config[realm] else { throw VireoError.notFound("domain '\(realm)' does not exist") }
            var object: [String: JSON] = ["type": .string(section.type), "digest": .string(file?.digest ?? "")]
            for option in section.options { object[option.key] = .string(option.value ?? "1") }
            return .init(.object(object))
        }
        registry.register(.post, "/access/domains") { request in
            let p = request.parameters
            let realm = try p.require("realm")
            let type = try p.require("type")
            guard type != "pam", type != "pve" else {
                throw VireoError.parameter("type", "cannot create a realm of type '\(type)'")
            }
            // LDAP, AD and OpenID realms are not implemented yet: say so about the parameter.
            throw VireoError.parameter("type", "realm type '\(type)' is not supported by Vireo yet (realm '\(realm)' not created)")
        }
        registry.register(.put, "/access/domains/{realm}") { request in
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
        registry.register(.delete, "/access/domains/{realm}") { request in
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
        registry.register(.get, "/access/permissions") { request in
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
}
