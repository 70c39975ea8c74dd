import Foundation
public import Logging
import Synchronization
import VireoCore
import VireoStore

/// This node's etcd member, which `vireod` starts, watches and stops: the cluster's consensus
/// runs in etcd, never in Vireo.
///
/// A member still running when `vireod` starts (the daemon was killed, the member was not) is
/// adopted by its pidfile rather than started twice; the member keeps the cluster's quorum while
/// the daemon is away, as corosync does for pmxcfs.
public final class EtcdMember: Sendable {
    public static let defaultBinary = "/usr/bin/etcd"

    private let config: ClusterLocalConfig
    private let files: ClusterLocalConfig.Files
    private let binary: String
    private let logger: Logger
    private let state = Mutex<State>(State())

    private struct State {
        var process: Process?
        var pid: Int32 = 0
        var stopping = false
    }

    public init(config: ClusterLocalConfig, files: ClusterLocalConfig.Files, binary: String? = nil, logger: Logger) {
        self.config = config
        self.files = files
        self.binary = binary ?? ProcessInfo.processInfo.environment["VIREO_ETCD"] ?? Self.defaultBinary
        self.logger = logger
    }

    var pidFile: URL { files.directory.appendingPathComponent("etcd.pid") }

    /// etcd's command line for this member.
    var arguments: [String] {
        let tls = files.tls
        return [
            "--name", config.node,
            "--data-dir", files.etcdData.path,
            "--listen-client-urls", config.clientURL,
            "--advertise-client-urls", config.clientURL,
            "--listen-peer-urls", config.peerURL,
            "--initial-advertise-peer-urls", config.peerURL,
            "--initial-cluster", config.initialCluster,
            "--initial-cluster-state", config.initialState,
            "--initial-cluster-token", "vireo-\(config.cluster)",
            "--cert-file", tls.certificateFile, "--key-file", tls.keyFile, "--trusted-ca-file", tls.caFile,
            "--client-cert-auth",
            "--peer-cert-file", tls.certificateFile, "--peer-key-file", tls.keyFile,
            "--peer-trusted-ca-file", tls.caFile, "--peer-client-cert-auth",
            // Keep an hour of history for watches that resume; older revisions are compacted.
            "--auto-compaction-mode", "periodic", "--auto-compaction-retention", "1h",
            "--logger", "zap", "--log-outputs", "stderr",
        ]
    }

    /// Starts the member (or adopts the one running) and waits until it answers.
    /// Returns whether the member serves clients: false when it runs but does not (etcd serves
    /// none until it has reached a majority of the cluster, so a node that starts while most are
    /// down starts read-only from its own copy of the tree).
    /// - Throws: when the member cannot start or exits.
    @discardableResult
    public func start(timeout: Duration = .seconds(15)) async throws -> Bool {
        if let pid = runningPID() {
            logger.notice("etcd member already running: adopted", metadata: ["pid": "\(pid)"])
            state.withLock { $0.pid = pid }
        } else {
            try launch()
        }
        return try await waitUntilAnswering(timeout: timeout)
    }

    /// Restarts the member whenever it exits, until the task is cancelled; then stops it.
    public func supervise() async {
        var pause = Duration.seconds(1)
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            if Task.isCancelled { break }
            guard !isAlive else {
                pause = .seconds(1)
                continue
            }
            logger.error("etcd member exited: restarting", metadata: ["log": "\(files.etcdLog.path)"])
            do { try launch() } catch { logger.error("etcd member cannot start: \(error)") }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(30))
        }
        await stop()
    }

    /// Ends the member: SIGTERM, then SIGKILL after 10 s.
    public func stop() async {
        let pid = state.withLock { state -> Int32 in
            state.stopping = true
            return state.pid
        }
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while isAlive, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if isAlive { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: pidFile)
        logger.info("etcd member stopped", metadata: ["pid": "\(pid)"])
    }

    /// The member's process is there and not a zombie (PID 1 may reap late: the state says it).
    public var isAlive: Bool {
        let pid = state.withLock { $0.pid }
        return pid > 0 && Self.isRunningEtcd(pid, dataDir: files.etcdData.path)
    }

    private func launch() throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw VireoError(.unavailable, "etcd is not installed ('\(binary)' missing; apt-get install etcd-server)")
                .at(
                    .cluster
                )
        }
        _ = FileManager.default.createFile(
            atPath: files.etcdLog.path,
            contents: nil,
            attributes: [.posixPermissions: 0o600]
        )
        guard let log = FileHandle(forWritingAtPath: files.etcdLog.path) else {
            throw VireoError(.internalError, "cannot open '\(files.etcdLog.path)'").at(.cluster)
        }
        log.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        state.withLock {
            $0.process = process
            $0.pid = pid
        }
        try "\(pid)\n".write(to: pidFile, atomically: true, encoding: .utf8)
        logger.notice("etcd member started", metadata: ["pid": "\(pid)", "client": "\(config.clientURL)"])
    }

    private func runningPID() -> Int32? {
        guard let text = try? String(contentsOf: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            Self.isRunningEtcd(pid, dataDir: files.etcdData.path)
        else { return nil }
        return pid
    }

    /// Whether the member answers on its client URL within `timeout`.
    private func waitUntilAnswering(timeout: Duration) async throws -> Bool {
        let client = try EtcdClient(EtcdConnection(endpoints: [config.clientURL], tls: files.tls))
        defer { Task { await client.shutdown() } }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if (try? await client.call("/v3/maintenance/status", [:], timeout: .seconds(1))) != nil { return true }
            guard isAlive else {
                throw VireoError(.unavailable, "etcd member exited at start: \(Self.tail(files.etcdLog))").at(.cluster)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    static func isRunningEtcd(_ pid: Int32, dataDir: String) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"),
            stat[stat.index(close, offsetBy: 2)] != "Z",
            let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
        else { return false }
        let arguments = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return arguments.first.map { $0.hasSuffix("etcd") } == true && arguments.contains(dataDir)
    }

    /// The last lines of etcd's log, for an error message.
    static func tail(_ url: URL) -> String {
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(3).joined(separator: " | ")
    }
}
