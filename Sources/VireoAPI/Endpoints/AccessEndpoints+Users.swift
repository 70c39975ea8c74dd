import Foundation
import VireoAccess
import VireoCore
import VireoStore

extension AccessEndpoints {
    // MARK: - Users

    static func userNotFound(_ userid: String) -> VireoError { .notFound("user '\(userid)' does not exist") }

    static func userJSON(
        _ user: UserConfig.User,
        config: UserConfig,
        full: Bool,
        groupsAsArray: Bool,
        realmType: String?
    ) -> JSON {
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
                Dictionary(uniqueKeysWithValues: user.tokens.values.map { ($0.name, tokenJSON($0)) })
            )
        } else if full {
            object["groups"] = .string(groups.joined(separator: ","))
            object["tokens"] = .array(
                user.tokens.values.sorted { $0.name < $1.name }.map {
                    var json = tokenJSON($0)
                    if case .object(var o) = json {
                        o["tokenid"] = .string($0.name)
                        json = .object(o)
                    }
                    return json
                }
            )
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
        registry.register(.get, "/access/users", handles: ["enabled", "full"]) { request in
            let snapshot = request.access
            let caller = request.identity.authID
            let seeAll = snapshot.permissions.check(
                caller,
                path: "/access/groups",
                privileges: ["User.Modify", "Sys.Audit"],
                any: true
            )
            let visibleGroups = Set(
                snapshot.config.groups.keys.filter {
                    snapshot.permissions.check(
                        caller,
                        path: "/access/groups/\($0)",
                        privileges: ["User.Modify", "Sys.Audit"],
                        any: true
                    )
                }
            )
            let enabledFilter = request.parameters.bool("enabled")
            let full = request.parameters.bool("full", default: false)
            let users = snapshot.config.users.values.filter { user in
                if let enabledFilter, user.enable != enabledFilter { return false }
                return seeAll || user.userid == request.identity.userID
                    || snapshot.config.groups(of: user.userid).contains(where: visibleGroups.contains)
            }
            return .init(
                .array(
                    users.sorted { $0.userid < $1.userid }.map {
                        userJSON(
                            $0,
                            config: snapshot.config,
                            full: full,
                            groupsAsArray: false,
                            realmType: snapshot.domains[$0.realm]?.type
                        )
                    }
                )
            )
        }
        registry.register(
            .post,
            "/access/users",
            handles: [
                "comment", "email", "enable", "expire", "firstname", "groups", "keys", "lastname", "password", "userid",
            ]
        ) { request in
            let p = request.parameters
            let user = try p.userID()
            let userid = user.description
            guard let realmType = request.access.domains[user.realm.description]?.type else {
                throw VireoError.parameter("userid", "domain '\(user.realm)' does not exist")
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
        registry.register(.get, "/access/users/{userid}", handles: []) { request in
            let userid = try request.parameters.require("userid")
            guard let user = request.access.config.users[userid] else { throw userNotFound(userid) }
            var json = userJSON(user, config: request.access.config, full: true, groupsAsArray: true, realmType: nil)
            if case .object(var o) = json {
                o["userid"] = nil
                json = .object(o)
            }
            return .init(json)
        }
        registry.register(
            .put,
            "/access/users/{userid}",
            handles: ["append", "comment", "email", "enable", "expire", "firstname", "groups", "keys", "lastname"]
        ) { request in
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
        registry.register(.delete, "/access/users/{userid}", handles: []) { request in
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
        registry.register(.get, "/access/users/{userid}/token", handles: []) { request in
            let userid = try request.parameters.require("userid")
            guard let user = request.access.config.users[userid] else { throw userNotFound(userid) }
            return .init(
                .array(
                    user.tokens.values.sorted { $0.name < $1.name }.map { token in
                        var json = tokenJSON(token)
                        if case .object(var o) = json {
                            o["tokenid"] = .string(token.name)
                            json = .object(o)
                        }
                        return json
                    }
                )
            )
        }
        registry.register(.get, "/access/users/{userid}/token/{tokenid}", handles: []) { request in
            let userid = try request.parameters.require("userid")
            let name = try request.parameters.require("tokenid")
            guard let token = request.access.config.users[userid]?.tokens[name] else {
                throw VireoError.notFound("no such token '\(name)' for user '\(userid)'")
            }
            return .init(tokenJSON(token))
        }
        registry.register(.post, "/access/users/{userid}/token/{tokenid}", handles: ["comment", "expire", "privsep"]) {
            request in
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
        registry.register(
            .put,
            "/access/users/{userid}/token/{tokenid}",
            handles: ["comment", "delete", "expire", "privsep"]
        ) { request in
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
        registry.register(.delete, "/access/users/{userid}/token/{tokenid}", handles: []) { request in
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
}
