import Foundation
import VireoAccess
import VireoCore
import VireoHost
import VireoQEMU
import VireoStore

/// Backup coverage, replication, realm-sync jobs and schedule analysis.
extension ClusterEndpoints {
    static let jobsPath = "jobs.cfg"

    static func registerJobs(in registry: inout APIRegistry) {
        registry.registerIndex("/cluster/backup-info")
        registry.register(.get, "/cluster/backup-info/not-backed-up", handles: []) { request in
            // Vireo has no backup jobs yet, so no guest is covered by one.
            let (loaded, _) = try await request.services.vms.configs.loadAllOnNode()
            return .init(
                .array(
                    loaded.sorted { $0.vmid < $1.vmid }.map { entry in
                        var fields: [String: JSON] = ["vmid": .int(entry.vmid.value), "type": "qemu"]
                        if let name = entry.config.main["name"] { fields["name"] = .string(name) }
                        return .object(fields)
                    }
                )
            )
        }
        registerReplication(in: &registry)
        registry.registerIndex("/cluster/jobs")
        registry.register(.get, "/cluster/jobs/schedule-analyze", handles: ["schedule", "starttime", "iterations"]) {
            request in
            let p = request.parameters
            let event = try calendarEvent(p, "schedule")
            var time = Date(timeIntervalSince1970: Double(p.int("starttime") ?? Int(Date().timeIntervalSince1970)))
            let zone = TimeZone(identifier: request.services.host.timezone()) ?? .gmt
            var rows: [JSON] = []
            for _ in 0..<min(max(p.int("iterations") ?? 10, 1), 100) {
                guard let next = event.next(after: time, in: zone) else { break }
                rows.append(["timestamp": .int(Int(next.timeIntervalSince1970)), "utc": .string(utcText(next))])
                time = next
            }
            return .init(.array(rows))
        }
        registerRealmSync(in: &registry)
    }

    /// Parameter `name` as a calendar event; a bad one is an error naming the parameter.
    static func calendarEvent(_ p: Parameters, _ name: String) throws -> CalendarEvent {
        do { return try CalendarEvent(parsing: try p.require(name)) } catch let error as VireoError
            where error.parameterErrors.isEmpty
        {
            throw VireoError.parameter(name, error.message)
        }
    }

    static func utcText(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        return "\(c.year ?? 1970)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute)):\(two(c.second))"
    }

    // MARK: - replication

    /// Replication sends ZFS snapshots of a guest's disks to another node; a single Vireo node
    /// without ZFS has nowhere to send them, so the lists are empty and creating a job is refused
    /// with that reason.
    static let replicationUnavailable =
        "Vireo cannot replicate guests yet: storage replication needs ZFS volumes and a second cluster node"

    static func replicationJob(_ request: APIRequest) throws -> Never {
        let id = try request.parameters.require("id")
        guard id.range(of: #"^[1-9][0-9]{2,8}-[0-9]{1,9}$"#, options: .regularExpression) != nil else {
            throw VireoError.parameter("id", "invalid replication job ID '\(id)'")
        }
        throw VireoError.notFound("replication job '\(id)' does not exist")
    }

    static func registerReplication(in registry: inout APIRegistry) {
        registry.register(.get, "/cluster/replication", handles: []) { _ in .init([]) }
        registry.register(.post, "/cluster/replication", handles: .all) { request in
            // The job is checked as Proxmox would, then refused with the reason.
            if request.parameters.has("schedule") { _ = try calendarEvent(request.parameters, "schedule") }
            throw VireoError.invalid(replicationUnavailable)
        }
        registry.register(.get, "/cluster/replication/{id}", handles: []) { request in try replicationJob(request) }
        registry.register(.put, "/cluster/replication/{id}", handles: .all) { request in try replicationJob(request) }
        registry.register(.delete, "/cluster/replication/{id}", handles: ["force", "keep"]) { request in
            try replicationJob(request)
        }
        registry.register(.get, "/nodes/{node}/replication", handles: ["guest"]) { _ in .init([]) }
        registry.register(.get, "/nodes/{node}/replication/{id}", handles: []) { request in try replicationJob(request)
        }
        registry.register(.get, "/nodes/{node}/replication/{id}/status", handles: []) { request in
            try replicationJob(request)
        }
        registry.register(.get, "/nodes/{node}/replication/{id}/log", handles: ["start", "limit"]) { request in
            try replicationJob(request)
        }
        registry.register(.post, "/nodes/{node}/replication/{id}/schedule_now", handles: []) { request in
            try replicationJob(request)
        }
    }

    // MARK: - realm-sync jobs (`jobs.cfg`)

    static let realmSyncOptions = ["schedule", "realm", "scope", "enabled", "comment", "remove-vanished", "enable-new"]

    static func realmSyncJSON(_ section: SectionConfig.Section, zone: TimeZone) -> JSON {
        var fields: [String: JSON] = ["id": .string(section.id)]
        for option in section.options {
            let value = option.value ?? "1"
            fields[option.key] = ["enabled", "enable-new"].contains(option.key) ? .flag(value == "1") : .string(value)
        }
        if fields["enabled"] == nil { fields["enabled"] = 1 }
        if fields["enabled"] == 1, let schedule = section["schedule"],
            let event = try? CalendarEvent(parsing: schedule),
            let next = event.next(after: Date(), in: zone)
        {
            fields["next-run"] = .int(Int(next.timeIntervalSince1970))
        }
        return .object(fields)
    }

    static func registerRealmSync(in registry: inout APIRegistry) {
        let base = "/cluster/jobs/realm-sync"
        registry.register(.get, base, handles: []) { request in
            let config = try SectionConfig(parsing: try await request.services.store.read(jobsPath)?.content ?? "")
            let zone = TimeZone(identifier: request.services.host.timezone()) ?? .gmt
            return .init(
                .array(config.sections.filter { $0.type == "realm-sync" }.map { realmSyncJSON($0, zone: zone) })
            )
        }
        registry.register(.get, base + "/{id}", handles: []) { request in
            let id = try request.parameters.require("id")
            let config = try SectionConfig(parsing: try await request.services.store.read(jobsPath)?.content ?? "")
            guard let section = config[id], section.type == "realm-sync" else {
                throw VireoError.notFound("job '\(id)' does not exist")
            }
            return .init(realmSyncJSON(section, zone: TimeZone(identifier: request.services.host.timezone()) ?? .gmt))
        }
        registry.register(.post, base + "/{id}", handles: .all) { request in
            let p = request.parameters
            let id = try p.require("id")
            let realm = try p.require("realm")
            try await checkSyncableRealm(request, realm)
            let options = try realmSyncValues(p)
            try await request.services.store.update(jobsPath) { text in
                var config = try SectionConfig(parsing: text ?? "")
                guard config[id] == nil else { throw VireoError.conflict("job '\(id)' already exists") }
                config.set(try SectionConfig.Section(type: "realm-sync", id: id, options: options))
                return config.description
            }
            return .null
        }
        registry.register(.put, base + "/{id}", handles: .all) { request in
            let p = request.parameters
            let id = try p.require("id")
            let deletions = p.list("delete")
            for key in deletions where !["comment", "scope", "remove-vanished", "enable-new", "enabled"].contains(key) {
                throw VireoError.parameter("delete", "cannot delete option '\(key)'")
            }
            let options = try realmSyncValues(p)
            try await request.services.store.update(jobsPath, digest: p["digest"]) { text in
                var config = try SectionConfig(parsing: text ?? "")
                guard var section = config[id], section.type == "realm-sync" else {
                    throw VireoError.notFound("job '\(id)' does not exist")
                }
                for key in deletions { _ = section.remove(key) }
                for option in options { try section.set(option.key, option.value) }
                config.set(section)
                return config.description
            }
            return .null
        }
        registry.register(.delete, base + "/{id}", handles: []) { request in
            let id = try request.parameters.require("id")
            try await request.services.store.update(jobsPath) { text in
                var config = try SectionConfig(parsing: text ?? "")
                guard config[id]?.type == "realm-sync" else { throw VireoError.notFound("job '\(id)' does not exist") }
                _ = config.remove(id: id)
                return config.description
            }
            return .null
        }
    }

    static func realmSyncValues(_ p: Parameters) throws -> [SectionConfig.Option] {
        var options: [SectionConfig.Option] = []
        for key in realmSyncOptions {
            guard let value = p[key] else { continue }
            if key == "schedule" { _ = try calendarEvent(p, key) }
            if key == "remove-vanished", value != "none" {
                for item in value.split(separator: ";") where !["acl", "entry", "properties"].contains(String(item)) {
                    throw VireoError.parameter(key, "invalid value '\(item)' (acl, entry, properties or none)")
                }
            }
            guard !value.contains(where: \.isNewline) else { throw VireoError.parameter(key, "must be one line") }
            options.append(.init(key, value))
        }
        return options
    }

    /// Only directory realms (LDAP, Active Directory, OpenID) can be synced.
    static func checkSyncableRealm(_ request: APIRequest, _ realm: String) async throws {
        let domains = try SectionConfig(parsing: try await request.services.store.read("domains.cfg")?.content ?? "")
        let type = domains[realm]?.type ?? (realm == "pam" ? "pam" : realm == "pve" ? "pve" : nil)
        guard let type else { throw VireoError.parameter("realm", "realm '\(realm)' does not exist") }
        guard ["ldap", "ad", "openid"].contains(type) else {
            throw VireoError.parameter("realm", "realm '\(realm)' (type \(type)) has no directory to sync from")
        }
    }
}
