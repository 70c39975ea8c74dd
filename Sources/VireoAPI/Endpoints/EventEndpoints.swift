import VireoAccess
import VireoCore
import VireoHost
import VireoQEMU

/// The event history (a Vireo addition): QEMU events, QEMU exits and failed tasks, per node and
/// per VM, oldest first, `since`/`until` in epoch seconds.
enum EventEndpoints {
    static func register(in registry: inout APIRegistry) {
        let window = [
            ParameterSpec("since", .integer, optional: true, minimum: 0),
            ParameterSpec("until", .integer, optional: true, minimum: 0),
            ParameterSpec("limit", .integer, optional: true, minimum: 1, maximum: 10000, defaultValue: "100"),
        ]
        let node = ParameterSpec("node", .string, format: "pve-node")
        let vmid = ParameterSpec("vmid", .integer, format: "pve-vmid", minimum: 100, maximum: 999_999_999)
        registry.register(
            .get,
            "/nodes/{node}/events",
            schema: EndpointSchema(
                parameters: [node] + window,
                permission: .perm("/nodes/{node}", ["Sys.Audit"], any: false, requireParam: nil),
                returns: "array"
            ),
            handles: ["since", "until", "limit"]
        ) { request in
            .init(try await events(request, vmid: nil))
        }
        registry.register(
            .get,
            "/nodes/{node}/qemu/{vmid}/events",
            schema: EndpointSchema(
                parameters: [node, vmid] + window,
                permission: .perm("/vms/{vmid}", ["VM.Audit"], any: false, requireParam: nil),
                returns: "array"
            ),
            handles: ["since", "until", "limit"]
        ) { request in
            let vmid = try request.parameters.vmid()
            _ = try await request.services.vms.configs.read(vmid)
            return .init(try await events(request, vmid: vmid))
        }
    }

    static func events(_ request: APIRequest, vmid: VMID?) async throws -> JSON {
        guard let history = request.services.vms.events else { return .array([]) }
        let p = request.parameters
        let (since, until, limit) = (
            p.int("since").map(Double.init), p.int("until").map(Double.init), p.int("limit", default: 100)
        )
        let selected = await BlockingPool.shared.run {
            history.events(vmid: vmid, since: since, until: until.map { $0 + 0.999_999 }, limit: limit)
        }
        return .array(selected.map(\.json))
    }
}
