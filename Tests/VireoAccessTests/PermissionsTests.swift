import Testing

@testable import VireoAccess

@Suite struct PermissionsTests {
    static let config = UserConfig(
        parsing: """
            user:alice@pve:1:0::::::
            token:alice@pve!sep:0:1::
            token:alice@pve!full:0:0::
            user:bob@pve:1:0::::::
            user:carol@pve:1:0::::::
            user:dave@pve:1:0::::::
            group:ops:bob@pve,carol@pve::
            pool:web::200::
            acl:1:/:alice@pve:PVEAuditor:
            acl:1:/vms:alice@pve:PVEVMAdmin:
            acl:1:/vms/100:alice@pve!sep:PVEVMUser:
            acl:1:/:@ops:PVEVMUser:
            acl:1:/vms/100:carol@pve:NoAccess:
            acl:0:/storage:dave@pve:PVEDatastoreAdmin:
            acl:1:/pool/web:dave@pve:PVEVMUser:
            """
    )
    let permissions = Permissions(config: config)

    /// `check` takes a shortcut through the roles; it must agree with the privilege map everywhere.
    @Test func checkAgreesWithThePrivilegeMap() {
        let subjects = [
            "root@pam", "root@pam!t", "alice@pve", "alice@pve!sep", "alice@pve!full", "alice@pve!none", "bob@pve",
            "carol@pve", "dave@pve", "nobody@pve",
        ]
        let paths = ["/", "/vms", "/vms/100", "/vms/200", "/storage/local", "/pool/web", "/nodes/n1", "/access"]
        for subject in subjects {
            for path in paths {
                let held = permissions.privileges(of: subject, on: path)
                for privilege in Privilege.all {
                    #expect(
                        permissions.check(subject, path: path, privileges: [privilege]) == (held[privilege] != nil),
                        "\(subject) \(path) \(privilege)"
                    )
                }
            }
        }
    }

    @Test func rootHasEverything() {
        #expect(permissions.privileges(of: "root@pam", on: "/vms/999").count == Privilege.all.count)
    }

    @Test func deeperEntryReplacesInherited() {
        #expect(permissions.check("alice@pve", path: "/vms/100", privileges: ["VM.Allocate"]))
        // /vms replaces the auditor role from / : Sys.Audit is no longer there below /vms.
        #expect(!permissions.check("alice@pve", path: "/vms/100", privileges: ["Sys.Audit"]))
        #expect(permissions.check("alice@pve", path: "/nodes/n1", privileges: ["Sys.Audit"]))
    }

    @Test func groupsGiveTheirRolesAndNoAccessVetoes() {
        #expect(permissions.check("bob@pve", path: "/vms/100", privileges: ["VM.PowerMgmt"]))
        #expect(!permissions.check("carol@pve", path: "/vms/100", privileges: ["VM.Audit"]))
        #expect(permissions.check("carol@pve", path: "/vms/101", privileges: ["VM.Audit"]))
    }

    @Test func nonPropagatingEntryAppliesOnlyToItsPath() {
        #expect(permissions.check("dave@pve", path: "/storage", privileges: ["Datastore.Allocate"]))
        #expect(!permissions.check("dave@pve", path: "/storage/local", privileges: ["Datastore.Allocate"]))
    }

    @Test func poolMembersGetThePoolsRoles() {
        #expect(permissions.check("dave@pve", path: "/vms/200", privileges: ["VM.PowerMgmt"]))
        #expect(!permissions.check("dave@pve", path: "/vms/201", privileges: ["VM.PowerMgmt"]))
    }

    @Test func privsepTokenIsIntersectedWithItsOwner() {
        // Token's own ACL grants PVEVMUser on /vms/100; the owner has PVEVMAdmin there: intersection = VMUser.
        #expect(permissions.check("alice@pve!sep", path: "/vms/100", privileges: ["VM.PowerMgmt"]))
        #expect(!permissions.check("alice@pve!sep", path: "/vms/100", privileges: ["VM.Allocate"]))
        // Without ACLs of its own a privsep token has nothing.
        #expect(permissions.privileges(of: "alice@pve!sep", on: "/nodes").isEmpty)
        // privsep=0 means the owner's privileges.
        #expect(permissions.check("alice@pve!full", path: "/vms/100", privileges: ["VM.Allocate"]))
    }

    @Test func rootTokensWithPrivsepHaveOnlyTheirOwnACLs() {
        var config = Self.config
        var root = UserConfig.User(userid: "root@pam")
        var token = UserConfig.Token(name: "ro")
        token.privsep = true
        root.tokens["ro"] = token
        config.users["root@pam"] = root
        config.acl.append(.init(path: "/", subject: .token("root@pam!ro"), role: "PVEAuditor", propagate: true))
        let permissions = Permissions(config: config)
        #expect(permissions.check("root@pam!ro", path: "/vms/1", privileges: ["VM.Audit"]))
        #expect(!permissions.check("root@pam!ro", path: "/vms/1", privileges: ["VM.Allocate"]))
        #expect(permissions.check("root@pam", path: "/vms/1", privileges: ["VM.Allocate"]))
    }

    @Test func unknownUserHasNothing() {
        #expect(permissions.privileges(of: "eve@pve", on: "/").isEmpty)
    }

    @Test func evaluatorReportsTheFailedPathAndPrivilege() {
        let evaluator = PermissionEvaluator(permissions: permissions)
        let identity = AuthIdentity(authID: "bob@pve", viaTicket: true)
        let outcome = evaluator.evaluate(
            .perm("/vms/{vmid}", ["VM.Allocate"], any: false, requireParam: nil),
            for: identity,
            parameters: ["vmid": "100"]
        )
        #expect(outcome == .denied("/vms/100, VM.Allocate"))
        #expect(evaluator.evaluate(.rootOnly, for: identity, parameters: [:]) == .denied("user != root@pam"))
        #expect(evaluator.evaluate(.useridSelf, for: identity, parameters: ["userid": "bob@pve"]) == .allowed)
    }
}
