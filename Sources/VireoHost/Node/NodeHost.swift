import Foundation
import VireoCore

/// The host a node runs on, as the node endpoints see it: its config files, its tools, its
/// devices and its log.
///
/// A contained node (started with `--netns`, as tests and demos are) keeps the host files it may
/// change (`/etc/resolv.conf`, `/etc/hosts`, the time zone) under its data dir, seeded from the
/// real ones, so it never edits the machine it runs on.
public struct NodeHost: Sendable {
    /// Where `/etc/…` files are read and written: `/` for the real host, else a directory.
    public let filesRoot: String
    public let runner: any CommandRunner
    public let namespace: NetworkNamespace
    /// Journal files to read instead of the system journal (`journalctl --directory`).
    public let journalDirectory: String?
    /// The sysfs tree devices are read from (`/sys`).
    public let sysfs: String

    public init(
        filesRoot: String = "/",
        runner: any CommandRunner,
        namespace: NetworkNamespace = .host,
        journalDirectory: String? = nil,
        sysfs: String = "/sys"
    ) {
        self.filesRoot = filesRoot
        self.runner = runner
        self.namespace = namespace
        self.journalDirectory = journalDirectory
        self.sysfs = sysfs
    }

    public var isContained: Bool { filesRoot != "/" }

    /// The path of host file `path` (absolute, e.g. `/etc/hosts`) for this node.
    public func path(of path: String) -> String {
        isContained ? filesRoot + path : path
    }

    /// The content of host file `path`. A contained node starts from the real host's file.
    public func read(_ path: String) -> String? {
        if let text = TextFile.read(self.path(of: path)) { return text }
        return isContained ? TextFile.read(path) : nil
    }

    /// Replaces host file `path` atomically (write a sibling, rename over).
    public func write(_ path: String, _ text: String) throws {
        try TextFile.writeAtomically(text, to: self.path(of: path))
    }
}

extension NodeHost {
    /// Runs host tool `name` and returns what it printed. A missing tool is named with its Debian
    /// package (501: this node cannot do it); a failure with the tool's last error line. `inNamespace` runs it in the node's
    /// network namespace (tools that talk to the network).
    @discardableResult
    public func runTool(
        _ name: String,
        _ arguments: [String],
        package: String,
        input: [UInt8] = [],
        timeout: Duration = .seconds(300),
        inNamespace: Bool = false
    ) async throws -> String {
        guard Self.isInstalled(name) else {
            throw VireoError(.notImplemented, "\(name) is not installed (Debian package \(package))")
        }
        var invocation = Invocation(name, arguments, standardInput: input, timeout: timeout)
        if inNamespace { invocation = namespace.wrap(invocation) }
        do {
            return try await runner.run(invocation).standardOutput
        } catch {
            throw Self.toolError(name, package: package, error)
        }
    }

    static func toolError(_ name: String, package: String, _ error: CommandError) -> VireoError {
        switch error {
        case .notFound: return VireoError(.notImplemented, "\(name) is not installed (Debian package \(package))")
        case .failed(_, let code, let standardError, _):
            let lines = standardError.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let reason = lines.last { !$0.isEmpty } ?? "exit code \(code)"
            return VireoError.invalid("\(name) failed: \(reason)")
        case .timedOut(_, let after): return VireoError(.timeout, "\(name) did not finish within \(after)")
        default: return VireoError(.internalError, error.description)
        }
    }
}
