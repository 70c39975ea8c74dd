import Synchronization
public import VireoHost

/// A command runner for tests: records every invocation and answers from a script.
///
/// Answers are matched by the longest registered prefix of `executable + arguments` (the latest
/// registered among equal prefixes); an unmatched invocation succeeds with empty output.
public final class RecordingCommandRunner: CommandRunner {
    public enum Answer: Sendable {
        case output(String)
        case failure(exitCode: Int32, standardError: String)
    }

    private struct State {
        var invocations: [Invocation] = []
        var answers: [([String], Answer)] = []
    }
    private let state = Mutex(State())

    public init() {}

    /// Answers invocations starting with `prefix` (executable first) with `answer`.
    public func answer(_ prefix: [String], with answer: Answer) {
        state.withLock { $0.answers.append((prefix, answer)) }
    }

    public var invocations: [Invocation] { state.withLock { $0.invocations } }

    /// The command lines run so far, each as one string (`lvs --noheadings …`).
    public var commandLines: [String] { invocations.map(\.description) }

    public func run(_ invocation: Invocation) async throws(CommandError) -> CommandOutput {
        let line = [invocation.executable] + invocation.arguments
        let answer: Answer? = state.withLock { state in
            state.invocations.append(invocation)
            // The longest matching prefix wins; among equal ones the latest registered.
            return state.answers.enumerated().filter { line.starts(with: $0.element.0) }
                .max { ($0.element.0.count, $0.offset) < ($1.element.0.count, $1.offset) }?.element.1
        }
        switch answer {
        case .output(let text)?: return CommandOutput(standardOutput: text)
        case .failure(let code, let stderr)?:
            throw .failed(invocation, exitCode: code, standardError: stderr, standardOutput: "")
        case nil: return CommandOutput(standardOutput: "")
        }
    }
}
