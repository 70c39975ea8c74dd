import Logging
import VireoCore
import VireoFirewall
import VireoStore

/// Reading and changing one `.fw` file for the firewall endpoints: compare-and-swap on the
/// store, the file deleted when empty (as Proxmox does), and the node's firewall reloaded before
/// the call returns. When nft refuses the result the file is put back, so the file and the
/// kernel never disagree.
enum FirewallFiles {
    static func load(_ request: APIRequest, _ level: FirewallLevel) async throws -> FirewallFile {
        if let firewall = request.services.firewall { return try await firewall.file(level) }
        return FirewallFile(parsing: try await request.services.store.read(level.path)?.content ?? "", level: level)
    }

    /// Raw text and digest of the file (options' `digest` is the file's, as in Proxmox).
    static func stored(_ request: APIRequest, _ level: FirewallLevel) async throws -> StoredFile? {
        try await request.services.store.read(level.path)
    }

    /// Applies `change` to the current file and writes it; retried when another writer got in
    /// between (the change then sees the other writer's result, and its digest checks fail as
    /// they should).
    @discardableResult
    static func modify<T: Sendable>(
        _ request: APIRequest,
        _ level: FirewallLevel,
        _ change: (inout FirewallFile, StoredFile?) throws -> T
    ) async throws -> T {
        let store = request.services.store
        for _ in 0..<5 {
            let current = try await store.read(level.path)
            var file = FirewallFile(parsing: current?.content ?? "", level: level)
            let result = try change(&file, current)
            let text = file.text
            let condition: WriteCondition = current.map { .version($0.version) } ?? .absent
            var version: Int64?
            do {
                if text.isEmpty {
                    if current != nil { try await store.delete(level.path, condition: condition) }
                } else {
                    version = try await store.write(level.path, content: text, condition: condition).version
                }
            } catch let error as VireoError where error.code == .conflict {
                continue
            }
            let written = ContinuousClock.now
            defer {
                request.services.logger.debug("firewall edit", metadata: ["reload": "\(ContinuousClock.now - written)"])
            }
            do {
                // The store's watch may have applied this write already: then nothing is done twice.
                try await request.services.firewall?.reload(unlessApplied: version)
            } catch {
                if let current {
                    _ = try? await store.write(level.path, content: current.content, condition: .any)
                } else {
                    try? await store.delete(level.path, condition: .any)
                }
                try? await reload(request)
                throw error
            }
            return result
        }
        throw VireoError.modifiedConfiguration
    }

    /// Several files in one store transaction (renaming a group updates every file naming it).
    static func commit(_ request: APIRequest, _ writes: [(FirewallLevel, StoredFile?, FirewallFile)]) async throws {
        var operations: [StoreOperation] = []
        for (level, current, file) in writes {
            let condition: WriteCondition = current.map { .version($0.version) } ?? .absent
            let text = file.text
            operations.append(
                text.isEmpty
                    ? .delete(level.path, condition: condition)
                    : .write(level.path, content: text, condition: condition)
            )
        }
        _ = try await request.services.store.commit(operations)
        try await reload(request)
    }

    /// A `comment` parameter: nil when empty; one line only (a line break would end the entry
    /// in the file and start another).
    static func comment(_ request: APIRequest) throws -> String? {
        guard let comment = request.parameters["comment"], !comment.isEmpty else { return nil }
        guard !comment.contains(where: \.isNewline) else {
            throw VireoError.parameter("comment", "must be one line")
        }
        return comment
    }

    static func reload(_ request: APIRequest) async throws {
        try await request.services.firewall?.reload()
    }

    /// Proxmox's digest of a listing: SHA-1 over every entry's sorted `key=value` pairs.
    static func listDigest(_ entries: [[String: JSON]]) -> String {
        var text = ""
        for entry in entries {
            for key in entry.keys.sorted() where key != "digest" {
                guard let value = entry[key] else { continue }
                switch value {
                case .string(let string): text += "\(key)=\(string)\u{0}"
                case .int(let number): text += "\(key)=\(number)\u{0}"
                default: text += "\(key)=\(value)\u{0}"
                }
            }
            text += "\n"
        }
        return ConfigDigest.sha1Hex(text)
    }

    /// Checks a caller's `digest` against the listing it was computed from.
    static func checkDigest(_ request: APIRequest, _ entries: [[String: JSON]]) throws {
        guard let digest = request.parameters["digest"], !digest.isEmpty else { return }
        guard digest.lowercased() == listDigest(entries) else { throw VireoError.modifiedConfiguration }
    }
}
