import Foundation
import VireoCore

/// Fetches http(s) URLs with curl from the node's network namespace (where its storage and
/// management networks are), for `query-url-metadata` and `download-url`.
extension NodeHost {
    public struct URLMetadata: Sendable, Equatable {
        public var filename: String?
        public var size: Int?
        public var mimeType: String?
    }

    static func curlArguments(verifyCertificates: Bool) -> [String] {
        // Redirects may not leave http(s) (no file://, no gopher://).
        var arguments = [
            "--silent", "--show-error", "--location", "--max-redirs", "5", "--proto", "=http,https",
            "--proto-redir", "=http,https", "--connect-timeout", "30",
        ]
        if !verifyCertificates { arguments.append("--insecure") }
        return arguments
    }

    /// The URL's file name, size and type from a HEAD request.
    public func urlMetadata(_ url: String, verifyCertificates: Bool) async throws -> URLMetadata {
        let output = try await runTool(
            "curl",
            Self.curlArguments(verifyCertificates: verifyCertificates)
                + ["--head", "--max-time", "60", "--write-out", "\n%{url_effective}", "--", url],
            package: "curl",
            timeout: .seconds(90),
            inNamespace: true
        )
        return try Self.parseHead(output)
    }

    /// The last response of a `curl --head --location --write-out '\n%{url_effective}'` run.
    static func parseHead(_ text: String) throws -> URLMetadata {
        let lines = text.replacingOccurrences(of: "\r", with: "").split(
            separator: "\n",
            omittingEmptySubsequences: false
        )
        let finalURL = lines.last.map(String.init) ?? ""
        var headers: [String: String] = [:]
        var status = ""
        for line in lines.dropLast() {
            if line.hasPrefix("HTTP/") {
                status = line.split(separator: " ", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
                headers = [:]
            } else if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                    .trimmingCharacters(in: .whitespaces)
            }
        }
        guard status.hasPrefix("2") else { throw VireoError.invalid("invalid server response: '\(status)'") }
        var metadata = URLMetadata()
        metadata.size = headers["content-length"].flatMap { Int($0) }
        metadata.mimeType = headers["content-type"].map {
            String($0.prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces)
        }
        if let disposition = headers["content-disposition"], let range = disposition.range(of: "filename=") {
            metadata.filename = disposition[range.upperBound...].prefix { $0 != ";" }
                .trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        }
        // URL.path drops a trailing slash: a directory URL is told by the text itself.
        let finalPath = finalURL.prefix { $0 != "?" && $0 != "#" }
        if metadata.filename?.isEmpty ?? true, !finalPath.hasSuffix("/"), let path = URL(string: finalURL)?.path {
            let name = (path as NSString).lastPathComponent
            metadata.filename = name.isEmpty ? nil : name.removingPercentEncoding ?? name
        }
        return metadata
    }

    /// Downloads `url` into `path` (created, 0640), at most `maxBytes`.
    public func download(_ url: String, to path: String, verifyCertificates: Bool, maxBytes: Int) async throws {
        try await runTool(
            "curl",
            Self.curlArguments(verifyCertificates: verifyCertificates)
                + ["--fail", "--max-filesize", String(maxBytes), "--output", path, "--", url],
            package: "curl",
            timeout: .seconds(6 * 3600),
            inNamespace: true
        )
    }
}

extension NodeHost {
    /// Decompresses `source` into `target` with `tool -d -c`.
    public func decompress(_ source: String, to target: String, tool: String, package: String) async throws {
        guard Self.isInstalled(tool) else {
            throw VireoError(.notImplemented, "\(tool) is not installed (Debian package \(package))")
        }
        // The tool writes to stdout; a shell redirect keeps the output out of memory.
        try await runTool(
            "sh",
            ["-c", "exec \"$0\" -d -c -- \"$1\" > \"$2\"", tool, source, target],
            package: "dash",
            timeout: .seconds(3600)
        )
    }
}
