import Foundation
public import VireoCore

/// The node's system log (`/nodes/{node}/syslog` and `/journal`), read with journalctl.
extension NodeHost {
    /// `syslog`: lines `{n, t}` numbered from 1, a page of `limit` from `start`, and the total.
    public struct SyslogQuery: Sendable {
        public var start = 0
        public var limit = 50
        public var since: String?
        public var until: String?
        public var service: String?
        public init() {}
    }

    public func syslog(_ query: SyslogQuery) async throws -> (lines: [JSON], total: Int) {
        var arguments = ["--no-pager", "--output=short-iso", "--quiet"]
        if let since = query.since { arguments.append("--since=\(since)") }
        if let until = query.until { arguments.append("--until=\(until)") }
        if let service = query.service {
            let unit = Self.serviceUnits.first { $0.service == service }?.unit ?? service
            arguments.append("--unit=\(unit)")
        }
        let text = try await journalctl(arguments)
        let all = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let lines = all.isEmpty ? ["no content"] : all
        let page = lines.dropFirst(query.start).prefix(query.limit)
        let numbered = page.enumerated().map { offset, line -> JSON in
            ["n": .int(query.start + offset + 1), "t": .string(line)]
        }
        return (numbered, lines.count)
    }

    /// `journal`: lines in journalctl's short form between two cursors or times, or the last
    /// `lastentries`; the first and last line are the cursors to continue from, as Proxmox's
    /// journal reader gives them.
    public struct JournalQuery: Sendable {
        public var since: Int?
        public var until: Int?
        public var lastEntries: Int?
        public var startCursor: String?
        public var endCursor: String?
        public init() {}
    }

    public func journal(_ query: JournalQuery) async throws -> [String] {
        var arguments = ["--no-pager", "--output=json", "--quiet"]
        if let since = query.since { arguments.append("--since=@\(since)") }
        if let until = query.until { arguments.append("--until=@\(until)") }
        if let cursor = query.startCursor { arguments.append("--after-cursor=\(cursor)") }
        if let count = query.lastEntries {
            arguments.append("--lines=\(count)")
        } else if query.since == nil, query.startCursor == nil {
            arguments.append("--lines=500")
        }
        return Self.journalLines(try await journalctl(arguments), endCursor: query.endCursor)
    }

    /// Formats journalctl's JSON entries as short-iso lines, the cursor of the first entry first
    /// and that of the last one last (how Proxmox's journal reader pages); stops after `endCursor`.
    static func journalLines(_ text: String, endCursor: String? = nil) -> [String] {
        var lines: [String] = []
        var first: String?
        var last: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard case .object(let entry)? = try? JSON.parse(String(line)),
                case .string(let cursor)? = entry["__CURSOR"]
            else { continue }
            first = first ?? cursor
            last = cursor
            lines.append(Self.shortISO(entry))
            if cursor == endCursor { break }
        }
        guard let first, let last else { return [] }
        return [first] + lines + [last]
    }

    private static func shortISO(_ entry: [String: JSON]) -> String {
        func text(_ key: String) -> String? { if case .string(let value)? = entry[key] { value } else { nil } }
        let micros = Int(text("__REALTIME_TIMESTAMP") ?? "") ?? 0
        let time = Date(timeIntervalSince1970: Double(micros / 1_000_000)).formatted(.iso8601)
        let identifier = text("SYSLOG_IDENTIFIER") ?? text("_COMM") ?? "unknown"
        let pid = text("SYSLOG_PID") ?? text("_PID")
        let source = pid.map { "\(identifier)[\($0)]" } ?? identifier
        return "\(time) \(text("_HOSTNAME") ?? "localhost") \(source): \(text("MESSAGE") ?? "[binary data]")"
    }

    private func journalctl(_ arguments: [String]) async throws -> String {
        var arguments = arguments
        if let journalDirectory { arguments.insert("--directory=\(journalDirectory)", at: 0) }
        do {
            return try await runner.run(Invocation("journalctl", arguments, timeout: .seconds(30))).standardOutput
        } catch CommandError.notFound {
            throw VireoError(.notImplemented, "cannot read the system log: journalctl is not installed")
        } catch CommandError.failed(_, _, let standardError, _) {
            throw VireoError.invalid(
                "cannot read the system log: \(standardError.trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
    }
}
