import Foundation
public import Logging
public import VireoAccess
public import VireoCluster
public import VireoFirewall
public import VireoHost
public import VireoMetrics
public import VireoNetwork
public import VireoQEMU
public import VireoStorage
public import VireoStore
public import VireoTasks

/// The domain services handlers use; assembled by the daemon.
public struct APIServices: Sendable {
    public let node: String
    public let store: any ConfigStore
    public let access: AccessControl
    public let tasks: TaskRegistry
    public let storage: StorageManager
    public let vms: VMManager
    /// The node's host network config (`/etc/network/interfaces`, or under the data dir with `--netns`).
    public let network: NodeNetworkConfig
    /// The host's files, tools, devices and log, for the node endpoints.
    public let host: NodeHost
    /// The node's firewall; nil where nothing may touch the kernel's nftables (unit tests).
    public let firewall: FirewallService?
    /// The metrics sampler and its history; nil in unit tests.
    public let metrics: MetricsSampler?
    /// Where QEMU events, exits and failed tasks are kept.
    public var events: EventHistory? { vms.events }
    /// The embedded store's file, for the diagnosis's probe; nil in unit tests.
    public let storePath: String?
    /// When this daemon started (seconds since the epoch).
    public let startedAt: Double = Date().timeIntervalSince1970
    /// The UI's event streams, ended when the daemon stops.
    public let streams: OpenStreams
    public let logger: Logger
    /// Delay before answering a failed authentication (Proxmox: about 3 s), against password guessing.
    public let authFailureDelay: Duration
    /// This node's cluster membership (standalone in unit tests).
    public let cluster: ClusterNode

    public init(
        node: String,
        store: any ConfigStore,
        access: AccessControl,
        tasks: TaskRegistry,
        storage: StorageManager,
        vms: VMManager,
        network: NodeNetworkConfig? = nil,
        host: NodeHost? = nil,
        firewall: FirewallService? = nil,
        metrics: MetricsSampler? = nil,
        storePath: String? = nil,
        logger: Logger,
        authFailureDelay: Duration = .seconds(3),
        cluster: ClusterNode? = nil
    ) {
        self.cluster = cluster ?? .standalone(node: node)
        self.network =
            network
            ?? NodeNetworkConfig(
                path: "/etc/network/interfaces",
                network: HostNetwork(namespace: vms.namespace, runner: storage.runner),
                runner: storage.runner
            )
        self.host = host ?? NodeHost(runner: storage.runner, namespace: vms.namespace)
        self.firewall = firewall
        self.metrics = metrics
        self.storePath = storePath
        self.node = node
        self.store = store
        self.access = access
        self.tasks = tasks
        self.streams = OpenStreams(signal: tasks.activity)
        self.storage = storage
        self.vms = vms
        self.logger = logger
        self.authFailureDelay = authFailureDelay
    }
}
