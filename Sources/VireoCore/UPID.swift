/// A task ID, `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:` with the trailing colon.
///
/// `pid` and `starttime` are 8 hex digits, `pstart` 8 or 9; they print in upper case, zero-padded
/// to 8, so a Proxmox-written UPID prints back unchanged. `id` may be empty; `user` may be a token ID.
public struct UPID: ValidatedIdentifier {
    public let node: String
    public let pid: Int
    /// The worker's start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    public let pstart: Int
    /// Unix time the task started.
    public let starttime: Int
    /// The task type, e.g. `qmstart`.
    public let type: String
    /// What the task works on, e.g. the VMID; may be empty.
    public let id: String
    /// Who started it, `user@realm` or `user@realm!token`.
    public let user: String

    /// Throws `VireoError` (`.invalidArgument`) when a field cannot be written in a UPID: a bad node
    /// name, numbers out of range (`pid`, `starttime` ≤ 0xFFFFFFFF, `pstart` ≤ 0xFFFFFFFFF), or
    /// `:`/whitespace in `type`, `id` or `user` (`type` and `user` must not be empty).
    public init(
        node: String,
        pid: Int,
        pstart: Int,
        starttime: Int,
        type: String,
        id: String = "",
        user: String
    ) throws {
        let fields =
            "node '\(node)', pid \(pid), pstart \(pstart), starttime \(starttime), "
            + "type '\(type)', id '\(id)', user '\(user)'"
        guard NodeName(node) != nil, (0...0xFFFF_FFFF).contains(pid), (0...0xF_FFFF_FFFF).contains(pstart),
            (0...0xFFFF_FFFF).contains(starttime), Self.isField(type), id.isEmpty || Self.isField(id),
            Self.isField(user)
        else { throw VireoError.invalid("unable to create worker upid from \(fields)") }
        self.node = node
        self.pid = pid
        self.pstart = pstart
        self.starttime = starttime
        self.type = type
        self.id = id
        self.user = user
    }

    public init(validating text: String) throws {
        let invalid = VireoError.invalid("unable to parse worker upid '\(text)'")
        let fields = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 9, fields[0] == "UPID", fields[8].isEmpty,
            let pid = Self.hex(fields[2], digits: 8...8),
            let pstart = Self.hex(fields[3], digits: 8...9),
            let starttime = Self.hex(fields[4], digits: 8...8)
        else { throw invalid }
        do {
            try self.init(
                node: fields[1],
                pid: pid,
                pstart: pstart,
                starttime: starttime,
                type: fields[5],
                id: fields[6],
                user: fields[7]
            )
        } catch {
            throw invalid
        }
    }

    public var description: String {
        "UPID:\(node):\(Self.hex(pid)):\(Self.hex(pstart)):\(Self.hex(starttime)):\(type):\(id):\(user):"
    }

    private static func isField(_ text: String) -> Bool {
        !text.isEmpty && !text.unicodeScalars.contains { $0 == ":" || $0.properties.isWhitespace }
    }

    private static func hex(_ text: String, digits: ClosedRange<Int>) -> Int? {
        guard digits.contains(text.utf8.count), ASCII.all(text, ASCII.isHexDigit) else { return nil }
        return Int(text, radix: 16)
    }

    /// Upper-case hex, zero-padded to at least 8 digits.
    private static func hex(_ value: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
