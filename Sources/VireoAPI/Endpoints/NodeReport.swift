import VireoCore
import VireoHost
import VireoNetwork
import VireoQEMU
import VireoStorage

/// `GET /nodes/{node}/report`: what a support request needs in one text, like `pvereport`.
enum NodeReport {
    static func text(_ request: APIRequest) async throws -> String {
        let services = request.services
        let status = NodeStatus.current()
        var sections: [(String, String)] = []
        sections.append(
            (
                "general system info",
                """
                # hostname
                \(services.node)
                # vireo version
                \(NodeEndpoints.version) (release \(NodeEndpoints.release))
                # uptime
                \(status.uptime) s, load average \(status.loadavg.joined(separator: " "))
                # kernel
                \(status.kernelRelease) \(status.kernelVersion)
                # cpu
                \(status.cpuCount) x \(status.cpuModel)
                # memory
                total \(status.memoryTotal), used \(status.memoryUsed)
                # /etc/hosts
                \(services.host.read("/etc/hosts") ?? "")
                """
            )
        )
        var storageLines: [String] = []
        for definition in try await services.storage.definitions() where definition.isEnabled(on: services.node) {
            let state = await services.storage.status(of: definition)
            storageLines.append(
                "\(definition.id) (\(definition.type)): \(state.active ? "active" : "inactive"), used \(state.used) of \(state.total)"
            )
        }
        sections.append(("storage", storageLines.joined(separator: "\n")))
        let (configs, _) = try await services.vms.configs.loadAllOnNode()
        let vms = configs.sorted { $0.vmid < $1.vmid }.map { "\($0.vmid) \($0.config.main["name"] ?? "")" }
        sections.append(("virtual guests", vms.joined(separator: "\n")))
        sections.append(("network", try services.network.read().file.text))
        return sections.map { "==== \($0.0) ====\n\n\($0.1)\n" }.joined(separator: "\n")
    }
}
