import Foundation
import Testing

@testable import VireoCore

@Suite struct VMIDTests {
    @Test(arguments: ["100", "101", "8006", "999999999"])
    func acceptsValidVMIDs(text: String) throws {
        let vmid = try VMID(validating: text)
        #expect(vmid.description == text)
        #expect(vmid.value == Int(text))
    }

    @Test func rejectsVMIDBelow100() throws {
        #expect(throws: VireoError.self) { try VMID(validating: 99) }
        let error = try #require(throws: VireoError.self) { try VMID(validating: "99") }
        #expect(error.code == .invalidArgument)
        #expect(error.message == "invalid format - value '99' does not look like a valid VM ID")
    }

    @Test(arguments: ["", "0", "0100", "+100", "-100", "1000000000", "10a", " 100", "100 ", "١٠٠"])
    func rejectsMalformedVMIDs(text: String) {
        #expect(throws: VireoError.self) { try VMID(validating: text) }
    }

    @Test func rejectsVMIDAboveRange() {
        #expect(VMID(Int(1_000_000_000)) == nil)
        #expect(VMID(Int(999_999_999))?.value == 999_999_999)
    }

    @Test func encodesAsNumberAndDecodesNumberOrString() throws {
        let vmid = try VMID(validating: 100)
        #expect(String(decoding: try JSONEncoder().encode([vmid]), as: UTF8.self) == "[100]")
        #expect(try JSONDecoder().decode([VMID].self, from: Data("[100,\"101\"]".utf8)).map(\.value) == [100, 101])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([VMID].self, from: Data("[99]".utf8)) }
    }

    @Test func comparesNumerically() throws {
        #expect(try VMID(validating: 999) < VMID(validating: 1000))
    }
}

@Suite struct NameIdentifierTests {
    @Test(arguments: ["pve1", "a", "Node-01", "0", String(repeating: "a", count: 63)])
    func acceptsValidNodeNames(text: String) throws {
        #expect(try NodeName(validating: text).description == text)
    }

    @Test(arguments: ["", "-pve", "pve-", "pve_1", "pve.example.com", "pvé", String(repeating: "a", count: 64)])
    func rejectsInvalidNodeNames(text: String) throws {
        let error = try #require(throws: VireoError.self) { try NodeName(validating: text) }
        #expect(error.message.contains("'\(text)'"))
    }

    @Test(arguments: ["pam", "pve", "my-ldap.example_1", "ab", String(repeating: "r", count: 32)])
    func acceptsValidRealms(text: String) throws {
        #expect(try Realm(validating: text).description == text)
    }

    @Test(arguments: ["", "a", "1ab", "-ab", "a b", "a@b", String(repeating: "r", count: 33)])
    func rejectsInvalidRealms(text: String) {
        #expect(throws: VireoError.self) { try Realm(validating: text) }
    }

    @Test func realmMessageSaysPatternMismatch() throws {
        let error = try #require(throws: VireoError.self) { try Realm(validating: "1ab") }
        #expect(error.message == "invalid format - value '1ab' does not match the regex pattern")
    }

    @Test(arguments: ["admins", "PVE.admins-1_x", "1"])
    func acceptsValidGroupAndRoleIDs(text: String) throws {
        #expect(try GroupID(validating: text).description == text)
        #expect(try RoleID(validating: text).description == text)
    }

    @Test(arguments: ["", "a b", "a/b", "a:b", "a@b", "gr\u{FC}n"])
    func rejectsInvalidGroupAndRoleIDs(text: String) {
        #expect(throws: VireoError.self) { try GroupID(validating: text) }
        #expect(throws: VireoError.self) { try RoleID(validating: text) }
    }

    @Test func poolIDHasUpToThreeLevels() throws {
        let pool = try PoolID(validating: "dev/team-a/ci")
        #expect(pool.levels == ["dev", "team-a", "ci"])
        #expect(pool.parent?.description == "dev/team-a")
        #expect(pool.parent?.parent?.description == "dev")
        #expect(pool.parent?.parent?.parent == nil)
        #expect(try PoolID(validating: "prod").levels == ["prod"])
    }

    @Test(arguments: ["", "a/b/c/d", "a//b", "/a", "a/", "a b", "a:b"])
    func rejectsInvalidPoolIDs(text: String) {
        #expect(throws: VireoError.self) { try PoolID(validating: text) }
    }

    @Test(arguments: ["local", "local-lvm", "nfs.backup_2", "Local", "ab"])
    func acceptsValidStorageIDs(text: String) throws {
        #expect(try StorageID(validating: text).description == text)
    }

    @Test(arguments: ["", "l", "1abc", "abc-", "abc.", "a b", "a:b", "-abc"])
    func rejectsInvalidStorageIDs(text: String) {
        #expect(throws: VireoError.self) { try StorageID(validating: text) }
    }

    @Test func stringIdentifiersAreCodableAsStrings() throws {
        let node = try NodeName(validating: "pve1")
        #expect(String(decoding: try JSONEncoder().encode(node), as: UTF8.self) == "\"pve1\"")
        #expect(try JSONDecoder().decode(NodeName.self, from: Data("\"pve1\"".utf8)) == node)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(NodeName.self, from: Data("\"-x\"".utf8)) }
    }

    @Test func stringIdentifiersCompareByText() throws {
        let names = try ["pve3", "pve1", "pve2"].map { try NodeName(validating: $0) }
        #expect(names.sorted().map(\.description) == ["pve1", "pve2", "pve3"])
    }
}

@Suite struct UserAndTokenIDTests {
    @Test func parsesUserID() throws {
        let user = try UserID(validating: "root@pam")
        #expect(user.name == "root")
        #expect(user.realm == .pam)
        #expect(user == .root)
        #expect(user.description == "root@pam")
    }

    @Test func splitsUserIDAtLastAt() throws {
        let user = try UserID(validating: "jane@example.com@corp-ad")
        #expect(user.name == "jane@example.com")
        #expect(user.realm.description == "corp-ad")
    }

    @Test(arguments: ["a@pv", "j\u{E4}ne@pve", "a!b@pve", String(repeating: "n", count: 60) + "@pve"])
    func acceptsValidUserIDs(text: String) throws {
        #expect(try UserID(validating: text).description == text)
    }

    @Test(arguments: [
        "", "root", "root@", "@pam", "ro ot@pam", "a:b@pve", "a/b@pve", "root@1pam", "root@pam!tok",
        "a\tb@pve", String(repeating: "n", count: 61) + "@pve",
    ])
    func rejectsInvalidUserIDs(text: String) throws {
        let error = try #require(throws: VireoError.self) { try UserID(validating: text) }
        #expect(error.message.contains("does not look like a valid user name"))
    }

    @Test func buildsUserIDFromParts() throws {
        #expect(try UserID(name: "alice", realm: .pve).description == "alice@pve")
        #expect(throws: VireoError.self) { try UserID(name: "", realm: .pve) }
    }

    @Test func parsesTokenID() throws {
        let token = try TokenID(validating: "root@pam!ci-runner")
        #expect(token.user == .root)
        #expect(token.name == "ci-runner")
        #expect(token.description == "root@pam!ci-runner")
        #expect(try TokenID(user: .root, name: "ci-runner") == token)
    }

    @Test(arguments: ["root@pam", "root@pam!", "root@pam!c", "root@pam!1ab", "root@pam!a b", "root!ci", "@pam!ci"])
    func rejectsInvalidTokenIDs(text: String) {
        #expect(throws: VireoError.self) { try TokenID(validating: text) }
    }

    @Test func authIDTellsUsersFromTokens() throws {
        let user = try AuthID(validating: "a!b@pve")
        #expect(user == .user(try UserID(validating: "a!b@pve")))
        #expect(!user.isToken)

        let token = try AuthID(validating: "a!b@pve!tok")
        #expect(token.isToken)
        #expect(token.token?.name == "tok")
        #expect(token.user.description == "a!b@pve")
        #expect(token.description == "a!b@pve!tok")
        #expect(throws: VireoError.self) { try AuthID(validating: "nobody") }
    }

    @Test func authIDIsCodableAsString() throws {
        let id = try AuthID(validating: "root@pam!ci")
        #expect(String(decoding: try JSONEncoder().encode(id), as: UTF8.self) == "\"root@pam!ci\"")
        #expect(try JSONDecoder().decode(AuthID.self, from: Data("\"root@pam!ci\"".utf8)) == id)
    }
}

@Suite struct VolumeIDTests {
    @Test(arguments: [
        ("local:100/vm-100-disk-0.qcow2", "local", "100/vm-100-disk-0.qcow2"),
        ("local-lvm:vm-100-disk-0", "local-lvm", "vm-100-disk-0"),
        ("local:iso/debian-12.iso", "local", "iso/debian-12.iso"),
        (
            "local:100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2", "local",
            "100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2"
        ),
        ("rbd:ns:vm-1", "rbd", "ns:vm-1"),
        ("local:a..b", "local", "a..b"),
    ])
    func splitsStorageAndVolume(text: String, storage: String, volume: String) throws {
        let volid = try VolumeID(validating: text)
        #expect(volid.storage.description == storage)
        #expect(volid.volume == volume)
        #expect(volid.description == text)
    }

    @Test(arguments: [
        "", "local", "local:", ":vm-100", "1local:vm", "local:/etc/passwd", "local:../x", "local:a/../b",
        "local:a/..", "local:a\u{0}b", "local:a\nb",
    ])
    func rejectsUnsafeOrMalformedVolumeIDs(text: String) throws {
        let error = try #require(throws: VireoError.self) { try VolumeID(validating: text) }
        #expect(error.message.hasPrefix("unable to parse volume ID"))
    }
}

@Suite struct UPIDTests {
    static let sample = "UPID:pve1:0003A8F1:0157C2D4:66F1A2B3:qmstart:100:root@pam:"

    @Test func parsesFields() throws {
        let upid = try UPID(validating: Self.sample)
        #expect(upid.node == "pve1")
        #expect(upid.pid == 0x3A8F1)
        #expect(upid.pstart == 0x157C2D4)
        #expect(upid.starttime == 0x66F1_A2B3)
        #expect(upid.type == "qmstart")
        #expect(upid.id == "100")
        #expect(upid.user == "root@pam")
    }

    @Test(arguments: [
        sample,
        "UPID:pve1:0003A8F1:1157C2D4F:66F1A2B3:vncshell::root@pam!ci:",
        "UPID:node-2:00000001:00000000:00000000:imgdel:100@local:alice@pve:",
    ])
    func printsWhatWasParsed(text: String) throws {
        #expect(try UPID(validating: text).description == text)
    }

    @Test func printsUpperCaseZeroPaddedHex() throws {
        let upid = try UPID(
            node: "pve1",
            pid: 0x3a8f1,
            pstart: 0xabc,
            starttime: 0x66f1_a2b3,
            type: "qmstop",
            user: "root@pam"
        )
        #expect(upid.description == "UPID:pve1:0003A8F1:00000ABC:66F1A2B3:qmstop::root@pam:")
        #expect(try UPID(validating: "UPID:pve1:0003a8f1:00000abc:66f1a2b3:qmstop::root@pam:") == upid)
    }

    @Test(arguments: [
        "UPID:pve1:0003A8F1:0157C2D4:66F1A2B3:qmstart:100:root@pam",
        "UPID:pve1:0003A8F1:0157C2D4:66F1A2B3:qmstart:100:root@pam::",
        "upid:pve1:0003A8F1:0157C2D4:66F1A2B3:qmstart:100:root@pam:",
        "UPID:pve1:3A8F1:0157C2D4:66F1A2B3:qmstart:100:root@pam:",
        "UPID:pve1:0003A8F1:0157C2D:66F1A2B3:qmstart:100:root@pam:",
        "UPID:pve1:0003A8F1:0157C2D4AB:66F1A2B3:qmstart:100:root@pam:",
        "UPID:pve1:+003A8F1:0157C2D4:66F1A2B3:qmstart:100:root@pam:",
        "UPID:pve1:0003A8F1:0157C2D4:66F1A2B3::100:root@pam:",
        "UPID:pve1:0003A8F1:0157C2D4:66F1A2B3:qmstart:100::",
        "UPID:-pve:0003A8F1:0157C2D4:66F1A2B3:qmstart:100:root@pam:",
        "UPID:pve1:0003A8F1:0157C2D4:66F1A2B3:qm start:100:root@pam:",
    ])
    func rejectsMalformedUPIDs(text: String) throws {
        let error = try #require(throws: VireoError.self) { try UPID(validating: text) }
        #expect(error.message == "unable to parse worker upid '\(text)'")
    }

    @Test func rejectsFieldsThatCannotBePrinted() {
        #expect(throws: VireoError.self) {
            try UPID(node: "pve1", pid: 0x1_0000_0000, pstart: 0, starttime: 0, type: "x", user: "root@pam")
        }
        #expect(throws: VireoError.self) {
            try UPID(node: "pve1", pid: 1, pstart: 0x10_0000_0000, starttime: 0, type: "x", user: "root@pam")
        }
        #expect(throws: VireoError.self) {
            try UPID(node: "pve1", pid: 1, pstart: 0, starttime: -1, type: "x", user: "root@pam")
        }
        #expect(throws: VireoError.self) {
            try UPID(node: "pve1", pid: 1, pstart: 0, starttime: 0, type: "x", id: "a:b", user: "root@pam")
        }
    }

    @Test func isCodableAsString() throws {
        let upid = try UPID(validating: Self.sample)
        let data = try JSONEncoder().encode(upid)
        #expect(String(decoding: data, as: UTF8.self) == "\"\(Self.sample)\"")
        #expect(try JSONDecoder().decode(UPID.self, from: data) == upid)
    }
}
