import VireoCore
import VireoHost

extension StorageManager {
    /// An independent copy of a volume (full clone, disk move): a new volume of the same size on
    /// `target` (the source's storage when nil), filled by `qemu-img convert`. Returns the new volume ID.
    public func copyVolume(
        _ volidText: String,
        to target: String? = nil,
        vmid: Int,
        format: String? = nil
    ) async throws -> String {
        let copy = try await allocateCopyTarget(of: volidText, to: target, vmid: vmid, format: format)
        do {
            try await QemuImg(runner: runner).convert(
                from: copy.sourcePath,
                format: QemuImg.Format(rawValue: copy.sourceFormat) ?? .raw,
                to: copy.path,
                targetFormat: QemuImg.Format(rawValue: copy.format.rawValue) ?? .raw
            )
        } catch {
            // No half-made copy stays behind.
            try? await copy.plugin.free(copy.volname)
            throw VireoError(
                .internalError,
                "storage '\(copy.plugin.id)': copying '\(volidText)' failed: \(error)",
                underlying: error
            )
        }
        return copy.volid
    }

    /// An empty volume of the source's size to copy into (by `qemu-img convert`, or QEMU's
    /// mirror for a disk in use).
    public struct CopyTarget: Sendable {
        public var plugin: any StoragePlugin
        public var volname: String
        public var format: VolumeFormat
        public var path: String
        public var sourcePath: String
        public var sourceFormat: String
        public var volid: String { "\(plugin.id):\(volname)" }
    }

    public func allocateCopyTarget(
        of volidText: String,
        to target: String?,
        vmid: Int,
        format: String?
    ) async throws -> CopyTarget {
        let volid = try VolumeID(validating: volidText)
        let sourcePlugin = try await activePlugin(volid.storage.description)
        var targetPlugin = sourcePlugin
        if let target, target != sourcePlugin.id { targetPlugin = try await activePlugin(target) }
        let source = try await sourcePlugin.info(volid.volume)
        let targetFormat = try Self.copyFormat(requested: format, source: source.format, plugin: targetPlugin)
        let volname = try await withLock(targetPlugin.id) {
            try await targetPlugin.allocate(
                AllocationRequest(vmid: vmid, name: nil, format: targetFormat, sizeKiB: (source.size + 1023) / 1024)
            )
        }
        return CopyTarget(
            plugin: targetPlugin,
            volname: volname,
            format: targetFormat,
            path: try targetPlugin.path(volname),
            sourcePath: try sourcePlugin.path(volid.volume),
            sourceFormat: source.format
        )
    }

    /// The requested format, else the source's when the target takes it, else the target's default.
    static func copyFormat(requested: String?, source: String, plugin: any StoragePlugin) throws -> VolumeFormat {
        if let requested {
            guard let format = VolumeFormat(rawValue: requested), plugin.capabilities.formats.contains(format) else {
                throw VireoError.parameter("format", "format '\(requested)' is not supported on storage '\(plugin.id)'")
            }
            return format
        }
        if let format = VolumeFormat(rawValue: source), plugin.capabilities.formats.contains(format) { return format }
        return plugin.definition.defaultFormat
    }
}
