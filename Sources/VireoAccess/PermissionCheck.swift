import VireoCore

/// A permission expression, as the `permissions` block of Proxmox's API schema states it.
public indirect enum PermissionCheck: Sendable {
    /// No `permissions` block: root@pam only.
    case rootOnly
    /// `user: world`: no check (the caller may still need to be authenticated).
    case world
    /// `user: all`: any authenticated caller; the handler filters what it returns.
    case anyUser
    /// Privileges on a path whose `{placeholders}` are filled from the parameters.
    case perm(String, [String], any: Bool, requireParam: String?)
    case and([PermissionCheck])
    case or([PermissionCheck])
    /// The `userid` parameter is the caller.
    case useridSelf
    /// The caller holds the privilege on `/access/realm/<realm of userid>`.
    case useridParam(String)
    /// User administration through groups; see ``PermissionEvaluator``.
    case useridGroup([String], groupsParam: GroupsMode?)
    /// The right to change ACLs on the path given by the parameter.
    case permModify(String)
    /// The privileges on the path of every item of a list parameter (`/vms/{item}` for each of
    /// `vms`); denied when the list is empty.
    case permEach(listParam: String, template: String, [String])

    public enum GroupsMode: Sendable { case create, update }
}

/// Who is calling: a user, or an API token of a user.
public struct AuthIdentity: Sendable, Equatable {
    /// `user@realm` or `user@realm!token`.
    public let authID: String
    /// The user, for a token its owner.
    public let userID: String
    public let isToken: Bool
    /// Authenticated by ticket (needs CSRF on writes), as opposed to a token or the local socket.
    public let viaTicket: Bool

    public init(authID: String, viaTicket: Bool) {
        self.authID = authID
        let (user, token) = Permissions.split(authID)
        userID = user
        isToken = token != nil
        self.viaTicket = viaTicket
    }

    public static let root = AuthIdentity(authID: "root@pam", viaTicket: false)
    public var isRoot: Bool { userID == "root@pam" && !isToken }
}

/// Evaluates a ``PermissionCheck`` for a caller against the current access configuration.
public struct PermissionEvaluator: Sendable {
    public let permissions: Permissions
    public init(permissions: Permissions) { self.permissions = permissions }

    /// The outcome, with the detail Proxmox puts in the 403 message when a check fails.
    public enum Outcome: Equatable, Sendable {
        case allowed
        case denied(String)
        /// The object the check is about does not exist (reported before any permission detail).
        case missing(String)
    }

    public func evaluate(
        _ check: PermissionCheck,
        for identity: AuthIdentity,
        parameters: [String: String]
    )
        -> Outcome
    {
        if identity.authID == "root@pam" { return .allowed }
        switch check {
        case .world, .anyUser:
            return .allowed
        case .rootOnly:
            return .denied("user != root@pam")
        case .perm(let template, let privileges, let any, let requireParam):
            if let requireParam, parameters[requireParam] == nil {
                return .denied("missing parameter '\(requireParam)'")
            }
            // A parameter that is no ACL path segment (`/`, `:`, a newline…) names no object.
            guard let path = ACLPath.normalized(Self.fill(template, parameters)) else { return .denied("invalid path") }
            if permissions.check(identity.authID, path: path, privileges: privileges, any: any) { return .allowed }
            return .denied("\(path), \(privileges.joined(separator: any ? "|" : ", "))")
        case .and(let checks):
            for check in checks {
                let outcome = evaluate(check, for: identity, parameters: parameters)
                if outcome != .allowed { return outcome }
            }
            return .allowed
        case .or(let checks):
            var missing: Outcome?
            var denials: [String] = []
            for check in checks {
                let outcome = evaluate(check, for: identity, parameters: parameters)
                switch outcome {
                case .allowed: return .allowed
                case .missing: missing = outcome
                case .denied(let detail): denials.append(detail)
                }
            }
            // The most specific denial: the last alternative that says what it lacked (`vms` given).
            return missing ?? .denied(denials.last { !$0.isEmpty } ?? "")
        case .useridSelf:
            return parameters["userid"] == identity.authID ? .allowed : .denied("")
        case .useridParam(let privilege):
            guard let userid = parameters["userid"], let at = userid.lastIndex(of: "@") else { return .denied("") }
            let path = "/access/realm/" + userid[userid.index(after: at)...]
            if permissions.check(identity.authID, path: path, privileges: [privilege]) { return .allowed }
            return .denied("\(path), \(privilege)")
        case .useridGroup(let privileges, let mode):
            return useridGroup(privileges, mode: mode, identity: identity, parameters: parameters)
        case .permEach(let listParam, let template, let privileges):
            let items = ListText.items(parameters[listParam] ?? "")
            guard !items.isEmpty else { return .denied("") }
            for item in items {
                let outcome = evaluate(
                    .perm(template.replacing("{item}", with: item), privileges, any: false, requireParam: nil),
                    for: identity,
                    parameters: [:]
                )
                if outcome != .allowed { return outcome }
            }
            return .allowed
        case .permModify(let template):
            guard let path = ACLPath.normalized(Self.fill(template, parameters)) else { return .denied("invalid path") }
            return canModifyPermissions(identity.authID, path: path) ? .allowed : .denied("\(path), Permissions.Modify")
        }
    }

    /// `perm-modify`: Permissions.Modify, or the allocate privilege of the object's own kind.
    public func canModifyPermissions(_ authID: String, path: String) -> Bool {
        var candidates = ["Permissions.Modify"]
        if path.hasPrefix("/storage/") { candidates.append("Datastore.Allocate") }
        if path.hasPrefix("/vms/") { candidates.append("VM.Allocate") }
        if path.hasPrefix("/pool/") { candidates.append("Pool.Allocate") }
        let target = path == "/" ? "/access" : path
        return permissions.check(authID, path: target, privileges: candidates, any: true)
            || permissions.check(authID, path: path, privileges: candidates, any: true)
    }

    private func useridGroup(
        _ privileges: [String],
        mode: PermissionCheck.GroupsMode?,
        identity: AuthIdentity,
        parameters: [String: String]
    ) -> Outcome {
        let config = permissions.config
        let denied = Outcome.denied("/access/groups, \(privileges.joined(separator: "|"))")
        guard let userid = parameters["userid"] else { return denied }
        if mode != .create, config.users[userid] == nil { return .missing("no such user ('\(userid)')") }
        if permissions.check(identity.authID, path: "/access/groups", privileges: privileges, any: true) {
            return .allowed
        }
        let allowed = Set(
            config.groups.keys.filter {
                permissions.check(identity.authID, path: "/access/groups/\($0)", privileges: privileges, any: true)
            }
        )
        if mode != nil {
            let requested = ListText.items(parameters["groups"] ?? "")
            if mode == .create, requested.isEmpty { return denied }
            if !requested.allSatisfy(allowed.contains) { return denied }
        }
        if mode != .create, !config.groups(of: userid).contains(where: allowed.contains) { return denied }
        return .allowed
    }

    static func fill(_ template: String, _ parameters: [String: String]) -> String {
        var result = ""
        var rest = template[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            result += rest[..<open]
            result += parameters[String(rest[rest.index(after: open)..<close])] ?? ""
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
