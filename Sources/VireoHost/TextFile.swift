import Foundation
import VireoCore

/// Reading and atomically replacing small text files (host config files).
public enum TextFile {
    public static func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    /// Writes a sibling and renames it over `path`, so a reader sees the old or the new file.
    public static func writeAtomically(_ text: String, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = path + ".tmp.\(getpid())"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw VireoError(.internalError, "unable to write '\(path)': \(String(cString: strerror(errno)))")
        }
    }
}
