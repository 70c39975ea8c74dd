import QMP
import Synchronization
import VireoCore

/// The one QMP session each running VM keeps with vireod: the event monitor QEMU connects out to
/// (`-chardev socket,…,reconnect=5`), which carries the VM's events and the daemon's commands.
/// Commands reuse it instead of connecting to the VM's QMP socket each time, which stays free
/// for an operator's own client. A session goes when QEMU hangs up.
public final class QMPSessions: Sendable {
    private struct Waiter {
        let id: Int
        let pid: Int
        let continuation: CheckedContinuation<QMPClient?, Never>
    }
    private struct State {
        var sessions: [VMID: (pid: Int, client: QMPClient)] = [:]
        var waiters: [VMID: [Waiter]] = [:]
        var nextWaiter = 0
        /// Waiters whose time ran out before they were queued.
        var expired: Set<Int> = []
    }
    private let state = Mutex(State())

    public init() {}

    /// `pid` is the QEMU process on the other end: a session of an earlier process of the VM is never used.
    func attach(_ client: QMPClient, to vmid: VMID, pid: Int) {
        let ready = state.withLock { state -> [Waiter] in
            state.sessions[vmid] = (pid, client)
            let waiting = state.waiters[vmid] ?? []
            let (matching, others) = (waiting.filter { $0.pid == pid }, waiting.filter { $0.pid != pid })
            state.waiters[vmid] = others.isEmpty ? nil : others
            return matching
        }
        for waiter in ready { waiter.continuation.resume(returning: client) }
    }

    /// Forgets `client` when it is still the VM's session (a reconnect may have replaced it).
    func detach(_ client: QMPClient, from vmid: VMID) {
        state.withLock { state in
            if state.sessions[vmid]?.client === client { state.sessions[vmid] = nil }
        }
    }

    /// The session with QEMU process `pid` of the VM.
    func session(_ vmid: VMID, pid: Int) -> QMPClient? {
        state.withLock { state in
            guard let session = state.sessions[vmid], session.pid == pid else { return nil }
            return session.client
        }
    }

    /// Waits up to `limit` for QEMU process `pid` to connect its monitor (it does so as it starts);
    /// woken by the connection, not by polling (a boot storm waits for dozens at once).
    func awaitSession(_ vmid: VMID, pid: Int, within limit: Duration) async -> QMPClient? {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timer = Task {
            try await Task.sleep(for: limit)
            self.expire(vmid, id: id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let found = state.withLock { state -> QMPClient?? in
                if let session = state.sessions[vmid], session.pid == pid { return .some(session.client) }
                if state.expired.remove(id) != nil { return .some(nil) }
                state.waiters[vmid, default: []].append(Waiter(id: id, pid: pid, continuation: continuation))
                return .none
            }
            if case .some(let client) = found { continuation.resume(returning: client) }
        }
    }

    private func expire(_ vmid: VMID, id: Int) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters[vmid]?.firstIndex(where: { $0.id == id }) else {
                state.expired.insert(id)  // not queued yet: it gives up when it is
                return nil
            }
            let waiter = state.waiters[vmid]?.remove(at: index)
            if state.waiters[vmid]?.isEmpty == true { state.waiters[vmid] = nil }
            return waiter
        }
        waiter?.continuation.resume(returning: nil)
    }
}
