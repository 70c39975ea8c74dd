import Crypto

/// Proxmox's `digest` of a config file: SHA-1 hex of its raw bytes.
public enum ConfigDigest {
    public static func sha1Hex(_ content: String) -> String {
        Insecure.SHA1.hash(data: Array(content.utf8)).map { hexByte($0) }.joined()
    }

    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { hexByte($0) }.joined()
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
    }
}
