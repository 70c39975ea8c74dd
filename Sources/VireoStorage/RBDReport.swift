import Foundation
import VireoCore

/// Parsers of the JSON that `rbd … --format json` and `ceph df --format json` print.
enum RBDReport {
    /// Where a clone comes from.
    struct Parent: Decodable, Sendable, Equatable {
        var pool: String
        var namespace: String?
        var image: String
        var snapshot: String

        enum CodingKeys: String, CodingKey {
            case pool, image, snapshot
            case namespace = "pool_namespace"
        }
    }

    /// One entry of `rbd ls -l --format json`: an image, or (with `snapshot` set) one of its snapshots.
    struct ListedImage: Decodable, Sendable, Equatable {
        var image: String
        var size: Int
        var format: Int?
        var snapshot: String?
        var parent: Parent?
    }

    /// `rbd info --format json <image>`.
    struct ImageInfo: Decodable, Sendable, Equatable {
        var name: String
        var size: Int
        var format: Int
        var parent: Parent?
    }

    /// One entry of `rbd snap ls --format json <image>`.
    struct Snapshot: Decodable, Sendable, Equatable {
        var name: String
        var size: Int?
        var protected: Bool

        enum CodingKeys: String, CodingKey { case name, size, protected }

        init(name: String, size: Int?, protected: Bool) {
            self.name = name
            self.size = size
            self.protected = protected
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            size = try container.decodeIfPresent(Int.self, forKey: .size)
            // rbd prints `"protected": "true"`; accept a real boolean too.
            if let text = try? container.decodeIfPresent(String.self, forKey: .protected) {
                protected = text == "true"
            } else {
                protected = try container.decodeIfPresent(Bool.self, forKey: .protected) ?? false
            }
        }
    }

    /// `rbd du --format json <image>`: the image and each snapshot.
    struct DiskUsage: Decodable, Sendable, Equatable {
        struct Entry: Decodable, Sendable, Equatable {
            var name: String
            var snapshot: String?
            var provisionedSize: Int
            var usedSize: Int

            enum CodingKeys: String, CodingKey {
                case name, snapshot
                case provisionedSize = "provisioned_size"
                case usedSize = "used_size"
            }
        }
        var images: [Entry]

        /// Bytes the image itself (not its snapshots) uses.
        func used(by image: String) -> Int? {
            images.first { $0.name == image && $0.snapshot == nil }?.usedSize
        }
    }

    /// The pools of `ceph df --format json`.
    struct ClusterUsage: Decodable, Sendable, Equatable {
        struct Pool: Decodable, Sendable, Equatable {
            struct Stats: Decodable, Sendable, Equatable {
                /// Bytes stored, before replication (Nautilus and later).
                var stored: Int?
                var bytesUsed: Int?
                /// Bytes that can still be written, replication accounted for.
                var maxAvail: Int

                enum CodingKeys: String, CodingKey {
                    case stored
                    case bytesUsed = "bytes_used"
                    case maxAvail = "max_avail"
                }
            }
            var name: String
            var stats: Stats
        }
        var pools: [Pool]

        /// total/used/available of one pool, or nil when the cluster has no such pool.
        func status(of pool: String) -> StorageStatus? {
            guard let stats = pools.first(where: { $0.name == pool })?.stats else { return nil }
            let used = stats.stored ?? stats.bytesUsed ?? 0
            return StorageStatus(total: used + stats.maxAvail, used: used, available: stats.maxAvail, active: true)
        }
    }

    /// Decodes a tool's JSON; empty output (no images at all) decodes as `empty`.
    static func decode<T: Decodable>(_ type: T.Type, from text: String, empty: T? = nil, what: String) throws -> T {
        if let empty, text.allSatisfy(\.isWhitespace) { return empty }
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw VireoError(.internalError, "unexpected output of \(what): \(error)", underlying: error)
        }
    }
}
