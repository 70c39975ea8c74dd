import VireoCore
import VireoHost

/// What the block-storage plugins (lvm, lvmthin, zfspool, rbd) share: running their tools so a
/// failure names the storage and carries stderr, the free-space check, and how listed volumes are
/// reported.
struct BlockBackend: Sendable {
    let definition: StorageDefinition
    let runner: any CommandRunner

    /// Reports (`lvs`, `zfs list`, `rbd info`).
    static let queryTimeout: Duration = .seconds(30)
    /// Creating, renaming, snapshotting.
    static let changeTimeout: Duration = .seconds(60)
    /// Removing can take long: the backend frees every block.
    static let removeTimeout: Duration = .seconds(300)

    var id: String { definition.id }

    func volid(_ volname: String) -> String { "\(id):\(volname)" }

    /// Runs a tool, leaving a failure as the `CommandError` for callers that look at its stderr.
    func attempt(
        _ executable: String,
        _ arguments: [String],
        timeout: Duration = queryTimeout
    )
        async throws(CommandError) -> CommandOutput
    {
        try await runner.run(Invocation(executable, arguments, timeout: timeout))
    }

    /// Runs a tool and returns its stdout; a failure becomes a `VireoError` saying what failed.
    @discardableResult
    func run(
        _ what: String,
        _ executable: String,
        _ arguments: [String],
        timeout: Duration = queryTimeout
    )
        async throws -> String
    {
        do throws(CommandError) {
            return try await attempt(executable, arguments, timeout: timeout).standardOutput
        } catch {
            throw failure(what, error)
        }
    }

    /// A tool failure as a `VireoError`: `storage 'x': <what> failed: command '…' failed: exit code 5 - <stderr>`.
    func failure(_ what: String, _ error: CommandError) -> VireoError {
        let code: VireoError.Code
        switch error {
        case .failed, .signaled: code = .internalError
        case .notFound, .timedOut, .launchFailed: code = .unavailable
        }
        return VireoError(code, "storage '\(id)': \(what) failed: \(error)", underlying: error).at(.storageBackend)
    }

    /// Refuses an allocation larger than the free space unless the storage allows overcommit.
    func checkSpace(requested: Int, available: Int) throws {
        guard !definition.overcommit, requested > available else { return }
        throw VireoError.invalid(
            "not enough space on storage '\(id)' (requested \(Self.humanReadable(requested)), "
                + "available \(Self.humanReadable(max(available, 0))))"
        )
    }

    /// Validates what every allocation needs before anything runs: an owner, a supported format, a
    /// positive size, and a requested name of `kind` owned by the VMID.
    func checkAllocation(_ request: AllocationRequest, formats: Set<VolumeFormat>, kind: BlockVolumeName.Kind) throws {
        guard VMID(request.vmid) != nil else { throw VireoError.invalid("invalid VMID \(request.vmid)") }
        guard formats.contains(request.format) else {
            throw VireoError.invalid("storage '\(id)' does not support format '\(request.format.rawValue)'")
        }
        guard request.sizeKiB > 0 || (request.format == .subvol && request.sizeKiB == 0) else {
            throw VireoError.invalid("invalid size \(request.sizeKiB) KiB for a new disk on storage '\(id)'")
        }
        if let name = request.name {
            guard let (parsedKind, owner) = BlockVolumeName.parseObjectName(name), parsedKind == kind,
                owner == request.vmid
            else {
                throw VireoError.invalid("illegal name '\(name)' - should be '\(kind.rawValue)-\(request.vmid)-*'")
            }
        }
    }

    /// The name for a new volume: `requested` (already validated) unless it exists, or the next free
    /// `<kind>-<vmid>-disk-<n>` among `existing`.
    func newName(
        _ requested: String?,
        kind: BlockVolumeName.Kind,
        vmid: Int,
        existing: [String],
        counting: Set<BlockVolumeName.Kind>
    ) throws -> String {
        guard let requested else {
            return try BlockVolumeName.nextDiskName(kind: kind, vmid: vmid, used: existing, counting: counting)
        }
        guard !existing.contains(requested) else {
            throw VireoError.conflict("volume '\(volid(requested))' already exists")
        }
        return requested
    }

    /// Validates a rename's target before anything runs: a valid VMID and, when given, a name of
    /// `kind` owned by it.
    static func checkRenameTarget(vmid: Int, name: String?, kind: BlockVolumeName.Kind) throws {
        guard VMID(vmid) != nil else { throw VireoError.invalid("invalid VMID \(vmid)") }
        if let name {
            guard let (parsedKind, owner) = BlockVolumeName.parseObjectName(name), parsedKind == kind, owner == vmid
            else { throw VireoError.invalid("illegal name '\(name)' - should be '\(kind.rawValue)-\(vmid)-*'") }
        }
    }

    /// The type's capabilities from `StorageTypes`, or raw-only ones for a type it does not know.
    static func capabilities(of type: String) -> StorageCapabilities {
        StorageTypes.schema(for: type)?.capabilities
            ?? StorageCapabilities(
                formats: [.raw],
                defaultFormat: .raw,
                snapshotFormats: [],
                linkedClones: false,
                templates: false,
                inherentlyShared: false,
                validContent: [.images],
                defaultContent: [.images]
            )
    }

    /// A name handed to a tool as one argument (a VG, pool or dataset): safe characters only, no
    /// leading `-`, no `..` segment.
    func checkBackendName(_ value: String?, option: String, allowsSlash: Bool = false) throws -> String {
        guard let value, !value.isEmpty, !value.hasPrefix("-"), !value.hasPrefix("/"), !value.hasSuffix("/"),
            !value.split(separator: "/").contains(".."), !value.contains("//"),
            value.unicodeScalars.allSatisfy({
                ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
                    || "+_.-".unicodeScalars.contains($0)
                    || (allowsSlash && $0 == "/")
            })
        else {
            throw VireoError(.invalidArgument, "storage '\(id)': invalid or missing '\(option)'")
        }
        return value
    }

    /// The content a volume of `kind` is listed as, or nil when `filter` excludes it. Container
    /// directories are `rootdir`; block disks are `images` unless the caller asks for `rootdir`
    /// (a container's raw disk looks the same; only the guest list knows its owner's type).
    static func listedContent(kind: BlockVolumeName.Kind, filter: ContentType?) -> ContentType? {
        if kind == .subvol || kind == .basevol { return filter == nil || filter == .rootdir ? .rootdir : nil }
        switch filter {
        case nil, .images?: return .images
        case .rootdir?: return .rootdir
        default: return nil
        }
    }

    /// KiB for a byte count, rounded up.
    static func kibibytes(_ bytes: Int) -> Int { (bytes + 1023) / 1024 }

    /// Bytes in binary units with two decimals (`4.00 GiB`).
    static func humanReadable(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var unit = 0
        var value = Double(bytes)
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        guard unit > 0 else { return "\(bytes) B" }
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) \(units[unit])"
    }
}
