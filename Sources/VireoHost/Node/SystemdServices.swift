import Foundation
public import VireoCore

/// The node's services (`/nodes/{node}/services`), through systemd.
///
/// Vireo lists the services a Proxmox client asks about under their Proxmox names and maps them
/// to what runs here: `pveproxy` and `pvedaemon` are vireod itself, `syslog` is the system log
/// daemon. Services that have no counterpart on a Vireo node report `unit-state: not-found`.
public struct ServiceState: Sendable, Equatable {
    public var service: String
    public var name: String
    public var description: String
    /// systemd's SubState (`running`, `dead`, …), `unknown` without systemd.
    public var state: String
    public var activeState: String
    public var unitState: String

    public var fields: [String: JSON] {
        [
            "service": .string(service), "name": .string(name), "desc": .string(description),
            "state": .string(state), "active-state": .string(activeState), "unit-state": .string(unitState),
        ]
    }
}

public enum ServiceAction: String, Sendable, CaseIterable {
    case start, stop, restart, reload
}

extension NodeHost {
    /// Proxmox's service names and the systemd unit each is on a Vireo node.
    public static let serviceUnits: [(service: String, unit: String, description: String)] = [
        ("chrony", "chrony.service", "chrony, an NTP client/server"),
        ("corosync", "corosync.service", "Corosync Cluster Engine"),
        ("cron", "cron.service", "Regular background program processing daemon"),
        ("ksmtuned", "ksmtuned.service", "Kernel Samepage Merging (KSM) Tuning Daemon"),
        ("lxcfs", "lxcfs.service", "FUSE filesystem for LXC"),
        ("postfix", "postfix.service", "Postfix Mail Transport Agent"),
        ("proxmox-firewall", "proxmox-firewall.service", "Proxmox nftables firewall"),
        ("pve-cluster", "vireod.service", "Vireo node daemon (configuration store)"),
        ("pve-firewall", "pve-firewall.service", "Proxmox VE firewall"),
        ("pve-ha-crm", "pve-ha-crm.service", "PVE Cluster HA Resource Manager Daemon"),
        ("pve-ha-lrm", "pve-ha-lrm.service", "PVE Local HA Resource Manager Daemon"),
        ("pve-lxc-syscalld", "pve-lxc-syscalld.service", "Proxmox VE LXC Syscall Daemon"),
        ("pvedaemon", "vireod.service", "Vireo node daemon (API)"),
        ("pvefw-logger", "pvefw-logger.service", "Proxmox VE firewall logger"),
        ("pveproxy", "vireod.service", "Vireo node daemon (API proxy)"),
        ("pvescheduler", "vireod.service", "Vireo node daemon (scheduler)"),
        ("pvestatd", "vireod.service", "Vireo node daemon (status)"),
        ("qmeventd", "vireod.service", "Vireo node daemon (QEMU events)"),
        ("spiceproxy", "spiceproxy.service", "PVE SPICE Proxy Server"),
        ("sshd", "ssh.service", "OpenBSD Secure Shell server"),
        ("syslog", "rsyslog.service", "System Logging Service"),
        ("systemd-journald", "systemd-journald.service", "Journal Service"),
        ("systemd-timesyncd", "systemd-timesyncd.service", "Network Time Synchronization"),
    ]

    /// systemd runs this host (it is PID 1): the check `sd_booted` makes.
    public var hasSystemd: Bool { FileManager.default.fileExists(atPath: "/run/systemd/system") }

    public func services() async throws -> [ServiceState] {
        let entries = Self.serviceUnits
        guard hasSystemd else {
            return entries.map {
                ServiceState(
                    service: $0.service,
                    name: $0.unit,
                    description: $0.description,
                    state: "unknown",
                    activeState: "unknown",
                    unitState: "unknown"
                )
            }
        }
        let units = Array(Set(entries.map(\.unit))).sorted()
        let output = try await runner.run(
            Invocation(
                "systemctl",
                ["show", "--property=Id,Description,ActiveState,SubState,UnitFileState,LoadState", "--"] + units
            )
        )
        let shown = Self.parseSystemctlShow(output.standardOutput)
        return entries.map { entry in
            let unit = shown[entry.unit] ?? [:]
            let loaded = unit["LoadState"] != "not-found"
            return ServiceState(
                service: entry.service,
                name: entry.unit,
                description: loaded ? (unit["Description"] ?? entry.description) : entry.description,
                state: unit["SubState"] ?? "unknown",
                activeState: unit["ActiveState"] ?? "unknown",
                unitState: loaded ? (unit["UnitFileState"].flatMap { $0.isEmpty ? nil : $0 } ?? "static") : "not-found"
            )
        }
    }

    public func service(_ name: String) async throws -> ServiceState {
        guard let state = try await services().first(where: { $0.service == name }) else {
            throw VireoError.notFound("no such service '\(name)'")
        }
        return state
    }

    /// Why `action` cannot be done to `state`'s service, thrown; Vireo's own daemon is not
    /// controlled through its API (stopping it would cut the call that asks).
    public func checkControl(_ state: ServiceState, _ action: ServiceAction) throws {
        let name = state.service
        guard state.name != "vireod.service" else {
            throw VireoError.invalid(
                "service '\(name)' is vireod itself; manage it on the host (systemctl \(action.rawValue) vireod)"
            )
        }
        guard hasSystemd else {
            throw VireoError(
                .unavailable,
                "cannot \(action.rawValue) service '\(name)': systemd does not run this host"
            )
        }
        guard state.unitState != "not-found" else {
            throw VireoError.invalid("cannot \(action.rawValue) service '\(name)': unit \(state.name) is not installed")
        }
    }

    /// Starts, stops, restarts or reloads a service with systemctl.
    public func control(_ name: String, _ action: ServiceAction) async throws {
        let state = try await service(name)
        try checkControl(state, action)
        let verb = action == .reload ? "try-reload-or-restart" : action.rawValue
        _ = try await runner.run(Invocation("systemctl", [verb, state.name], timeout: .seconds(120)))
    }

    /// `systemctl show` output of several units: blocks separated by blank lines, `Key=Value`.
    static func parseSystemctlShow(_ text: String) -> [String: [String: String]] {
        var units: [String: [String: String]] = [:]
        for block in text.components(separatedBy: "\n\n") {
            var properties: [String: String] = [:]
            for line in block.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                properties[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
            if let id = properties["Id"] { units[id] = properties }
        }
        return units
    }
}
