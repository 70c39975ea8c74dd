import VireoAccess
public import VireoCluster
import VireoCore
import VireoHost
import VireoQEMU
import VireoStorage
import VireoTasks

/// The cluster-wide lists (`/cluster/resources`, `/cluster/tasks`, `/nodes`) without asking other
/// nodes per request: each node publishes what these lists show of it (``publication(_:)``), and
/// every node reads the others' from the status board it follows.
public enum ClusterViews {
    /// Usage figures: they change with every sample, so alone they do not make a node publish.
    static let volatileFields: Set<String> = [
        "cpu", "mem", "disk", "netin", "netout", "diskread", "diskwrite", "uptime", "pid",
    ]

    /// What this node publishes: its own node entry, guests, storages and recent tasks, in the
    /// shape the lists show them (unfiltered: the reading node filters for its caller).
    public static func publication(_ services: APIServices) async -> ClusterStatusBoard.Publication {
        let node = services.node
        var nodeFields = NodeStatus.current().resourceFields(node: node, listForm: false)
        nodeFields["ip"] = .string(services.cluster.address)
        let running = services.vms.runningPIDs()
        let vms: [JSON] =
            ((try? await services.vms.configs.readAllOnNode()) ?? []).map { vmid, config in
                .object(
                    QEMUEndpoints.statusFields(vmid: vmid, config: config.main, pid: running[vmid], vms: services.vms)
                )
            }
        var storages: [JSON] = []
        for definition in (try? await services.storage.definitions()) ?? [] where definition.isEnabled(on: node) {
            let status = await services.storage.status(of: definition)
            storages.append(
                storageEntry(definition, node: node, active: status.active, used: status.used, total: status.total)
            )
        }
        let tasks = services.tasks.list().prefix(50).map { TaskEndpoints.taskJSON($0, detail: false) }
        let status: JSON = [
            "node": .object(nodeFields), "vms": .array(vms), "storages": .array(storages),
            "tasks": .array(Array(tasks)),
        ]
        let significant: JSON = [
            "vms": .array(vms.map(stable)), "storages": .array(storages.map(stable)),
            "tasks": .array(Array(tasks)),
        ]
        return .init(status: status, significant: significant)
    }

    private static func stable(_ entry: JSON) -> JSON {
        guard case .object(let fields) = entry else { return entry }
        return .object(fields.filter { !volatileFields.contains($0.key) })
    }

    static func storageEntry(_ definition: StorageDefinition, node: String, active: Bool, used: Int, total: Int) -> JSON
    {
        [
            "id": .string("storage/\(node)/\(definition.id)"), "type": "storage", "node": .string(node),
            "storage": .string(definition.id), "plugintype": .string(definition.type),
            "content": .string(ContentType.listText(definition.content)),
            "shared": .flag(definition.shared), "status": active ? "available" : "unknown",
            "disk": .int(used), "maxdisk": .int(total),
        ]
    }

    /// The other cluster members, by name, with what they last published (nil: offline).
    static func otherNodes(_ request: APIRequest) async throws -> [(name: String, status: JSON?)] {
        let cluster = request.services.cluster
        guard cluster.isClustered, let config = try await ClusterConfigFile.read(request.services.store) else {
            return []
        }
        let entries = cluster.board?.entries ?? [:]
        return config.nodes.keys.sorted().filter { $0 != request.services.node }.map { name in
            (name, cluster.isOnline(name) ? entries[name]?.status : nil)
        }
    }

    /// Another node's entries for `/cluster/resources`: its node, guests and storages as the
    /// caller may see them; guests of an offline node from the tree, with status `unknown`.
    static func resources(
        of name: String,
        status: JSON?,
        type: String?,
        request: APIRequest,
        poolOfVM: [Int: String]
    ) async throws -> [JSON] {
        let permissions = request.access.permissions
        let authID = request.identity.authID
        var items: [JSON] = []
        if type == nil || type == "node", permissions.check(authID, path: "/nodes/\(name)", privileges: ["Sys.Audit"]) {
            if case .object(var fields)? = status?["node"] {
                fields["status"] = "online"
                fields["ip"] = nil
                items.append(.object(fields))
            } else {
                items.append([
                    "id": .string("node/\(name)"), "type": "node", "node": .string(name), "status": "offline",
                ])
            }
        }
        if type == nil || type == "vm" {
            var guests: [[String: JSON]] = []
            if let published = status?["vms"]?.arrayValue {
                guests = published.compactMap { if case .object(let fields) = $0 { fields } else { nil } }
            } else {
                let configs = VMConfigStore(store: request.services.store, node: name)
                guests = ((try? await configs.readAllOnNode()) ?? []).map { vmid, config in
                    [
                        "vmid": .int(vmid.value), "name": .string(config.main.name ?? "VM \(vmid)"),
                        "status": "unknown",
                        "maxmem": .int(config.main.memoryMiB * 1024 * 1024), "cpus": .int(config.main.cpuCount),
                    ]
                }
            }
            for var entry in guests {
                guard let vmid = entry["vmid"]?.intValue,
                    permissions.check(authID, path: "/vms/\(vmid)", privileges: ["VM.Audit"])
                else { continue }
                entry["id"] = .string("qemu/\(vmid)")
                entry["type"] = "qemu"
                entry["node"] = .string(name)
                entry["template"] = .flag(entry["template"]?.intValue == 1)
                entry["maxcpu"] = entry["cpus"]
                entry["cpus"] = nil
                entry["qmpstatus"] = nil
                entry["pid"] = nil
                if let pool = poolOfVM[vmid] { entry["pool"] = .string(pool) }
                items.append(.object(entry))
            }
        }
        if type == nil || type == "storage" {
            for storage in status?["storages"]?.arrayValue ?? [] {
                guard let id = storage["storage"]?.stringValue, StorageEndpoints.canSee(request, id) else { continue }
                items.append(storage)
            }
        }
        return items
    }

    /// Another node's recent tasks the caller may read.
    static func tasks(of name: String, status: JSON?, request: APIRequest) -> [JSON] {
        let identity = request.identity
        let auditor = request.access.permissions.check(
            identity.authID,
            path: "/nodes/\(name)",
            privileges: ["Sys.Audit"]
        )
        return (status?["tasks"]?.arrayValue ?? []).filter { task in
            let user = task["user"]?.stringValue
            return auditor || user == identity.authID || user == identity.userID
        }
    }
}
