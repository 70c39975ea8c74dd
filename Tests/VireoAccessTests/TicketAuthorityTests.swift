import Foundation
import Testing

@testable import VireoAccess

@Suite struct TicketAuthorityTests {
    let authority: TicketAuthority

    init() throws {
        authority = try TicketAuthority(
            privateKeyPEM: TicketAuthority.generateSigningKeyPEM().privateKey,
            csrfSecret: "secret"
        )
    }

    @Test func ticketHasProxmoxShapeAndVerifies() throws {
        let ticket = try authority.issueTicket(for: "alice@pve", now: 0x6B00_0000)
        #expect(ticket.hasPrefix("PVE:alice@pve:6B000000::"))
        #expect(try authority.verifyTicket(ticket, now: 0x6B00_0000 + 60) == "alice@pve")
    }

    @Test func expiredOrFutureTicketsAreRejected() throws {
        let ticket = try authority.issueTicket(for: "alice@pve", now: 1_000_000)
        #expect(throws: (any Error).self) { try authority.verifyTicket(ticket, now: 1_000_000 + 7200) }
        #expect(throws: (any Error).self) { try authority.verifyTicket(ticket, now: 1_000_000 - 301) }
        #expect(try authority.verifyTicket(ticket, now: 1_000_000 + 7199) == "alice@pve")
    }

    @Test func tamperedTicketIsRejected() throws {
        let ticket = try authority.issueTicket(for: "alice@pve")
        let forged = ticket.replacingOccurrences(of: "alice@pve", with: "root@pam")
        #expect(throws: (any Error).self) { try authority.verifyTicket(forged) }
        let other = try TicketAuthority(
            privateKeyPEM: TicketAuthority.generateSigningKeyPEM().privateKey,
            csrfSecret: "x"
        )
        #expect(throws: (any Error).self) { try other.verifyTicket(ticket) }
    }

    @Test func vncTicketIsBoundToUserPathPortAndAFewSeconds() throws {
        let ticket = try authority.issueVNCTicket(authID: "alice@pve", path: "/vms/100", port: 5900, now: 0x6B00_0000)
        #expect(ticket.hasPrefix("PVEVNC:6B000000::"))
        #expect(
            authority.verifyVNCTicket(ticket, authID: "alice@pve", path: "/vms/100", port: 5900, now: 0x6B00_0000 + 39)
        )
        #expect(
            !authority.verifyVNCTicket(ticket, authID: "alice@pve", path: "/vms/100", port: 5900, now: 0x6B00_0000 + 40)
        )
        #expect(!authority.verifyVNCTicket(ticket, authID: "bob@pve", path: "/vms/100", port: 5900, now: 0x6B00_0000))
        #expect(!authority.verifyVNCTicket(ticket, authID: "alice@pve", path: "/vms/101", port: 5900, now: 0x6B00_0000))
        #expect(!authority.verifyVNCTicket(ticket, authID: "alice@pve", path: "/vms/100", port: 5901, now: 0x6B00_0000))
        #expect(!authority.verifyVNCTicket(ticket, authID: "alice@pve", path: "/vms/100", port: nil, now: 0x6B00_0000))
        // A login ticket is no VNC ticket.
        let login = try authority.issueTicket(for: "alice@pve", now: 0x6B00_0000)
        #expect(!authority.verifyVNCTicket(login, authID: "alice@pve", path: "/vms/100", port: 5900, now: 0x6B00_0000))
    }

    @Test func csrfTokenIsBoundToUserAndTime() {
        let token = authority.csrfToken(for: "alice@pve", now: 5000)
        #expect(token.split(separator: ":")[1].count == 43)
        #expect(authority.verifyCSRFToken(token, userid: "alice@pve", now: 5100))
        #expect(!authority.verifyCSRFToken(token, userid: "bob@pve", now: 5100))
        #expect(!authority.verifyCSRFToken(token, userid: "alice@pve", now: 5000 + 7200))
        #expect(!authority.verifyCSRFToken("garbage", userid: "alice@pve"))
    }
}

@Suite struct PasswordHasherTests {
    @Test func hashesWithYescryptAndVerifies() throws {
        let hash = try PasswordHasher.hash("correct horse")
        #expect(hash.hasPrefix("$y$"))
        #expect(PasswordHasher.verify("correct horse", hash: hash))
        #expect(!PasswordHasher.verify("wrong horse", hash: hash))
        #expect(try PasswordHasher.hash("correct horse") != hash)  // salted
    }

    @Test func cloudInitPasswordsAreSHA256Crypt() throws {
        let hash = try PasswordHasher.sha256Crypt("s3cret")
        #expect(hash.hasPrefix("$5$"))
        #expect(PasswordHasher.verify("s3cret", hash: hash))
        #expect(PasswordHasher.looksHashed(hash))
        #expect(!PasswordHasher.looksHashed("s3cret"))
        #expect(!PasswordHasher.looksHashed("$5$"))
    }

    @Test func acceptsSHA256CryptHashesFromProxmox() {
        // Python's `crypt.crypt("secret", "$5$saltsalt")` (Proxmox's `$5$` shadow.cfg format).
        let hash = "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA"
        #expect(PasswordHasher.verify("secret", hash: hash))
        #expect(!PasswordHasher.verify("Secret", hash: hash))
        #expect(!PasswordHasher.verify("", hash: "*"))
    }
}
