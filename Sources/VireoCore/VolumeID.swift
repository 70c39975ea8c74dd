/// A storage volume `<storage>:<volname>`, e.g. `local-lvm:vm-100-disk-0` or `local:iso/debian-12.iso`.
///
/// The volume name is checked only so far as it is safe to join to a path: non-empty, not absolute,
/// no `..` segment, no control characters (NUL included). What names a storage accepts is its
/// plugin's business.
public struct VolumeID: ValidatedIdentifier, Comparable {
    public let storage: StorageID
    /// The volume name, everything after the first `:`.
    public let volume: String

    public init(validating text: String) throws {
        guard let colon = text.firstIndex(of: ":"), let storage = StorageID(String(text[..<colon])) else {
            throw VireoError.invalid("unable to parse volume ID '\(text)'")
        }
        try self.init(storage: storage, volume: String(text[text.index(after: colon)...]))
    }

    /// Throws `VireoError` (`.invalidArgument`) for an unsafe volume name.
    public init(storage: StorageID, volume: String) throws {
        let text = "\(storage):\(volume)"
        guard !volume.isEmpty else {
            throw VireoError.invalid("unable to parse volume ID '\(text)' - empty volume name")
        }
        guard !volume.hasPrefix("/") else {
            throw VireoError.invalid("unable to parse volume ID '\(text)' - volume name must not be an absolute path")
        }
        guard !volume.split(separator: "/").contains("..") else {
            throw VireoError.invalid("unable to parse volume ID '\(text)' - volume name must not contain '..'")
        }
        guard !volume.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw VireoError.invalid("unable to parse volume ID '\(text)' - volume name contains control characters")
        }
        self.storage = storage
        self.volume = volume
    }

    public var description: String { "\(storage):\(volume)" }
}
