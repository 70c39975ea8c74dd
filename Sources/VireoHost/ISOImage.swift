import Foundation
import VireoCore

/// A small ISO 9660 image (a cloud-init seed) made from files and written into a disk volume.
public struct ISOImage: Sendable {
    let runner: any CommandRunner

    public init(runner: any CommandRunner) { self.runner = runner }

    /// Makes the image of `files` (relative path, content) with volume `label` in `scratch`
    /// and returns its path, for `write`.
    public func make(files: [(path: String, content: String)], label: String, scratch: String) async throws -> String {
        let tree = scratch + "/tree"
        for file in files {
            let path = tree + "/" + file.path
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try Data(file.content.utf8).write(to: URL(fileURLWithPath: path))
        }
        let iso = scratch + "/image.iso"
        _ = try await runner.run(
            Invocation(
                "xorriso",
                ["-as", "mkisofs", "-quiet", "-iso-level", "3", "-J", "-R", "-V", label, "-o", iso, tree]
            )
        )
        return iso
    }

    /// Writes image `iso` into the volume at `target` in `format`. A file is replaced whole: a
    /// running QEMU keeps the old one (and its lock) until it next opens the drive, and never sees
    /// a half-written image. A block device is written in place.
    public func write(_ iso: String, to target: String, format: QemuImg.Format) async throws {
        let qemuImg = QemuImg(runner: runner)
        let isFile =
            (try? FileManager.default.attributesOfItem(atPath: target)[.type] as? FileAttributeType) == .typeRegular
        guard isFile else {
            try await qemuImg.convert(from: iso, format: .raw, to: target, targetFormat: format)
            return
        }
        let staged = target + ".new.\(getpid())"
        try? FileManager.default.removeItem(atPath: staged)
        try await qemuImg.convert(from: iso, format: .raw, to: staged, targetFormat: format, existing: false)
        guard rename(staged, target) == 0 else {
            try? FileManager.default.removeItem(atPath: staged)
            throw VireoError(.internalError, "cannot replace '\(target)': \(String(cString: strerror(errno)))")
        }
    }
}
