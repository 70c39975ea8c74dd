/// What a volume on a storage type can do (`GET /nodes/{node}/qemu/{vmid}/feature`): snapshots,
/// linked clones from a base volume, and full copies.
public enum VolumeFeature: String, Sendable, CaseIterable {
    case snapshot, clone, copy

    /// Whether a volume of `format` on a storage of `type` has this feature; `isBase` for a
    /// template's base volume (`base-<vmid>-…`), the only kind a linked clone is made from.
    public func isSupported(storageType type: String, format: String, isBase: Bool) -> Bool {
        switch self {
        case .copy:
            return true
        case .snapshot:
            switch type {
            case "dir", "nfs", "cifs": return format == "qcow2"
            case "btrfs", "lvmthin", "zfspool", "rbd": return true
            default: return false
            }
        case .clone:
            guard isBase else { return false }
            switch type {
            case "dir", "nfs", "cifs": return format == "qcow2" || format == "raw"
            case "btrfs", "lvmthin", "zfspool", "rbd": return true
            default: return false
            }
        }
    }
}
