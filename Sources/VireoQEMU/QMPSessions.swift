import QMP
import Synchronization
import VireoCore

/// The one QMP session each running VM keeps with vireod: the event monitor QEMU connects out to
/// (`-chardev socket,…,reconnect=5`), which carries the VM's events and the daemon's commands.
/// Commands reuse it instead of connecting to the VM's QMP socket each time, which stays free
/// for an operator's own client. A session goes when QEMU hangs up.
public final class QMPSessions: Sendable {
    private let sessions = Mutex<[VMID: QMPClient]>([:])

    public init() {}

    func attach(_ client: QMPClient, to vmid: VMID) {
        sessions.withLock { $0[vmid] = client }
    }

    /// Forgets `client` when it is still the VM's session (a reconnect may have replaced it).
    func detach(_ client: QMPClient, from vmid: VMID) {
        sessions.withLock { sessions in
            if sessions[vmid] === client { sessions[vmid] = nil }
        }
    }

    func session(_ vmid: VMID) -> QMPClient? { sessions.withLock { $0[vmid] } }

    /// VMs with a live session.
    public var count: Int { sessions.withLock { $0.count } }
}
