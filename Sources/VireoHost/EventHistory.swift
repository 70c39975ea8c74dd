public import Foundation
import Synchronization
public import VireoCore

/// Something that happened to a VM or the node, kept for the diagnosis: a QEMU event, a QEMU
/// that ended, a failed task.
public struct HistoryEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// An event QEMU reported on its monitor (`BLOCK_IO_ERROR`, `STOP`, `GUEST_PANICKED`, …).
        case qemu
        /// A QEMU process ended; `expected` says whether Vireo (or the guest's power-off) ended it.
        case exit
        /// A task ended with an error.
        case task
        /// The daemon itself (started, stopped).
        case daemon
    }

    /// Seconds since the epoch.
    public var time: Double
    public var kind: Kind
    public var vmid: VMID?
    /// The QEMU event's name, `exited`, or the task's type.
    public var name: String
    public var message: String
    /// Where the failure lives, for events that are failures.
    public var fault: Fault?
    /// The event's own fields (`device`, `reason`, `signal`, `upid`, …).
    public var details: [String: JSON]

    public init(
        time: Double = Date().timeIntervalSince1970,
        kind: Kind,
        vmid: VMID? = nil,
        name: String,
        message: String,
        fault: Fault? = nil,
        details: [String: JSON] = [:]
    ) {
        self.time = time
        self.kind = kind
        self.vmid = vmid
        self.name = name
        self.message = message
        self.fault = fault
        self.details = details
    }

    public var json: JSON {
        var object: [String: JSON] = [
            "time": .double(time), "kind": .string(kind.rawValue), "name": .string(name), "message": .string(message),
        ]
        if let vmid { object["vmid"] = .int(vmid.value) }
        if let fault {
            object["plane"] = .string(fault.plane.rawValue)
            object["layer"] = .string(fault.layer.rawValue)
        }
        if !details.isEmpty { object["details"] = .object(details) }
        return .object(object)
    }

    init?(json: JSON) {
        guard let time = json["time"]?.doubleValue, let kind = json["kind"]?.stringValue.flatMap(Kind.init),
            let name = json["name"]?.stringValue, let message = json["message"]?.stringValue
        else { return nil }
        self.init(time: time, kind: kind, name: name, message: message)
        vmid = json["vmid"]?.intValue.flatMap { VMID(String($0)) }
        if let layer = json["layer"]?.stringValue.flatMap(Fault.Layer.init) { fault = Fault(layer) }
        if case .object(let details)? = json["details"] { self.details = details }
    }
}

/// The node's event history: JSON lines in `<dir>/node.jsonl` (every event) and
/// `<dir>/vm-<vmid>.jsonl` (a VM's own), each cut to its newest `limit` lines once it holds
/// twice that many. Files, so the history survives daemon restarts; bounded, so a VM that flaps
/// for a year cannot fill the disk.
public final class EventHistory: Sendable {
    public let directory: String
    let nodeLimit: Int
    let vmLimit: Int
    /// Lines in each file as last counted, so appends need not read the file.
    private let lineCounts = Mutex<[String: Int]>([:])

    /// Bumped on every event (a VM paused, resumed, exited).
    public let activity: ChangeSignal

    public init(directory: String, nodeLimit: Int = 5000, vmLimit: Int = 500, activity: ChangeSignal = ChangeSignal()) {
        self.activity = activity
        self.directory = directory
        self.nodeLimit = nodeLimit
        self.vmLimit = vmLimit
        try? FileManager.default.createDirectory(
            atPath: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o750]
        )
    }

    public func record(_ event: HistoryEvent) {
        let line = event.json.serialized() + "\n"
        append(line, to: "node.jsonl", limit: nodeLimit)
        if let vmid = event.vmid { append(line, to: Self.vmFile(vmid), limit: vmLimit) }
        activity.bump()
    }

    /// Events in time order, oldest first: the VM's (or the whole node's), from `since` up to
    /// `until` (inclusive, seconds since the epoch), the newest `limit` of them.
    public func events(
        vmid: VMID? = nil,
        since: Double? = nil,
        until: Double? = nil,
        limit: Int = 100
    )
        -> [HistoryEvent]
    {
        let name = vmid.map(Self.vmFile) ?? "node.jsonl"
        guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { return [] }
        var result: [HistoryEvent] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let json = try? JSON.parse(String(decoding: line, as: UTF8.self)),
                let event = HistoryEvent(json: json)
            else { continue }
            if let since, event.time < since { continue }
            if let until, event.time > until { continue }
            result.append(event)
        }
        return Array(result.suffix(max(0, limit)))
    }

    /// Forgets a destroyed VM's own file (its lines in the node's history stay).
    public func forget(_ vmid: VMID) {
        let name = Self.vmFile(vmid)
        lineCounts.withLock { counts in
            counts[name] = nil
            unlink(directory + "/" + name)
        }
    }

    static func vmFile(_ vmid: VMID) -> String { "vm-\(vmid).jsonl" }

    private func append(_ line: String, to name: String, limit: Int) {
        let path = directory + "/" + name
        lineCounts.withLock { counts in
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            guard fd >= 0 else { return }
            let bytes = Array(line.utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            let count = (counts[name] ?? lineCount(path)) + 1
            counts[name] = count > 2 * limit ? trim(path, to: limit) : count
        }
    }

    private func lineCount(_ path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        return data.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 } - 1  // the line just written is added back
    }

    private func trim(_ path: String, to limit: Int) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        let lines = data.split(separator: UInt8(ascii: "\n")).suffix(limit)
        var kept = Data()
        for line in lines {
            kept.append(contentsOf: line)
            kept.append(UInt8(ascii: "\n"))
        }
        try? kept.write(to: URL(fileURLWithPath: path), options: .atomic)
        return lines.count
    }
}
