import Crypto
import Foundation
import SwiftASN1
import X509

/// The cluster's certificate authority (Proxmox's `pve-root-ca`): made by `pvecm create`, kept in
/// the tree (`pve-root-ca.pem`, `priv/pve-root-ca.key`), it signs every node's API certificate
/// and the certificates etcd members use between themselves and towards `vireod`.
public struct ClusterCA: Sendable {
    public let certificatePEM: String
    public let keyPEM: String
    private let certificate: Certificate
    private let key: P256.Signing.PrivateKey

    public init(certificatePEM: String, keyPEM: String) throws {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
        certificate = try Certificate(pemEncoded: certificatePEM)
        key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
    }

    /// A new CA for cluster `name`, valid ten years.
    public static func create(cluster name: String) throws -> ClusterCA {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("Vireo")
            OrganizationalUnitName("cluster \(name)")
            CommonName("Vireo Cluster CA")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(3650 * 86400),
            issuer: subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key)
        )
        return try ClusterCA(
            certificatePEM: try certificate.serializeAsPEM().pemString + "\n",
            keyPEM: key.pemRepresentation + "\n"
        )
    }

    /// A certificate for `node`, valid two years, for serving and for client authentication,
    /// with the names and addresses peers dial.
    public func issue(node: String, addresses: [String]) throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("Vireo")
            CommonName(node)
        }
        var names: [GeneralName] = [.dnsName("localhost"), .dnsName(node)]
        for address in Set(addresses + ["127.0.0.1", "::1"]).sorted() {
            if let bytes = IPAddressBytes.parse(address) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
            }
        }
        let now = Date()
        let issued = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(730 * 86400),
            issuer: certificate.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(self.key)
        )
        return (try issued.serializeAsPEM().pemString + "\n", key.pemRepresentation + "\n")
    }
}

/// Proxmox's certificate fingerprint: SHA-256 of the DER, upper-case hex pairs joined by colons.
public enum CertificateFingerprint {
    public static func sha256(pem: String) throws -> String {
        let certificate = try Certificate(pemEncoded: pem)
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return SHA256.hash(data: serializer.serializedBytes).map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    /// Compares two fingerprints as Proxmox's clients do: case and colons do not matter.
    public static func matches(_ one: String, _ other: String) -> Bool {
        normalized(one) == normalized(other) && !normalized(one).isEmpty
    }

    static func normalized(_ text: String) -> String { text.uppercased().filter { $0 != ":" } }
}

/// The bytes of an IPv4 or IPv6 address in text form.
enum IPAddressBytes {
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
