import Foundation
public import VireoCore

/// What `/nodes/{node}/certificates/info` shows of a PEM certificate, asked of `openssl x509`.
public enum CertificateInfo {
    public static func describe(pem: String, filename: String, host: NodeHost) async throws -> [String: JSON] {
        let output = try await host.runTool(
            "openssl",
            [
                "x509", "-noout", "-subject", "-issuer", "-startdate", "-enddate", "-fingerprint", "-sha256",
                "-ext", "subjectAltName", "-nameopt", "RFC2253", "-text",
            ],
            package: "openssl",
            input: Array(pem.utf8),
            timeout: .seconds(10)
        )
        var fields = parse(output)
        fields["filename"] = .string(filename)
        fields["pem"] = .string(pem)
        return fields
    }

    /// The `key=value` lines openssl prints, the SANs after their header, the key type and size.
    static func parse(_ text: String) -> [String: JSON] {
        var fields: [String: JSON] = [:]
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        func epoch(_ value: String) -> JSON {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
            let squeezed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            return formatter.date(from: squeezed).map { .int(Int($0.timeIntervalSince1970)) } ?? .null
        }
        for (index, line) in lines.enumerated() {
            if line.hasPrefix("subject=") { fields["subject"] = .string(String(line.dropFirst("subject=".count))) }
            if line.hasPrefix("issuer=") { fields["issuer"] = .string(String(line.dropFirst("issuer=".count))) }
            if line.hasPrefix("notBefore=") { fields["notbefore"] = epoch(String(line.dropFirst("notBefore=".count))) }
            if line.hasPrefix("notAfter=") { fields["notafter"] = epoch(String(line.dropFirst("notAfter=".count))) }
            if let range = line.range(of: "Fingerprint=") {
                fields["fingerprint"] = .string(String(line[range.upperBound...]))
            }
            if line.hasPrefix("X509v3 Subject Alternative Name"), index + 1 < lines.count {
                let names = lines[index + 1].split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "DNS:", with: "")
                        .replacingOccurrences(of: "IP Address:", with: "")
                }
                if fields["san"] == nil { fields["san"] = .array(names.map { .string($0) }) }
            }
            if line.hasPrefix("Public Key Algorithm:") {
                let algorithm = line.dropFirst("Public Key Algorithm:".count).trimmingCharacters(in: .whitespaces)
                fields["public-key-type"] = .string(
                    algorithm == "rsaEncryption"
                        ? "rsaEncryption" : algorithm == "id-ecPublicKey" ? "id-ecPublicKey" : algorithm
                )
            }
            if line.contains("Public-Key: ("), let open = line.firstIndex(of: "("),
                let bits = Int(line[line.index(after: open)...].prefix { $0.isNumber })
            {
                fields["public-key-bits"] = .int(bits)
            }
        }
        return fields
    }
}
