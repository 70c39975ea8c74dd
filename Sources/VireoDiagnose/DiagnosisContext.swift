public import VireoAccess
public import VireoFirewall
public import VireoHost
public import VireoMetrics
public import VireoQEMU
public import VireoStorage

/// Everything a diagnosis reads. The daemon passes its live services; `vireod diagnose --offline`
/// builds the same from the data dir, without the parts only a running daemon has (the sampler's
/// rates, the auth failures it saw, the firewall service).
public struct DiagnosisContext: Sendable {
    /// How the control plane's daemon is doing, as the caller knows it.
    public enum Daemon: Sendable {
        /// Answering: this process is it.
        case online(pid: Int, startedAt: Double)
        /// Not answering: its socket, the error connecting to it, and when it was last seen working.
        case offline(socket: String, error: String, lastSeen: Double?)
    }

    public var node: String
    public var daemon: Daemon
    public var vms: VMManager
    public var runtime: VMRuntime
    public var storage: StorageManager
    public var network: HostNetwork
    public var runner: any CommandRunner
    /// The SQLite store's file.
    public var storePath: String
    public var events: EventHistory?
    /// The sampler's last cycle (rates, latencies); nil offline or before the first cycle.
    public var metrics: MetricsSnapshot?
    public var firewall: FirewallService?
    public var authFailures: AuthFailureLog?
    /// The PSI files (`/proc/pressure`); tests point it elsewhere.
    public var pressureDirectory = "/proc/pressure"
    public var meminfoPath = "/proc/meminfo"

    public init(
        node: String,
        daemon: Daemon,
        vms: VMManager,
        runtime: VMRuntime,
        storage: StorageManager,
        network: HostNetwork,
        runner: any CommandRunner,
        storePath: String,
        events: EventHistory?,
        metrics: MetricsSnapshot?,
        firewall: FirewallService?,
        authFailures: AuthFailureLog?
    ) {
        self.node = node
        self.daemon = daemon
        self.vms = vms
        self.runtime = runtime
        self.storage = storage
        self.network = network
        self.runner = runner
        self.storePath = storePath
        self.events = events
        self.metrics = metrics
        self.firewall = firewall
        self.authFailures = authFailures
    }
}
