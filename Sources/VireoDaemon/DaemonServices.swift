import Logging
import ServiceLifecycle
import VireoAPI
import VireoAccess
import VireoCluster
import VireoCore
import VireoFirewall
import VireoMetrics
import VireoQEMU
import VireoStore
import VireoTasks

// The daemon's long-lived pieces as services of its service group: each starts with the group
// and ends on graceful shutdown (SIGTERM, SIGINT) or cancellation. The group shuts services down
// in reverse order: the API servers first (no new work), then the workers, then the watchers.

/// Keeps the access cache in step with the store's change feed (another writer, a cluster peer).
struct AccessCacheService: Service {
    let access: AccessControl

    func run() async throws {
        await cancelWhenGracefulShutdown { await access.followChanges() }
    }
}

/// The firewall: applied at start, then after every change of a file it compiles from. Stopping
/// the daemon leaves the rules in the kernel (they are data plane).
struct FirewallWatchService: Service {
    let firewall: FirewallService
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            do { try await firewall.startLogging() } catch { logger.warning("firewall log: \(error)") }
            do {
                let outcome = try await firewall.reload()
                logger.info("firewall applied at start", metadata: ["outcome": "\(outcome)"])
            } catch {
                logger.error("\(FirewallService.describe(error))")
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await firewall.watch() }
                group.addTask { await firewall.verifyPeriodically() }
            }
        }
    }
}

/// The task workers: on shutdown running tasks are cancelled, given `grace` to end, and recorded.
struct TaskWorkersService: Service {
    let tasks: TaskRegistry
    let grace: Duration

    func run() async throws {
        // Either a graceful shutdown or a cancellation: both mean the daemon is stopping.
        do { try await gracefulShutdown() } catch {}
        await tasks.shutdown(grace: grace)
    }
}

/// qmeventd's role: QEMU event monitors connect to the socket while the daemon runs. The socket is
/// bound before the service group starts (a node's boot starts VMs before that, and QEMU that
/// finds no listener retries only every 5 s); the service closes it at shutdown.
struct VMEventService: Service {
    let events: VMEventWatcher

    func run() async throws {
        do { try await gracefulShutdown() } catch {}
        events.stop()
    }
}

/// The metrics sampler (pvestatd's cycle), until the daemon shuts down.
struct MetricsService: Service {
    let sampler: MetricsSampler

    func run() async throws {
        await cancelWhenGracefulShutdown { await sampler.run() }
    }
}

/// Wakes the UI's event streams on every store write, and ends them when the daemon stops, before
/// the HTTPS server waits for its open requests (services stop in reverse order).
struct EventStreamService: Service {
    let store: any ConfigStore
    let signal: ChangeSignal
    let streams: OpenStreams

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in store.changes() { signal.bump() }
        }
        streams.close()
    }
}

/// Reaps the orphaned QEMU processes vireod inherits as their subreaper (see ``OrphanReaper``).
struct OrphanReaperService: Service {
    let reaper = OrphanReaper()
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                let reaped = reaper.sweep()
                if !reaped.isEmpty { logger.debug("reaped orphaned QEMU processes", metadata: ["pids": "\(reaped)"]) }
            }
        }
    }
}

/// A cluster node's etcd member and store: the member is restarted should it exit; on shutdown
/// (after every other service) the store closes and the member stops. Nothing on a standalone node.
struct ClusterStoreService: Service {
    let member: EtcdMember?
    let store: EtcdConfigStore?

    func run() async throws {
        // A service that returns early stops the group: a standalone node's waits for the end.
        guard let member else { return try await gracefulShutdown() }
        await cancelWhenGracefulShutdown { await member.supervise() }
        await store?.close()
        await member.stop()
    }
}

/// Publishes this node's status to the cluster and follows the others' (nothing when standalone).
struct ClusterStatusService: Service {
    let services: APIServices

    func run() async throws {
        guard let board = services.cluster.board else { return try await gracefulShutdown() }
        await cancelWhenGracefulShutdown {
            await board.run(wake: services.tasks.activity) { await ClusterViews.publication(services) }
        }
    }
}
