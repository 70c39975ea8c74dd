public import ArgumentParser
import Foundation

/// `vireo`: the CLI. One binary, also installed under Proxmox's names: a link named `pvesh` acts
/// as `vireo api`, `pveum` as `vireo pveum`.
public struct VireoCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vireo",
        abstract: "Vireo command-line interface.",
        subcommands: [
            APICommand.self, PveumCommand.self, PvesmCommand.self, QmCommand.self, PveFirewallCommand.self,
            DiagnoseCommand.self, PvecmCommand.self,
        ]
    )

    public init() {}

    /// Names this binary answers to, and the subcommand each stands for.
    static let personalities: [String: String] = [
        "pvesh": "api", "pveum": "pveum", "pvesm": "pvesm", "qm": "qm", "pve-firewall": "pve-firewall",
        "pvecm": "pvecm",
    ]

    /// Entry point: dispatches on the name the binary was called by, then runs.
    public static func launch() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let name = URL(fileURLWithPath: CommandLine.arguments.first ?? "vireo").lastPathComponent
        if let subcommand = personalities[name] { arguments.insert(subcommand, at: 0) }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}
