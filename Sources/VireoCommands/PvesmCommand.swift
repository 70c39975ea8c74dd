import ArgumentParser
import Foundation
import VireoClient
import VireoCore

/// `vireo pvesm` (also `pvesm`): storage status, volumes and storage.cfg with Proxmox's verbs.
struct PvesmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pvesm",
        abstract: "Storage: status|list|alloc|free|path|add|set|remove (Proxmox's pvesm verbs)."
    )

    @Argument(parsing: .captureForPassthrough)
    var arguments: [String] = []

    func run() async throws {
        var list = OptionList(arguments)
        let format = try outputFormat(list.take("output-format"))
        let words = list.positionals
        guard let verb = words.first else { throw ValidationError(Self.usage) }
        let api = try LocalAPI.connect()
        let rest = Array(words.dropFirst())
        func need(_ count: Int, _ names: String) throws {
            guard rest.count == count else { throw ValidationError("usage: vireo pvesm \(verb) \(names)") }
        }
        switch verb {
        case "status":
            try need(0, "[--content C] [--enabled 1] [--storage ID]")
            let data = try await api.call(.get, "/nodes/localhost/storage", list.options)
            if format == .text {
                print(Self.statusTable(data), terminator: "")
            } else {
                try await api.show(data, as: format)
            }
        case "list":
            try need(1, "STORAGE [--content C] [--vmid N]")
            let data = try await api.call(.get, "/nodes/localhost/storage/\(rest[0])/content", list.options)
            if format == .text {
                print(Self.listTable(data), terminator: "")
            } else {
                try await api.show(data, as: format)
            }
        case "alloc":
            try need(4, "STORAGE VMID FILENAME SIZE [--format raw|qcow2|vmdk]")
            let parameters = [("vmid", rest[1]), ("filename", rest[2]), ("size", rest[3])] + list.options
            let data = try await api.call(.post, "/nodes/localhost/storage/\(rest[0])/content", parameters)
            if format == .text {
                print("successfully created '\(data.stringValue ?? "")'")
            } else {
                try await api.show(data, as: format)
            }
        case "free":
            try need(1, "VOLID")
            let data = try await api.call(.delete, Self.volumePath(rest[0]), list.options)
            try await api.show(data, as: format)
        case "path":
            try need(1, "VOLID")
            let data = try await api.call(.get, Self.volumePath(rest[0]))
            print(data["path"]?.stringValue ?? "")
        case "add":
            try need(2, "TYPE STORAGE [--option value ...]")
            let data = try await api.call(.post, "/storage", [("type", rest[0]), ("storage", rest[1])] + list.options)
            if format != .text { try await api.show(data, as: format) }
        case "set":
            try need(1, "STORAGE [--option value ...] [--delete OPTIONS]")
            _ = try await api.call(.put, "/storage/\(rest[0])", list.options)
        case "remove":
            try need(1, "STORAGE")
            _ = try await api.call(.delete, "/storage/\(rest[0])")
        case "scan", "nfsscan", "cifsscan", "iscsiscan", "lvmscan", "lvmthinscan", "zfsscan":
            throw CLIError("pvesm \(verb): scanning for storages is not supported by Vireo yet")
        default:
            throw ValidationError(Self.usage)
        }
    }

    static let usage = "usage: vireo pvesm status|list|alloc|free|path|add|set|remove ..."

    /// `local:100/vm-100-disk-0.qcow2` → `/nodes/localhost/storage/local/content/local:100/…`.
    static func volumePath(_ volid: String) throws -> String {
        guard let colon = volid.firstIndex(of: ":"), colon != volid.startIndex else {
            throw CLIError("invalid volume ID '\(volid)' - expected STORAGE:VOLUME")
        }
        let storage = String(volid[..<colon])
        return "/nodes/localhost/storage/\(storage)/content/\(volid)"
    }

    /// Proxmox's `pvesm status` table: sizes in KiB, usage in percent.
    static func statusTable(_ data: JSON) -> String {
        var rows = [["Name", "Type", "Status", "Total", "Used", "Available", "%"]]
        for item in (data.arrayValue ?? []).sorted(by: {
            ($0["storage"]?.stringValue ?? "") < ($1["storage"]?.stringValue ?? "")
        }) {
            let total = item["total"]?.intValue ?? 0
            let used = item["used"]?.intValue ?? 0
            let status =
                item["enabled"]?.intValue == 0 ? "disabled" : item["active"]?.intValue == 1 ? "active" : "inactive"
            let percent = total > 0 ? String(format: "%.2f%%", Double(used) * 100 / Double(total)) : "0.00%"
            rows.append([
                item["storage"]?.stringValue ?? "", item["type"]?.stringValue ?? "", status, String(total / 1024),
                String(used / 1024), String((item["avail"]?.intValue ?? 0) / 1024), percent,
            ])
        }
        return columns(rows, leftAligned: [0])
    }

    /// Proxmox's `pvesm list` table: Volid Format Type Size VMID.
    static func listTable(_ data: JSON) -> String {
        var rows = [["Volid", "Format", "Type", "Size", "VMID"]]
        for item in data.arrayValue ?? [] {
            rows.append([
                item["volid"]?.stringValue ?? "", item["format"]?.stringValue ?? "", item["content"]?.stringValue ?? "",
                String(item["size"]?.intValue ?? 0), item["vmid"]?.intValue.map(String.init) ?? "",
            ])
        }
        return columns(rows, leftAligned: [0, 1, 2])
    }

    static func columns(_ rows: [[String]], leftAligned: Set<Int>) -> String {
        guard let first = rows.first else { return "" }
        var widths = first.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return leftAligned.contains(i) ? cell + pad : pad + cell
            }.joined(separator: " ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n") + "\n"
    }
}
