import Foundation

/// Space and type of a mounted file system (`statvfs`/`statfs`), as `df` reports them.
public struct FileSystemInfo: Sendable, Equatable {
    public var total: Int
    public var used: Int
    public var available: Int
    /// The type of the mounted file system holding the path (`btrfs`, `ext4`, …).
    public var type: String

    /// - Returns: nil when `path` cannot be examined (missing, no permission).
    public static func of(_ path: String) -> FileSystemInfo? {
        var vfs = statvfs()
        guard statvfs(path, &vfs) == 0 else { return nil }
        let block = Int(vfs.f_frsize)
        let total = Int(vfs.f_blocks) * block
        return FileSystemInfo(
            total: total,
            used: total - Int(vfs.f_bfree) * block,
            available: Int(vfs.f_bavail) * block,
            type: mountType(of: path) ?? "unknown"
        )
    }

    /// The file system type of the longest mount point containing `path`, from `/proc/self/mounts`.
    public static func mountType(of path: String) -> String? {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let text = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return nil }
        var best: (length: Int, type: String)?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            // Mount points escape spaces and such as octal (`\040`).
            let mountPoint = decodeOctalEscapes(String(fields[1]))
            let contains = mountPoint == "/" || resolved == mountPoint || resolved.hasPrefix(mountPoint + "/")
            if contains, mountPoint.count >= (best?.length ?? -1) { best = (mountPoint.count, String(fields[2])) }
        }
        return best?.type
    }

    static func decodeOctalEscapes(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 3 < utf8.count,
                let value = UInt8(String(decoding: utf8[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `path` is a mount point (its device differs from its parent's).
    public static func isMountPoint(_ path: String) -> Bool {
        var own = stat()
        var parent = stat()
        guard stat(path, &own) == 0, stat(path + "/..", &parent) == 0 else { return false }
        return own.st_dev != parent.st_dev || own.st_ino == parent.st_ino
    }
}
