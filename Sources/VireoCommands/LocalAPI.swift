import Foundation
import VireoClient
import VireoCore

/// The local daemon, reached as root@pam over its root-only socket (as `pvesh` on a PVE node).
struct LocalAPI {
    let client: APIClient

    /// The socket from `VIREO_RUN_DIR`, else `<VIREO_DATA_DIR>/run`, else `/run/vireo`.
    static func socketPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let run = environment["VIREO_RUN_DIR"] { return run + "/vireod.sock" }
        if let data = environment["VIREO_DATA_DIR"] { return data + "/run/vireod.sock" }
        return "/run/vireo/vireod.sock"
    }

    /// The daemon's run directory (its socket's directory).
    static func runDirectory() -> String { (socketPath() as NSString).deletingLastPathComponent }

    static func connect() throws -> LocalAPI {
        let socket = socketPath()
        guard getuid() == 0 else {
            throw CLIError("vireo: the local API needs root (the daemon's socket \(socket) is root-only)")
        }
        guard FileManager.default.fileExists(atPath: socket) else {
            throw CLIError("vireo: cannot connect to vireod at \(socket) - is the daemon running?")
        }
        return LocalAPI(client: APIClient(endpoint: .localSocket(socket)))
    }

    func call(_ method: APIClient.Method, _ path: String, _ parameters: [(String, String)] = []) async throws -> JSON {
        do {
            return try await client.call(method, path, parameters: parameters)
        } catch let failure as APIClient.Failure {
            throw CLIError(failure.status == 0 ? "vireo: \(failure.message)" : failure.description)
        }
    }

    /// Prints a result; a UPID in text mode is followed as a task until it ends.
    func show(_ data: JSON, as format: OutputFormat) async throws {
        if format == .text, try await followIfTask(data) { return }
        let output = OutputFormatter.render(data, as: format)
        if !output.isEmpty { print(output, terminator: output.hasSuffix("\n") ? "" : "\n") }
    }

    /// When `data` is a UPID, prints the task's log as it runs and fails if the task failed.
    func followIfTask(_ data: JSON) async throws -> Bool {
        guard case .string(let text) = data, let upid = try? UPID(validating: text) else { return false }
        let base = "/nodes/\(upid.node)/tasks/\(text)"  // the client encodes the path
        var printed = 0
        while true {
            let status = try await call(.get, base + "/status")
            let log = try await call(.get, base + "/log", [("start", String(printed)), ("limit", "500")])
            for line in log.arrayValue ?? [] {
                print(line["t"]?.stringValue ?? "")
                printed += 1
            }
            if status["status"]?.stringValue == "stopped" {
                let exit = status["exitstatus"]?.stringValue ?? ""
                if exit == "OK" || exit.hasPrefix("WARNINGS") { return true }
                throw CLIError("task failed: \(exit)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// A failure to report to the user and exit non-zero.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
