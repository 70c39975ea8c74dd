import VireoCore

/// A volname of a block storage (lvm, lvmthin, zfspool, rbd): `vm-100-disk-0`, `base-100-disk-0`,
/// `subvol-101-disk-0`, `basevol-101-disk-0`, and the two-part linked-clone form
/// `base-100-disk-0/vm-101-disk-0` (zfspool, rbd).
///
/// Parsing is strict — `<kind>-<vmid>-<letters, digits, '.', '_', '-'>` — so a volname can never
/// smuggle a path (`/`, `..`) or an option (leading `-`) into a command line.
public struct BlockVolumeName: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case vm, base, subvol, basevol

        public var isBase: Bool { self == .base || self == .basevol }

        /// What a template of this kind is called (`vm` → `base`, `subvol` → `basevol`).
        public var baseKind: Kind { self == .subvol || self == .basevol ? .basevol : .base }

        /// What a clone or a fresh disk of this family is called (`base` → `vm`, `basevol` → `subvol`).
        public var volumeKind: Kind { self == .subvol || self == .basevol ? .subvol : .vm }
    }

    public let kind: Kind
    public let vmid: Int
    /// The object on the backend: the LV, zvol or image name (`vm-101-disk-0`).
    public let name: String
    /// The base a linked clone was made from (`base-100-disk-0`), when the volname records it.
    public let base: String?

    public var isBase: Bool { kind.isBase }
    public var volname: String { base.map { "\($0)/\(name)" } ?? name }
    public var description: String { volname }

    /// Parses a volname, accepting only the given kinds and, when `allowsBase`, the two-part clone form.
    /// Throws `VireoError` (`.invalidArgument`) otherwise.
    public init(parsing volname: String, kinds: Set<Kind>, allowsBase: Bool = false) throws {
        let parts = volname.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let invalid = VireoError.invalid("unable to parse volume name '\(volname)'")
        switch parts.count {
        case 1:
            guard let (kind, vmid) = Self.parseObjectName(parts[0]), kinds.contains(kind) else { throw invalid }
            self.init(kind: kind, vmid: vmid, name: parts[0], base: nil)
        case 2 where allowsBase:
            guard let (baseKind, _) = Self.parseObjectName(parts[0]), baseKind.isBase,
                let (kind, vmid) = Self.parseObjectName(parts[1]), kinds.contains(kind),
                kinds.contains(baseKind), baseKind.volumeKind == kind.volumeKind
            else { throw invalid }
            self.init(kind: kind, vmid: vmid, name: parts[1], base: parts[0])
        default:
            throw invalid
        }
    }

    init(kind: Kind, vmid: Int, name: String, base: String?) {
        self.kind = kind
        self.vmid = vmid
        self.name = name
        self.base = base
    }

    /// Kind and owner of one object name, or nil when it is not a valid disk name.
    public static func parseObjectName(_ name: String) -> (Kind, Int)? {
        let parts = name.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let kind = Kind(rawValue: String(parts[0])),
            let vmid = try? VMID(validating: String(parts[1])),
            !parts[2].isEmpty, !parts[2].contains(".."),
            parts[2].utf8.allSatisfy({ isAlphanumeric($0) || "._-".utf8.contains($0) })
        else { return nil }
        return (kind, vmid.value)
    }

    /// The same disk under another kind: `vm-100-disk-0` → `base-100-disk-0`.
    public func objectName(as newKind: Kind) -> String {
        newKind.rawValue + name.dropFirst(kind.rawValue.count)
    }

    /// `<kind>-<vmid>-disk-<n>` with the lowest `n` in 0…1023 that no name in `used` of the counted
    /// kinds has for that VMID. Throws `.conflict` when all are taken.
    public static func nextDiskName(
        kind: Kind,
        vmid: Int,
        used: some Sequence<String>,
        counting: Set<Kind>
    ) throws
        -> String
    {
        var taken = Set<Int>()
        for name in used {
            for counted in counting {
                let prefix = "\(counted.rawValue)-\(vmid)-disk-"
                guard name.hasPrefix(prefix) else { continue }
                if let n = Int(name.dropFirst(prefix.count).prefix { $0.isASCII && $0.isNumber }) { taken.insert(n) }
            }
        }
        guard let free = (0...1023).first(where: { !taken.contains($0) }) else {
            throw VireoError.conflict("unable to allocate an image name for VM \(vmid)")
        }
        return "\(kind.rawValue)-\(vmid)-disk-\(free)"
    }

    /// A snapshot name as guests use them: a letter, then letters, digits, `_` or `-`, at most 40.
    public static func validateSnapshotName(_ snapshot: String) throws {
        guard let first = snapshot.utf8.first, isAlphanumeric(first), !(0x30...0x39).contains(first),
            snapshot.utf8.count <= 40, snapshot.utf8.allSatisfy({ isAlphanumeric($0) || "_-".utf8.contains($0) })
        else { throw VireoError.invalid("invalid snapshot name '\(snapshot)'") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }
}
