import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VireoCore

/// The web UI's files, served beside the API: `/` is the page, `/ui/<hash>/…` its modules, styles
/// and the vendored consoles (noVNC, xterm.js). The hash covers every file, so assets can be cached
/// for a year and a new daemon's UI is never mixed with an old one's.
public struct WebUI: Sendable {
    /// `/ui/<hash>`, the prefix every asset is served under.
    public let base: String
    private let index: [UInt8]
    private let assets: [String: [UInt8]]

    /// What a strict page may load: only this origin's own scripts, styles and connections.
    static let contentSecurityPolicy = [
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
        "font-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'",
        "frame-ancestors 'none'", "form-action 'self'",
    ].joined(separator: "; ")

    /// Loads `directory` (with `index.html`) and the vendor tree (served as `vendor/…`; default
    /// `<directory>/vendor`). A missing vendor tree only leaves the consoles without their code.
    public init(directory: String, vendorDirectory: String? = nil) throws {
        let root = URL(fileURLWithPath: directory)
        guard let page = FileManager.default.contents(atPath: root.appendingPathComponent("index.html").path) else {
            throw VireoError(.notFound, "web UI: no index.html in \(directory)")
        }
        var files = Self.files(under: root, prefix: "", skipping: vendorDirectory == nil ? [] : ["vendor"])
        if let vendorDirectory {
            files.merge(Self.files(under: URL(fileURLWithPath: vendorDirectory), prefix: "vendor/", skipping: [])) {
                first,
                _ in first
            }
        }
        files["index.html"] = nil
        var digestInput: [UInt8] = []
        for path in files.keys.sorted() {
            digestInput += Array(path.utf8) + [0] + Array(ConfigDigest.sha256Hex(files[path] ?? []).utf8)
        }
        digestInput += Array(page)
        base = "/ui/" + ConfigDigest.sha256Hex(digestInput).prefix(16)
        assets = files
        index = Array(String(decoding: page, as: UTF8.self).replacingOccurrences(of: "%BASE%", with: base).utf8)
    }

    /// Where the UI is when `--ui-dir` is not given: `$VIREO_UI_DIR`, a source checkout above the
    /// binary (`.build/…/vireod` → `ui/`), then the installed `/usr/share/vireo/ui`.
    public static func defaultDirectory() -> String? {
        if let dir = ProcessInfo.processInfo.environment["VIREO_UI_DIR"], !dir.isEmpty { return dir }
        let fm = FileManager.default
        var dir = URL(fileURLWithPath: (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/")
            .deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent("ui")
            if fm.fileExists(atPath: candidate.appendingPathComponent("index.html").path) { return candidate.path }
            dir.deleteLastPathComponent()
        }
        return fm.fileExists(atPath: "/usr/share/vireo/ui/index.html") ? "/usr/share/vireo/ui" : nil
    }

    /// True for the paths the UI answers: `/`, `/index.html`, `/favicon.ico` and `/ui/…`.
    static func serves(_ path: String) -> Bool {
        path == "/" || path == "/index.html" || path == "/favicon.ico" || path.hasPrefix("/ui/")
    }

    func respond(path: String, method: HTTPRequest.Method) -> Response {
        guard method == .get || method == .head else {
            return Self.plain(.methodNotAllowed, "only GET and HEAD are served here")
        }
        if path == "/" || path == "/index.html" {
            var headers = Self.securityHeaders
            headers[.contentType] = "text/html; charset=utf-8"
            headers[.cacheControl] = "no-cache"
            headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: index)))
        }
        if path == "/favicon.ico" {
            // Browsers ask for it whatever the page links; a 404 would be an error in their console.
            guard let name = ["img/favicon.ico", "img/favicon.svg"].first(where: { assets[$0] != nil }),
                let bytes = assets[name]
            else { return Self.plain(.notFound, "no favicon") }
            var headers = Self.securityHeaders
            headers[.contentType] = Self.contentType(of: name)
            headers[.cacheControl] = "public, max-age=86400"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        // /ui/<hash>/<file>: a page of an earlier daemon asks with its own hash; it gets today's
        // file, uncached, so the new UI never lands in a browser's cache under the old name.
        let rest = path.dropFirst("/ui/".count)
        guard let slash = rest.firstIndex(of: "/") else { return Self.plain(.notFound, "no such file") }
        let file = String(rest[rest.index(after: slash)...])
        guard let bytes = assets[file] else { return Self.plain(.notFound, "no such file: \(file)") }
        var headers = Self.securityHeaders
        headers[.contentType] = Self.contentType(of: file)
        headers[.cacheControl] =
            "/ui/" + rest[..<slash] == base ? "public, max-age=31536000, immutable" : "no-cache"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A page without the UI installed says how to get it.
    static func missing() -> Response {
        plain(.notFound, "The web UI is not installed on this node: start vireod with --ui-dir (or set VIREO_UI_DIR).")
    }

    private static var securityHeaders: HTTPFields {
        var headers = HTTPFields()
        headers[.xContentTypeOptions] = "nosniff"
        headers[.xFrameOptions] = "DENY"
        headers[.referrerPolicy] = "same-origin"
        headers[.server] = "pve-api-daemon/3.0"
        return headers
    }

    private static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    static func contentType(of file: String) -> String {
        switch (file as NSString).pathExtension.lowercased() {
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        case "woff2": "font/woff2"
        case "json", "map": "application/json"
        case "html": "text/html; charset=utf-8"
        default: "application/octet-stream"
        }
    }

    /// Every regular file under `root` by its relative path; hidden files and `skipping` (top-level
    /// names) left out. Symbolic links are followed only inside the tree's own files.
    private static func files(under root: URL, prefix: String, skipping: Set<String>) -> [String: [UInt8]] {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: root.path) else { return [:] }
        var files: [String: [UInt8]] = [:]
        while let relative = walker.nextObject() as? String {
            let parts = relative.split(separator: "/")
            if parts.contains(where: { $0.hasPrefix(".") })
                || parts.first.map({ skipping.contains(String($0)) }) == true
            {
                continue
            }
            var isDirectory: ObjCBool = false
            let path = root.appendingPathComponent(relative).path
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                let data = fm.contents(atPath: path)
            else { continue }
            files[prefix + relative] = Array(data)
        }
        return files
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options") ?? .server
    static let referrerPolicy = Self("Referrer-Policy") ?? .server
}
