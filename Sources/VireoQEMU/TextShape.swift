/// Whole-string checks of the ASCII shapes QEMU's options accept. Every config validation runs
/// them (a PUT of a VM's config builds its command line), and a Swift `Regex` match costs a
/// hundred times as much as these loops.
enum TextShape {
    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// An alphanumeric first character, then alphanumerics or any of `others`.
    static func isWord(_ text: some StringProtocol, others: String) -> Bool {
        let extra = Set(others.utf8)
        guard let first = text.utf8.first, isAlphanumeric(first) else { return false }
        return text.utf8.dropFirst().allSatisfy { isAlphanumeric($0) || extra.contains($0) }
    }

    /// `+name` or `-name`, the name of alphanumerics, `.`, `_` and `-`.
    static func isCPUFlag(_ text: some StringProtocol) -> Bool {
        let extra = Set("._-".utf8)
        guard let sign = text.utf8.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return false }
        let name = text.utf8.dropFirst()
        return !name.isEmpty && name.allSatisfy { isAlphanumeric($0) || extra.contains($0) }
    }

    /// Dot-separated labels of alphanumerics and inner hyphens.
    static func isDNSName(_ text: String) -> Bool {
        text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { label in
            guard let first = label.first, let last = label.last else { return false }
            return isAlphanumeric(first) && isAlphanumeric(last)
                && label.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// 8-4-4-4-12 hex digits.
    static func isUUID(_ text: String) -> Bool {
        let groups = text.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(isHexDigit) }
    }

    /// The base64 alphabet, then up to two `=`.
    static func isBase64(_ text: String) -> Bool {
        let body = text.utf8.reversed().drop { $0 == UInt8(ascii: "=") }
        let padding = text.utf8.count - body.count
        let alphabet = Set("+/".utf8)
        return !body.isEmpty && padding <= 2 && body.allSatisfy { isAlphanumeric($0) || alphabet.contains($0) }
    }
}
