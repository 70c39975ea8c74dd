import VireoCore

/// A store transaction as one etcd `Txn`: each operation's condition and each held lease
/// become comparisons, the operations and the bump of the tree key the success branch, and a
/// read of every compared key the failure branch, so a refusal can name what did not hold.
struct EtcdTransaction {
    private let operations: [StoreOperation]
    private let fences: [StoreLease]
    private let keys: EtcdKeys
    let body: JSON

    init(_ operations: [StoreOperation], fences: [StoreLease], keys: EtcdKeys, mtime: Int64) throws {
        // etcd takes one change per key in a transaction; conditions on a changed key are fine.
        var changed = Set<String>()
        for operation in operations {
            if case .check = operation { continue }
            guard changed.insert(operation.path).inserted else {
                throw VireoError.invalid("config file '\(operation.path)' is changed twice in one transaction")
            }
        }
        self.operations = operations
        self.fences = fences
        self.keys = keys
        var compare: [JSON] = []
        var success: [JSON] = []
        for fence in fences {
            compare.append([
                "key": EtcdCoding.bytes(keys.lock(fence.name)), "target": "CREATE", "result": "EQUAL",
                "create_revision": EtcdCoding.int(fence.token),
            ])
        }
        for operation in operations {
            let key = EtcdCoding.bytes(keys.file(operation.path))
            switch operation {
            case .write(_, let content, let condition):
                compare += Self.comparisons(key, condition)
                success.append([
                    "request_put": [
                        "key": key, "value": EtcdCoding.bytes(EtcdFileValue.encode(content: content, mtime: mtime)),
                    ]
                ])
            case .delete(_, let condition):
                compare.append(["key": key, "target": "VERSION", "result": "GREATER", "version": "0"])
                compare += Self.comparisons(key, condition)
                success.append(["request_delete_range": ["key": key]])
            case .check(_, let condition):
                compare += Self.comparisons(key, condition)
            }
        }
        success.append(["request_put": ["key": EtcdCoding.bytes(keys.tree), "value": ""]])
        let failure: [JSON] =
            fences.map { ["request_range": ["key": EtcdCoding.bytes(keys.lock($0.name))]] }
            + operations.map { ["request_range": ["key": EtcdCoding.bytes(keys.file($0.path))]] }
        body = ["compare": .array(compare), "success": .array(success), "failure": .array(failure)]
    }

    private static func comparisons(_ key: JSON, _ condition: WriteCondition) -> [JSON] {
        switch condition {
        case .any: []
        case .absent: [["key": key, "target": "VERSION", "result": "EQUAL", "version": "0"]]
        case .version(let version):
            [["key": key, "target": "MOD", "result": "EQUAL", "mod_revision": EtcdCoding.int(version)]]
        }
    }

    /// Why a transaction that did not succeed was refused, in the SQLite store's words.
    func failure(_ answer: JSON) -> VireoError {
        let found: [EtcdKeyValue?] = (answer["responses"]?.arrayValue ?? []).map { response in
            response["response_range"]?["kvs"]?.arrayValue?.first.map(EtcdKeyValue.init)
        }
        guard found.count == fences.count + operations.count else {
            return VireoError.conflict("the configuration changed concurrently")
        }
        for (index, fence) in fences.enumerated() where found[index]?.createRevision != fence.token {
            return VireoError.leaseLost(fence)
        }
        for (index, operation) in operations.enumerated() {
            let existing = found[fences.count + index].map {
                EtcdFileValue.decode(path: operation.path, entry: $0)
            }
            do {
                switch operation {
                case .write(let path, _, let condition), .check(let path, let condition):
                    try condition.check(existing: existing, path: path)
                case .delete(let path, let condition):
                    guard existing != nil else { return VireoError.notFound("config file '\(path)' does not exist") }
                    try condition.check(existing: existing, path: path)
                }
            } catch let error as VireoError {
                return error
            } catch {
                return VireoError.conflict("\(error)")
            }
        }
        // Everything holds now: it did not a moment ago.
        return VireoError.conflict("the configuration changed concurrently")
    }
}
