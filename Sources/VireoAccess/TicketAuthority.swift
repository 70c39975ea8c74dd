import Crypto
import CryptoExtras
import Foundation
public import Synchronization
import VireoCore

/// Issues and verifies login tickets and CSRF tokens in Proxmox's formats.
///
/// Ticket: `PVE:<userid>:<HEXTIME>::<base64 RSA signature>`, the signature (RSA-2048, PKCS#1 v1.5,
/// SHA-256) covering `PVE:<userid>:<HEXTIME>`. CSRF token: `HEXTIME:<unpadded b64 HMAC-SHA256>`.
/// Both are valid for `-300 < age < 7200` seconds.
public struct TicketAuthority: Sendable {
    public static let lifetime = 7200
    static let clockSkew = 300

    private let privateKey: _RSA.Signing.PrivateKey
    private let publicKey: _RSA.Signing.PublicKey
    private let csrfKey: SymmetricKey

    /// - Parameters:
    ///   - privateKeyPEM: the ticket signing key (`priv/authkey.key`).
    ///   - csrfSecret: the cluster-wide secret the CSRF key derives from (`priv/pve-www.key`).
    public init(privateKeyPEM: String, csrfSecret: String) throws {
        privateKey = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        publicKey = privateKey.publicKey
        // As Proxmox: the HMAC key is b64(HMAC-SHA256(key="", secret file contents)).
        let derived = HMAC<SHA256>.authenticationCode(for: Array(csrfSecret.utf8), using: SymmetricKey(data: [UInt8]()))
        csrfKey = SymmetricKey(data: Array(Self.base64NoPad(Data(derived)).utf8))
    }

    /// A new RSA-2048 key for signing tickets, as PEM.
    public static func generateSigningKeyPEM() throws -> (privateKey: String, publicKey: String) {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        return (key.pemRepresentation, key.publicKey.pemRepresentation)
    }

    // MARK: - Tickets

    public func issueTicket(for userid: String, now: Int = Self.now()) throws -> String {
        let plain = "PVE:\(Self.escapeColons(userid)):\(Self.hexTime(now))"
        let signature = try privateKey.signature(for: Array(plain.utf8), padding: .insecurePKCS1v1_5)
        return plain + "::" + signature.rawRepresentation.base64EncodedString()
    }

    /// The user ID a valid ticket was issued for.
    /// - Throws: `.unauthenticated` for a malformed, forged or expired ticket.
    public func verifyTicket(_ ticket: String, now: Int = Self.now()) throws -> String {
        let failure = VireoError(.unauthenticated, "authentication failure", underlying: TicketRejection.malformed)
        guard let separator = ticket.range(of: "::") else { throw failure }
        let plain = String(ticket[..<separator.lowerBound])
        let encodedSignature = ticket[separator.upperBound...]
        guard plain.hasPrefix("PVE:"), let lastColon = plain.lastIndex(of: ":"),
            let signature = Data(base64Encoded: String(encodedSignature))
        else { throw failure }
        let hexTime = plain[plain.index(after: lastColon)...]
        let data = plain[plain.index(plain.startIndex, offsetBy: 4)..<lastColon]
        guard hexTime.count == 8, let issued = Int(hexTime, radix: 16), !data.isEmpty else { throw failure }
        guard
            publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature),
                for: Array(plain.utf8),
                padding: .insecurePKCS1v1_5
            )
        else {
            throw VireoError(.unauthenticated, "authentication failure", underlying: TicketRejection.badSignature)
        }
        let age = now - issued
        guard age > -Self.clockSkew else {
            throw VireoError(.unauthenticated, "authentication failure", underlying: TicketRejection.future(by: -age))
        }
        guard age < Self.lifetime else {
            throw VireoError(.unauthenticated, "authentication failure", underlying: TicketRejection.expired(age: age))
        }
        return String(data).replacingOccurrences(of: "%3A", with: ":")
    }

    // MARK: - VNC tickets

    /// A short-lived ticket for one console: `PVEVNC:<HEXTIME>::<signature>`, the signature
    /// covering `PVEVNC:<HEXTIME>:<authid>:<path>[:<port>]`.
    public func issueVNCTicket(authID: String, path: String, port: Int? = nil, now: Int = Self.now()) throws -> String {
        let time = Self.hexTime(now)
        let signature = try privateKey.signature(
            for: Array(Self.vncPlain(time: time, authID: authID, path: path, port: port).utf8),
            padding: .insecurePKCS1v1_5
        )
        return "PVEVNC:\(time)::" + signature.rawRepresentation.base64EncodedString()
    }

    /// Whether `ticket` was issued for this user, path and port, less than 40 s ago.
    public func verifyVNCTicket(
        _ ticket: String,
        authID: String,
        path: String,
        port: Int?,
        now: Int = Self.now()
    ) -> Bool {
        let parts = ticket.components(separatedBy: "::")
        guard parts.count == 2, parts[0].hasPrefix("PVEVNC:"), let signature = Data(base64Encoded: parts[1]) else {
            return false
        }
        let time = String(parts[0].dropFirst("PVEVNC:".count))
        guard time.count == 8, let issued = Int(time, radix: 16) else { return false }
        let age = now - issued
        guard age > -20, age < 40 else { return false }
        return publicKey.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signature),
            for: Array(Self.vncPlain(time: time, authID: authID, path: path, port: port).utf8),
            padding: .insecurePKCS1v1_5
        )
    }

    static func vncPlain(time: String, authID: String, path: String, port: Int?) -> String {
        "PVEVNC:\(time):\(authID):\(path)" + (port.map { ":\($0)" } ?? "")
    }

    // MARK: - CSRF

    public func csrfToken(for userid: String, now: Int = Self.now()) -> String {
        let time = Self.hexTime(now)
        return time + ":" + csrfMAC(time: time, userid: userid)
    }

    public func verifyCSRFToken(_ token: String, userid: String, now: Int = Self.now()) -> Bool {
        let parts = token.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0].count == 8, let issued = Int(parts[0], radix: 16) else { return false }
        let age = now - issued
        guard age > -Self.clockSkew, age < Self.lifetime else { return false }
        let expected = csrfMAC(time: String(parts[0]), userid: userid)
        // Constant-time comparison of equal-length ASCII strings.
        let a = Array(expected.utf8)
        let b = Array(parts[1].utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func csrfMAC(time: String, userid: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(time):\(userid)".utf8), using: csrfKey)
        return Self.base64NoPad(Data(mac))
    }

    // MARK: - Helpers

    public static func now() -> Int { Int(Date().timeIntervalSince1970) + clockOffset.load(ordering: .relaxed) }

    /// Seconds added to this node's clock for tickets and expiry: a test stands for a node whose
    /// clock is wrong (`vireod --clock-offset`); 0 otherwise.
    public static let clockOffset = Atomic<Int>(0)

    static func hexTime(_ time: Int) -> String {
        String(UInt32(truncatingIfNeeded: time), radix: 16, uppercase: true).leftPadded(to: 8)
    }

    static func escapeColons(_ userid: String) -> String { userid.replacingOccurrences(of: ":", with: "%3A") }

    static func base64NoPad(_ data: Data) -> String {
        var text = data.base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}

/// Why a ticket was refused (kept as the error's cause: the caller only ever hears "authentication
/// failure", the diagnosis hears why).
public enum TicketRejection: Error, Equatable, Sendable {
    case malformed
    case badSignature
    /// Issued more than the allowed skew ahead of this node's clock.
    case future(by: Int)
    case expired(age: Int)
}
