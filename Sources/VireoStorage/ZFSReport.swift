/// Parsers of `zfs list -H -p` / `zfs get -H -p` output: tab-separated fields, exact numbers, `-` for
/// a property that does not apply.
enum ZFSReport {
    /// The columns of a volume listing.
    static let listColumns = ["name", "volsize", "origin", "type", "refquota"]
    /// The columns of a single volume's details.
    static let infoColumns = listColumns + ["used", "creation"]

    struct Dataset: Sendable, Equatable {
        /// Full name, `rpool/data/vm-100-disk-0`.
        var name: String
        /// Zvols only.
        var volsize: Int?
        /// `rpool/data/base-100-disk-0@__base__` for a clone.
        var origin: String?
        /// `volume`, `filesystem`, `snapshot`.
        var type: String
        /// Filesystems only; 0 means none.
        var refquota: Int?
        var used: Int?
        /// Epoch seconds.
        var creation: Int?

        /// The last path component, the volume's own name.
        var shortName: String { name.split(separator: "/").last.map(String.init) ?? name }
    }

    /// Parses `zfs list -H -p -o <columns>`; lines with too few fields are skipped.
    static func datasets(_ text: String, columns: [String] = listColumns) -> [Dataset] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= columns.count else { return nil }
            var values: [String: String] = [:]
            for (column, field) in zip(columns, fields) where field != "-" && !field.isEmpty { values[column] = field }
            guard let name = values["name"] else { return nil }
            return Dataset(
                name: name,
                volsize: values["volsize"].flatMap { Int($0) },
                origin: values["origin"],
                type: values["type"] ?? "",
                refquota: values["refquota"].flatMap { Int($0) },
                used: values["used"].flatMap { Int($0) },
                creation: values["creation"].flatMap { Int($0) }
            )
        }
    }

    /// The values of `zfs get -H -p -o value <properties>`, one per line, in the order asked.
    static func values(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { line in
            String(line.drop { $0 == " " }.prefix { $0 != "\t" })
        }
    }

    /// Snapshot names (after `@`) of `zfs list -H -t snapshot -o name`, in listed order.
    static func snapshotNames(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            line.firstIndex(of: "@").map { String(line[line.index(after: $0)...]) }
        }
    }
}
