import VireoAccess
import VireoCore
import VireoQEMU
import VireoStorage
import VireoStore

/// `/nodes/{node}/qemu/{vmid}/cloudinit`: what a new cloud-init ISO would change, making it, and
/// the generated files.
extension QEMUEndpoints {
    static func registerCloudInit(in registry: inout APIRegistry) {
        let base = "/nodes/{node}/qemu/{vmid}/cloudinit"
        registry.register(.get, base, handles: []) { request in
            let (config, _) = try await request.services.vms.configs.read(try request.parameters.vmid())
            return .init(.array(VMCloudInit.pendingChanges(config).map { .object($0) }))
        }
        registry.register(.put, base, handles: []) { request in
            let vmid = try request.parameters.vmid()
            let vms = request.services.vms
            let cloudInit = VMCloudInit(manager: vms, runner: request.services.storage.runner)
            try await vms.configs.withLock(vmid) {
                let loaded = try await vms.configs.load(vmid)
                if let lock = loaded.config.main.lock { throw VireoError.conflict("VM is locked (\(lock))") }
                var config = loaded.config
                guard try await cloudInit.regenerate(vmid: vmid, config: &config, log: { _ in }) else { return }
                guard try await vms.configs.commit(config, over: loaded) else {
                    throw VireoError.modifiedConfiguration
                }
            }
            return .null
        }
        registry.register(.get, base + "/dump", handles: ["type"]) { request in
            let vmid = try request.parameters.vmid()
            let vms = request.services.vms
            let (config, _) = try await vms.configs.read(vmid)
            // What Vireo generates, whatever `cicustom` replaces (as Proxmox's dump).
            var generated = config.main
            _ = generated.remove("cicustom")
            let data = try await VMCloudInit(manager: vms, runner: request.services.storage.runner)
                .data(vmid: vmid, config: generated)
            switch try request.parameters.require("type") {
            case "user": return .init(.string(data.userData))
            case "network": return .init(.string(data.networkConfig))
            default: return .init(.string(data.metaData))
            }
        }
    }
}
