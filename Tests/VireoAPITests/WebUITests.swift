import Foundation
import Hummingbird
import Testing

@testable import VireoAPI

@Suite struct WebUITests {
    /// A UI tree in a temporary directory: index.html, one module, and a vendor tree.
    private func makeTree(module: String = "export const x = 1;\n") throws -> (ui: String, vendor: String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("webui-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("ui/app"),
            withIntermediateDirectories: true
        )
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("vendor/novnc"),
            withIntermediateDirectories: true
        )
        try #"<script type="module" src="%BASE%/app/main.js"></script>"#.write(
            to: root.appendingPathComponent("ui/index.html"),
            atomically: true,
            encoding: .utf8
        )
        try module.write(to: root.appendingPathComponent("ui/app/main.js"), atomically: true, encoding: .utf8)
        try "export default 1;\n".write(
            to: root.appendingPathComponent("vendor/novnc/rfb.js"),
            atomically: true,
            encoding: .utf8
        )
        return (root.appendingPathComponent("ui").path, root.appendingPathComponent("vendor").path)
    }

    @Test func thePageNamesItsAssetsUnderTheTreeHashAndIsNeverCached() async throws {
        let tree = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: (tree.ui as NSString).deletingLastPathComponent) }
        let ui = try WebUI(directory: tree.ui, vendorDirectory: tree.vendor)
        let page = ui.respond(path: "/", method: .get)
        #expect(page.status == .ok)
        #expect(page.headers[.cacheControl] == "no-cache")
        let policy = try #require(page.headers[.contentSecurityPolicy])
        #expect(policy.contains("script-src 'self'"))
        #expect(!policy.contains("unsafe"))
        let asset = ui.respond(path: ui.base + "/app/main.js", method: .get)
        #expect(asset.status == .ok)
        #expect(asset.headers[.cacheControl]?.contains("immutable") == true)
        #expect(asset.headers[.contentType]?.hasPrefix("text/javascript") == true)
        #expect(ui.respond(path: ui.base + "/vendor/novnc/rfb.js", method: .get).status == .ok)
        #expect(ui.respond(path: ui.base + "/app/missing.js", method: .get).status == .notFound)
        #expect(ui.respond(path: "/", method: .post).status == .methodNotAllowed)
        // An older page's hash still gets today's file, but not for a year.
        let stale = ui.respond(path: "/ui/0000000000000000/app/main.js", method: .get)
        #expect(stale.status == .ok)
        #expect(stale.headers[.cacheControl] == "no-cache")
    }

    @Test func anyChangedFileChangesTheHash() throws {
        let one = try makeTree(module: "export const x = 1;\n")
        let two = try makeTree(module: "export const x = 2;\n")
        defer {
            for tree in [one, two] {
                try? FileManager.default.removeItem(atPath: (tree.ui as NSString).deletingLastPathComponent)
            }
        }
        let first = try WebUI(directory: one.ui, vendorDirectory: one.vendor)
        #expect(try WebUI(directory: one.ui, vendorDirectory: one.vendor).base == first.base)
        #expect(try WebUI(directory: two.ui, vendorDirectory: two.vendor).base != first.base)
    }

    @Test func aDirectoryWithoutThePageIsRefused() {
        #expect(throws: (any Error).self) { try WebUI(directory: "/nonexistent-\(UUID().uuidString)") }
    }
}
