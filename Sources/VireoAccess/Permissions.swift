import VireoCore

/// Evaluates effective privileges from a ``UserConfig`` the way Proxmox does.
///
/// Walk from `/` to the target path; at each level the token's own entries, else the user's own,
/// else the union of the user's groups' entries apply (if the level is the target or the entry
/// propagates) and replace whatever was inherited. `NoAccess` vetoes everything. Privsep tokens get
/// their own result intersected with their owner's.
public struct Permissions: Sendable {
    /// Privilege → propagate flag. A privilege is held if and only if its key exists.
    public typealias PrivilegeMap = [String: Bool]

    public let config: UserConfig
    private let aclByPath: [String: [UserConfig.ACLEntry]]
    private let groupsByUser: [String: Set<String>]
    private let poolsByMember: [String: [String]]

    public init(config: UserConfig) {
        self.config = config
        aclByPath = Dictionary(grouping: config.acl, by: \.path)
        var groupsByUser: [String: Set<String>] = [:]
        for group in config.groups.values {
            for member in group.members { groupsByUser[member, default: []].insert(group.groupid) }
        }
        self.groupsByUser = groupsByUser
        var poolsByMember: [String: [String]] = [:]
        for pool in config.pools.values {
            for vmid in pool.vms { poolsByMember["/vms/\(vmid)", default: []].append(pool.poolid) }
            for storage in pool.storage { poolsByMember["/storage/\(storage)", default: []].append(pool.poolid) }
        }
        self.poolsByMember = poolsByMember
    }

    private static let everything = Dictionary(uniqueKeysWithValues: Privilege.all.map { ($0, true) })

    /// The privileges `authID` (`user@realm` or `user@realm!token`) holds on `path`.
    public func privileges(of authID: String, on path: String) -> PrivilegeMap {
        let path = ACLPath.normalize(path)
        let (user, token) = Self.split(authID)
        let everything = Self.everything
        if let token {
            guard let owner = config.users[user], let info = owner.tokens[token] else { return [:] }
            let ownerPrivileges =
                user == "root@pam" ? everything : privilegesOfRoles(roles(user: user, token: nil, path: path))
            guard info.privsep else { return ownerPrivileges }
            let tokenPrivileges = privilegesOfRoles(roles(user: user, token: authID, path: path))
            // root@pam holds everything, so for its tokens the intersection is the token's own set.
            var result: PrivilegeMap = [:]
            for (privilege, propagate) in tokenPrivileges {
                if let ownerPropagate = ownerPrivileges[privilege] { result[privilege] = propagate && ownerPropagate }
            }
            return result
        }
        if user == "root@pam" { return everything }
        guard config.users[user] != nil else { return [:] }
        return privilegesOfRoles(roles(user: user, token: nil, path: path))
    }

    /// True when `authID` holds all of `privileges` on `path` (or any one, with `any`).
    ///
    /// Same rules as ``privileges(of:on:)``, but asks the roles directly instead of building the
    /// privilege map: lists check one path per VM.
    public func check(_ authID: String, path: String, privileges wanted: [String], any: Bool = false) -> Bool {
        let path = ACLPath.normalize(path)
        let (user, token) = Self.split(authID)
        // Each role set must grant a privilege: the user's, and for a privsep token also its own.
        var roleSets: [[String: Bool]] = []
        if let token {
            guard let owner = config.users[user], let info = owner.tokens[token] else { return false }
            if user != "root@pam" { roleSets.append(roles(user: user, token: nil, path: path)) }
            if info.privsep { roleSets.append(roles(user: user, token: authID, path: path)) }
        } else {
            if user == "root@pam" { return true }
            guard config.users[user] != nil else { return false }
            roleSets.append(roles(user: user, token: nil, path: path))
        }
        func held(_ privilege: String) -> Bool {
            roleSets.allSatisfy { roles in roles.keys.contains { config.role($0)?.contains(privilege) == true } }
        }
        return any ? wanted.contains(where: held) : wanted.allSatisfy(held)
    }

    /// Role name → propagate flag in effect for the subject on `path`.
    func roles(user: String, token: String?, path: String) -> [String: Bool] {
        var current: [String: Bool] = [:]
        for level in ACLPath.levels(of: path) {
            let isTarget = level == path
            let entries = (aclByPath[level] ?? []).filter { isTarget || $0.propagate }
            var applying: [UserConfig.ACLEntry]
            if let token {
                applying = entries.filter { $0.subject == .token(token) }
            } else {
                applying = entries.filter { $0.subject == .user(user) }
                if applying.isEmpty {
                    let groups = groupsByUser[user] ?? []
                    applying = entries.filter {
                        if case .group(let id) = $0.subject { return groups.contains(id) }
                        return false
                    }
                }
            }
            guard !applying.isEmpty else { continue }
            current = [:]
            for entry in applying { current[entry.role] = (current[entry.role] ?? false) || entry.propagate }
        }
        if current["NoAccess"] != nil { return [:] }
        // Members of a pool also get the roles granted on the pool (not propagating further).
        if let pools = poolsByMember[path] {
            var poolRoles: [String: Bool] = [:]
            for pool in pools {
                for (role, _) in roles(user: user, token: token, path: "/pool/\(pool)") { poolRoles[role] = false }
            }
            if poolRoles["NoAccess"] != nil { return [:] }
            for (role, flag) in poolRoles where current[role] == nil { current[role] = flag }
        }
        return current
    }

    private func privilegesOfRoles(_ roles: [String: Bool]) -> PrivilegeMap {
        var result: PrivilegeMap = [:]
        for (role, propagate) in roles {
            for privilege in config.role(role) ?? [] { result[privilege] = (result[privilege] ?? false) || propagate }
        }
        return result
    }

    static func split(_ authID: String) -> (user: String, token: String?) {
        guard let bang = authID.lastIndex(of: "!") else { return (authID, nil) }
        let token = authID[authID.index(after: bang)...]
        return (String(authID[..<bang]), token.isEmpty ? nil : String(token))
    }
}

/// ACL path helpers: normalisation and the levels walked from `/` to a path.
public enum ACLPath {
    public static func normalize(_ path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return "/" + segments.joined(separator: "/")
    }

    /// `/vms/100` → `["/", "/vms", "/vms/100"]`.
    public static func levels(of path: String) -> [String] {
        var levels = ["/"]
        var current = ""
        for segment in path.split(separator: "/") {
            current += "/" + segment
            levels.append(current)
        }
        return levels
    }

    /// A path as given by a client, normalised (`//` collapsed, one leading `/`, no trailing `/`);
    /// nil unless it holds only `[A-Za-z0-9.-_/]`, as Proxmox's ACL paths do.
    public static func normalized(_ raw: String) -> String? {
        guard !raw.isEmpty, raw.utf8.allSatisfy({ ASCII.isIDCharacter($0) || $0 == UInt8(ascii: "/") }) else {
            return nil
        }
        return normalize(raw)
    }

    /// Whether an ACL may be set on `path` (a normalised path): Proxmox's ACL path grammar, where
    /// each name is `[A-Za-z0-9.-_]+`.
    public static func isValidTarget(_ path: String) -> Bool {
        guard path == normalize(path) else { return false }
        let parts = path.split(separator: "/").map(String.init)
        guard parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(ASCII.isIDCharacter) }) else { return false }
        guard let first = parts.first else { return true }
        let rest = Array(parts.dropFirst())
        switch first {
        case "access":
            if rest.isEmpty { return true }
            return (rest[0] == "groups" || rest[0] == "realm") && rest.count <= 2
        case "nodes", "storage": return rest.count <= 1
        case "pool": return rest.count <= 3  // nested pools: `a/b/c`
        case "vms":
            guard let id = rest.first else { return true }
            return rest.count == 1 && id.first != "0" && id.count >= 3 && id.allSatisfy(\.isASCIIDigit)
        case "sdn":
            if rest.isEmpty { return true }
            guard rest[0] == "zones", rest.count <= 4 else { return false }
            guard rest.count == 4 else { return true }
            return rest[3].first != "0" && (1...4).contains(rest[3].count) && rest[3].allSatisfy(\.isASCIIDigit)
        case "mapping": return rest.count <= 2
        default: return false
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
