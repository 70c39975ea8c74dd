import Foundation
import VireoCore

/// The node's own copy of the tree on disk, as pmxcfs keeps `config.db`: an etcd member that
/// restarts while most of the cluster is down serves no client until a majority is back, and a
/// node must still start, read-only, from what it last knew. Written every few seconds after a
/// change; private (the tree holds the cluster's keys).
struct EtcdLocalCopy: Sendable {
    let path: String

    func save(_ snapshot: TreeSnapshot) throws {
        var files: [String: JSON] = [:]
        for (path, file) in snapshot.files {
            files[path] = [
                "content": .string(file.content), "version": .int(Int(file.version)), "mtime": .int(Int(file.mtime)),
            ]
        }
        let document: JSON = [
            "revision": .int(Int(snapshot.revision)), "treeVersion": .int(Int(snapshot.treeVersion)),
            "files": .object(files),
        ]
        try Self.writePrivately(document.serializedBytes(), to: path)
    }

    /// Replaces `path` with `bytes` in one rename, the new file private from its creation (the
    /// tree holds the cluster's keys: no moment of default permissions).
    private static func writePrivately(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create", temporary) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else {
            unlink(temporary)
            throw failure("write", temporary)
        }
        guard rename(temporary, path) == 0 else { throw failure("replace", path) }
    }

    private static func failure(_ what: String, _ path: String) -> VireoError {
        VireoError(.internalError, "cannot \(what) the local copy of the tree at \(path): errno \(errno)")
    }

    func load() throws -> TreeSnapshot {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VireoError.notFound("no local copy of the configuration tree at \(path)")
        }
        let document = try JSON.parse(String(decoding: data, as: UTF8.self))
        guard case .object(let entries)? = document["files"] else {
            throw VireoError.invalid("the local copy of the tree at \(path) is damaged")
        }
        var files: [String: StoredFile] = [:]
        for (path, entry) in entries {
            guard let content = entry["content"]?.stringValue, let version = entry["version"]?.intValue else {
                continue
            }
            files[path] = StoredFile(
                path: path,
                content: content,
                version: Int64(version),
                mtime: Int64(entry["mtime"]?.intValue ?? 0)
            )
        }
        return TreeSnapshot(
            files: files,
            revision: Int64(document["revision"]?.intValue ?? 0),
            treeVersion: Int64(document["treeVersion"]?.intValue ?? 0)
        )
    }
}
