/// Parsers of LVM's `vgs`/`lvs` reports, run with `--separator : --noheadings --units b --unbuffered
/// --nosuffix` so every line is colon-separated fields with sizes in plain bytes.
enum LVMReport {
    /// The options that make a report machine-readable.
    static let reportOptions = ["--separator", ":", "--noheadings", "--units", "b", "--unbuffered", "--nosuffix"]
    static let volumeGroupFields = "vg_name,vg_size,vg_free,lv_count"
    static let logicalVolumeFields =
        "vg_name,lv_name,lv_size,lv_attr,pool_lv,data_percent,metadata_percent,snap_percent,uuid,tags,"
        + "metadata_size,time"

    /// `vgs` arguments listing every volume group.
    static var volumeGroupsArguments: [String] { reportOptions + ["-o", volumeGroupFields] }

    /// `lvs` arguments listing the logical volumes of `vg`, with creation times as epoch seconds.
    static func logicalVolumesArguments(vg: String) -> [String] {
        reportOptions + ["--config", "report/time_format=\"%s\"", "-o", logicalVolumeFields, vg]
    }

    struct VolumeGroup: Sendable, Equatable {
        var name: String
        var size: Int
        var free: Int
        var lvCount: Int
    }

    struct LogicalVolume: Sendable, Equatable {
        var vg: String
        var name: String
        var size: Int
        /// `lv_attr`, e.g. `twi-aotz--` (thin pool), `Vwi-a-tz--` (thin volume), `-wi-a-----` (plain).
        var attributes: String
        /// The thin pool of a thin volume.
        var pool: String?
        var dataPercent: Double?
        var metadataPercent: Double?
        var uuid: String
        var tags: [String]
        var metadataSize: Int?
        /// Creation time, epoch seconds.
        var ctime: Int?

        /// `lv_attr` character 0: `t` thin pool, `V` thin volume, `-` plain, `m`/`M` mirror, `r`/`R` raid, …
        var type: Character { attributes.first ?? "?" }
        /// `lv_attr` character 4: `a` when active.
        var isActive: Bool {
            attributes.count > 4 && attributes[attributes.index(attributes.startIndex, offsetBy: 4)] == "a"
        }
        /// Bytes in use, for thin volumes and pools.
        var usedBytes: Int? { dataPercent.map { Int((Double(size) * $0 / 100).rounded()) } }
    }

    /// Parses `vgs -o vg_name,vg_size,vg_free,lv_count`; lines that do not fit are skipped.
    static func volumeGroups(_ text: String) -> [VolumeGroup] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = fields(of: line)
            guard fields.count >= 4, !fields[0].isEmpty, let size = Int(fields[1]), let free = Int(fields[2]) else {
                return nil
            }
            return VolumeGroup(name: fields[0], size: size, free: free, lvCount: Int(fields[3]) ?? 0)
        }
    }

    /// Parses `lvs -o <logicalVolumeFields>`; lines that do not fit are skipped.
    static func logicalVolumes(_ text: String) -> [LogicalVolume] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            var fields = fields(of: line)
            guard fields.count >= 4, !fields[1].isEmpty, let size = Int(fields[2]) else { return nil }
            // Older LVM prints fewer trailing columns; treat missing ones as empty.
            fields += Array(repeating: "", count: max(0, 12 - fields.count))
            return LogicalVolume(
                vg: fields[0],
                name: fields[1],
                size: size,
                attributes: fields[3],
                pool: fields[4].isEmpty ? nil : fields[4],
                dataPercent: percent(fields[5]),
                metadataPercent: percent(fields[6]),
                uuid: fields[8],
                tags: fields[9].split(separator: ",").map(String.init),
                metadataSize: Int(fields[10]),
                ctime: Int(fields[11])
            )
        }
    }

    private static func fields(of line: Substring) -> [String] {
        line.split(separator: ":", omittingEmptySubsequences: false).map { field in
            let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
            guard let first = field.firstIndex(where: { !isBlank($0) }),
                let last = field.lastIndex(where: { !isBlank($0) })
            else { return "" }
            return String(field[first...last])
        }
    }

    /// `25.00`; some locales print `25,00`.
    private static func percent(_ text: String) -> Double? {
        text.isEmpty ? nil : Double(text.replacing(",", with: "."))
    }
}
