import Foundation
public import Logging
import NFTables
import VireoCore
public import VireoHost
public import VireoStore

/// The node's firewall: reads the `.fw` files and this node's VM configs from the store, compiles
/// them and keeps the kernel in step, at start and after every change of a file it reads (so an
/// API edit, a NIC change by a task, or an edit on another node all take effect at once).
///
/// The rules live in the kernel, not in this process: when vireod dies they stay in force.
public actor FirewallService {
    public let node: String
    private let store: any ConfigStore
    private let host: NodeHost
    private let logger: Logger
    private let applier: FirewallApplier
    /// `pve-firewall stop` until `start` (or a daemon restart): nothing is applied.
    public private(set) var stopped = false
    /// The last compile's skipped rules and the last apply's error, for `status`.
    public private(set) var lastSkipped: [String] = []
    public private(set) var lastError: String?
    /// Proxmox-style log lines of the firewall's log rules (`pve-firewall.log`).
    public let logPath: String?

    /// Whether rules go into the kernel; off for a contained node that shares the host's network.
    public nonisolated let kernel: Bool

    public init(
        node: String,
        store: any ConfigStore,
        host: NodeHost,
        logPath: String? = nil,
        kernel: Bool = true,
        logger: Logger
    ) {
        self.kernel = kernel
        self.logPath = logPath
        self.node = node
        self.store = store
        self.host = host
        self.logger = logger
        applier = FirewallApplier(
            nft: { arguments, input in
                try await host.runTool(
                    "nft",
                    arguments,
                    package: "nftables",
                    input: input,
                    timeout: .seconds(120),
                    inNamespace: true
                )
            },
            bridgeNetfilter: { try await Self.enableBridgeNetfilter(host) },
            timing: { [logger] phases in
                logger.debug("firewall apply", metadata: phases.mapValues { .string($0) })
            }
        )
    }

    /// Parsed files by path, reused while their store version is unchanged.
    private var parsed: [String: (version: Int64, file: FirewallFile)] = [:]
    private var parsedNICs: [String: (version: Int64, nics: [FirewallGuest.NIC])] = [:]
    private let ipsetCache = FirewallCompileCache()
    /// The node's networks, read again after `localNetworksTTL`.
    private var localNetworksRead: (at: ContinuousClock.Instant, networks: [IPNetwork])?
    private let localNetworksTTL = Duration.seconds(10)

    /// The files a change of which needs a reload.
    public func isRelevant(_ path: String) -> Bool {
        path.hasPrefix("firewall/") || path == "nodes/\(node)/host.fw"
            || path.hasPrefix("nodes/\(node)/qemu-server/")
    }

    /// The store version the kernel's rules include every change up to.
    private var appliedThrough: Int64 = 0

    /// Whether a reload runs; later callers wait their turn, so an older compile is never
    /// applied after a newer one.
    private var reloading = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private func takeTurn() async {
        if reloading {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            reloading = true
        }
    }

    private func endTurn() {
        if waiting.isEmpty { reloading = false } else { waiting.removeFirst().resume() }
    }

    /// Reads, compiles and applies. Throws what nft refused (naming the rule).
    @discardableResult
    public func reload() async throws -> FirewallApplier.Outcome {
        try await reload(unlessApplied: nil)
    }

    /// A reload for a change of store version `version`, skipped when a reload since (the
    /// watch's, or an API call's) already included it.
    @discardableResult
    public func reload(unlessApplied version: Int64?) async throws -> FirewallApplier.Outcome {
        await takeTurn()
        defer { endTurn() }
        guard !stopped else { return .unchanged }
        if let version, version <= appliedThrough { return .unchanged }
        let clock = ContinuousClock()
        let started = clock.now
        // Every change up to this version is in what is read next: the watch need not reload for it.
        let version = try await store.currentVersion()
        let inputs = try await inputs()
        let read = clock.now
        let compilation = FirewallCompiler.compile(inputs, cache: ipsetCache)
        let compiled = clock.now
        defer {
            logger.debug(
                "firewall reload",
                metadata: [
                    "read": "\(read - started)", "compile": "\(compiled - read)", "apply": "\(clock.now - compiled)",
                ]
            )
        }
        if compilation.skipped != lastSkipped {
            for problem in compilation.skipped { logger.warning("firewall: rule skipped: \(problem)") }
        }
        lastSkipped = compilation.skipped
        guard kernel else { return .unchanged }
        do {
            let outcome = try await applier.apply(compilation)
            lastError = nil
            appliedThrough = max(appliedThrough, version)
            return outcome
        } catch {
            lastError = "\(error)"
            throw error
        }
    }

    /// What `reload` would load.
    public func compile() async throws -> FirewallCompilation {
        FirewallCompiler.compile(try await inputs(), cache: ipsetCache)
    }

    /// `pve-firewall stop`: removes Vireo's tables until `start`.
    public func stop() async throws {
        await takeTurn()
        defer { endTurn() }
        stopped = true
        guard kernel else { return }
        try await applier.apply(FirewallCompilation(ruleset: NFTRuleset(), skipped: []))
    }

    public func start() async throws {
        stopped = false
        try await reload()
    }

    /// Starts writing the log rules' packets (NFLOG group 0 of the node's namespace) to
    /// `logPath` as Proxmox's log lines. The reader lives as long as the process.
    public nonisolated func startLogging() async throws {
        guard kernel, let logPath else { return }
        let writer = FirewallLogWriter(path: logPath)
        try await NFLogReader(namespace: host.namespace).start { writer.write($0) }
    }

    /// Packets and bytes per rule id (`cluster/rules/2`, `guest/100/rules/0`, `guest/100/policy-in`).
    public func counters() async -> [String: (packets: Int, bytes: Int)] {
        guard kernel else { return [:] }
        return (try? await applier.counters()) ?? [:]
    }

    /// Follows the store's changes until cancelled; a change an API call's reload already
    /// included makes no second one.
    public func watch() async {
        for await event in store.changes() {
            let version: Int64?
            switch event {
            case .changed(let change):
                guard isRelevant(change.path), change.version > appliedThrough else { continue }
                version = change.version
            case .lost: version = nil
            }
            // What the reload reads need only be as new as the change (no barrier per change).
            do { _ = try await ReadSession.run(atLeast: version) { try await reload(unlessApplied: version) } } catch {
                logger.error("\(FirewallService.describe(error))")
            }
        }
    }

    /// Every `interval`: checks that the kernel still has what was loaded (a hand edit of
    /// Vireo's tables is undone) and reloads, which also picks up changed local networks. An
    /// unchanged configuration costs a compile and one `nft list`, and writes nothing.
    public func verifyPeriodically(every interval: Duration = .seconds(60)) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            guard kernel, !stopped else { continue }
            do {
                if try await applier.verify() {
                    logger.warning("firewall: Vireo's nftables were changed by hand; reloading")
                }
                try await reload()
            } catch {
                logger.error("\(Self.describe(error))")
            }
        }
    }

    // MARK: - Inputs

    public func inputs() async throws -> FirewallInputs {
        var files: [String: FirewallFile] = [:]
        var seen = Set<String>()
        for stored in try await store.readAll("firewall") {
            guard let level = FirewallLevel(path: stored.path) else { continue }
            files[stored.path] = file(stored, level: level)
            seen.insert(stored.path)
        }
        let hostLevel = FirewallLevel.host(node)
        let hostFile = try await store.read(hostLevel.path).map { stored -> FirewallFile in
            seen.insert(stored.path)
            return file(stored, level: hostLevel)
        }
        var guests: [FirewallGuest] = []
        for config in try await store.readAll("nodes/\(node)/qemu-server") where config.path.hasSuffix(".conf") {
            let name = config.path.split(separator: "/").last.map(String.init) ?? ""
            guard let vmid = Int(name.dropLast(".conf".count)) else { continue }
            seen.insert(config.path)
            var nics = parsedNICs[config.path]
            if nics?.version != config.version {
                nics = (config.version, Self.nics(config.content))
                parsedNICs[config.path] = nics
            }
            guests.append(
                FirewallGuest(vmid: vmid, file: files[FirewallLevel.guest(vmid).path], nics: nics?.nics ?? [])
            )
        }
        // Forget what was deleted.
        parsed = parsed.filter { seen.contains($0.key) }
        parsedNICs = parsedNICs.filter { seen.contains($0.key) }
        return FirewallInputs(
            cluster: files[FirewallLevel.cluster.path] ?? FirewallFile(),
            host: hostFile ?? FirewallFile(),
            guests: guests,
            localNetworks: await cachedLocalNetworks(),
            now: Int(Date().timeIntervalSince1970)
        )
    }

    /// An error for the log, prefixed `firewall:` once.
    public nonisolated static func describe(_ error: any Error) -> String {
        let text = (error as? VireoError)?.message ?? "\(error)"
        return text.hasPrefix("firewall") ? text : "firewall: " + text
    }

    /// A `.fw` file as it is now (the parse is reused while the file is unchanged).
    public func file(_ level: FirewallLevel) async throws -> FirewallFile {
        guard let stored = try await store.read(level.path) else { return FirewallFile() }
        return file(stored, level: level)
    }

    /// A stored file parsed, or the parse of the same version from before.
    private func file(_ stored: StoredFile, level: FirewallLevel) -> FirewallFile {
        if let known = parsed[stored.path], known.version == stored.version { return known.file }
        let file = FirewallFile(parsing: stored.content, level: level)
        parsed[stored.path] = (stored.version, file)
        return file
    }

    private func cachedLocalNetworks() async -> [IPNetwork] {
        let now = ContinuousClock.now
        if let read = localNetworksRead, now - read.at < localNetworksTTL { return read.networks }
        let networks = await localNetworks()
        localNetworksRead = (now, networks)
        return networks
    }

    /// The NICs of a VM config (its current values, not pending ones).
    static func nics(_ text: String) -> [FirewallGuest.NIC] {
        guard let config = try? VMConfig(parsing: text), let nics = try? config.main.parsedNICs() else { return [] }
        return nics.map { FirewallGuest.NIC(index: $0.index, mac: $0.mac ?? "", firewall: $0.firewall) }
    }

    /// The networks of the node's addresses (loopback aside), for `local_network`.
    func localNetworks() async -> [IPNetwork] {
        let network = HostNetwork(namespace: host.namespace, runner: host.runner)
        guard let links = try? await network.linksWithAddresses() else { return [] }
        var networks: [IPNetwork] = []
        for address in links.flatMap(\.addresses) {
            guard let network = IPNetwork(address), !networks.contains(network) else { continue }
            networks.append(network)
        }
        return networks
    }

    /// br_netfilter hands bridged IP packets to the inet hooks, where guests are filtered
    /// statefully; both sysctls are per namespace.
    static func enableBridgeNetfilter(_ host: NodeHost) async throws {
        let keys = ["net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"]
        let current = try? await host.runTool("sysctl", ["-n"] + keys, package: "procps", inNamespace: true)
        if current?.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) == ["1", "1"] { return }
        if current == nil {
            _ = try? await host.runTool("modprobe", ["br_netfilter"], package: "kmod")
        }
        do {
            try await host.runTool(
                "sysctl",
                ["-q", "-w"] + keys.map { "\($0)=1" },
                package: "procps",
                inNamespace: true
            )
        } catch {
            throw VireoError(
                .unavailable,
                "firewall: guests cannot be filtered: bridge netfilter (module br_netfilter) is not available: \(error)"
            ).at(.firewall)
        }
    }
}
