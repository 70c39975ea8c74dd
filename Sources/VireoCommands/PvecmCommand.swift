import ArgumentParser
import Foundation
import VireoClient
import VireoCore

/// `vireo pvecm` (also `pvecm`): forming and inspecting a cluster with Proxmox's verbs.
struct PvecmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pvecm",
        abstract: "Cluster management: create NAME | add HOST | status | nodes | delnode NODE | apiver."
    )

    @Argument(parsing: .captureForPassthrough)
    var arguments: [String] = []

    func run() async throws {
        var list = OptionList(arguments)
        let words = list.positionals
        let api = try LocalAPI.connect()
        switch (words.first, words.count) {
        case ("create", 2):
            let upid = try await api.call(.post, "/cluster/config", [("clustername", words[1])] + list.options)
            _ = try await api.followIfTask(upid)
            try await Self.waitForRestart { status in status.contains { $0["type"]?.stringValue == "cluster" } }
            print("cluster '\(words[1])' created")
        case ("add", 2):
            var parameters = [("hostname", words[1])] + list.options
            if list.take("password") == nil { parameters.append(("password", try Self.readPassword(for: words[1]))) }
            let upid = try await api.call(.post, "/cluster/config/join", parameters)
            _ = try await api.followIfTask(upid)
            try await Self.waitForRestart { status in status.contains { $0["type"]?.stringValue == "cluster" } }
            print("node joined the cluster")
        case ("delnode", 2):
            _ = try await api.call(.delete, "/cluster/config/nodes/\(words[1])", list.options)
            print("node '\(words[1])' removed from the cluster")
        case ("status", 1):
            print(try await Self.statusReport(api))
        case ("nodes", 1):
            print(try await Self.membership(api))
        case ("apiver", 1):
            print(try await api.call(.get, "/cluster/config/apiversion").stringValue ?? "")
        default:
            throw ValidationError(
                "usage: vireo pvecm create CLUSTERNAME [--link0 ADDRESS] [--nodeid N] [--votes N] | add HOSTNAME [--fingerprint FP] [--link0 ADDRESS] | status | nodes | delnode NODE | apiver"
            )
        }
    }

    /// After forming or joining, vireod restarts on the cluster store: waits until it answers again
    /// and `done` holds for its `/cluster/status`.
    static func waitForRestart(_ done: ([JSON]) -> Bool) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            guard let api = try? LocalAPI.connect(),
                let status = try? await api.client.call(.get, "/cluster/status", parameters: []).arrayValue
            else { continue }
            if done(status) { return }
        }
        throw CLIError("vireod did not come back on the cluster store within 120 s (see its log)")
    }

    static func readPassword(for host: String) throws -> String {
        if isatty(0) == 1 {
            guard let password = getpass("Please enter superuser (root) password for '\(host)': ") else {
                throw CLIError("no password given")
            }
            return String(cString: password)
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw CLIError("no password given") }
        return line
    }

    /// `pvecm status`: cluster, quorum and membership, laid out as Proxmox prints them.
    static func statusReport(_ api: LocalAPI) async throws -> String {
        let status = try await api.call(.get, "/cluster/status").arrayValue ?? []
        guard let cluster = status.first(where: { $0["type"]?.stringValue == "cluster" }) else {
            throw CLIError(
                "Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?"
            )
        }
        let nodes = status.filter { $0["type"]?.stringValue == "node" }
        let members = try await api.call(.get, "/cluster/config/nodes").arrayValue ?? []
        let votes = Dictionary(members.map { ($0["node"]?.stringValue ?? "", $0["quorum_votes"]?.intValue ?? 1) }) {
            first,
            _ in first
        }
        let expected = nodes.reduce(0) { $0 + (votes[$1["name"]?.stringValue ?? ""] ?? 1) }
        let total = nodes.filter { $0["online"]?.intValue == 1 }.reduce(0) {
            $0 + (votes[$1["name"]?.stringValue ?? ""] ?? 1)
        }
        let quorate = cluster["quorate"]?.intValue == 1
        let local = nodes.first { $0["local"]?.intValue == 1 }
        func row(_ label: String, _ value: String) -> String {
            label.padding(toLength: 18, withPad: " ", startingAt: 0) + value
        }
        var lines = [
            "Cluster information", "-------------------",
            row("Name:", cluster["name"]?.stringValue ?? ""),
            row("Config Version:", cluster["version"]?.stringValue ?? ""),
            row("Transport:", "etcd (raft)"),
            row("Secure auth:", "on (TLS, cluster CA)"),
            "", "Quorum information", "------------------",
            row("Date:", Date().formatted(.dateTime)),
            row("Quorum provider:", "etcd"),
            row("Nodes:", String(nodes.filter { $0["online"]?.intValue == 1 }.count)),
            row("Node ID:", hexID(local?["nodeid"]?.intValue ?? 0)),
            row("Quorate:", quorate ? "Yes" : "No"),
            "", "Votequorum information", "----------------------",
            row("Expected votes:", String(expected)),
            row("Total votes:", String(total)),
            row("Quorum:", String(expected / 2 + 1) + (quorate ? "" : " Activity blocked")),
            row("Flags:", quorate ? "Quorate" : ""),
            "",
        ]
        lines.append(try await membership(api))
        return lines.joined(separator: "\n")
    }

    /// The membership table (`pvecm nodes`).
    static func membership(_ api: LocalAPI) async throws -> String {
        let status = try await api.call(.get, "/cluster/status").arrayValue ?? []
        let nodes = status.filter { $0["type"]?.stringValue == "node" && $0["online"]?.intValue == 1 }
        let members = try await api.call(.get, "/cluster/config/nodes").arrayValue ?? []
        let votes = Dictionary(members.map { ($0["node"]?.stringValue ?? "", $0["quorum_votes"]?.intValue ?? 1) }) {
            first,
            _ in first
        }
        var lines = ["Membership information", "----------------------", "    Nodeid      Votes Name"]
        for node in nodes.sorted(by: { ($0["nodeid"]?.intValue ?? 0) < ($1["nodeid"]?.intValue ?? 0) }) {
            let name = node["name"]?.stringValue ?? ""
            let id = hexID(node["nodeid"]?.intValue ?? 0)
            let vote = String(votes[name] ?? 1)
            let suffix = node["local"]?.intValue == 1 ? " (local)" : ""
            lines.append(id + String(repeating: " ", count: max(1, 11 - vote.count)) + vote + " " + name + suffix)
        }
        return lines.joined(separator: "\n")
    }

    static func hexID(_ id: Int) -> String {
        let hex = String(id, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - hex.count)) + hex
    }
}
