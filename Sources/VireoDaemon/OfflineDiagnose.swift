import ArgumentParser
import Foundation
import Logging
import VireoCore
import VireoDiagnose
import VireoHost
import VireoMetrics
import VireoQEMU
import VireoStorage
import VireoStore

/// Where a running daemon keeps its state, written to `<run dir>/vireod.json` at start: what
/// `vireod diagnose` reads to look at the node while the daemon is down.
struct DaemonPointer: Codable {
    var dataDir: String
    var node: String
    var netns: String?
    var pid: Int

    static func path(runDirectory: String) -> String { runDirectory + "/vireod.json" }

    func write(runDirectory: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(self).write(
            to: URL(fileURLWithPath: Self.path(runDirectory: runDirectory)),
            options: .atomic
        )
    }

    static func read(runDirectory: String) -> DaemonPointer? {
        guard let data = FileManager.default.contents(atPath: path(runDirectory: runDirectory)) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try? decoder.decode(DaemonPointer.self, from: data)
    }
}

/// `vireod diagnose [vm VMID | node | storage ID | network [BRIDGE]]`: the diagnosis without the
/// daemon, from the host itself: the control plane is reported down (its socket refused, when it
/// was last seen working), and the data plane is read from pidfiles, QMP sockets and links, so an
/// operator sees at once that the guests run on.
struct OfflineDiagnose: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vireod diagnose",
        abstract: "Diagnose this node from the host while vireod is down (what `vireo diagnose` falls back to)."
    )

    @Argument(help: "vm VMID | node | storage ID | network [BRIDGE]")
    var subject: [String] = []

    @Option(help: "The daemon's run directory (also VIREO_RUN_DIR); its vireod.json names the rest.")
    var runDir: String?

    @Option(help: "State directory (also VIREO_DATA_DIR).")
    var dataDir: String?

    @Option(help: "text or json.")
    var outputFormat = "text"

    @Option(help: "Why the daemon's socket did not answer (from the CLI that tried it).")
    var socketError: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        let logger = Logger(label: "vireod-diagnose")
        let environment = ProcessInfo.processInfo.environment
        var paths = DaemonPaths.resolve(dataDir: dataDir)
        if let runDir { paths.runDir = URL(fileURLWithPath: runDir) }
        let pointer = DaemonPointer.read(runDirectory: paths.runDir.path)
        if dataDir == nil, environment["VIREO_DATA_DIR"] == nil, let pointer {
            paths.dataDir = URL(fileURLWithPath: pointer.dataDir)
        }
        let node = pointer?.node ?? Vireod.shortHostName()
        let socket = paths.socket.path
        let error =
            socketError ?? SocketProbe.refusal(socket).map { "\(socket): \($0)" } ?? "connected, but it did not answer"
        let database = RRDDatabase(directory: paths.dataDir.appendingPathComponent("rrd").path)
        let lastSeen = database.lastUpdate(.node, node).map(Double.init)
        let namespace = try NetworkNamespace(pointer?.netns ?? environment["VIREO_NETNS"])
        let runner = SubprocessRunner()
        let store = try SQLiteConfigStore(path: paths.storeFile.path, readOnly: true)
        let storage = StorageManager(store: store, node: node, runner: runner, logger: logger)
        let events = EventHistory(directory: paths.dataDir.appendingPathComponent("events").path)
        let vms = VMManager(
            configs: VMConfigStore(store: store, node: node),
            storage: storage,
            runDirectory: paths.runDir.appendingPathComponent("qemu").path,
            namespace: namespace,
            events: events
        )
        let context = DiagnosisContext(
            node: node,
            daemon: .offline(socket: socket, error: error, lastSeen: lastSeen),
            vms: vms,
            runtime: VMRuntime(manager: vms, runner: runner),
            storage: storage,
            network: HostNetwork(namespace: namespace, runner: runner),
            runner: runner,
            storePath: paths.storeFile.path,
            events: events,
            metrics: nil,
            firewall: nil,
            authFailures: nil
        )
        let diagnoser = Diagnoser(context: context)
        let report: DiagnosisReport
        switch (subject.first, subject.dropFirst().first) {
        case ("vm"?, let id?):
            guard let vmid = VMID(id) else { throw ValidationError("'\(id)' is not a VMID") }
            report = await diagnoser.vm(vmid)
        case ("storage"?, let id?): report = await diagnoser.storage(id)
        case ("network"?, let bridge): report = await diagnoser.network(bridge)
        case ("node"?, nil), (nil, nil): report = await diagnoser.node()
        default: throw ValidationError("usage: vireod diagnose [vm VMID | node | storage ID | network [BRIDGE]]")
        }
        if outputFormat == "json" {
            print(report.json.serialized(pretty: true))
        } else {
            print(report.text, terminator: "")
        }
        throw ExitCode(DiagnoseExit.code(report))
    }
}

/// Exit status of a diagnosis, as monitoring plugins use them: 0 no fault, 1 a warning, 2 a failure.
enum DiagnoseExit {
    static func code(_ report: DiagnosisReport) -> Int32 {
        switch report.culprit?.status {
        case .fail?: 2
        case .warn?: 1
        default: 0
        }
    }
}
