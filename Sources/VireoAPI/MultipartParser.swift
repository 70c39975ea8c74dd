import Foundation

/// An incremental `multipart/form-data` parser: bytes go in as they arrive, parts come out as
/// events, and a part's body is never held whole (uploads of ISO images are streamed to disk).
struct MultipartParser {
    enum Event: Equatable {
        /// A new part with its headers (lower-cased names).
        case partStart([String: String])
        case data([UInt8])
        case partEnd
    }

    enum State { case preamble, headers, body, done }

    private let delimiter: [UInt8]
    private var buffer: [UInt8]
    private(set) var state = State.preamble

    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        // The first delimiter has no leading CRLF; pretend it has.
        buffer = Array("\r\n".utf8)
    }

    /// The boundary of a `multipart/form-data; boundary=…` content type.
    static func boundary(of contentType: String) -> String? {
        guard contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }

    /// Feeds bytes; returns the events they complete.
    mutating func feed(_ bytes: some Sequence<UInt8>) throws -> [Event] {
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        while true {
            switch state {
            case .done:
                buffer.removeAll()
                return events
            case .preamble:
                guard let index = find(delimiter) else {
                    // Keep a possible partial delimiter.
                    if buffer.count > delimiter.count { buffer.removeFirst(buffer.count - delimiter.count) }
                    return events
                }
                guard let next = afterDelimiter(index) else { return events }
                state = next
            case .headers:
                guard let end = find(Array("\r\n\r\n".utf8)) else {
                    guard buffer.count < 16 * 1024 else { throw MultipartError("part headers too large") }
                    return events
                }
                let text = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                var headers: [String: String] = [:]
                for line in text.split(separator: "\r\n") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                        .trimmingCharacters(in: .whitespaces)
                }
                events.append(.partStart(headers))
                state = .body
            case .body:
                guard let index = find(delimiter) else {
                    let safe = buffer.count - delimiter.count
                    if safe > 0 {
                        events.append(.data(Array(buffer[..<safe])))
                        buffer.removeFirst(safe)
                    }
                    return events
                }
                if index > 0 { events.append(.data(Array(buffer[..<index]))) }
                guard let next = afterDelimiter(index) else {
                    // The delimiter is here but not what follows it yet; keep it for the next feed.
                    buffer.removeFirst(index)
                    return events
                }
                events.append(.partEnd)
                state = next
            }
        }
    }

    /// Consumes the delimiter at `index` and what follows: `\r\n` (another part) or `--` (the end).
    private mutating func afterDelimiter(_ index: Int) -> State? {
        let after = index + delimiter.count
        guard buffer.count >= after + 2 else { return nil }
        let marker = (buffer[after], buffer[after + 1])
        buffer.removeFirst(after + 2)
        return marker == (UInt8(ascii: "-"), UInt8(ascii: "-")) ? .done : .headers
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count, let first = needle.first else { return nil }
        var start = 0
        while let candidate = buffer[start...].firstIndex(of: first), candidate + needle.count <= buffer.count {
            if buffer[candidate..<(candidate + needle.count)].elementsEqual(needle) { return candidate }
            start = candidate + 1
        }
        return nil
    }
}

struct MultipartError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Dictionary where Key == String, Value == String {
    /// `name` and `filename` from a part's `Content-Disposition: form-data; name="x"; filename="y"`.
    func dispositionParameter(_ key: String) -> String? {
        guard let disposition = self["content-disposition"] else { return nil }
        for item in disposition.split(separator: ";").dropFirst() {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == key {
                return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }
}
