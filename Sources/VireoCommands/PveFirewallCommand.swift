import ArgumentParser
import Foundation
import VireoClient
import VireoCore

/// `vireo pve-firewall` (also `pve-firewall`): the node's firewall service with Proxmox's verbs.
struct PveFirewallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pve-firewall",
        abstract: "Firewall: compile|status|localnet|start|stop (Proxmox's pve-firewall verbs)."
    )

    @Argument(parsing: .captureForPassthrough)
    var arguments: [String] = []

    static let usage = "usage: vireo pve-firewall compile|status|localnet|start|stop"
    static let base = "/nodes/localhost/vireo/firewall"

    func run() async throws {
        let list = OptionList(arguments)
        guard list.positionals.count == 1, let verb = list.positionals.first else { throw ValidationError(Self.usage) }
        let api = try LocalAPI.connect()
        switch verb {
        case "compile":
            // The nft JSON batch `nft -j -f` would load, then the rules left out and why.
            let data = try await api.call(.get, Self.base + "/compile")
            print(OutputFormatter.render(data["ruleset"] ?? .null, as: .jsonPretty))
            for skipped in data["skipped"]?.arrayValue ?? [] {
                FileHandle.standardError.write(Data("skipped rule \(skipped.stringValue ?? "")\n".utf8))
            }
        case "status":
            let data = try await api.call(.get, Self.base + "/status")
            let enabled = data["enable"]?.intValue == 1 ? "enabled" : "disabled"
            print("Status: \(enabled)/\(data["status"]?.stringValue ?? "unknown")")
            if data["kernel"]?.intValue == 0 {
                print("(contained node without a network namespace: rules are compiled but not loaded)")
            }
            if let error = data["error"]?.stringValue { print("last error: \(error)") }
            for skipped in data["skipped"]?.arrayValue ?? [] { print("skipped rule \(skipped.stringValue ?? "")") }
        case "localnet":
            let data = try await api.call(.get, Self.base + "/localnet")
            let local = (data["local_network"]?.arrayValue ?? []).compactMap(\.stringValue)
            let detected = (data["detected"]?.arrayValue ?? []).compactMap(\.stringValue)
            print("network auto detect: \(detected.joined(separator: ", "))")
            let source = data["source"]?.stringValue == "alias" ? "configured" : "detected"
            print("using \(source) local_network: \(local.joined(separator: ", "))")
            let management = (data["management"]?.arrayValue ?? []).compactMap(\.stringValue)
            print("management ipset: \(management.isEmpty ? "(none)" : management.joined(separator: ", "))")
        case "start", "stop":
            _ = try await api.call(.post, Self.base + "/" + verb)
        default:
            throw ValidationError(Self.usage)
        }
    }
}
