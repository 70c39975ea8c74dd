import ArgumentParser
import Foundation
import VireoClient
import VireoCore

/// `vireo diagnose [vm VMID | node | storage ID | network [BRIDGE]]`: the plane and layer at fault
/// first, then every check. When the daemon does not answer, the same report comes from
/// `vireod diagnose` reading the host: the control plane is down, the guests may well not be.
/// Exit status: 0 no fault, 1 a warning, 2 a failure, 3 the diagnosis itself failed.
struct DiagnoseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diagnose",
        abstract: "Name the failing plane and layer (control, data, storage, network, host) with evidence."
    )

    @Argument(help: "vm VMID | node | storage ID | network [BRIDGE] (default: node)")
    var subject: [String] = []

    @Option(help: "text or json.")
    var outputFormat: String = "text"

    static let usage =
        "usage: vireo diagnose [vm VMID | node | storage ID | network [BRIDGE]] [--output-format text|json]"

    /// The API call for a subject.
    static func request(_ subject: [String]) -> (path: String, parameters: [(String, String)])? {
        switch (subject.first, subject.count) {
        case (nil, 0), ("node"?, 1): ("/nodes/localhost/diagnose", [])
        case ("vm"?, 2):
            VMID(subject[1]).map { ("/nodes/localhost/qemu/\($0)/diagnose", []) }
        case ("storage"?, 2): ("/nodes/localhost/diagnose", [("scope", "storage"), ("storage", subject[1])])
        case ("network"?, 1): ("/nodes/localhost/diagnose", [("scope", "network")])
        case ("network"?, 2): ("/nodes/localhost/diagnose", [("scope", "network"), ("bridge", subject[1])])
        default: nil
        }
    }

    func run() async throws {
        guard let (path, parameters) = Self.request(subject), ["text", "json"].contains(outputFormat) else {
            throw ValidationError(Self.usage)
        }
        guard getuid() == 0 else { throw CLIError("vireo: diagnose needs root (the daemon's socket is root-only)") }
        let socket = LocalAPI.socketPath()
        // Asked once, at once: the HTTP client would retry a refused connect for a minute and more.
        var unreachable = SocketProbe.refusal(socket).map { "\(socket): \($0)" } ?? ""
        if unreachable.isEmpty {
            do {
                let report = try await APIClient(endpoint: .localSocket(socket)).call(
                    .get,
                    path,
                    parameters: parameters
                )
                show(report)
                throw ExitCode(Self.exitCode(report))
            } catch let failure as APIClient.Failure where failure.status == 0 {
                unreachable = failure.message
            } catch let failure as APIClient.Failure {
                FileHandle.standardError.write(Data((failure.description + "\n").utf8))
                throw ExitCode(3)
            }
        }
        throw ExitCode(try offline(reason: unreachable))
    }

    private func show(_ report: JSON) {
        if outputFormat == "json" {
            print(OutputFormatter.render(report, as: .jsonPretty))
        } else {
            print(report["text"]?.stringValue ?? "", terminator: "")
        }
    }

    static func exitCode(_ report: JSON) -> Int32 {
        switch report["verdict"]?["status"]?.stringValue {
        case "fail": 2
        case "warn": 1
        default: 0
        }
    }

    /// Runs `vireod diagnose` (beside this binary, or `$VIREOD`) and returns its exit status.
    private func offline(reason: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.daemonBinary())
        process.arguments =
            ["diagnose"] + subject + [
                "--output-format", outputFormat, "--run-dir", LocalAPI.runDirectory(), "--socket-error", reason,
            ]
        do {
            try process.run()
        } catch {
            throw CLIError("vireo: vireod does not answer (\(reason)), and \(Self.daemonBinary()) cannot run: \(error)")
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func daemonBinary(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["VIREOD"] { return path }
        let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let sibling = (own as NSString).deletingLastPathComponent + "/vireod"
        if !own.isEmpty, FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
        return "/usr/bin/vireod"
    }
}
