import Foundation
public import QMP
public import VireoCore
import VireoStore

/// Calls into a VM's QEMU guest agent, with Proxmox's checks and errors: the VM must have an
/// `agent` setting, run, and have an agent that answers a ping within 3 s.
public struct VMGuestAgent: Sendable {
    public let manager: VMManager

    public init(manager: VMManager) { self.manager = manager }

    /// How long a command may take: freezing waits for every file system to flush.
    public static func timeout(for command: String) -> Duration {
        switch command {
        case "guest-fsfreeze-freeze": .seconds(3600)
        case "guest-fsfreeze-thaw": .seconds(180)
        case "guest-fstrim", "guest-shutdown": .seconds(600)
        default: .seconds(5)
        }
    }

    /// Commands after which the agent goes away without answering.
    static let noReply: Set<String> = [
        "guest-shutdown", "guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid",
    ]

    func socketPath(_ vmid: VMID) -> String { "\(manager.runDirectory)/\(vmid).qga" }

    /// Runs `command` (`guest-…`) and returns its result.
    public func call(_ vmid: VMID, _ command: String, arguments: [String: QMPValue]? = nil) async throws -> QMPValue {
        let (config, _) = try await manager.configs.read(vmid)
        guard config.main["agent"] != nil else { throw VireoError.invalid("No QEMU guest agent configured") }
        return try await callRunning(vmid, command, arguments: arguments)
    }

    /// Whether the agent answers a ping within 3 s (for shutdown's choice of method).
    public func responds(_ vmid: VMID) async -> Bool {
        (try? await callRunning(vmid, "guest-ping", arguments: nil, skipPing: true, timeout: .seconds(3))) != nil
    }

    func callRunning(
        _ vmid: VMID,
        _ command: String,
        arguments: [String: QMPValue]?,
        skipPing: Bool = false,
        timeout: Duration? = nil
    ) async throws -> QMPValue {
        guard manager.runningPID(vmid) != nil else { throw VireoError.conflict("VM \(vmid) is not running") }
        return try await manager.agentLocks.withLock("\(vmid)", timeout: .seconds(30)) {
            let client: GuestAgentClient
            do {
                client = try await GuestAgentClient.connect(path: socketPath(vmid), timeout: .seconds(3))
            } catch {
                throw VireoError(.unavailable, "QEMU guest agent is not running").at(.vmProcess)
            }
            do {
                if !skipPing {
                    do {
                        _ = try await client.execute("guest-ping", timeout: .seconds(3))
                    } catch {
                        await client.close()
                        throw VireoError(.unavailable, "QEMU guest agent is not running").at(.vmProcess)
                    }
                }
                if Self.noReply.contains(command) {
                    // The agent answers these only when they fail: a short wait for an error, and
                    // silence (or a hang-up) means the guest is on its way down.
                    do {
                        _ = try await client.execute(
                            command,
                            arguments: arguments,
                            timeout: .seconds(2),
                            expectsNoReply: true
                        )
                    } catch QMPError.timeout {}
                    await client.close()
                    return .null
                }
                let value = try await client.execute(
                    command,
                    arguments: arguments,
                    timeout: timeout ?? Self.timeout(for: command)
                )
                await client.close()
                return value
            } catch let error as QMPError {
                await client.close()
                switch error {
                case .commandFailed(_, let description): throw VireoError.invalid("Agent error: \(description)")
                case .timeout:
                    throw VireoError(.timeout, "VM \(vmid) qmp command '\(command)' failed - got timeout").at(
                        .vmProcess
                    )
                default:
                    throw VireoError(.unavailable, "VM \(vmid) qmp command '\(command)' failed - \(error)").at(
                        .vmProcess
                    )
                }
            }
        }
    }
}
