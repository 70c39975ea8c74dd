/// The escaping of free-text fields in `user.cfg`: control characters, bytes ≥ 0x80, `:` and `%`
/// become `%XX`, so a field never contains the separator.
enum URIEscape {
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte < 0x20 || byte >= 0x7f || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "%") {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            } else {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return out
    }

    static func decode(_ text: String) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
