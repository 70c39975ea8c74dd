import Foundation
import VireoAccess
import VireoCore
import VireoStore

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

    // MARK: - Ticket

    static func registerTicket(in registry: inout APIRegistry) {
        registry.register(.get, "/access/ticket", handles: []) { _ in .null }
        registry.register(
            .post,
            "/access/ticket",
            handles: ["new-format", "password", "path", "privs", "realm", "username"]
        ) { request in
            let p = request.parameters
            var username = try p.require("username")
            if !username.contains("@"), let realm = p["realm"] { username += "@" + realm }
            let access = request.services.access
            let userid = try await access.authenticate(username: username, password: try p.require("password"))
            let snapshot = try await access.snapshot()
            if let path = p["path"], let privs = p["privs"] {
                // Verify-only: credentials and privileges, no ticket.
                let wanted = p.list("privs")
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
        registry.register(.post, "/access/vncticket", handles: ["authid", "vncticket", "path", "privs", "port"]) {
            request in
            // A console proxy asks whether a VNC ticket is good for this user, path and port, and
            // whether the user still holds the privileges; any doubt is a 401.
            let p = request.parameters
            let authID = try p.require("authid")
            let path = try p.require("path")
            // As any failed authentication: 401 without a body.
            let denied = APIFailure(status: 401, message: "authentication failure", emptyBody: true)
            guard
                request.services.access.tickets.verifyVNCTicket(
                    ConsolePassword.ticket(in: try p.require("vncticket")),
                    authID: authID,
                    path: path,
                    port: p.int("port")
                )
            else { throw denied }
            let snapshot = try await request.services.access.snapshot()
            guard snapshot.permissions.check(authID, path: path, privileges: p.list("privs")) else { throw denied }
            return .null
        }
        registry.register(.put, "/access/password", handles: ["confirmation-password", "password", "userid"]) {
            request in
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
}
