import VireoCore

/// `user.cfg`: users, their API tokens, groups, pools, custom roles and ACLs, in Proxmox's format.
///
/// One entry per line, `:`-separated fields ending with `:`; free text is URI-escaped. Parsing drops
/// invalid lines (as Proxmox does) and reports them in ``warnings``.
public struct UserConfig: Sendable, Equatable {
    public struct User: Sendable, Equatable {
        public var userid: String
        public var enable = true
        public var expire = 0
        public var firstname = ""
        public var lastname = ""
        public var email = ""
        public var comment = ""
        public var keys = ""
        /// Token name → token, for this user.
        public var tokens: [String: Token] = [:]

        public init(userid: String) { self.userid = userid }
        public var realm: String { userid.split(separator: "@").last.map(String.init) ?? "" }
    }

    public struct Token: Sendable, Equatable {
        public var name: String
        public var expire = 0
        public var privsep = true
        public var comment = ""
        public init(name: String) { self.name = name }
    }

    public struct Group: Sendable, Equatable {
        public var groupid: String
        public var members: [String] = []
        public var comment = ""
        public init(groupid: String) { self.groupid = groupid }
    }

    public struct Pool: Sendable, Equatable {
        public var poolid: String
        public var comment = ""
        public var vms: [Int] = []
        public var storage: [String] = []
        public init(poolid: String) { self.poolid = poolid }
    }

    /// Who an ACL entry applies to.
    public enum Subject: Sendable, Hashable, Comparable {
        case user(String)
        case group(String)
        case token(String)

        /// The `ugid` field of the ACL list: `user@realm`, `group`, `user@realm!token`.
        public var ugid: String {
            switch self {
            case .user(let id), .group(let id), .token(let id): id
            }
        }
        public var typeName: String {
            switch self {
            case .user: "user"
            case .group: "group"
            case .token: "token"
            }
        }
        /// How the subject is written in `user.cfg` (`@` marks groups).
        var fileForm: String {
            switch self {
            case .group(let id): "@" + id
            case .user(let id), .token(let id): id
            }
        }
    }

    public struct ACLEntry: Sendable, Hashable {
        public var path: String
        public var subject: Subject
        public var role: String
        public var propagate: Bool
        public init(path: String, subject: Subject, role: String, propagate: Bool) {
            self.path = path
            self.subject = subject
            self.role = role
            self.propagate = propagate
        }
    }

    public var users: [String: User] = [:]
    public var groups: [String: Group] = [:]
    public var pools: [String: Pool] = [:]
    /// Custom roles only; built-in roles are never stored.
    public var roles: [String: Set<String>] = [:]
    public var acl: [ACLEntry] = []
    public var warnings: [String] = []

    public init() {}

    /// All roles, built-in ones first taking precedence over stored roles of the same name.
    public func role(_ name: String) -> Set<String>? { BuiltinRole.roles[name] ?? roles[name] }

    public func groups(of userid: String) -> [String] {
        groups.values.filter { $0.members.contains(userid) }.map(\.groupid).sorted()
    }

    public static func == (lhs: UserConfig, rhs: UserConfig) -> Bool {
        lhs.users == rhs.users && lhs.groups == rhs.groups && lhs.pools == rhs.pools && lhs.roles == rhs.roles
            && Set(lhs.acl) == Set(rhs.acl)
    }
}

// MARK: - Parsing

extension UserConfig {
    public init(parsing text: String) {
        self.init()
        var tokenLines: [(owner: String, token: Token)] = []
        var memberships: [(group: String, members: [String])] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            var fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if fields.last == "" { fields.removeLast() }
            let kind = fields.removeFirst()
            func field(_ i: Int) -> String { i < fields.count ? fields[i] : "" }
            switch kind {
            case "user":
                var user = User(userid: field(0))
                user.enable = field(1) != "0"
                user.expire = Int(field(2)) ?? 0
                user.firstname = PercentEncoding.decode(field(3))
                user.lastname = PercentEncoding.decode(field(4))
                user.email = PercentEncoding.decode(field(5))
                user.comment = PercentEncoding.decode(field(6))
                user.keys = field(7)
                guard user.userid.contains("@") else {
                    warnings.append("line \(index + 1): invalid user id '\(user.userid)'")
                    continue
                }
                users[user.userid] = user
            case "token":
                let full = field(0)
                guard let bang = full.lastIndex(of: "!") else {
                    warnings.append("line \(index + 1): invalid token id '\(full)'")
                    continue
                }
                var token = Token(name: String(full[full.index(after: bang)...]))
                token.expire = Int(field(1)) ?? 0
                token.privsep = field(2) == "1"  // a missing privsep means 0 in the file
                token.comment = PercentEncoding.decode(field(3))
                tokenLines.append((String(full[..<bang]), token))
            case "group":
                var group = Group(groupid: field(0))
                group.comment = PercentEncoding.decode(field(2))
                groups[group.groupid] = group
                memberships.append((group.groupid, field(1).split(separator: ",").map(String.init)))
            case "pool":
                var pool = Pool(poolid: field(0))
                pool.comment = PercentEncoding.decode(field(1))
                pool.vms = field(2).split(separator: ",").compactMap { Int($0) }
                pool.storage = field(3).split(separator: ",").map(String.init)
                pools[pool.poolid] = pool
            case "role":
                let privs = field(1).split(separator: ",").map(String.init)
                for unknown in privs where !Privilege.isKnown(unknown) {
                    warnings.append("line \(index + 1): role '\(field(0))' drops unknown privilege '\(unknown)'")
                }
                roles[field(0)] = Set(privs.filter(Privilege.isKnown))
            case "acl":
                let propagate = field(0) != "0"
                let path = field(1)
                let subjects = field(2).split(separator: ",").map(String.init)
                let roleNames = field(3).split(separator: ",").map(String.init)
                for subject in subjects {
                    let parsed: Subject =
                        subject.hasPrefix("@")
                        ? .group(String(subject.dropFirst()))
                        : subject.contains("!") ? .token(subject) : .user(subject)
                    for role in roleNames {
                        acl.append(ACLEntry(path: path, subject: parsed, role: role, propagate: propagate))
                    }
                }
            default:
                warnings.append("line \(index + 1): unknown entry type '\(kind)'")
            }
        }
        for (owner, token) in tokenLines {
            guard users[owner] != nil else {
                warnings.append("token '\(owner)!\(token.name)' of unknown user dropped")
                continue
            }
            users[owner]?.tokens[token.name] = token
        }
        for (group, members) in memberships {
            groups[group]?.members = members.filter { users[$0] != nil }
        }
        // ACLs for unknown users, groups, tokens or roles are dropped, as Proxmox does on load.
        acl = acl.filter { entry in
            guard role(entry.role) != nil else { return false }
            switch entry.subject {
            case .user(let id): return users[id] != nil
            case .group(let id): return groups[id] != nil
            case .token(let id): return tokenExists(id)
            }
        }
    }

    public func tokenExists(_ fullID: String) -> Bool {
        guard let bang = fullID.lastIndex(of: "!") else { return false }
        return users[String(fullID[..<bang])]?.tokens[String(fullID[fullID.index(after: bang)...])] != nil
    }
}

// MARK: - Writing

extension UserConfig {
    /// The file text: users each followed by their tokens, groups, pools, custom roles, ACLs.
    /// Throws `.invalidArgument` naming the field when a value written as is (an ID, a path, a list)
    /// holds a control character, a `:` or, in a list, a `,`: it would end its field or its line and
    /// be read back as another entry. Free text is percent-encoded and cannot.
    public func serialized() throws -> String {
        var out = ""
        for user in users.values.sorted(by: { $0.userid < $1.userid }) {
            let fields = [
                try Self.raw(user.userid, "userid"), user.enable ? "1" : "0", String(user.expire),
                PercentEncoding.encode(user.firstname), PercentEncoding.encode(user.lastname),
                PercentEncoding.encode(user.email), PercentEncoding.encode(user.comment),
                try Self.raw(user.keys, "keys"),
            ]
            out += "user:" + fields.joined(separator: ":") + ":\n"
            for token in user.tokens.values.sorted(by: { $0.name < $1.name }) {
                let name = try Self.raw(token.name, "tokenid", list: true)
                out += "token:\(user.userid)!\(name):\(token.expire):\(token.privsep ? 1 : 0):"
                out += PercentEncoding.encode(token.comment) + ":\n"
            }
        }
        out += "\n"
        for group in groups.values.sorted(by: { $0.groupid < $1.groupid }) {
            let members = try group.members.sorted().map { try Self.raw($0, "users", list: true) }
            out += "group:\(try Self.raw(group.groupid, "groupid", list: true)):\(members.joined(separator: ",")):"
            out += PercentEncoding.encode(group.comment) + ":\n"
        }
        out += "\n"
        for pool in pools.values.sorted(by: { $0.poolid < $1.poolid }) {
            out += "pool:\(try Self.raw(pool.poolid, "poolid", list: true)):\(PercentEncoding.encode(pool.comment)):"
            out += pool.vms.sorted().map(String.init).joined(separator: ",") + ":"
            out += try pool.storage.sorted().map { try Self.raw($0, "storage", list: true) }.joined(separator: ",")
            out += ":\n"
        }
        out += "\n"
        for (name, privs) in roles.sorted(by: { $0.key < $1.key }) where !BuiltinRole.isBuiltin(name) {
            let privileges = try privs.sorted().map { try Self.raw($0, "privs", list: true) }
            out += "role:\(try Self.raw(name, "roleid", list: true)):\(privileges.joined(separator: ",")):\n"
        }
        out += "\n"
        out += try serializedACL()
        return out
    }

    /// A field written without encoding: one line, no `:`, and for list items no `,`.
    private static func raw(_ value: String, _ field: String, list: Bool = false) throws -> String {
        try ConfigValue.checkSingleLine(value, field: field)
        guard !value.contains(":"), !list || !value.contains(",") else {
            throw VireoError.parameter(field, "invalid value '\(value)' - must not contain ':'\(list ? " or ','" : "")")
        }
        return value
    }

    /// ACL lines, merging subjects that have the same roles with the same flag on one path.
    private func serializedACL() throws -> String {
        var out = ""
        let byPath = Dictionary(grouping: acl, by: \.path)
        for path in byPath.keys.sorted() {
            let entries = byPath[path] ?? []
            // subject+flag → roles, then group subjects by identical role sets.
            var rolesBySubject: [Subject: [Bool: Set<String>]] = [:]
            for entry in entries {
                rolesBySubject[entry.subject, default: [:]][entry.propagate, default: []].insert(entry.role)
            }
            struct LineKey: Hashable, Comparable {
                let propagate: Bool
                let roles: [String]
                static func < (a: LineKey, b: LineKey) -> Bool {
                    (a.propagate ? 1 : 0, a.roles.joined(separator: ",")) < (
                        b.propagate ? 1 : 0, b.roles.joined(separator: ",")
                    )
                }
            }
            var lines: [LineKey: [Subject]] = [:]
            for (subject, byFlag) in rolesBySubject {
                for (flag, roles) in byFlag {
                    lines[LineKey(propagate: flag, roles: roles.sorted()), default: []].append(subject)
                }
            }
            for key in lines.keys.sorted() {
                let subjects = try (lines[key] ?? []).sorted().map { try Self.raw($0.fileForm, "ugid", list: true) }
                let roles = try key.roles.map { try Self.raw($0, "roles", list: true) }
                out += "acl:\(key.propagate ? 1 : 0):\(try Self.raw(path, "path", list: true)):"
                out += subjects.joined(separator: ",") + ":" + roles.joined(separator: ",") + ":\n"
            }
        }
        return out
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let first = s.first, first.isWhitespace { s = s.dropFirst() }
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return s
    }
}
