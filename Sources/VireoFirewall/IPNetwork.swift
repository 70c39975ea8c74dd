#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address with a prefix length: `10.0.0.0/8`, `fe80::1` (a /128).
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 16 bytes, host bits cleared.
    public let bytes: [UInt8]
    public let prefixLength: Int

    public var isIPv6: Bool { bytes.count == 16 }
    public var maximumLength: Int { bytes.count * 8 }
    public var isHost: Bool { prefixLength == maximumLength }

    /// `address` or `address/length`; nil when either part is malformed. Host bits are cleared,
    /// as nft's interval sets require.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPNetwork.parseAddress(String(parts[0])) else { return nil }
        let maximum = address.count * 8
        var length = maximum
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy(\.isASCIIDigit),
                let value = Int(parts[1]), value <= maximum
            else { return nil }
            length = value
        }
        self.init(bytes: address, prefixLength: length)
    }

    init(bytes: [UInt8], prefixLength: Int) {
        var masked = bytes
        for index in masked.indices {
            let bitsKept = max(0, min(8, prefixLength - index * 8))
            masked[index] &= bitsKept == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - bitsKept))
        }
        self.bytes = masked
        self.prefixLength = prefixLength
    }

    /// The address alone, canonical (`inet_ntop`).
    public var address: String { IPNetwork.format(bytes) }

    /// `address` for a host, `address/length` otherwise.
    public var description: String { isHost ? address : "\(address)/\(prefixLength)" }

    static func parseAddress(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.count <= 45 else { return nil }
        if text.contains(":") {
            var storage = in6_addr()
            guard inet_pton(AF_INET6, text, &storage) == 1 else { return nil }
            return withUnsafeBytes(of: &storage) { Array($0) }
        }
        // inet_pton accepts only the dotted quad, which is what Proxmox accepts too.
        var storage = in_addr()
        guard inet_pton(AF_INET, text, &storage) == 1 else { return nil }
        return withUnsafeBytes(of: &storage) { Array($0) }
    }

    static func format(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = bytes.count == 16 ? AF_INET6 : AF_INET
        let written = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count))
        }
        guard written != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `other` lies inside this network.
    public func contains(_ other: IPNetwork) -> Bool {
        guard other.bytes.count == bytes.count, other.prefixLength >= prefixLength else { return false }
        return IPNetwork(bytes: other.bytes, prefixLength: prefixLength).bytes == bytes
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
