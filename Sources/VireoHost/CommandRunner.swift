import Foundation

/// One run of an external tool: what to run, with which arguments and input.
public struct Invocation: Hashable, Sendable, CustomStringConvertible {
    /// A name resolved on `PATH` (`qemu-img`) or an absolute path.
    public var executable: String
    public var arguments: [String]
    public var standardInput: [UInt8]
    public var workingDirectory: String?
    public var timeout: Duration

    public init(
        _ executable: String,
        _ arguments: [String],
        standardInput: [UInt8] = [],
        workingDirectory: String? = nil,
        timeout: Duration = .seconds(60)
    ) {
        self.executable = executable
        self.arguments = arguments
        self.standardInput = standardInput
        self.workingDirectory = workingDirectory
        self.timeout = timeout
    }

    public var description: String { ([executable] + arguments).joined(separator: " ") }

    // Tests compare what was run, not how long it might take.
    public static func == (a: Invocation, b: Invocation) -> Bool {
        a.executable == b.executable && a.arguments == b.arguments && a.standardInput == b.standardInput
            && a.workingDirectory == b.workingDirectory
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(executable)
        hasher.combine(arguments)
    }
}

/// What a tool printed.
public struct CommandOutput: Sendable, Equatable {
    public var standardOutput: String
    public var standardError: String
    public init(standardOutput: String, standardError: String = "") {
        self.standardOutput = standardOutput
        self.standardError = standardError
    }
}

/// Why a tool run failed; carries the command line and the tail of stderr for the error message.
public enum CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    case failed(Invocation, exitCode: Int32, standardError: String, standardOutput: String)
    case signaled(Invocation, signal: Int32, standardError: String)
    case timedOut(Invocation, after: Duration)
    case launchFailed(Invocation, String)

    public var description: String {
        switch self {
        case .notFound(let name): "command '\(name)' not found"
        case .failed(let invocation, let code, let stderr, _):
            "command '\(invocation)' failed: exit code \(code)\(Self.tail(stderr))"
        case .signaled(let invocation, let signal, let stderr):
            "command '\(invocation)' killed by signal \(signal)\(Self.tail(stderr))"
        case .timedOut(let invocation, let after): "command '\(invocation)' timed out after \(after)"
        case .launchFailed(let invocation, let reason): "command '\(invocation)' could not start: \(reason)"
        }
    }

    /// The stderr text a user needs: the last few lines, trimmed.
    static func tail(_ text: String) -> String {
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !lines.isEmpty else { return "" }
        return " - " + lines.suffix(3).joined(separator: "; ")
    }
}

/// The seam every external binary goes through.
public protocol CommandRunner: Sendable {
    /// Runs to completion; a non-zero exit is thrown, never returned.
    func run(_ invocation: Invocation) async throws(CommandError) -> CommandOutput
}
