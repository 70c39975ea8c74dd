import VireoCore

/// A volume size as the storage API takes it: KiB, or with `M`/`G` MiB and GiB (`4G`, `512M`, `1024`).
public struct AllocationSize: Sendable, Equatable {
    public let kibibytes: Int

    /// - Throws: `.invalidArgument` naming `parameter` for anything but a positive size.
    public init(parsing text: String, parameter: String = "size") throws {
        let factor: Int =
            switch text.last {
            case "M": 1024
            case "G": 1024 * 1024
            default: 1
            }
        let digits = factor == 1 ? Substring(text) : text.dropLast()
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits), value > 0,
            value <= Int.max / factor / 1024
        else { throw VireoError.parameter(parameter, "invalid size '\(text)'") }
        kibibytes = value * factor
    }
}

/// The name an uploaded file gets: Proxmox's rule (directories stripped, every character
/// outside `[A-Za-z0-9_.-]` becomes `_`).
public enum UploadFileName {
    public static func normalized(_ name: String) -> String {
        let base = name.lastIndex { $0 == "/" || $0 == "\\" }.map { name[name.index(after: $0)...] } ?? name[...]
        return String(base.map { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) ? $0 : "_" })
    }
}

/// A storage's `path` option: absolute, no `..`, only characters a mount path needs; a trailing `/` dropped.
public enum StoragePathOption {
    public static func validated(_ value: String) throws -> String {
        guard value.hasPrefix("/"), !value.split(separator: "/").contains(".."),
            value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-/_.@".contains($0)) })
        else { throw VireoError.parameter("path", "invalid path '\(value)' - must be absolute") }
        return value.count > 1 && value.hasSuffix("/") ? String(value.dropLast()) : value
    }
}
