/// Line and word helpers for the `interfaces` format, whose syntax is all ASCII.
enum LineText {
    /// Perl's `\s` restricted to ASCII, less the newline that ends a line.
    static func isSpace(_ character: Character) -> Bool {
        character == " " || character == "\t" || character == "\r" || character == "\u{0B}" || character == "\u{0C}"
    }

    /// Splits at `\n` bytes, so that a `\r\n` (one `Character`) still ends a line; the `\r` stays in the line.
    static func lines(of text: String) -> (lines: [String], endsWithNewline: Bool) {
        guard !text.isEmpty else { return ([], false) }
        var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        let endsWithNewline = lines.last == ""
        if endsWithNewline { lines.removeLast() }
        return (lines, endsWithNewline)
    }

    static func trimmed(_ text: some StringProtocol) -> Substring {
        let text = Substring(text)
        guard let first = text.firstIndex(where: { !isSpace($0) }),
            let last = text.lastIndex(where: { !isSpace($0) })
        else { return text[text.endIndex...] }
        return text[first...last]
    }

    static func words(_ text: some StringProtocol) -> [Substring] {
        Substring(text).split(whereSeparator: isSpace)
    }

    static func isBlank(_ line: String) -> Bool { line.allSatisfy(isSpace) }

    static func isComment(_ line: String) -> Bool { trimmed(line).first == "#" }

    /// The leading whitespace of a line.
    static func indentation(of line: String) -> Substring { line.prefix(while: isSpace) }
}
