import Testing
import VireoCore
import VireoTestSupport

@testable import VireoAccess

/// Every field of `user.cfg`, written with every hostile value: the writer refuses it, or the file
/// reads back as the same single entry (no injected user, role or ACL line).
@Suite struct UserConfigHostileValueTests {
    /// A config with one of everything, each field set by `mutate`.
    static func base() -> UserConfig {
        var config = UserConfig()
        var user = UserConfig.User(userid: "alice@pve")
        user.tokens["t1"] = UserConfig.Token(name: "t1")
        config.users[user.userid] = user
        var group = UserConfig.Group(groupid: "ops")
        group.members = ["alice@pve"]
        config.groups["ops"] = group
        config.pools["p1"] = UserConfig.Pool(poolid: "p1")
        config.roles["Custom"] = ["VM.Audit"]
        config.acl = [.init(path: "/vms/100", subject: .user("alice@pve"), role: "Custom", propagate: true)]
        return config
    }

    typealias Field = (name: String, set: @Sendable (inout UserConfig, String) -> Void)

    static let fields: [Field] = [
        ("user.userid", { c, v in rename(&c, to: v + "@pve") }),
        ("user.firstname", { c, v in c.users["alice@pve"]?.firstname = v }),
        ("user.lastname", { c, v in c.users["alice@pve"]?.lastname = v }),
        ("user.email", { c, v in c.users["alice@pve"]?.email = v }),
        ("user.comment", { c, v in c.users["alice@pve"]?.comment = v }),
        ("user.keys", { c, v in c.users["alice@pve"]?.keys = v }),
        ("token.name", { c, v in c.users["alice@pve"]?.tokens = [v: UserConfig.Token(name: v)] }),
        ("token.comment", { c, v in c.users["alice@pve"]?.tokens["t1"]?.comment = v }),
        ("group.groupid", { c, v in c.groups = [v: UserConfig.Group(groupid: v)] }),
        ("group.comment", { c, v in c.groups["ops"]?.comment = v }),
        ("pool.poolid", { c, v in c.pools = [v: UserConfig.Pool(poolid: v)] }),
        ("pool.comment", { c, v in c.pools["p1"]?.comment = v }),
        ("pool.storage", { c, v in c.pools["p1"]?.storage = [v] }),
        (
            "role.name",
            { c, v in
                c.roles = [v: ["VM.Audit"]]
                c.acl = []
            }
        ),
        ("acl.path", { c, v in c.acl[0].path = v }),
        (
            "acl.group",
            { c, v in
                c.groups = [v: UserConfig.Group(groupid: v)]
                c.acl[0].subject = .group(v)
            }
        ),
    ]

    static func rename(_ config: inout UserConfig, to userid: String) {
        var user = UserConfig.User(userid: userid)
        user.tokens = config.users["alice@pve"]?.tokens ?? [:]
        config.users = [userid: user]
        config.groups["ops"]?.members = [userid]
        config.acl[0].subject = .user(userid)
    }

    @Test func everyFieldRefusesOrRoundTrips() throws {
        var injected: [String] = []
        for field in Self.fields {
            for value in HostileStrings.all() {
                var config = Self.base()
                field.set(&config, value)
                guard let text = try? config.serialized() else { continue }
                let reread = UserConfig(parsing: text)
                if reread != config || !reread.warnings.isEmpty {
                    injected.append("\(field.name) = \(value.debugDescription)")
                }
            }
        }
        #expect(injected.isEmpty, "written and read back differently:\n\(injected.joined(separator: "\n"))")
    }

    @Test func controlCharactersAreRefusedByNameInEveryRawField() {
        let encoded: Set = [
            "user.firstname", "user.lastname", "user.email", "user.comment", "token.comment",
            "group.comment", "pool.comment",
        ]
        for field in Self.fields where !encoded.contains(field.name) {
            var config = Self.base()
            field.set(&config, "x\ny")
            #expect(throws: VireoError.self, "\(field.name)") { try config.serialized() }
        }
    }

    @Test func theReportedEscalationIsRefused() {
        var config = Self.base()
        config.acl.append(
            .init(
                path: "/pool/x\nacl:1:/:alice@pve:Administrator:",
                subject: .user("alice@pve"),
                role: "Custom",
                propagate: true
            )
        )
        #expect(throws: VireoError.self) { try config.serialized() }
    }
}
