import Testing

@testable import VireoAccess

@Suite struct UserConfigTests {
    let sample = """
        user:alice@pve:1:0:Alice:Liddell:alice@example.com:Web%3A 100%25:::
        token:alice@pve!ci:0:1:deploy bot:
        user:bob@pam:0:1767225600::::::
        user:root@pam:1:0:::root@localhost:::

        group:admins:alice@pve,bob@pam:Administrators:

        pool:prod:Production:100,101:local:

        role:Deployer:VM.Allocate,VM.Audit,VM.Monitor:

        acl:1:/:@admins:PVEAuditor:
        acl:1:/vms:alice@pve:PVEVMAdmin:
        acl:0:/vms/100:alice@pve!ci:PVEVMUser:

        """

    @Test func parsesEveryEntryType() throws {
        let config = UserConfig(parsing: sample)
        let alice = try #require(config.users["alice@pve"])
        #expect(alice.comment == "Web: 100%")
        #expect(alice.firstname == "Alice")
        #expect(alice.tokens["ci"]?.privsep == true)
        #expect(config.users["bob@pam"]?.enable == false)
        #expect(config.users["bob@pam"]?.expire == 1_767_225_600)
        #expect(config.groups["admins"]?.members == ["alice@pve", "bob@pam"])
        #expect(config.pools["prod"]?.vms == [100, 101])
        #expect(config.acl.count == 3)
    }

    @Test func dropsUnknownPrivilegesWithAWarning() {
        let config = UserConfig(parsing: sample)
        #expect(config.roles["Deployer"] == ["VM.Allocate", "VM.Audit"])
        #expect(config.warnings.contains { $0.contains("VM.Monitor") })
    }

    @Test func tokenLineWithoutPrivsepMeansZero() {
        let config = UserConfig(parsing: "user:a@pve:1:0::::::\ntoken:a@pve!t:0::\n")
        #expect(config.users["a@pve"]?.tokens["t"]?.privsep == false)
    }

    @Test func writesAndReadsBackTheSameConfig() throws {
        let config = UserConfig(parsing: sample)
        let written = try config.serialized()
        #expect(UserConfig(parsing: written) == config)
        // Writing is stable: a second round gives the same text.
        #expect(try UserConfig(parsing: written).serialized() == written)
        #expect(written.contains("user:alice@pve:1:0:Alice:Liddell:alice@example.com:Web%3A 100%25::\n"))
    }

    @Test func mergesACLSubjectsWithTheSameRoles() throws {
        var config = UserConfig(parsing: "user:a@pve:1:0::::::\nuser:b@pve:1:0::::::\n")
        config.acl = [
            .init(path: "/", subject: .user("a@pve"), role: "PVEAuditor", propagate: true),
            .init(path: "/", subject: .user("b@pve"), role: "PVEAuditor", propagate: true),
        ]
        #expect(try config.serialized().contains("acl:1:/:a@pve,b@pve:PVEAuditor:\n"))
    }

    @Test func dropsACLsForUnknownSubjects() {
        let config = UserConfig(parsing: "acl:1:/:ghost@pve:Administrator:\n")
        #expect(config.acl.isEmpty)
    }
}

@Suite struct BuiltinRoleTests {
    @Test func privilegeCountsMatchProxmox() {
        #expect(Privilege.all.count == 47)
        #expect(BuiltinRole.roles["PVEVMAdmin"]?.count == 23)
        #expect(BuiltinRole.roles["PVEAdmin"]?.count == 40)
        #expect(BuiltinRole.roles["Administrator"]?.count == 47)
        #expect(BuiltinRole.roles["NoAccess"]?.isEmpty == true)
    }

    @Test func auditorHoldsOnlyAuditPrivileges() throws {
        let auditor = try #require(BuiltinRole.roles["PVEAuditor"])
        #expect(auditor.allSatisfy { $0.hasSuffix(".Audit") })
        #expect(auditor.count == 7)
    }

    @Test func pveAdminLacksRootTier() throws {
        let admin = try #require(BuiltinRole.roles["PVEAdmin"])
        for privilege in ["Sys.PowerMgmt", "Sys.Modify", "Realm.Allocate", "Permissions.Modify", "Mapping.Modify"] {
            #expect(!admin.contains(privilege))
        }
    }
}
