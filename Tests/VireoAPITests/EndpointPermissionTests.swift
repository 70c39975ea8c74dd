import Hummingbird
import Testing
import VireoAccess
import VireoCore

@testable import VireoAPI

/// Every endpoint declares who may call it, and every endpoint open to any authenticated caller has
/// been reviewed for filtering what it returns: a new open endpoint fails here until it is listed.
@Suite struct EndpointPermissionTests {
    /// Endpoints any authenticated caller reaches; each handler filters by the caller's privileges
    /// (lists) or checks the object itself (volumes, tasks, VM creation), as Proxmox does in code.
    static let reviewedOpen: Set<String> = [
        "GET /access", "GET /access/acl", "GET /access/groups", "GET /access/permissions", "GET /access/roles",
        "GET /access/roles/{roleid}", "GET /access/tfa", "GET /access/users", "GET /cluster", "GET /cluster/nextid",
        "GET /cluster/resources", "GET /cluster/tasks",
        // Issue 14: the event stream calls /cluster/resources and /cluster/tasks as the caller.
        "GET /cluster/events", "GET /nodes", "GET /nodes/{node}", "GET /nodes/{node}/qemu",
        "POST /nodes/{node}/qemu", "GET /nodes/{node}/qemu/{vmid}", "GET /nodes/{node}/qemu/{vmid}/snapshot/{snapname}",
        "GET /nodes/{node}/qemu/{vmid}/status", "GET /nodes/{node}/storage",
        "DELETE /nodes/{node}/storage/{storage}/content/{volume}",
        "GET /nodes/{node}/storage/{storage}/content/{volume}",
        "PUT /nodes/{node}/storage/{storage}/content/{volume}", "GET /nodes/{node}/tasks",
        "DELETE /nodes/{node}/tasks/{upid}", "GET /nodes/{node}/tasks/{upid}", "GET /nodes/{node}/tasks/{upid}/log",
        "GET /nodes/{node}/tasks/{upid}/status", "GET /pools", "GET /storage", "GET /version",
        // Issue 11. Static or product facts: version, subscription (no key, no server ID),
        // container list (always empty), directory indexes, QEMU's CPU models, machines and flags,
        // schedule analysis (pure computation), the agent's command list.
        "GET /nodes/{node}/version", "GET /nodes/{node}/subscription", "GET /nodes/{node}/lxc",
        "GET /nodes/{node}/hardware", "GET /nodes/{node}/hardware/pci/{pci-id-or-mapping}",
        "GET /nodes/{node}/capabilities", "GET /nodes/{node}/capabilities/qemu",
        "GET /nodes/{node}/capabilities/qemu/cpu", "GET /nodes/{node}/capabilities/qemu/cpu-flags",
        "GET /nodes/{node}/capabilities/qemu/machines", "GET /nodes/{node}/scan", "GET /nodes/{node}/disks",
        "GET /cluster/jobs", "GET /cluster/jobs/schedule-analyze", "GET /cluster/bulk-action",
        "GET /cluster/bulk-action/guest", "GET /cluster/metrics", "GET /cluster/mapping",
        "GET /nodes/{node}/qemu/{vmid}/agent",
        // A certificate is public (every TLS client receives it); no key is shown.
        "GET /nodes/{node}/certificates", "GET /nodes/{node}/certificates/info",
        // Filtered in the handler: the cluster log (own tasks without Sys.Syslog on /), mappings
        // (entries the caller has a Mapping privilege on).
        "GET /cluster/log", "GET /cluster/mapping/pci", "GET /cluster/mapping/usb", "GET /cluster/mapping/dir",
        // Replication: nothing to list, nothing to find, creation refused for everyone alike.
        "GET /cluster/replication", "POST /cluster/replication", "GET /cluster/replication/{id}",
        "PUT /cluster/replication/{id}", "DELETE /cluster/replication/{id}", "GET /nodes/{node}/replication",
        "GET /nodes/{node}/replication/{id}", "GET /nodes/{node}/replication/{id}/status",
        "GET /nodes/{node}/replication/{id}/log", "POST /nodes/{node}/replication/{id}/schedule_now",
        // Issue 12. Directory indexes and the macro table are static; security group names and
        // comments are open as in Proxmox, so a user who may edit a VM's rules can pick a group.
        "GET /cluster/firewall", "GET /nodes/{node}/firewall", "GET /nodes/{node}/qemu/{vmid}/firewall",
        "GET /cluster/firewall/groups", "GET /cluster/firewall/macros",
    ]

    /// Calls that need no credentials at all; the VNC ticket check proves itself with the signed ticket.
    static let reviewedWorld: Set<String> = [
        "GET /access/domains", "GET /access/ticket", "POST /access/ticket", "POST /access/vncticket",
    ]

    @Test func everyOpenEndpointIsReviewed() {
        var unreviewed: [String] = []
        for endpoint in VireoAPI.makeRegistry().endpoints {
            let call = "\(endpoint.method.rawValue) \(endpoint.path)"
            switch endpoint.schema.permission {
            case .anyUser where !Self.reviewedOpen.contains(call): unreviewed.append(call + " (any user)")
            case .world where !Self.reviewedWorld.contains(call): unreviewed.append(call + " (no credentials)")
            default: break
            }
        }
        #expect(unreviewed.isEmpty, "open endpoints nobody reviewed:\n\(unreviewed.joined(separator: "\n"))")
    }

    @Test func onlyTheLoginCallsGoWithoutCredentials() {
        #expect(APIResponder<BasicRequestContext>.unauthenticatedCalls == Self.reviewedWorld)
    }

    @Test func rootOnlyRulesNameRegisteredEndpoints() {
        let calls = Set(VireoAPI.makeRegistry().endpoints.map { "\($0.method.rawValue) \($0.path)" })
        for call in RootOnlyPolicy.rules.keys {
            #expect(calls.contains(call), "\(call) has a root-only rule but no endpoint")
        }
    }
}

/// The root-only rules, key by key, for an Administrator on `/` (who has every privilege) and root.
@Suite struct RootOnlyPolicyTests {
    static let registry = VireoAPI.makeRegistry()
    static let admin = AuthIdentity(authID: "admin@pve", viaTicket: false)
    static let permissions: Permissions = {
        var config = UserConfig()
        config.users["admin@pve"] = UserConfig.User(userid: "admin@pve")
        config.acl = [.init(path: "/", subject: .user("admin@pve"), role: "Administrator", propagate: true)]
        return Permissions(config: config)
    }()

    func endpoint(_ call: String) throws -> Endpoint {
        try #require(Self.registry.endpoints.first { "\($0.method.rawValue) \($0.path)" == call })
    }

    func outcome(_ call: String, _ values: [String: String], as identity: AuthIdentity = admin) throws -> Bool {
        let endpoint = try endpoint(call)
        var raw = RawParameters()
        let node = endpoint.path.contains("{node}") ? ["node": "n1"] : [:]
        for (name, value) in values.merging(node, uniquingKeysWith: { given, _ in given }) {
            raw[name] = .text(value)
        }
        let parameters = try ParameterValidator().validate(raw, against: endpoint.schema)
        do {
            try RootOnlyPolicy.check(
                endpoint: endpoint,
                parameters: parameters,
                identity: identity,
                permissions: Self.permissions
            )
            return true
        } catch let error as VireoError where error.code == .permissionDenied {
            return false
        }
    }

    @Test(arguments: [
        ["virtio1": "/dev/sda"], ["scsi1": "/etc/shadow"], ["ide2": "/root/.ssh/authorized_keys,media=cdrom"],
        ["args": "-monitor stdio"], ["hookscript": "local:snippets/hook.sh"], ["serial0": "/dev/ttyS0"],
        ["usb0": "host=1d6b:0002"], ["hostpci0": "0000:01:00.0"], ["skiplock": "1"],
    ])
    func vmConfigValuesOnlyRootMaySet(values: [String: String]) throws {
        let call = "PUT /nodes/{node}/qemu/{vmid}/config"
        #expect(try !outcome(call, values.merging(["vmid": "100"]) { a, _ in a }))
        #expect(try outcome(call, values.merging(["vmid": "100"]) { a, _ in a }, as: .root))
    }

    @Test func deletingArgsIsRoots() throws {
        #expect(try !outcome("PUT /nodes/{node}/qemu/{vmid}/config", ["vmid": "100", "delete": "args"]))
    }

    @Test(arguments: [("info block", true), ("stop", true), ("migrate \"exec:id\"", false), ("drive_add 0 x", false)])
    func monitorTiersForAnAdministrator(command: String, allowed: Bool) throws {
        #expect(try outcome("POST /nodes/{node}/qemu/{vmid}/monitor", ["vmid": "100", "command": command]) == allowed)
    }

    @Test(arguments: ["path", "mountpoint", "content-dirs"])
    func storageHostPathsAreRoots(option: String) throws {
        #expect(
            try !outcome(
                "POST /storage",
                ["storage": "x1", "type": "dir", option: option == "content-dirs" ? "iso=/etc" : "/etc"]
            )
        )
        #expect(
            try outcome(
                "POST /storage",
                ["storage": "x1", "type": "dir", option: option == "content-dirs" ? "iso=/etc" : "/etc"],
                as: .root
            )
        )
    }
}
