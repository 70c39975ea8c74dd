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

extension StoreOperation {
    /// The same operation with its path normalized (``ConfigPath``): what every backend commits.
    func normalized() throws -> StoreOperation {
        let path = try ConfigPath.normalize(path)
        return switch self {
        case .write(_, let content, let condition): .write(path, content: content, condition: condition)
        case .delete(_, let condition): .delete(path, condition: condition)
        case .check(_, let condition): .check(path, condition: condition)
        }
    }
}
