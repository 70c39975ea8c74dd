import VireoCore

/// One storage backend. A plugin instance serves one `storage.cfg` entry; it runs every external
/// command through the `CommandRunner` it was made with and never touches paths outside its root.
///
/// Volume names (`volname`) are the part after `<storage>:` in a volume ID; their form is the
/// backend's (`100/vm-100-disk-0.qcow2` for dir, `vm-100-disk-0` for lvm/zfs/rbd).
/// Errors are `VireoError`s whose message names the storage and the volume, with the failing
/// command's stderr carried in the message.
public protocol StoragePlugin: Sendable {
    /// The section as configured.
    var definition: StorageDefinition { get }
    var capabilities: StorageCapabilities { get }

    /// Makes the storage usable on this node (mount check, VG scan, create subdirectories).
    func activate() async throws
    /// total/used/available in bytes from the real backend.
    func status() async throws -> StorageStatus
    /// Volumes, optionally only of one content type and/or one owner.
    func list(content: ContentType?, vmid: Int?) async throws -> [VolumeInfo]
    /// Creates a disk image and returns its volname.
    func allocate(_ request: AllocationRequest) async throws -> String
    /// Removes a volume and everything that belongs to it (its snapshots).
    func free(_ volname: String) async throws
    /// Grows a volume to `sizeBytes`.
    func resize(_ volname: String, sizeBytes: Int) async throws
    /// What QEMU opens for this volume (a file or a block device).
    func path(_ volname: String) throws -> String
    /// Size, format, used bytes, parent of one volume.
    func info(_ volname: String) async throws -> VolumeInfo
    /// Whether the volume exists; cheaper than ``info(_:)`` where the backend allows.
    func exists(_ volname: String) async throws -> Bool
    func createSnapshot(_ volname: String, name: String) async throws
    func rollbackSnapshot(_ volname: String, name: String) async throws
    func deleteSnapshot(_ volname: String, name: String) async throws
    /// Turns a volume into a read-only base for linked clones; returns the new volname.
    func createBase(_ volname: String) async throws -> String
    /// A linked clone of a base (or snapshot) volume for `vmid`; returns the new volname.
    func linkedClone(_ volname: String, vmid: Int, snapshot: String?) async throws -> String
    /// Renames a volume, possibly to another owner; returns the new volname.
    func rename(_ volname: String, toVMID vmid: Int, name: String?) async throws -> String
}

extension StoragePlugin {
    public var id: String { definition.id }

    public func exists(_ volname: String) async throws -> Bool {
        do {
            _ = try await info(volname)
            return true
        } catch let error as VireoError where error.code == .notFound {
            return false
        }
    }

    func unsupported(_ what: String) -> VireoError {
        VireoError.invalid("storage '\(id)' (type \(definition.type)): \(what) is not supported")
    }
}
