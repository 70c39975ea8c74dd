import Crypto
import Foundation
import Logging
import SwiftASN1
import VireoAccess
import VireoCluster
import VireoStore
import X509

/// The node's key material, created on first start and reused after: the TLS key and certificate,
/// the ticket signing key pair and the CSRF secret, all in the config store (as under `/etc/pve`).
struct NodeSecrets {
    let tlsCertificatePEM: String
    let tlsKeyPEM: String
    let ticketKeyPEM: String
    let csrfSecret: String

    /// In a cluster the node's certificate is signed by the cluster CA (`addresses` are its
    /// names); standalone it is self-signed.
    static func loadOrCreate(
        store: any ConfigStore,
        node: String,
        addresses: [String] = [],
        logger: Logger
    ) async throws -> NodeSecrets {
        let certPath = "nodes/\(node)/pve-ssl.pem"
        let keyPath = "nodes/\(node)/pve-ssl.key"
        if try await store.read(keyPath) == nil {
            let (cert, key): (String, String)
            if let caCertificate = try await store.read("pve-root-ca.pem"),
                let caKey = try await store.read("priv/pve-root-ca.key")
            {
                (cert, key) = try ClusterCA(certificatePEM: caCertificate.content, keyPEM: caKey.content)
                    .issue(node: node, addresses: addresses)
            } else {
                (cert, key) = try makeCertificate(node: node)
            }
            try await store.write(keyPath, content: key, condition: .absent)
            try await store.write(certPath, content: cert, condition: .any)
            logger.info("node certificate created", metadata: ["node": "\(node)"])
        }
        if try await store.read("priv/authkey.key") == nil {
            let (privateKey, publicKey) = try TicketAuthority.generateSigningKeyPEM()
            try await store.write("priv/authkey.key", content: privateKey, condition: .absent)
            try await store.write("authkey.pub", content: publicKey, condition: .any)
            logger.info("ticket signing key created")
        }
        if try await store.read("priv/pve-www.key") == nil {
            let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
            try await store.write("priv/pve-www.key", content: secret + "\n", condition: .absent)
        }
        func content(_ path: String) async throws -> String {
            guard let file = try await store.read(path) else { throw NodeSecretsError.missing(path) }
            return file.content
        }
        return NodeSecrets(
            tlsCertificatePEM: try await content(certPath),
            tlsKeyPEM: try await content(keyPath),
            ticketKeyPEM: try await content("priv/authkey.key"),
            csrfSecret: try await content("priv/pve-www.key")
        )
    }

    /// A self-signed P-256 certificate for `node`, valid 730 days, with the names clients dial.
    static func makeCertificate(node: String) throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let certificateKey = Certificate.PrivateKey(key)
        let name = try DistinguishedName {
            OrganizationName("Vireo")
            CommonName(node)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: certificateKey.publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(730 * 86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                SubjectAlternativeNames([
                    .dnsName("localhost"), .dnsName(node),
                    .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                    .ipAddress(ASN1OctetString(contentBytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
                ])
            },
            issuerPrivateKey: certificateKey
        )
        return (try certificate.serializeAsPEM().pemString + "\n", key.pemRepresentation + "\n")
    }
}

enum NodeSecretsError: Error, CustomStringConvertible {
    case missing(String)
    var description: String {
        switch self {
        case .missing(let path): "node secret '\(path)' is missing from the config store"
        }
    }
}
