import Foundation
import VireoAccess
import VireoCore
import VireoQEMU
import VireoTasks

/// A VM's consoles as Proxmox hands them out: `vncproxy` (the screen) and `termproxy` (a serial
/// port) grant a port with a ticket bound to the user, the VM and the port; `vncwebsocket` checks
/// it and relays the upgraded connection to QEMU's unix socket, in process.
enum ConsoleEndpoints {
    static func register(in registry: inout APIRegistry) {
        registry.register(.post, "/nodes/{node}/qemu/{vmid}/vncproxy", handles: ["websocket", "generate-password"]) {
            request in
            let vmid = try request.parameters.vmid()
            let config = try await runningConfig(vmid, request)
            if let vga = config["vga"]?.split(separator: ",").first, vga == "none" || vga.hasPrefix("serial") {
                throw VireoError(
                    .invalidArgument,
                    "VM \(vmid) has no graphical display (vga: \(vga)): open its serial console (termproxy)"
                )
            }
            let user = request.identity.authID
            let grant = try request.services.vms.consoles.grant(.vnc, vmid: vmid, user: user)
            // A fresh password per connection, refused by QEMU once the grant's time is over.
            let password = ConsolePassword.make()
            do {
                try await QEMUEndpoints.runtime(request).setVNCPassword(vmid, password, validFor: 30)
            } catch {
                request.services.vms.consoles.end(port: grant.port)
                throw error
            }
            let ticket = try request.services.access.tickets.issueVNCTicket(
                authID: user,
                path: "/vms/\(vmid)",
                port: grant.port
            )
            return .init([
                "user": .string(user),
                // As Proxmox: the ticket starts with the password, for clients that pass the
                // ticket as the VNC password (VNC reads its first 8 bytes).
                "ticket": .string(password + ":" + ticket),
                "password": .string(password),
                "port": .int(grant.port),
                "cert": "",
                "upid": .string(try proxyTask(grant, request)),
            ])
        }
        registry.register(.post, "/nodes/{node}/qemu/{vmid}/termproxy", handles: ["serial"]) { request in
            let vmid = try request.parameters.vmid()
            let config = try await runningConfig(vmid, request)
            let index: Int
            if let serial = request.parameters["serial"] {
                index = Int(serial.dropFirst("serial".count)) ?? 0
                guard config[serial] == "socket" else {
                    throw VireoError.parameter(
                        "serial",
                        "VM \(vmid) has no '\(serial): socket' to open (qm set \(vmid) --\(serial) socket)"
                    )
                }
            } else if let first = (0...3).first(where: { config["serial\($0)"] == "socket" }) {
                index = first
            } else {
                throw VireoError(
                    .invalidArgument,
                    "VM \(vmid) has no serial console: add one with 'qm set \(vmid) --serial0 socket' and restart it"
                )
            }
            let user = request.identity.authID
            let grant = try request.services.vms.consoles.grant(.serial(index), vmid: vmid, user: user)
            let ticket = try request.services.access.tickets.issueVNCTicket(
                authID: user,
                path: "/vms/\(vmid)",
                port: grant.port
            )
            return .init([
                "user": .string(user), "ticket": .string(ticket), "port": .int(grant.port),
                "upid": .string(try proxyTask(grant, request)),
            ])
        }
        registry.register(.get, "/nodes/{node}/qemu/{vmid}/vncwebsocket", handles: ["port", "vncticket"]) {
            request in
            let vmid = try request.parameters.vmid()
            let port = request.parameters.int("port") ?? 0
            let user = request.identity.authID
            let services = request.services
            guard
                services.access.tickets.verifyVNCTicket(
                    ConsolePassword.ticket(in: try request.parameters.require("vncticket")),
                    authID: user,
                    path: "/vms/\(vmid)",
                    port: port
                )
            else { throw APIFailure(status: 403, message: "Permission check failed (invalid vncticket)") }
            guard services.vms.consoles.isPending(port: port, vmid: vmid, user: user) else {
                throw APIFailure(
                    status: 403,
                    message: "Permission check failed (the console on port \(port) was used already or has expired)"
                )
            }
            var result = APIResult(["port": .string(String(port))])
            result.webSocket = ConsoleRelay(
                consoles: services.vms.consoles,
                vmid: vmid,
                port: port,
                user: user,
                runDirectory: services.vms.runDirectory,
                verifyTermproxyLine: { line in
                    // `user:ticket`, checked again as Proxmox's termproxy does (and the user
                    // must still hold VM.Console).
                    guard let colon = line.firstIndex(of: ":") else { return false }
                    let (lineUser, ticket) = (String(line[..<colon]), String(line[line.index(after: colon)...]))
                    guard lineUser == user,
                        services.access.tickets.verifyVNCTicket(
                            ConsolePassword.ticket(in: ticket),
                            authID: user,
                            path: "/vms/\(vmid)",
                            port: port
                        ),
                        let snapshot = try? await services.access.snapshot()
                    else { return false }
                    return snapshot.permissions.check(user, path: "/vms/\(vmid)", privileges: ["VM.Console"])
                },
                logger: services.logger
            )
            return result
        }
    }

    /// The VM's config, when it runs (a console of a stopped VM has nothing to show).
    private static func runningConfig(_ vmid: VMID, _ request: APIRequest) async throws -> VMConfig.Section {
        let config = try await request.services.vms.configs.read(vmid).config
        guard request.services.vms.runningPID(vmid) != nil else {
            throw VireoError(.conflict, "VM \(vmid) not running")
        }
        return config.main
    }

    /// The proxy's task, as Proxmox's: it lasts as long as the console session, and fails when
    /// nobody connected in time.
    private static func proxyTask(_ grant: VMConsoles.Grant, _ request: APIRequest) throws -> String {
        let consoles = request.services.vms.consoles
        let what = grant.kind == .vnc ? "VNC" : "serial console"
        return try request.services.tasks.start(type: "vncproxy", id: String(grant.vmid), user: grant.user) { log in
            log.append("\(what) of VM \(grant.vmid) on port \(grant.port): waiting for the connection")
            switch await consoles.outcome(of: grant) {
            case .unused: throw VireoError(.unavailable, "connection timed out")
            case .ended: log.append("connection closed")
            }
        }.description
    }
}

/// One-time VNC passwords, and the ticket in what clients send back.
enum ConsolePassword {
    /// 8 characters (VNC authentication reads 8): letters, digits and a few signs, never `:`, which
    /// separates the password from the ticket.
    static func make() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789+-_.!#%")
        var generator = SystemRandomNumberGenerator()
        return String((0..<8).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// The `PVEVNC:` ticket in `password:PVEVNC:…` (or the ticket itself).
    static func ticket(in text: String) -> String {
        guard let start = text.range(of: "PVEVNC:") else { return text }
        return String(text[start.lowerBound...])
    }
}
