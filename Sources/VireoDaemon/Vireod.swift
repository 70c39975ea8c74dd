public import ArgumentParser
import CProcessControl
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization
import UnixSignals
import VireoAPI
import VireoAccess
import VireoCluster
import VireoCore
import VireoFirewall
import VireoHost
import VireoMetrics
import VireoNetwork
import VireoQEMU
import VireoStorage
import VireoStore
import VireoTasks

/// `vireod`: one daemon per node serving the API over HTTPS and the root-only local socket.
public struct Vireod: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vireod",
        abstract: "The Vireo node daemon: API, UI, task workers."
    )

    @Option(help: "Address and port to serve HTTPS on.")
    var listen = "0.0.0.0:8006"

    @Option(help: "State directory (also VIREO_DATA_DIR). Default: /var/lib/vireo.")
    var dataDir: String?

    @Option(help: "This node's name. Default: the host name.")
    var node: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(help: "Seconds to delay answers to failed authentication (against password guessing).")
    var authFailureDelay: Double = 3

    @Option(
        help:
            "Network namespace (under /run/netns) for all host networking and QEMU processes of this node (also VIREO_NETNS). The API keeps listening where vireod runs."
    )
    var netns: String?

    @Option(
        help:
            "The host network config file. Default: /etc/network/interfaces; with --netns, network/interfaces under the data dir."
    )
    var interfacesFile: String?

    @Option(
        help:
            "Keep the host files this node changes (resolv.conf, hosts, time zone, mount units, /mnt/pve) under this directory instead of / (tests and demos; --netns implies <data-dir>/host)."
    )
    var hostRoot: String?

    @Option(
        help:
            "Read the node's log from the journal files in this directory (journalctl --directory) instead of the system journal (also VIREO_JOURNAL_DIR)."
    )
    var journalDirectory: String?

    @Option(help: "Seconds a client has from connecting (TLS handshake included) to a complete request head.")
    var headerTimeout: Double = 10

    @Option(help: "Seconds a kept-alive connection may stay idle.")
    var idleTimeout: Double = 30

    @Option(help: "Open connections allowed from one client address.")
    var maxConnectionsPerClient = 128

    @Option(
        help: "Seconds running tasks get to end when the daemon stops (SIGTERM); then they are recorded as interrupted."
    )
    var taskGrace: Int = 10

    @Option(
        help:
            "The web UI's directory (index.html, app/). Default: $VIREO_UI_DIR, the source checkout above the binary, then /usr/share/vireo/ui."
    )
    var uiDir: String?

    @Option(
        help:
            "Where the UI's third-party code is (noVNC, xterm.js; scripts/ui-vendor.sh extracts it from Debian packages). Default: <ui-dir>/vendor."
    )
    var uiVendorDir: String?

    @Option(
        help:
            "The address other cluster nodes reach this node on (its API and etcd member). Default: the --listen address, or the host name's address when listening on all."
    )
    var clusterAddress: String?

    @Option(help: "The PAM service the pam realm authenticates with (also VIREO_PAM_SERVICE). Default: vireo.")
    var pamService: String?

    @Option(help: .hidden)
    var clockOffset: Int = 0

    public init() {}

    /// Entry point for the executable: parses `CommandLine.arguments` and runs; `vireod diagnose`
    /// reports from the host while the daemon is down.
    public static func launch() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "diagnose" {
            await OfflineDiagnose.main(Array(arguments.dropFirst()))
        } else {
            await main()
        }
    }

    public func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "vireod")
        let paths = DaemonPaths.resolve(dataDir: dataDir)
        let nodeName = node ?? Self.shortHostName()
        guard let (host, port) = Self.parseListen(listen) else {
            throw ValidationError("--listen '\(listen)' is not HOST:PORT")
        }
        let fm = FileManager.default
        // The data dir holds the store with every secret, the run dir the root-only local socket.
        let report = { (tightened: PrivateFiles.Tightened?) in
            guard let tightened else { return }
            logger.warning(
                "file was readable or writable by others; restricted",
                metadata: [
                    "path": "\(tightened.path)", "was": "\(String(tightened.oldMode, radix: 8))",
                    "now": "\(String(tightened.newMode, radix: 8))",
                ]
            )
        }
        report(try PrivateFiles.directory(paths.dataDir.path))
        report(try PrivateFiles.directory(paths.runDir.path))
        report(try PrivateFiles.file(paths.storeFile.path, create: true))
        let dataLock = try DataDirectoryLock(directory: paths.dataDir.path)
        if let service = pamService ?? ProcessInfo.processInfo.environment["VIREO_PAM_SERVICE"] {
            PAMAuthenticator.service = service
        }
        // A test's stand-in for a node whose clock is off (tickets and expiry follow it).
        TicketAuthority.clockOffset.store(clockOffset, ordering: .relaxed)
        // QEMU daemonizes; as its subreaper vireod is its parent and learns how it ended.
        if vireo_become_child_subreaper() != 0 {
            logger.warning("cannot become the subreaper of QEMU: exits of guests will have no status")
        }
        let fileLimit = FileLimit.raise()
        logger.info("open file limit", metadata: ["limit": "\(fileLimit)"])

        let namespace = try NetworkNamespace(netns ?? ProcessInfo.processInfo.environment["VIREO_NETNS"])
        if let name = namespace.name {
            guard fm.fileExists(atPath: "/run/netns/\(name)") else {
                throw ValidationError("network namespace '\(name)' does not exist (ip netns add \(name))")
            }
            logger.notice("host networking in network namespace", metadata: ["netns": "\(name)"])
        }
        // A cluster node runs its etcd member and keeps the tree there; a standalone node in SQLite.
        let clusterFiles = ClusterLocalConfig.Files(dataDir: paths.dataDir)
        let clusterConfig = try ClusterLocalConfig.load(clusterFiles)
        let address = clusterConfig?.address ?? clusterAddress ?? Self.defaultClusterAddress(listenHost: host)
        var etcdMember: EtcdMember?
        var etcdStore: EtcdConfigStore?
        let store: any ConfigStore
        if let clusterConfig {
            let member = EtcdMember(config: clusterConfig, files: clusterFiles, logger: logger)
            let serving = try await member.start()
            etcdMember = member
            if !serving {
                logger.warning(
                    "etcd member waits for a majority of the cluster: starting read-only from this node's copy of the tree"
                )
            }
            if serving, let memberID = clusterConfig.memberID {
                // A node that joined starts as a learner; it votes once it has caught up.
                let others = clusterConfig.endpoints.filter { $0 != clusterConfig.clientURL }
                if !others.isEmpty {
                    let client = try EtcdClient(EtcdConnection(endpoints: others, tls: clusterFiles.tls))
                    do {
                        try await EtcdMembers.promote(client, id: memberID)
                    } catch {
                        logger.warning("etcd member not promoted to a voter yet (at the next start): \(error)")
                    }
                    await client.shutdown()
                }
            }
            let opened = try await EtcdConfigStore.open(
                clusterConfig.connection(clusterFiles),
                options: .init(localCopy: clusterFiles.treeCopy.path),
                loadTimeout: serving ? .seconds(10) : nil
            )
            etcdStore = opened
            store = opened
            logger.notice(
                "cluster node: configuration in etcd",
                metadata: ["cluster": "\(clusterConfig.cluster)", "etcd": "\(clusterConfig.clientURL)"]
            )
        } else {
            store = try SQLiteConfigStore(path: paths.storeFile.path)
            for suffix in ["-wal", "-shm"] {
                report(try PrivateFiles.file(paths.storeFile.path + suffix, create: false))
            }
        }
        let cluster = ClusterNode(
            node: nodeName,
            address: address,
            dataDir: paths.dataDir,
            local: clusterConfig,
            etcd: etcdStore,
            board: etcdStore.map { ClusterStatusBoard(store: $0, node: nodeName, logger: logger) },
            apiPort: port
        )
        let secrets = try await NodeSecrets.loadOrCreate(
            store: store,
            node: nodeName,
            addresses: [address],
            logger: logger
        )
        let tickets = try TicketAuthority(privateKeyPEM: secrets.ticketKeyPEM, csrfSecret: secrets.csrfSecret)
        let access = AccessControl(store: store, tickets: tickets)
        try await access.bootstrap()
        // One signal for what the UI's event streams wake on: tasks, QEMU events, store writes.
        let activity = ChangeSignal()
        let history = EventHistory(directory: paths.dataDir.appendingPathComponent("events").path, activity: activity)
        history.record(
            HistoryEvent(kind: .daemon, name: "started", message: "vireod started (PID \(getpid()))")
        )
        let tasks = try TaskRegistry(directory: paths.tasksDir, node: nodeName, logger: logger, activity: activity) {
            upid,
            error,
            fault in
            history.record(
                HistoryEvent(
                    kind: .task,
                    vmid: upid.type.hasPrefix("qm") ? VMID(upid.id) : nil,
                    name: upid.type,
                    message: "task \(upid.type) \(upid.id) failed: \(error)",
                    fault: fault,
                    details: ["upid": .string(upid.description), "user": .string(upid.user)]
                )
            )
        }
        let storage = StorageManager(store: store, node: nodeName, runner: SubprocessRunner(), logger: logger)
        try await storage.bootstrap(localPath: paths.dataDir.appendingPathComponent("local").path)
        let nodeHost = NodeHost(
            // A contained node changes host files under its data dir only.
            filesRoot: hostRoot ?? (namespace.name == nil ? "/" : paths.dataDir.appendingPathComponent("host").path),
            runner: storage.runner,
            namespace: namespace,
            journalDirectory: journalDirectory ?? ProcessInfo.processInfo.environment["VIREO_JOURNAL_DIR"]
        )
        // A contained node without a namespace of its own (a test daemon) must not touch the
        // host's firewall: it compiles, but writes nothing into the kernel.
        let firewall = FirewallService(
            node: nodeName,
            store: store,
            host: nodeHost,
            logPath: paths.dataDir.appendingPathComponent("firewall.log").path,
            kernel: namespace.name != nil || !nodeHost.isContained,
            logger: logger
        )
        let vms = VMManager(
            configs: VMConfigStore(store: store, node: nodeName),
            storage: storage,
            runDirectory: paths.runDir.appendingPathComponent("qemu").path,
            namespace: namespace,
            resolvConfPath: nodeHost.path(of: NodeHost.resolvConfPath),
            events: history
        )
        let vmRuntime = VMRuntime(manager: vms, runner: storage.runner)
        let metrics = MetricsSampler(
            node: nodeName,
            vms: vms,
            runtime: vmRuntime,
            storage: storage,
            host: nodeHost,
            database: RRDDatabase(directory: paths.dataDir.appendingPathComponent("rrd").path),
            logger: logger
        )
        let services = APIServices(
            node: nodeName,
            store: store,
            access: access,
            tasks: tasks,
            storage: storage,
            vms: vms,
            network: NodeNetworkConfig(
                path: interfacesFile
                    ?? (namespace.name == nil
                        ? "/etc/network/interfaces" : paths.dataDir.appendingPathComponent("network/interfaces").path),
                network: HostNetwork(namespace: namespace, runner: storage.runner),
                runner: storage.runner
            ),
            host: nodeHost,
            firewall: firewall,
            metrics: metrics,
            storePath: clusterConfig == nil ? paths.storeFile.path : nil,
            logger: logger,
            authFailureDelay: .milliseconds(Int(authFailureDelay * 1000)),
            cluster: cluster
        )
        let registry = VireoAPI.makeRegistry()
        let events = VMEventWatcher(runtime: vmRuntime, logger: logger)
        try events.start()
        if NodeBoot.isFirstStart(runDirectory: services.vms.runDirectory) {
            _ = try tasks.start(type: "startall", id: "", user: "root@pam") { log in
                try await VMBulkActions(runtime: vmRuntime).startAll { log.append($0) }
            }
        }

        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(secrets.tlsCertificatePEM.utf8)).map {
                .certificate($0)
            },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(secrets.tlsKeyPEM.utf8), format: .pem))
        )
        tls.minimumTLSVersion = .tlsv12
        // One client for both responders' calls to other nodes, shut down when the daemon stops.
        let proxy = try cluster.caFile.map { try NodeProxy(caFile: $0, port: port) }
        let responder = APIResponder<BasicRequestContext>(
            registry: registry,
            services: services,
            localRoot: false,
            ui: loadUI(logger: logger),
            servesUI: true,
            proxy: proxy
        )
        let httpsServer = Application(
            responder: responder,
            server: try .tls(
                .proxmoxHTTP1(
                    limits: ConnectionLimits(
                        headerTimeout: .milliseconds(Int64(headerTimeout * 1000)),
                        bodyTimeout: ConnectionLimits.default.bodyTimeout,
                        idleTimeout: .milliseconds(Int64(idleTimeout * 1000)),
                        perClient: maxConnectionsPerClient
                    ),
                    webSockets: responder
                ),
                tlsConfiguration: tls
            ),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                logger.notice(
                    "vireod serving",
                    metadata: ["url": "https://\(host):\(channel.localAddress?.port ?? port)/", "node": "\(nodeName)"]
                )
            },
            logger: logger
        )
        try? fm.removeItem(at: paths.socket)
        // What `vireod diagnose` needs to find this node's state while the daemon is down.
        try? DaemonPointer(dataDir: paths.dataDir.path, node: nodeName, netns: namespace.name, pid: Int(getpid()))
            .write(runDirectory: paths.runDir.path)
        let socketServer = Application(
            responder: APIResponder<BasicRequestContext>(
                registry: registry,
                services: services,
                localRoot: true,
                proxy: proxy
            ),
            // Root's own CLI: no per-client cap, and no idle cut under a client that follows a task.
            server: .proxmoxHTTP1(
                limits: ConnectionLimits(
                    headerTimeout: .seconds(60),
                    bodyTimeout: .seconds(600),
                    idleTimeout: .hours(1),
                    perClient: nil
                )
            ),
            configuration: .init(address: .unixDomainSocket(path: paths.socket.path), serverName: nil),
            onServerRunning: { _ in
                try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: paths.socket.path)
            },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    // First, so it is the last to stop: every other service may still use the store.
                    .init(service: ClusterStoreService(member: etcdMember, store: etcdStore)),
                    .init(service: ClusterStatusService(services: services)),
                    .init(service: VMEventService(events: events)),
                    .init(service: MetricsService(sampler: metrics)),
                    .init(service: OrphanReaperService(logger: logger)),
                    .init(service: AccessCacheService(access: access)),
                    .init(service: FirewallWatchService(firewall: firewall, logger: logger)),
                    .init(service: TaskWorkersService(tasks: tasks, grace: .seconds(taskGrace))),
                    .init(service: httpsServer),
                    .init(service: socketServer),
                    .init(service: EventStreamService(store: store, signal: activity, streams: services.streams)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        cluster.restart.onRequest { Task { await group.triggerGracefulShutdown() } }
        try await group.run()
        await proxy?.shutdown()
        try? fm.removeItem(at: paths.socket)
        _ = consume dataLock
        if cluster.restart.isRequested {
            logger.notice("vireod restarting in place")
            execv("/proc/self/exe", CommandLine.unsafeArgv)
            logger.critical("vireod cannot restart itself: \(String(cString: strerror(errno)))")
            throw ExitCode.failure
        }
        logger.notice("vireod stopped")
    }

    /// Where other nodes reach this one: the listen address, unless it is every address; then the
    /// host name's first address that is not loopback.
    static func defaultClusterAddress(listenHost: String) -> String {
        if !["0.0.0.0", "::", "*"].contains(listenHost) { return listenHost }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(ProcessInfo.processInfo.hostName, nil, &hints, &result) == 0 else { return "127.0.0.1" }
        defer { freeaddrinfo(result) }
        var candidate = result
        var found: [String] = []
        while let info = candidate?.pointee {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.ai_addr, info.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0
            {
                found.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            candidate = info.ai_next
        }
        return found.first { !$0.hasPrefix("127.") && $0 != "::1" } ?? found.first ?? "127.0.0.1"
    }

    /// The web UI, or nil (logged) when it is not installed: the API works without it.
    func loadUI(logger: Logger) -> WebUI? {
        guard let directory = uiDir ?? WebUI.defaultDirectory() else {
            logger.warning("web UI not found: / answers that it is not installed (--ui-dir)")
            return nil
        }
        do {
            let ui = try WebUI(
                directory: directory,
                vendorDirectory: uiVendorDir ?? ProcessInfo.processInfo.environment["VIREO_UI_VENDOR_DIR"]
            )
            logger.info("web UI", metadata: ["dir": "\(directory)", "assets": "\(ui.base)"])
            return ui
        } catch {
            logger.warning("web UI not loaded", metadata: ["dir": "\(directory)", "error": "\(error)"])
            return nil
        }
    }

    static func parseListen(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    static func shortHostName() -> String {
        let name = ProcessInfo.processInfo.hostName
        return String(name.split(separator: ".").first ?? "localhost")
    }
}
