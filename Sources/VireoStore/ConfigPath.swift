import VireoCore

/// Validates and normalises store paths: relative, `/`-separated, no empty, `.` or `..` segment.
public enum ConfigPath {
    public static func normalize(_ path: String, allowRoot: Bool = false) throws -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        if segments.isEmpty {
            if allowRoot { return "" }
            throw VireoError.invalid("config path '\(path)' is empty")
        }
        for segment in segments {
            guard segment != ".", segment != "..", !segment.contains("\0") else {
                throw VireoError.invalid("config path '\(path)' is not allowed")
            }
        }
        return segments.joined(separator: "/")
    }

    /// The parent directory of a normalised path ("" for top-level files).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }
}
