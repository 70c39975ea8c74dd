import VireoCore
import VireoMetrics
import VireoQEMU
import VireoStorage

/// Proxmox's metric history (`rrddata` of a node, a VM, a storage) from the sampler's RRD files.
enum MetricsEndpoints {
    static func register(in registry: inout APIRegistry) {
        registry.register(.get, "/nodes/{node}/rrddata", handles: ["timeframe", "cf"]) { request in
            .init(try await rows(request, .node, request.services.node))
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}/rrddata", handles: ["timeframe", "cf"]) { request in
            let vmid = try request.parameters.vmid()
            _ = try await request.services.vms.configs.read(vmid)
            return .init(try await rows(request, .vm, "\(vmid)"))
        }
        registry.register(.get, "/nodes/{node}/storage/{storage}/rrddata", handles: ["timeframe", "cf"]) { request in
            let id = try request.parameters.require("storage")
            _ = try await request.services.storage.definition(id)
            return .init(try await rows(request, .storage, "\(request.services.node)/\(id)"))
        }
    }

    static func rows(_ request: APIRequest, _ layout: RRDLayout, _ name: String) async throws -> JSON {
        let p = request.parameters
        guard let timeframe = RRDTimeframe(rawValue: try p.require("timeframe")) else {
            throw VireoError.parameter(
                "timeframe",
                "value '\(p["timeframe"] ?? "")' does not have a value in the enumeration"
            )
        }
        let consolidation = RRDConsolidation(rawValue: p["cf"] ?? "AVERAGE") ?? .average
        guard let database = request.services.metrics?.database else { return .array([]) }
        let rows = try await BlockingPool.shared.run {
            try database.fetch(layout, name, timeframe: timeframe, consolidation: consolidation)
        }
        return .array(rows.map { .object($0) })
    }
}
