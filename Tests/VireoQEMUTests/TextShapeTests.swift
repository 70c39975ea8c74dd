import Testing

@testable import VireoQEMU

/// The hand checks against the regular expressions they replace (what the command builder used
/// before), on names that pass and names that must not.
struct TextShapeTests {
    static let samples: [String] = [
        "", "a", "A1", "web-01", "-web", "web-", "web.example.com", "web..example", ".web", "web.", "a.b-c.d",
        "x86-64-v2", "kvm64", "host", "pc-i440fx-8.2+pve0", "_x", "a_b", "+aes", "-x2apic", "+", "-", "+a.b_c-d",
        "ü", "a b", "a\nb", "5f0f8a5e-5b1d-4d5e-9f1a-0c6f1b2a3d4e", "5F0F8A5E-5B1D-4D5E-9F1A-0C6F1B2A3D4E",
        "5f0f8a5e5b1d4d5e9f1a0c6f1b2a3d4e", "5f0f8a5e-5b1d-4d5e-9f1a-0c6f1b2a3d4",
        "zf0f8a5e-5b1d-4d5e-9f1a-0c6f1b2a3d4e",
        "aGVsbG8=", "aGVsbG8", "aGVsbA==", "aGVs===", "=", "a+/b", "a-b", "QUJD\n",
    ]

    @Test(arguments: samples) func agreeWithTheRegularExpressions(_ text: String) {
        #expect(TextShape.isWord(text, others: "._+-") == (text.wholeMatch(of: #/[A-Za-z0-9][A-Za-z0-9._+-]*/#) != nil))
        #expect(TextShape.isWord(text, others: "._-") == (text.wholeMatch(of: #/[A-Za-z0-9][A-Za-z0-9._-]*/#) != nil))
        #expect(TextShape.isCPUFlag(text) == (text.wholeMatch(of: #/[+-][A-Za-z0-9._-]+/#) != nil))
        let dnsName = #/([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?/#
        #expect(TextShape.isDNSName(text) == (text.wholeMatch(of: dnsName) != nil))
        let uuid = #/[a-fA-F0-9]{8}(-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}/#
        #expect(TextShape.isUUID(text) == (text.wholeMatch(of: uuid) != nil))
        #expect(TextShape.isBase64(text) == (text.wholeMatch(of: #/[A-Za-z0-9+\/]+={0,2}/#) != nil))
    }
}
