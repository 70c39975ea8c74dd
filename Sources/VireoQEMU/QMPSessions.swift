import QMP
import Synchronization
import VireoCore

/// The one QMP session each running VM keeps with vireod: the event monitor QEMU connects out to
/// (`-chardev socket,…,reconnect=5`), which carries the VM's events and the daemon's commands.
/// Commands reuse it instead of connecting to the VM's QMP socket each time, which stays free
/// for an operator's own client. A session goes when QEMU hangs up.
public final class QMPSessions: Sendable {
    private let sessions = Mutex<[VMID: (pid: Int, client: QMPClient)]>([:])

    public init() {}

    /// `pid` is the QEMU process on the other end: a session of an earlier process of the VM is never used.
    func attach(_ client: QMPClient, to vmid: VMID, pid: Int) {
        sessions.withLock { $0[vmid] = (pid, client) }
    }

    /// Forgets `client` when it is still the VM's session (a reconnect may have replaced it).
    func detach(_ client: QMPClient, from vmid: VMID) {
        sessions.withLock { sessions in
            if sessions[vmid]?.client === client { sessions[vmid] = nil }
        }
    }

    /// The session with QEMU process `pid` of the VM.
    func session(_ vmid: VMID, pid: Int) -> QMPClient? {
        sessions.withLock { sessions in
            guard let session = sessions[vmid], session.pid == pid else { return nil }
            return session.client
        }
    }

    /// Waits up to `limit` for QEMU process `pid` to connect its monitor (it does so as it starts).
    func awaitSession(_ vmid: VMID, pid: Int, within limit: Duration) async -> QMPClient? {
        let deadline = ContinuousClock.now + limit
        while true {
            if let client = session(vmid, pid: pid) { return client }
            guard ContinuousClock.now < deadline else { return nil }
            do { try await Task.sleep(for: .milliseconds(2)) } catch { return nil }
        }
    }

    /// VMs with a live session.
    public var count: Int { sessions.withLock { $0.count } }
}
