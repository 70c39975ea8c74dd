/// Byte-level helpers for the config codecs.
///
/// Every syntax character of the Proxmox text formats is ASCII, so the parsers work on UTF-8 bytes:
/// that sidesteps grapheme clustering (`"\r\n"` is one `Character`) and never splits a multi-byte
/// sequence, because a UTF-8 continuation byte is never ASCII.
package enum ASCII {
    static let newline = UInt8(ascii: "\n")
    static let colon = UInt8(ascii: ":")
    static let hash = UInt8(ascii: "#")

    /// Perl's `\s` restricted to ASCII: space, tab, line feed, vertical tab, form feed, carriage return.
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }

    static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    static func isLower(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) }
    static func isUpper(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) }
    static func isLetter(_ byte: UInt8) -> Bool { isLower(byte) || isUpper(byte) }
    static func isAlphanumeric(_ byte: UInt8) -> Bool { isLetter(byte) || isDigit(byte) }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }

    /// `[A-Za-z0-9.\-_]`, the character class of Proxmox's role, group, pool, realm and token IDs.
    package static func isIDCharacter(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "_")
    }

    /// The text split at every `\n`; a final `\n` does not start an extra line.
    static func lines(of text: String) -> [ArraySlice<UInt8>] {
        let bytes = Array(text.utf8)
        var lines = bytes.split(separator: newline, omittingEmptySubsequences: false)
        if bytes.last == newline { lines.removeLast() }
        return lines
    }

    static func trimmingTrailingSpace(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var end = bytes.endIndex
        while end > bytes.startIndex, isSpace(bytes[end - 1]) { end -= 1 }
        return bytes[bytes.startIndex..<end]
    }

    static func trimmingLeadingSpace(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var start = bytes.startIndex
        while start < bytes.endIndex, isSpace(bytes[start]) { start += 1 }
        return bytes[start..<bytes.endIndex]
    }

    static func trimmingSpace(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        trimmingLeadingSpace(trimmingTrailingSpace(bytes))
    }

    static func string(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Whether every byte of a non-empty text is in the class.
    static func all(_ text: some StringProtocol, _ predicate: (UInt8) -> Bool) -> Bool {
        !text.utf8.isEmpty && text.utf8.allSatisfy(predicate)
    }

    /// Whether the text has leading or trailing ASCII whitespace.
    static func hasOuterSpace(_ text: String) -> Bool {
        guard let first = text.utf8.first, let last = text.utf8.last else { return false }
        return isSpace(first) || isSpace(last)
    }

    /// Whether the text holds a line break or another control character, which no line-based
    /// config value may contain.
    static func hasLineBreak(_ text: String) -> Bool {
        !ConfigValue.isSingleLine(text)
    }
}
