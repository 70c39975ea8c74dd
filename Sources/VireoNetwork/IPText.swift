/// Syntax checks for IP addresses, netmasks and CIDRs as they appear in the interfaces file.
public enum IPText {
    public static func isIPv4(_ text: some StringProtocol) -> Bool {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { octet(Substring($0)) != nil }
    }

    /// Hex groups with at most one `::`, optionally ending in a dotted IPv4 address. No zone index.
    public static func isIPv6(_ text: some StringProtocol) -> Bool {
        let text = Substring(text)
        guard let range = doubleColon(in: text) else {
            return groupCount(text, allowIPv4Tail: true) == 8
        }
        let head = text[..<range.lowerBound]
        let tail = text[range.upperBound...]
        guard doubleColon(in: tail) == nil, let headCount = groupCount(head, allowIPv4Tail: false),
            let tailCount = groupCount(tail, allowIPv4Tail: true)
        else { return false }
        return headCount + tailCount <= 7
    }

    /// Whether `text` is `address/length` with an address of the family and a length within it.
    static func isCIDR(_ text: String, ipv6: Bool) -> Bool {
        guard let slash = text.firstIndex(of: "/") else { return false }
        let address = text[..<slash]
        let length = text[text.index(after: slash)...]
        guard ipv6 ? isIPv6(address) : isIPv4(address) else { return false }
        return prefixLength(ofNetmask: String(length), maximum: ipv6 ? 128 : 32) != nil
            && !length.contains(".")
    }

    /// The prefix length of a netmask given as a length (`24`) or, up to 32, dotted (`255.255.255.0`).
    static func prefixLength(ofNetmask netmask: String, maximum: Int) -> Int? {
        if netmask.allSatisfy(isDigit) {
            guard netmask.count <= 3, let length = Int(netmask), (0...maximum).contains(length) else { return nil }
            return length
        }
        guard maximum == 32, isIPv4(netmask) else { return nil }
        let mask = netmask.split(separator: ".").reduce(UInt32(0)) { ($0 << 8) | UInt32(octet($1) ?? 0) }
        // Contiguous ones from the top: the inverted mask plus one is a power of two (or zero).
        let inverted = ~mask
        guard inverted & (inverted &+ 1) == 0 else { return nil }
        return mask.nonzeroBitCount
    }

    private static func octet(_ text: Substring) -> UInt8? {
        guard (1...3).contains(text.count), text.allSatisfy(isDigit) else { return nil }
        return UInt8(text)
    }

    private static func isDigit(_ character: Character) -> Bool { ("0"..."9").contains(character) }

    private static func isHexDigit(_ character: Character) -> Bool {
        isDigit(character) || ("a"..."f").contains(character) || ("A"..."F").contains(character)
    }

    private static func doubleColon(in text: Substring) -> Range<Substring.Index>? {
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if text[index] == ":", next < text.endIndex, text[next] == ":" {
                return index..<text.index(after: next)
            }
            index = next
        }
        return nil
    }

    /// The number of 16-bit groups in a run of `:`-separated groups; nil when one is malformed.
    private static func groupCount(_ text: Substring, allowIPv4Tail: Bool) -> Int? {
        guard !text.isEmpty else { return 0 }
        let groups = text.split(separator: ":", omittingEmptySubsequences: false)
        var count = 0
        for (position, group) in groups.enumerated() {
            if allowIPv4Tail, position == groups.count - 1, group.contains(".") {
                guard isIPv4(group) else { return nil }
                count += 2
            } else {
                guard (1...4).contains(group.count), group.allSatisfy(isHexDigit) else { return nil }
                count += 1
            }
        }
        return count
    }
}
