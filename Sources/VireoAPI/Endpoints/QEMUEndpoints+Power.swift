import Foundation
import VireoAccess
import VireoCore
import VireoQEMU
import VireoStorage
import VireoTasks

/// `/nodes/{node}/qemu/{vmid}/status/*`: start, stop, shutdown, reboot, reset, suspend, resume,
/// each a task with Proxmox's type; and `monitor`.
extension QEMUEndpoints {
    static func runtime(_ request: APIRequest) -> VMRuntime {
        VMRuntime(manager: request.services.vms, runner: request.services.storage.runner)
    }

    /// Starts `work` as a task under the VM's lock on an existing VM of this node; returns its UPID.
    /// The config is read once, here: the task gets it with the version it was read at.
    static func powerTask(
        _ request: APIRequest,
        type: String,
        _ work: @escaping @Sendable (VMRuntime, LoadedVMConfig, TaskLog) async throws -> Void,
        precheck: (VMConfig.Section) throws -> Void = { _ in }
    ) async throws -> APIResult {
        let vmid = try request.parameters.vmid()
        let loaded = try await request.services.vms.configs.load(vmid)
        try precheck(loaded.config.main)
        // Power operations must not cut across a snapshot, clone or backup; root may say `skiplock`.
        if let lock = loaded.config.main.lock, type != "qmresume", !request.parameters.bool("skiplock", default: false)
        {
            throw VireoError.conflict("VM is locked (\(lock))")
        }
        let runtime = runtime(request)
        let vms = request.services.vms
        // `timeout`: how long the task waits for the VM's lock (Proxmox's start and stop).
        let lockWait = Duration.seconds(request.parameters.int("timeout") ?? 10)
        let upid = try request.services.tasks.start(type: type, id: String(vmid), user: request.identity.authID) {
            log in
            try await vms.configs.withLock(vmid, timeout: lockWait) { try await work(runtime, loaded, log) }
        }
        return .init(.string(upid.description))
    }

    /// Starts `work` as a task on an existing VM of this node, outside the VM's lock (the work takes
    /// it where it needs it); returns its UPID.
    static func vmTask(
        _ request: APIRequest,
        type: String,
        _ work: @escaping @Sendable (VMID, TaskLog) async throws -> Void
    ) async throws -> APIResult {
        let vmid = try request.parameters.vmid()
        _ = try await request.services.vms.configs.read(vmid)
        let upid = try request.services.tasks.start(type: type, id: String(vmid), user: request.identity.authID) {
            log in try await work(vmid, log)
        }
        return .init(.string(upid.description))
    }

    /// `vms` (a `pve-vmid-list`, parsed by the registry), or nil for all VMs.
    static func vmidList(_ parameters: Parameters) -> Set<VMID>? {
        let items = parameters.vmids("vms")
        return items.isEmpty ? nil : Set(items)
    }

    /// Node-wide power actions: `VM.PowerMgmt` on `/`, or on every VM listed in `vms` (Proxmox's
    /// schema says "all users" and checks this in code).
    static let bulkPowerPermission = PermissionCheck.or([
        .perm("/", ["VM.PowerMgmt"], any: false, requireParam: nil),
        .permEach(listParam: "vms", template: "/vms/{item}", ["VM.PowerMgmt"]),
    ])

    static func registerPower(in registry: inout APIRegistry) {
        let base = "/nodes/{node}/qemu/{vmid}/status"
        registry.register(.post, base + "/start", handles: ["skiplock", "timeout"]) { request in
            let skipLock = request.parameters.bool("skiplock", default: false)
            return try await powerTask(request, type: "qmstart") { runtime, loaded, log in
                try await runtime.start(loaded.vmid, loaded: loaded, skipLock: skipLock) { log.append($0) }
            } precheck: { config in
                if config.isTemplate { throw VireoError.conflict("you can't start a vm if it's a template") }
            }
        }
        // `keepActive` asks that volumes stay active after the stop: Vireo never deactivates them.
        registry.register(.post, base + "/stop", handles: ["keepActive", "skiplock", "timeout"]) { request in
            let timeout = Duration.seconds(request.parameters.int("timeout") ?? 60)
            return try await powerTask(request, type: "qmstop") { runtime, loaded, log in
                try await runtime.stop(loaded.vmid, timeout: timeout) { log.append($0) }
            }
        }
        registry.register(.post, base + "/shutdown", handles: ["forceStop", "keepActive", "skiplock", "timeout"]) {
            request in
            let timeout = Duration.seconds(request.parameters.int("timeout") ?? 60)
            let force = request.parameters.bool("forceStop", default: false)
            return try await powerTask(request, type: "qmshutdown") { runtime, loaded, log in
                try await runtime.shutdown(loaded.vmid, timeout: timeout, forceStop: force) { log.append($0) }
            }
        }
        registry.register(.post, base + "/reboot", handles: ["timeout"]) { request in
            let timeout = Duration.seconds(request.parameters.int("timeout") ?? 60)
            return try await powerTask(request, type: "qmreboot") { runtime, loaded, log in
                try await runtime.shutdown(loaded.vmid, timeout: timeout, forceStop: true) { log.append($0) }
                try await runtime.start(loaded.vmid) { log.append($0) }
            }
        }
        registry.register(.post, base + "/reset", handles: ["skiplock"]) { request in
            try await powerTask(request, type: "qmreset") { runtime, loaded, _ in try await runtime.reset(loaded.vmid) }
        }
        registry.register(.post, base + "/suspend", handles: ["skiplock", "todisk"]) { request in
            if request.parameters.bool("todisk", default: false) {
                throw VireoError.parameter("todisk", "suspend to disk is not supported by Vireo yet")
            }
            return try await powerTask(request, type: "qmpause") { runtime, loaded, _ in
                try await runtime.suspend(loaded.vmid)
            }
        }
        registry.register(.post, base + "/resume", handles: ["skiplock"]) { request in
            try await powerTask(request, type: "qmresume") { runtime, loaded, _ in try await runtime.resume(loaded.vmid)
            }
        }
        registry.register(.post, "/nodes/{node}/startall", permission: bulkPowerPermission, handles: ["force", "vms"]) {
            request in
            let only = vmidList(request.parameters)
            let force = request.parameters.bool("force", default: false)
            let bulk = VMBulkActions(runtime: runtime(request))
            let upid = try request.services.tasks.start(type: "startall", id: "", user: request.identity.authID) {
                log in try await bulk.startAll(only: only, force: force) { log.append($0) }
            }
            return .init(.string(upid.description))
        }
        registry.register(
            .post,
            "/nodes/{node}/stopall",
            permission: bulkPowerPermission,
            handles: ["force-stop", "timeout", "vms"]
        ) { request in
            let only = vmidList(request.parameters)
            let timeout = request.parameters.int("timeout") ?? 180
            let forceStop = request.parameters.bool("force-stop", default: true)
            let bulk = VMBulkActions(runtime: runtime(request))
            let upid = try request.services.tasks.start(type: "stopall", id: "", user: request.identity.authID) {
                log in try await bulk.stopAll(only: only, timeout: timeout, forceStop: forceStop) { log.append($0) }
            }
            return .init(.string(upid.description))
        }
        registry.register(.post, "/nodes/{node}/qemu/{vmid}/monitor", handles: ["command"]) { request in
            let output = try await runtime(request).monitor(
                try request.parameters.vmid(),
                command: try request.parameters.require("command")
            )
            return .init(.string(output))
        }
    }
}

extension QEMUEndpoints {
    /// Vireo's `GET …/qemu/{vmid}/showcmd`: the QEMU command line the VM would get (`qm showcmd`).
    static func registerShowCommand(in registry: inout APIRegistry) {
        let schema = EndpointSchema(
            parameters: [
                ParameterSpec("node", .string, format: "pve-node"),
                ParameterSpec("vmid", .integer, format: "pve-vmid", minimum: 100, maximum: 999_999_999),
                ParameterSpec("pretty", .boolean, optional: true, defaultValue: "0"),
            ],
            // The command line names host sockets, files and the data dir: root's, as `qm showcmd` is.
            permission: .rootOnly,
            returns: "string"
        )
        registry.register(.get, "/nodes/{node}/qemu/{vmid}/showcmd", schema: schema, handles: ["pretty"]) { request in
            let vmid = try request.parameters.vmid()
            let vms = request.services.vms
            let (config, _) = try await vms.configs.read(vmid)
            let argv = try vms.commandLine(
                vmid: vmid,
                config: config.main,
                definitions: try await vms.storage.definitions()
            )
            let quoted = argv.map {
                $0.contains(" ") || $0.contains("'") ? "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" : $0
            }
            if request.parameters.bool("pretty", default: false) {
                var lines: [String] = [quoted[0]]
                for argument in quoted.dropFirst() {
                    if argument.hasPrefix("-") {
                        lines.append("  " + argument)
                    } else {
                        lines[lines.count - 1] += " " + argument
                    }
                }
                return .init(.string(lines.joined(separator: " \\\n")))
            }
            return .init(.string(quoted.joined(separator: " ")))
        }
    }
}
