import VireoAccess
import VireoCore
import VireoQEMU

/// What only root@pam may do, said once and checked by the responder for every call after the
/// endpoint's own permission: host paths and devices in VM configs and storage definitions, QEMU
/// arguments, monitor commands beyond `info`, and the parameters Proxmox reserves for root.
enum RootOnlyPolicy {
    /// Parameters only root may send, on any endpoint that has them (Proxmox: "only root may use
    /// this option").
    static let rootOnlyParameters: Set<String> = [
        "skiplock", "stateuri", "migratedfrom", "migration_network", "migration_type", "targetstorage",
    ]

    /// The rule of each endpoint that has one beyond `rootOnlyParameters`.
    enum Rule {
        /// Every VM config key among the parameters, and the `delete` list.
        case vmConfig
        /// The `command` of a human-monitor call, by its tier.
        case monitorCommand
        /// Storage options that name host paths.
        case storageDefinition
    }

    static let rules: [String: Rule] = [
        "POST /nodes/{node}/qemu": .vmConfig,
        "POST /nodes/{node}/qemu/{vmid}/config": .vmConfig,
        "PUT /nodes/{node}/qemu/{vmid}/config": .vmConfig,
        "POST /nodes/{node}/qemu/{vmid}/monitor": .monitorCommand,
        "POST /storage": .storageDefinition,
        "PUT /storage/{storage}": .storageDefinition,
    ]

    /// Storage options that put the storage (and what is uploaded to it) somewhere on the host.
    static let hostPathStorageOptions: Set<String> = ["path", "mountpoint", "content-dirs"]

    /// Throws `.permissionDenied` when the call asks for something its caller may not have.
    static func check(
        endpoint: Endpoint,
        parameters: Parameters,
        identity: AuthIdentity,
        permissions: Permissions
    ) throws {
        guard !identity.isRoot else { return }
        for name in rootOnlyParameters where parameters.has(name) {
            throw denied("only root may use the parameter '\(name)'")
        }
        switch endpoint.schema.rootOnly {
        case .vmConfig?:
            let vmid = parameters.optionalVMID("vmid")
            for (key, value) in parameters.values where !QEMUEndpoints.controlParameters.contains(key) {
                try require(VMHostAccess.requirements(key: key, value: value, vmid: vmid), identity, permissions)
            }
            for key in parameters.list("delete") {
                try require(VMHostAccess.deletionRequirements(key: key), identity, permissions)
            }
        case .monitorCommand?:
            let command = parameters["command"] ?? ""
            switch MonitorCommandTier(command: command) {
            case .read: break
            case .modify:
                try require([.privileges(path: "/", ["Sys.Modify"], any: false)], identity, permissions)
            case .root:
                throw denied("only root may run the monitor command '\(MonitorCommandTier.word(of: command))'")
            }
        case .storageDefinition?:
            for name in hostPathStorageOptions.sorted() where parameters.has(name) {
                throw denied("only root may set the storage option '\(name)' (a path on the host)")
            }
        case nil: break
        }
    }

    private static func require(
        _ requirements: [VMHostAccess.Requirement],
        _ identity: AuthIdentity,
        _ permissions: Permissions
    ) throws {
        for requirement in requirements {
            if let failure = failure(of: requirement, identity, permissions) { throw denied(failure) }
        }
    }

    /// Why a requirement does not hold, or nil when it does.
    private static func failure(
        of requirement: VMHostAccess.Requirement,
        _ identity: AuthIdentity,
        _ permissions: Permissions
    ) -> String? {
        switch requirement {
        case .root(let message):
            return message
        case .privileges(let path, let privileges, let any):
            if permissions.check(identity.authID, path: path, privileges: privileges, any: any) { return nil }
            return "Permission check failed (\(path), \(privileges.joined(separator: any ? "|" : ", ")))"
        case .oneOf(let alternatives, let denial):
            let met = alternatives.contains { alternative in
                alternative.allSatisfy { failure(of: $0, identity, permissions) == nil }
            }
            return met ? nil : denial
        }
    }

    private static func denied(_ message: String) -> VireoError { VireoError(.permissionDenied, message) }
}
