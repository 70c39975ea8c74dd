import HTTPTypes
import Hummingbird
import NIOCore
import VireoAccess
import VireoCore
import VireoFirewall
import VireoHost
import VireoMetrics
import VireoQEMU
import VireoTasks

/// `GET /metrics` (a Vireo addition, beside `/api2`): the node's metrics in Prometheus's text
/// format for a scraper with an API token (`Authorization: PVEAPIToken=user@realm!id=secret`) or a
/// ticket, holding `Sys.Audit` on `/`.
enum PrometheusEndpoint {
    static func respond(identity: AuthIdentity, services: APIServices) async throws -> Response {
        let access = try await services.access.snapshot()
        guard access.permissions.check(identity.authID, path: "/", privileges: ["Sys.Audit"]) else {
            throw APIFailure(status: 403, message: "Permission check failed (/, Sys.Audit)")
        }
        var exposition = MetricsExposition()
        exposition.tasks = taskCounts(services.tasks.list())
        exposition.firewall = await services.firewall?.counters() ?? [:]
        exposition.nics = await nics(services)
        let text = exposition.render(services.metrics?.latest, node: services.node)
        var headers = HTTPFields()
        headers[.contentType] = MetricsExposition.contentType
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func taskCounts(_ records: [TaskRegistry.Record]) -> [(type: String, outcome: String, count: Int)] {
        var counts: [String: [String: Int]] = [:]
        for record in records {
            let outcome =
                switch record.exitStatus {
                case nil: "running"
                case "OK"?: "ok"
                case let status? where status.hasPrefix("WARNINGS"): "warnings"
                default: "error"
                }
            counts[record.upid.type, default: [:]][outcome, default: 0] += 1
        }
        return counts.sorted { $0.key < $1.key }.flatMap { type, outcomes in
            outcomes.sorted { $0.key < $1.key }.map { (type, $0.key, $0.value) }
        }
    }

    /// Each guest NIC's tap counters with the bridge its config names.
    static func nics(_ services: APIServices) async -> [MetricsExposition.NIC] {
        guard let rows = try? await NetworkCounters.guestTaps(services.host), !rows.isEmpty,
            let configs = try? await services.vms.configs.readAllOnNode()
        else { return [] }
        var bridges: [String: String] = [:]
        for (vmid, config) in configs {
            for nic in (try? config.main.parsedNICs()) ?? [] { bridges["\(vmid)/net\(nic.index)"] = nic.bridge ?? "" }
        }
        return rows.compactMap { row in
            guard let vmid = row["vmid"]?.intValue, let dev = row["dev"]?.stringValue else { return nil }
            return MetricsExposition.NIC(
                vmid: vmid,
                nic: dev,
                bridge: bridges["\(vmid)/\(dev)"] ?? "",
                received: row["in"]?.intValue ?? 0,
                sent: row["out"]?.intValue ?? 0
            )
        }
    }
}
