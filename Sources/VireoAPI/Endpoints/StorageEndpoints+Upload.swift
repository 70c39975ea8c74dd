import Crypto
import Foundation
import Hummingbird
import VireoAccess
import VireoCore
import VireoStorage
import VireoTasks

/// `POST /nodes/{node}/storage/{storage}/upload`: a multipart ISO, template or import image,
/// streamed to a spool file on the storage itself (never held in memory), then checked and moved
/// into place by an `imgcopy` task.
extension StorageEndpoints {
    static let uploadPath = "/nodes/{node}/storage/{storage}/upload"

    static func registerUpload(in registry: inout APIRegistry) {
        let schema = APISchema.pveEndpoint(.post, uploadPath).map { pve -> EndpointSchema in
            var schema = pve
            schema.streamsBody = true
            return schema
        }
        registry.register(
            .post,
            uploadPath,
            schema: schema,
            handles: ["checksum", "checksum-algorithm", "content", "filename"]
        ) { request in
            let id = try request.parameters.require("storage")
            guard let stream = request.body, let boundary = stream.contentType.flatMap(MultipartParser.boundary(of:))
            else {
                throw VireoError.invalid("upload needs a multipart/form-data body")
            }
            let manager = request.services.storage
            let plugin = try await manager.activePlugin(id)
            guard let root = plugin.definition.path else {
                throw VireoError.invalid("storage '\(id)' cannot hold uploads (not a path-based storage)")
            }
            let spool = root + "/.upload-\(UUID().uuidString.lowercased())"
            var spoolKept = false
            defer { if !spoolKept { try? FileManager.default.removeItem(atPath: spool) } }

            let received = try await receive(stream, boundary: boundary, spool: spool, storage: plugin)
            let parameters = try request.validate(received.fields)
            let content = try request.parameters["content"].map { $0 } ?? parameters.require("content")
            guard let type = ContentType(rawValue: content), [.iso, .vztmpl, .import].contains(type) else {
                throw VireoError.parameter("content", "content type '\(content)' cannot be uploaded")
            }
            guard plugin.definition.content.contains(type) else {
                throw VireoError.invalid("storage '\(id)' does not allow content '\(content)'")
            }
            let name = try parameters.require("filename")
            let prefix = type == .iso ? "iso" : type.rawValue
            let volume: PathVolume
            do { volume = try PathVolume(parsing: "\(prefix)/\(name)") } catch let error as VireoError {
                throw VireoError.parameter("filename", error.message)
            }
            let target = try plugin.path(volume.volname)
            let checksum = try parameters["checksum"].map { value -> (String, String) in
                (try parameters.require("checksum-algorithm"), value.lowercased())
            }
            spoolKept = true
            let volid = "\(id):\(volume.volname)"
            let upid = try request.services.tasks.start(type: "imgcopy", id: "", user: request.identity.authID) { log in
                defer { try? FileManager.default.removeItem(atPath: spool) }
                log.append("received \(ByteSize(bytes: received.size)) for \(volid)")
                try await verifyChecksum(of: spool, checksum, log: log)
                try FileManager.default.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent,
                    withIntermediateDirectories: true
                )
                if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
                try FileManager.default.moveItem(atPath: spool, toPath: target)
                log.append("moved to \(target)")
            }
            return .init(.string(upid.description))
        }
    }

    /// Checks a received file against the `checksum` the caller gave (`(algorithm, hex)`), if any.
    static func verifyChecksum(
        of path: String,
        _ checksum: (algorithm: String, value: String)?,
        log: TaskLog
    )
        async throws
    {
        guard let (algorithm, expected) = checksum else { return }
        // Hashing gigabytes blocks for a while: on the blocking pool, not the cooperative one.
        let actual = try await BlockingPool.shared.run { try hashFile(path, algorithm: algorithm) }
        guard actual == expected else {
            throw VireoError.invalid("checksum mismatch: got '\(actual)' but expected '\(expected)'")
        }
        log.append("checksum verified (\(algorithm))")
    }

    struct ReceivedUpload {
        var fields = RawParameters()
        var fileName: String?
        var size = 0
    }

    /// Reads the multipart body: small fields into parameters, the file part into `spool`.
    static func receive(
        _ stream: StreamedBody,
        boundary: String,
        spool: String,
        storage: any StoragePlugin
    ) async throws
        -> ReceivedUpload
    {
        var parser = MultipartParser(boundary: boundary)
        var upload = ReceivedUpload()
        var fieldName: String?
        var fieldBytes: [UInt8] = []
        var file: FileHandle?
        defer { try? file?.close() }
        let available = try await storage.status().available
        for try await buffer in stream.body {
            for event in try parser.feed(buffer.readableBytesView) {
                switch event {
                case .partStart(let headers):
                    if let fileName = headers.dispositionParameter("filename") {
                        guard file == nil else { throw VireoError.invalid("upload has more than one file") }
                        upload.fileName = fileName
                        guard
                            FileManager.default.createFile(
                                atPath: spool,
                                contents: nil,
                                attributes: [.posixPermissions: 0o640]
                            )
                        else { throw VireoError(.internalError, "cannot create upload spool file '\(spool)'") }
                        file = try FileHandle(forWritingTo: URL(fileURLWithPath: spool))
                    } else {
                        fieldName = headers.dispositionParameter("name")
                        fieldBytes = []
                    }
                case .data(let bytes):
                    if let file {
                        upload.size += bytes.count
                        // The spool sits on the storage: keep the seed's "disk full" failure away.
                        if upload.size > available, !storage.definition.overcommit {
                            throw VireoError.invalid("not enough space on storage '\(storage.id)' for the upload")
                        }
                        // A write can block on a slow disk (dirty-page throttling): off the cooperative pool.
                        let chunk = Array(bytes)
                        try await BlockingPool.shared.run { [file] in try file.write(contentsOf: chunk) }
                    } else {
                        fieldBytes += bytes
                        guard fieldBytes.count <= 64 * 1024 else {
                            throw VireoError.invalid("upload form field too large")
                        }
                    }
                case .partEnd:
                    if let open = file {
                        try open.close()
                        file = nil
                    } else if let name = fieldName {
                        upload.fields[name] = .text(String(decoding: fieldBytes, as: UTF8.self))
                    }
                    fieldName = nil
                }
            }
        }
        guard parser.state == .done else {
            throw VireoError.invalid("upload body ended early (incomplete multipart data)")
        }
        guard let fileName = upload.fileName else { throw VireoError.parameter("filename", "no file in the upload") }
        // The file part's own name is the `filename` parameter.
        upload.fields["filename"] = .text(UploadFileName.normalized(fileName))
        return upload
    }

    static func hashFile(_ path: String, algorithm: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw VireoError.notFound("upload spool file vanished")
        }
        defer { try? handle.close() }
        func digest<H: HashFunction>(_ type: H.Type) throws -> String {
            var hasher = H()
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
            return hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }
        switch algorithm {
        case "md5": return try digest(Insecure.MD5.self)
        case "sha1": return try digest(Insecure.SHA1.self)
        case "sha256": return try digest(SHA256.self)
        case "sha384": return try digest(SHA384.self)
        case "sha512": return try digest(SHA512.self)
        default: throw VireoError.parameter("checksum-algorithm", "algorithm '\(algorithm)' is not supported by Vireo")
        }
    }
}
