import ArgumentParser
import Foundation
import VireoClient
import VireoCore

/// `vireo qm` (also `qm`): VMs with Proxmox's verbs. Long operations follow their task log.
struct QmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qm",
        abstract:
            "Virtual machines: list|create|set|config|pending|start|stop|shutdown|reboot|reset|suspend|resume|status|snapshot|listsnapshot|rollback|delsnapshot|clone|template|resize|move-disk|unlink|destroy|showcmd|monitor|terminal|vncproxy."
    )

    @Argument(parsing: .captureForPassthrough)
    var arguments: [String] = []

    /// Where a VM's calls go: the node that holds it (any cluster member answers for every
    /// node), found in `/cluster/resources`; this node when it is not listed.
    static func vmBase(_ api: LocalAPI, _ id: String) async throws -> String {
        let guests = try? await api.call(.get, "/cluster/resources", [("type", "vm")])
        let node = guests?.arrayValue?.first { $0["vmid"]?.intValue == Int(id) }?["node"]?.stringValue
        return "/nodes/\(node ?? "localhost")/qemu"
    }

    static let powerVerbs: Set<String> = ["start", "stop", "shutdown", "reboot", "reset", "suspend", "resume"]

    func run() async throws {
        var list = OptionList(arguments)
        let format = try outputFormat(list.take("output-format"))
        let words = list.positionals
        guard let verb = words.first else { throw ValidationError(Self.usage) }
        let api = try LocalAPI.connect()
        let base = "/nodes/localhost/qemu"
        func vmid() throws -> String { try positionals("VMID")[0] }
        /// The VMID and the further positional arguments a verb takes, by name for the usage line.
        func positionals(_ names: String...) throws -> [String] {
            guard words.count == names.count + 1, let id = Int(words[1]), id >= 100 else {
                throw ValidationError(
                    "usage: vireo qm \(verb) \(names.joined(separator: " ")) [--option value ...]"
                )
            }
            return [String(id)] + words.dropFirst(2)
        }
        switch verb {
        case "list":
            let data = try await api.call(.get, base, list.options)
            if format == .text {
                print(Self.listTable(data), terminator: "")
            } else {
                try await api.show(data, as: format)
            }
        case "create":
            let id = try vmid()
            let base = list.take("node").map { "/nodes/\($0)/qemu" } ?? base
            try await api.show(try await api.call(.post, base, [("vmid", id)] + list.options), as: format)
        case "set":
            let id = try vmid()
            let base = try await Self.vmBase(api, id)
            _ = try await api.call(.put, "\(base)/\(id)/config", list.options)
        case "config":
            let id = try vmid()
            let base = try await Self.vmBase(api, id)
            let data = try await api.call(.get, "\(base)/\(id)/config", list.options)
            if format == .text {
                for (key, value) in (data.object ?? [:]).sorted(by: { $0.key < $1.key }) where key != "digest" {
                    print("\(key): \(OutputFormatter.scalar(value))")
                }
            } else {
                try await api.show(data, as: format)
            }
        case "pending":
            let id = try vmid()
            let base = try await Self.vmBase(api, id)
            try await api.show(try await api.call(.get, "\(base)/\(id)/pending"), as: format)
        case _ where Self.powerVerbs.contains(verb):
            let id = try vmid()
            let base = try await Self.vmBase(api, id)
            try await api.show(try await api.call(.post, "\(base)/\(id)/status/\(verb)", list.options), as: format)
        case "status":
            let id = try vmid()
            let base = try await Self.vmBase(api, id)
            let data = try await api.call(.get, "\(base)/\(id)/status/current")
            if format == .text {
                print("status: \(data["status"]?.stringValue ?? "unknown")")
            } else {
                try await api.show(data, as: format)
            }
        case "destroy":
            let id = try vmid()
            let base = try await Self.vmBase(api, id)
            try await api.show(try await api.call(.delete, "\(base)/\(id)", list.options), as: format)
        case "showcmd":
            let id = try vmid()
            let base = try await Self.vmBase(api, id)
            print(try await api.call(.get, "\(base)/\(id)/showcmd", list.options).stringValue ?? "")
        case "monitor":
            let id = try vmid()
            let base = try await Self.vmBase(api, id)
            print("Entering QEMU Monitor Interface for VM \(id) - type 'help' for help")
            while let line = {
                print("qm> ", terminator: "")
                return readLine()
            }() {
                let command = line.trimmingCharacters(in: .whitespaces)
                if command == "quit" || command == "q" { break }
                if command.isEmpty { continue }
                print(
                    try await api.call(.post, "\(base)/\(id)/monitor", [("command", command)]).stringValue ?? "",
                    terminator: ""
                )
            }
        case "snapshot":
            let a = try positionals("VMID", "SNAPNAME")
            try await api.show(
                try await api.call(.post, "\(base)/\(a[0])/snapshot", [("snapname", a[1])] + list.options),
                as: format
            )
        case "listsnapshot":
            let id = try vmid()
            let base = try await Self.vmBase(api, id)
            let data = try await api.call(.get, "\(base)/\(id)/snapshot")
            if format == .text {
                print(Self.snapshotTree(data), terminator: "")
            } else {
                try await api.show(data, as: format)
            }
        case "rollback":
            let a = try positionals("VMID", "SNAPNAME")
            try await api.show(
                try await api.call(.post, "\(base)/\(a[0])/snapshot/\(a[1])/rollback", list.options),
                as: format
            )
        case "delsnapshot":
            let a = try positionals("VMID", "SNAPNAME")
            try await api.show(
                try await api.call(.delete, "\(base)/\(a[0])/snapshot/\(a[1])", list.options),
                as: format
            )
        case "clone":
            let a = try positionals("VMID", "NEWID")
            try await api.show(
                try await api.call(.post, "\(base)/\(a[0])/clone", [("newid", a[1])] + list.options),
                as: format
            )
        case "template":
            let id = try vmid()
            let base = try await Self.vmBase(api, id)
            try await api.show(try await api.call(.post, "\(base)/\(id)/template", list.options), as: format)
        case "resize":
            let a = try positionals("VMID", "DISK", "SIZE")
            try await api.show(
                try await api.call(.put, "\(base)/\(a[0])/resize", [("disk", a[1]), ("size", a[2])] + list.options),
                as: format
            )
        case "move-disk", "move_disk":
            let a = try positionals("VMID", "DISK", "STORAGE")
            try await api.show(
                try await api.call(
                    .post,
                    "\(base)/\(a[0])/move_disk",
                    [("disk", a[1]), ("storage", a[2])] + list.options
                ),
                as: format
            )
        case "unlink":
            let id = try vmid()
            let base = try await Self.vmBase(api, id)
            _ = try await api.call(.put, "\(base)/\(id)/unlink", list.options)
        case "terminal":
            let id = try vmid()
            let interface = list.take("iface") ?? "serial0"
            guard ["serial0", "serial1", "serial2", "serial3"].contains(interface) else {
                throw CLIError("--iface: '\(interface)' is not one of serial0, serial1, serial2, serial3")
            }
            try SerialTerminal.attach(path: LocalAPI.runDirectory() + "/qemu/\(id).\(interface)", interface: interface)
        case "vncproxy":
            let id = try vmid()
            // As Proxmox's proxy: the password for this connection comes in LC_PVE_TICKET.
            if let ticket = ProcessInfo.processInfo.environment["LC_PVE_TICKET"], !ticket.isEmpty {
                // It becomes a word of a monitor command line: printable, no blanks.
                guard ticket.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
                    throw CLIError("LC_PVE_TICKET: only printable characters without blanks")
                }
                for command in ["set_password vnc \(ticket)", "expire_password vnc +30"] {
                    _ = try await api.call(.post, "\(base)/\(id)/monitor", [("command", command)])
                }
            }
            try SerialTerminal.vncProxy(path: LocalAPI.runDirectory() + "/qemu/\(id).vnc")
        default:
            throw ValidationError(Self.usage)
        }
    }

    static let usage =
        "usage: vireo qm list|create|set|config|pending|start|stop|shutdown|reboot|reset|suspend|resume|status|snapshot|listsnapshot|rollback|delsnapshot|clone|template|resize|move-disk|unlink|destroy|showcmd|monitor|terminal|vncproxy VMID ..."

    /// `qm listsnapshot`: each snapshot under its parent, `current` last, as Proxmox draws it.
    static func snapshotTree(_ data: JSON) -> String {
        let items = data.arrayValue ?? []
        var children: [String: [JSON]] = [:]
        for item in items { children[item["parent"]?.stringValue ?? "", default: []].append(item) }
        var out = ""
        func draw(_ parent: String, depth: Int) {
            let level = (children[parent] ?? []).sorted {
                ($0["name"]?.stringValue == "current" ? 1 : 0, $0["snaptime"]?.intValue ?? 0)
                    < ($1["name"]?.stringValue == "current" ? 1 : 0, $1["snaptime"]?.intValue ?? 0)
            }
            for item in level {
                let name = item["name"]?.stringValue ?? ""
                var line = String(repeating: "  ", count: depth) + "`-> " + name
                if let time = item["snaptime"]?.intValue {
                    let date = Date(timeIntervalSince1970: TimeInterval(time))
                    line += "  " + date.formatted(.iso8601.year().month().day().dateSeparator(.dash))
                    line += " " + date.formatted(.iso8601.time(includingFractionalSeconds: false))
                }
                if item["vmstate"]?.intValue == 1 { line += "  (with RAM)" }
                if let description = item["description"]?.stringValue, !description.isEmpty {
                    line += "  " + (description.split(separator: "\n").first.map(String.init) ?? "")
                }
                out += line + "\n"
                if name != "current" { draw(name, depth: depth + 1) }
            }
        }
        draw("", depth: 0)
        return out
    }

    /// Proxmox's `qm list` table.
    static func listTable(_ data: JSON) -> String {
        var rows = [["VMID", "NAME", "STATUS", "MEM(MB)", "BOOTDISK(GB)", "PID"]]
        for item in (data.arrayValue ?? []).sorted(by: { ($0["vmid"]?.intValue ?? 0) < ($1["vmid"]?.intValue ?? 0) }) {
            rows.append([
                String(item["vmid"]?.intValue ?? 0), item["name"]?.stringValue ?? "",
                item["qmpstatus"]?.stringValue ?? item["status"]?.stringValue ?? "",
                String((item["maxmem"]?.intValue ?? 0) >> 20),
                String(format: "%.2f", Double(item["maxdisk"]?.intValue ?? 0) / Double(1 << 30)),
                String(item["pid"]?.intValue ?? 0),
            ])
        }
        return PvesmCommand.columns(rows, leftAligned: [1, 2])
    }
}
