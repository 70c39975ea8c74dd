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

@Suite struct ACLPathGrammarTests {
    @Test(arguments: [
        "/", "/access", "/access/groups", "/access/groups/ops", "/access/realm/pve", "/nodes", "/nodes/pve1",
        "/pool", "/pool/p1", "/pool/a/b/c", "/sdn", "/sdn/zones", "/sdn/zones/z1", "/sdn/zones/z1/vnet1",
        "/sdn/zones/z1/vnet1/100", "/storage", "/storage/local", "/vms", "/vms/100", "/vms/999999", "/mapping",
        "/mapping/pci", "/mapping/pci/gpu0",
    ])
    func acceptsProxmoxPaths(path: String) {
        #expect(ACLPath.isValidTarget(path))
    }

    @Test(arguments: [
        "/pool/x\nacl:1:/:me@pve:Administrator:", "/pool/x:y", "/vms/99", "/vms/0100", "/vms/abc", "/nodes/a/b",
        "/access/users", "/access/groups/a/b", "/etc", "/storage/a b", "/sdn/zones/z/v/0", "/sdn/zones/z/v/10000",
        "/vms/100/../..", "/pool/a/b/c/d", "/mapping/a/b/c",
    ])
    func refusesEverythingElse(path: String) {
        #expect(!ACLPath.isValidTarget(ACLPath.normalized(path) ?? path))
    }

    @Test func normalizedRefusesCharactersOutsideTheGrammar() {
        #expect(ACLPath.normalized("//vms//100/") == "/vms/100")
        #expect(ACLPath.normalized("/pool/x\nacl") == nil)
        #expect(ACLPath.normalized("/pool/a:b") == nil)
        #expect(ACLPath.normalized("") == nil)
    }

    @Test func aPathParameterThatIsNoPathIsDenied() {
        var config = UserConfig()
        config.users["pa@pve"] = UserConfig.User(userid: "pa@pve")
        config.acl = [.init(path: "/pool", subject: .user("pa@pve"), role: "PVEPoolAdmin", propagate: true)]
        let evaluator = PermissionEvaluator(permissions: Permissions(config: config))
        let caller = AuthIdentity(authID: "pa@pve", viaTicket: false)
        #expect(evaluator.evaluate(.permModify("{path}"), for: caller, parameters: ["path": "/pool/x"]) == .allowed)
        let hostile = ["path": "/pool/x\nacl:1:/:pa@pve:Administrator:"]
        #expect(evaluator.evaluate(.permModify("{path}"), for: caller, parameters: hostile) != .allowed)
    }
}
