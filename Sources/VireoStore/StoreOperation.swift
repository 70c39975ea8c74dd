/// One step of a multi-file transaction (``ConfigStore/commit(_:)``): all steps' conditions are
/// checked, then all writes and deletions apply, atomically.
public enum StoreOperation: Sendable, Equatable {
    case write(String, content: String, condition: WriteCondition)
    case delete(String, condition: WriteCondition)
    /// Only a condition: e.g. `.absent` for `nodes/<other>/qemu-server/100.conf`, so a VMID stays
    /// unique in the whole tree.
    case check(String, condition: WriteCondition)

    public var path: String {
        switch self {
        case .write(let path, _, _), .delete(let path, _), .check(let path, _): path
        }
    }
}
