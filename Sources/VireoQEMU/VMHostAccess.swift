public import VireoCore

/// What a VM config value asks of the host beyond the per-key `VM.Config.*` privilege, as Proxmox
/// decides it: a host path or device (a disk file, a serial port, a USB or PCI device) is root@pam's,
/// the host's CD drive needs `Sys.Console` on `/`, and a volume of a storage needs the storage
/// privileges `check_volume_access` asks for. The one place that says which VM keys only root may set.
public enum VMHostAccess {
    /// One requirement; every one listed must hold.
    public enum Requirement: Sendable, Equatable {
        /// Only root@pam; the message says why.
        case root(String)
        /// Any of the privileges on the path (all of them when `any` is false).
        case privileges(path: String, [String], any: Bool)
        /// Several ways to the same right: one of the alternatives must hold entirely.
        case oneOf([[Requirement]], denial: String)
    }

    /// Keys whose every value runs code or opens files on the host.
    public static let rootOnlyKeys: Set<String> = ["args", "hookscript"]

    /// The requirements of setting `key` to `value` on VM `vmid`.
    public static func requirements(key given: String, value givenValue: String, vmid: VMID?) -> [Requirement] {
        let (key, value) = VMManager.canonicalEntry(key: given, value: givenValue)
        if rootOnlyKeys.contains(key) { return [.root("only root can set '\(key)' config")] }
        if VMManager.isDiskKey(key) || key.hasPrefix("unused") {
            return diskRequirements(key: key, value: value, vmid: vmid)
        }
        if key.hasPrefix("serial") || key.hasPrefix("parallel") {
            // `socket` is a unix socket of QEMU's own; anything else is a host device.
            return value == "socket" ? [] : [.root("only root can modify '\(key)' config for real devices")]
        }
        if key.hasPrefix("usb"), Int(key.dropFirst(3)) != nil {
            let device = (try? PropertyString(parsing: value)).flatMap { $0.defaultValue ?? $0["host"] } ?? value
            return device == "spice" ? [] : [.root("only root can pass host USB devices ('\(key)')")]
        }
        for prefix in ["hostpci", "virtiofs"] where key.hasPrefix(prefix) {
            return [.root("only root can pass host devices and directories ('\(key)')")]
        }
        if key == "cicustom" { return snippetRequirements(key: key, value: value) }
        if key == "vmstatestorage" {
            return [.privileges(path: "/storage/\(value)", ["Datastore.AllocateSpace"], any: false)]
        }
        if freeTextKeys.contains(key) { return [] }
        // Any other key: a value naming a host path or a URI reaches QEMU only from root, whatever
        // the key's own format would say (the random number source is the one listed exception).
        if let named = hostReference(in: value), !(key == "rng0" && rngSources.contains(named)) {
            return [.root("only root can put a host path or URI in '\(key)' ('\(named)')")]
        }
        return []
    }

    /// Keys whose values are text for the guest or the operator, never opened on the host.
    static let freeTextKeys: Set<String> = [
        "description", "name", "ciuser", "cipassword", "searchdomain", "sshkeys", "tags", "meta",
    ]

    /// `rng0: source=…` choices Proxmox offers to everyone with `VM.Config.HWType`.
    static let rngSources: Set<String> = ["/dev/urandom", "/dev/random", "/dev/hwrng"]

    /// The first part of a value (the whole value, or a property's value) that reaches the host.
    static func hostReference(in value: String) -> String? {
        let propertyValues: [Substring] = value.split(separator: ",").map { part in
            guard let equals = part.firstIndex(of: "=") else { return part }
            return part[part.index(after: equals)...]
        }
        let parts: [Substring] = ([Substring(value)] + propertyValues).map { $0.drop { $0 == " " } }
        return parts.first(where: isHostReference).map(String.init)
    }

    /// An absolute path, `~user`, a `..` segment, or a URI scheme (`exec:`, `file:`, `unix:` …); a
    /// prefix of up to four hex digits before `:` is a MAC or IPv6 group, not a scheme.
    private static func isHostReference(_ text: Substring) -> Bool {
        if text.hasPrefix("/") || text.hasPrefix("~") || text.split(separator: "/").contains("..") { return true }
        guard let colon = text.firstIndex(of: ":"), text.first?.isLetter == true else { return false }
        let scheme = text[..<colon]
        let isHexGroup = scheme.count <= 4 && scheme.allSatisfy(\.isHexDigit)
        return !isHexGroup && scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) }
    }

    /// The requirements of deleting `key` (its old value is not looked at).
    public static func deletionRequirements(key: String) -> [Requirement] {
        rootOnlyKeys.contains(key) ? [.root("only root can delete '\(key)' config")] : []
    }

    private static func diskRequirements(key: String, value: String, vmid: VMID?) -> [Requirement] {
        let drive = try? PropertyString(parsing: value)
        let file = drive.flatMap { $0.defaultValue ?? $0["file"] ?? $0["volume"] } ?? value
        var requirements: [Requirement] = []
        if let source = drive?["import-from"] { requirements += volumeRequirements(source, vmid: nil) }
        let isCDROM = drive?["media"] == "cdrom"
        if file.isEmpty || file == "none" || file == "cloudinit" || file.hasSuffix(":cloudinit") {
            return requirements
        }
        if file == "cdrom", isCDROM || key.hasPrefix("ide") || key.hasPrefix("sata") || key.hasPrefix("scsi") {
            return requirements + [.privileges(path: "/", ["Sys.Console"], any: false)]
        }
        if let allocation = try? DiskAllocation(key: key, value: value) {
            return requirements
                + [.privileges(path: "/storage/\(allocation.storage)", ["Datastore.AllocateSpace"], any: false)]
        }
        return requirements + volumeRequirements(file, vmid: vmid)
    }

    /// `check_volume_access`: a host path is root's; a volume needs storage privileges by its kind.
    static func volumeRequirements(_ file: String, vmid: VMID?) -> [Requirement] {
        guard let volume = try? VolumeID(validating: file) else {
            return [.root("Only root can pass arbitrary filesystem paths.")]
        }
        let storage = "/storage/\(volume.storage)"
        let allocate: [Requirement] = [.privileges(path: storage, ["Datastore.Allocate"], any: false)]
        let denial = "missing privileges to access \(volume)"
        let name = volume.volume
        if name.hasPrefix("iso/") || name.hasPrefix("vztmpl/") || name.hasPrefix("import/") {
            return [
                .oneOf(
                    [
                        allocate,
                        [.privileges(path: storage, ["Datastore.AllocateSpace", "Datastore.Audit"], any: true)],
                    ],
                    denial: denial
                )
            ]
        }
        guard let owner = owner(of: name) else { return [.oneOf([allocate], denial: denial)] }
        if owner == vmid?.value { return [] }
        let foreign: [Requirement] = [
            .privileges(path: storage, ["Datastore.Audit"], any: false),
            .privileges(path: "/vms/\(owner)", ["VM.Config.Disk"], any: false),
        ]
        return [.oneOf([allocate, foreign], denial: denial)]
    }

    /// `cicustom: user=<volume>,network=<volume>,…`: snippets, which only a storage's allocator may use.
    private static func snippetRequirements(key: String, value: String) -> [Requirement] {
        guard let parsed = try? PropertyString(parsing: value), parsed.defaultValue == nil, !parsed.entries.isEmpty
        else { return [.root("only root can set '\(key)' to anything but snippet volumes")] }
        return parsed.entries.flatMap { volumeRequirements($0.value, vmid: nil) }
    }

    /// The VM owning an image volume: the last `vm-<id>-` or `base-<id>-` name (a linked clone's
    /// `base-100-disk-0/vm-101-disk-0` belongs to 101).
    static func owner(of volname: String) -> Int? {
        guard let last = volname.split(separator: "/").last else { return nil }
        for prefix in ["vm-", "base-"] where last.hasPrefix(prefix) {
            let digits = last.dropFirst(prefix.count).prefix { $0.isASCII && $0.isNumber }
            if let id = Int(digits), last.dropFirst(prefix.count + digits.count).first == "-" { return id }
        }
        if let first = volname.split(separator: "/").first, let id = Int(first), volname.contains("/") { return id }
        return nil
    }
}
