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
        let volid = try VolumeID(validating: volidText)
        let sourcePlugin = try await activePlugin(volid.storage.description)
        var targetPlugin = sourcePlugin
        if let target, target != sourcePlugin.id { targetPlugin = try await activePlugin(target) }
        let source = try await sourcePlugin.info(volid.volume)
        let targetFormat = try Self.copyFormat(requested: format, source: source.format, plugin: targetPlugin)
        let copy = try await withLock(targetPlugin.id) {
            try await targetPlugin.allocate(
                AllocationRequest(vmid: vmid, name: nil, format: targetFormat, sizeKiB: (source.size + 1023) / 1024)
            )
        }
        do {
            try await QemuImg(runner: runner).convert(
                from: try sourcePlugin.path(volid.volume),
                format: QemuImg.Format(rawValue: source.format) ?? .raw,
                to: try targetPlugin.path(copy),
                targetFormat: QemuImg.Format(rawValue: targetFormat.rawValue) ?? .raw
            )
        } catch {
            // No half-made copy stays behind.
            try? await targetPlugin.free(copy)
            throw VireoError(
                .internalError,
                "storage '\(targetPlugin.id)': copying '\(volid)' failed: \(error)",
                underlying: error
            )
        }
        return "\(targetPlugin.id):\(copy)"
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
