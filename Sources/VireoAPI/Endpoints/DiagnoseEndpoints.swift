import Foundation
import VireoAccess
import VireoCore
import VireoDiagnose
import VireoHost
import VireoMetrics
import VireoQEMU
import VireoStorage

/// The diagnosis (a Vireo addition): the node's report (or one storage's, or the network's) and a
/// VM's, with the plane and layer at fault first. Read-only, like the `vireo diagnose` CLI.
enum DiagnoseEndpoints {
    static func register(in registry: inout APIRegistry) {
        let node = ParameterSpec("node", .string, format: "pve-node")
        registry.register(
            .get,
            "/nodes/{node}/diagnose",
            schema: EndpointSchema(
                parameters: [
                    node,
                    ParameterSpec(
                        "scope",
                        .string,
                        optional: true,
                        enumValues: ["node", "storage", "network"],
                        defaultValue: "node"
                    ),
                    ParameterSpec("storage", .string, optional: true, format: "pve-storage-id"),
                    ParameterSpec("bridge", .string, optional: true, format: "pve-iface"),
                ],
                permission: .perm("/nodes/{node}", ["Sys.Audit"], any: false, requireParam: nil),
                returns: "object"
            ),
            handles: ["scope", "storage", "bridge"]
        ) { request in
            let diagnoser = Diagnoser(context: context(request))
            let p = request.parameters
            let report: DiagnosisReport
            switch p["scope"] ?? "node" {
            case "storage":
                guard let storage = p["storage"] else {
                    throw VireoError.parameter("storage", "property is missing and it is not optional")
                }
                report = await diagnoser.storage(storage)
            case "network": report = await diagnoser.network(p["bridge"])
            default: report = await diagnoser.node()
            }
            return .init(report.json)
        }
        registry.register(
            .get,
            "/nodes/{node}/qemu/{vmid}/diagnose",
            schema: EndpointSchema(
                parameters: [
                    node, ParameterSpec("vmid", .integer, format: "pve-vmid", minimum: 100, maximum: 999_999_999),
                ],
                permission: .perm("/vms/{vmid}", ["VM.Audit"], any: false, requireParam: nil),
                returns: "object"
            ),
            handles: []
        ) { request in
            let vmid = try request.parameters.vmid()
            _ = try await request.services.vms.configs.read(vmid)
            return .init(await Diagnoser(context: context(request)).vm(vmid).json)
        }
    }

    static func context(_ request: APIRequest) -> DiagnosisContext {
        let services = request.services
        return DiagnosisContext(
            node: services.node,
            daemon: .online(pid: Int(getpid()), startedAt: services.startedAt),
            vms: services.vms,
            runtime: VMRuntime(manager: services.vms, runner: services.storage.runner),
            storage: services.storage,
            network: HostNetwork(namespace: services.vms.namespace, runner: services.storage.runner),
            runner: services.storage.runner,
            storePath: services.storePath ?? "",
            events: services.events,
            metrics: services.metrics?.latest,
            firewall: services.firewall,
            authFailures: services.access.authFailures
        )
    }
}
