import Foundation
import VireoAccess
import VireoCore
import VireoHost
import VireoStorage
import VireoTasks

/// `POST /nodes/{node}/storage/{storage}/download-url`: an ISO, container template or import
/// image fetched by URL into a storage as a `download` task, checked against a checksum, and
/// unpacked when it comes compressed.
extension StorageEndpoints {
    /// The decompressors `compression` may name, with their Debian packages.
    static let decompressors: [String: (tool: String, package: String)] = [
        "gz": ("gzip", "gzip"), "lzo": ("lzop", "lzop"), "zst": ("zstd", "zstd"), "bz2": ("bzip2", "bzip2"),
    ]

    static func registerDownload(in registry: inout APIRegistry) {
        registry.register(
            .post,
            "/nodes/{node}/storage/{storage}/download-url",
            handles: [
                "url", "content", "filename", "checksum", "checksum-algorithm", "compression", "verify-certificates",
            ]
        ) { request in
            let p = request.parameters
            let id = try p.require("storage")
            let url = try NodeEndpoints.checkedURL(p)
            let content = try p.require("content")
            guard let type = ContentType(rawValue: content), [.iso, .vztmpl, .import].contains(type) else {
                throw VireoError.parameter("content", "content type '\(content)' cannot be downloaded")
            }
            let plugin = try await request.services.storage.activePlugin(id)
            guard plugin.definition.content.contains(type) else {
                throw VireoError.invalid("storage '\(id)' does not allow content '\(content)'")
            }
            let name = try p.require("filename")
            let volume: PathVolume
            do { volume = try PathVolume(parsing: "\(type == .iso ? "iso" : type.rawValue)/\(name)") } catch let error
                as VireoError
            {
                throw VireoError.parameter("filename", error.message)
            }
            let target = try plugin.path(volume.volname)
            guard !FileManager.default.fileExists(atPath: target) else {
                throw VireoError.conflict("refusing to override existing file '\(name)'")
            }
            let checksum: (algorithm: String, value: String)?
            switch (p["checksum"], p["checksum-algorithm"]) {
            case (let value?, let algorithm?): checksum = (algorithm, value.lowercased())
            case (nil, nil): checksum = nil
            case (.some, nil):
                throw VireoError.parameter("checksum-algorithm", "'checksum' requires 'checksum-algorithm'")
            case (nil, .some): throw VireoError.parameter("checksum", "'checksum-algorithm' requires 'checksum'")
            }
            let decompressor = try p["compression"].map { name -> (tool: String, package: String) in
                guard let tool = decompressors[name] else {
                    throw VireoError.parameter("compression", "unsupported compression '\(name)'")
                }
                return tool
            }
            let verify = p.bool("verify-certificates", default: true)
            let host = request.services.host
            let available = try await plugin.status().available
            let overcommit = plugin.definition.overcommit
            let upid = try request.services.tasks.start(type: "download", id: id, user: request.identity.authID) {
                log in
                let directory = (target as NSString).deletingLastPathComponent
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let spool = directory + "/.download-\(UUID().uuidString.lowercased())"
                defer { try? FileManager.default.removeItem(atPath: spool) }
                log.append("downloading \(url) to \(target)")
                try await host.download(
                    url,
                    to: spool,
                    verifyCertificates: verify,
                    maxBytes: overcommit ? Int.max : available
                )
                let size = (try? FileManager.default.attributesOfItem(atPath: spool)[.size] as? Int) ?? 0
                log.append("download finished: \(ByteSize(bytes: size))")
                try await verifyChecksum(of: spool, checksum, log: log)
                var ready = spool
                if let decompressor {
                    log.append("decompressing with \(decompressor.tool)")
                    ready = spool + ".out"
                    try await host.decompress(spool, to: ready, tool: decompressor.tool, package: decompressor.package)
                }
                defer { try? FileManager.default.removeItem(atPath: spool + ".out") }
                // Another call may have put a file there while this one downloaded.
                guard !FileManager.default.fileExists(atPath: target) else {
                    throw VireoError.conflict("refusing to override existing file '\(name)'")
                }
                try FileManager.default.moveItem(atPath: ready, toPath: target)
                log.append("moved to \(target)")
            }
            return .init(.string(upid.description))
        }
    }
}
