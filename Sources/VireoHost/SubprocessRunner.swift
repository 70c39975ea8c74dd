import Foundation
import Subprocess
import Synchronization
import SystemPackage

/// Runs tools with swift-subprocess: stdin from memory, stdout/stderr collected (up to 16 MiB),
/// a deadline per invocation after which the process is terminated (SIGTERM, then SIGKILL).
public struct SubprocessRunner: CommandRunner {
    public init() {}

    public func run(_ invocation: Invocation) async throws(CommandError) -> CommandOutput {
        do {
            return try await withThrowingTaskGroup(of: CommandOutput?.self) { group in
                group.addTask { try await self.execute(invocation) }
                group.addTask {
                    try await Task.sleep(for: invocation.timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let output = first else {
                    throw CommandError.timedOut(invocation, after: invocation.timeout)
                }
                return output
            }
        } catch let error as CommandError {
            throw error
        } catch {
            throw .launchFailed(invocation, "\(error)")
        }
    }

    private func execute(_ invocation: Invocation) async throws -> CommandOutput {
        guard let resolved = ExecutableLookup.shared.resolve(invocation.executable) else {
            throw CommandError.notFound(invocation.executable)
        }
        let executable = Executable.path(FilePath(resolved))
        var options = PlatformOptions()
        options.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: .seconds(2))]
        let result: ExecutionResult<Void, StringOutput<UTF8>, StringOutput<UTF8>>
        do {
            result = try await Subprocess.run(
                executable,
                arguments: Arguments(invocation.arguments),
                environment: .inherit.updating(["LC_ALL": "C"]),
                workingDirectory: invocation.workingDirectory.map { FilePath($0) },
                platformOptions: options,
                input: .array(invocation.standardInput),
                output: .string(limit: 16 << 20),
                error: .string(limit: 1 << 20)
            )
        } catch {
            if "\(error)".contains("not found") || "\(error)".contains("No such file") {
                throw CommandError.notFound(invocation.executable)
            }
            throw error
        }
        let stdout = result.standardOutput
        let stderr = result.standardError
        switch result.terminationStatus {
        case .exited(0):
            return CommandOutput(standardOutput: stdout, standardError: stderr)
        case .exited(let code):
            throw CommandError.failed(invocation, exitCode: code, standardError: stderr, standardOutput: stdout)
        case .signaled(let signal):
            throw CommandError.signaled(invocation, signal: signal, standardError: stderr)
        }
    }
}

/// Resolves tool names on `PATH` once. Spawning by name tries every `PATH` entry with a fresh
/// process, which costs a few milliseconds per missing entry on every run.
final class ExecutableLookup: Sendable {
    static let shared = ExecutableLookup()
    private let cache = Mutex<[String: String]>([:])

    func resolve(_ name: String) -> String? {
        if name.hasPrefix("/") { return name }
        if let known = cache.withLock({ $0[name] }) { return known }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        // System directories first: a tool must not be shadowed by a user's PATH entry.
        let directories = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] + path.split(separator: ":").map(String.init)
        guard let found = directories.map({ $0 + "/" + name }).first(where: { access($0, X_OK) == 0 }) else {
            return nil
        }
        cache.withLock { $0[name] = found }
        return found
    }
}
