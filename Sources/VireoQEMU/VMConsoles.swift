import Foundation
import Synchronization
public import VireoCore

/// Console sessions as Proxmox hands them out: `vncproxy`/`termproxy` grant a port in 5900–5999
/// with a ticket, and `vncwebsocket` takes the grant, once, within ``connectWithin``. Vireo relays
/// in process to QEMU's unix sockets, so the port is only the session's key, never a listener.
public final class VMConsoles: Sendable {
    public enum Kind: Sendable, Equatable {
        /// The VGA screen over VNC.
        case vnc
        /// A serial port (`serialN: socket`), with Proxmox's termproxy framing.
        case serial(Int)
    }

    public struct Grant: Sendable, Equatable {
        public let vmid: VMID
        public let port: Int
        public let kind: Kind
        /// Who may take it (the ticket is bound to this user too).
        public let user: String
        let deadline: ContinuousClock.Instant
    }

    public enum Outcome: Sendable, Equatable {
        /// Nobody connected in time.
        case unused
        /// A client connected and the session has ended.
        case ended
    }

    public static let ports = 5900...5999
    /// As Proxmox's proxy waits for its connection (10 s) and its VNC password lives (30 s).
    public static let connectWithin: Duration = .seconds(30)
    /// What a late viewer of a serial console gets of what the guest printed before.
    public static let backlogBytes = 64 * 1024
    /// A serial log is cut back to the backlog when it grows past this.
    public static let serialLogLimit = 1024 * 1024

    private struct State {
        var pending: [Int: Grant] = [:]
        var active: Set<Int> = []
        var waiters: [Int: [CheckedContinuation<Void, Never>]] = [:]
    }
    private let state = Mutex(State())
    private let clock = ContinuousClock()

    public init() {}

    /// Reserves the lowest free port for `kind` on the VM.
    public func grant(_ kind: Kind, vmid: VMID, user: String) throws -> Grant {
        try state.withLock { state in
            let now = clock.now
            for (port, grant) in state.pending where grant.deadline < now { state.pending[port] = nil }
            guard let port = Self.ports.first(where: { state.pending[$0] == nil && !state.active.contains($0) }) else {
                throw VireoError(.unavailable, "unable to find free port (5900-5999) for the console")
            }
            let grant = Grant(vmid: vmid, port: port, kind: kind, user: user, deadline: now + Self.connectWithin)
            state.pending[port] = grant
            return grant
        }
    }

    /// Takes the grant on `port` for the VM and user: once, and only before its deadline.
    public func take(port: Int, vmid: VMID, user: String) -> Grant? {
        state.withLock { state in
            guard let grant = state.pending[port], grant.vmid == vmid, grant.user == user, grant.deadline >= clock.now
            else { return nil }
            state.pending[port] = nil
            state.active.insert(port)
            return grant
        }
    }

    /// Whether a grant on `port` for the VM and user is waiting (a GET without the upgrade).
    public func isPending(port: Int, vmid: VMID, user: String) -> Bool {
        state.withLock { state in
            guard let grant = state.pending[port] else { return false }
            return grant.vmid == vmid && grant.user == user && grant.deadline >= clock.now
        }
    }

    /// The session on `port` is over, or its grant is withdrawn before use (the port is free again).
    public func end(port: Int) {
        let waiting = state.withLock { state in
            state.pending[port] = nil
            state.active.remove(port)
            return state.waiters.removeValue(forKey: port) ?? []
        }
        for waiter in waiting { waiter.resume() }
    }

    /// Waits for the grant to be taken and its session to end, or for its deadline to pass unused
    /// (the proxy task of the grant lives as long as this).
    public func outcome(of grant: Grant) async -> Outcome {
        while true {
            let phase = state.withLock { state -> Int in
                if state.pending[grant.port] == grant {
                    if grant.deadline < clock.now {
                        state.pending[grant.port] = nil
                        return 0
                    }
                    return 1
                }
                return state.active.contains(grant.port) ? 2 : 3
            }
            switch phase {
            case 0: return .unused
            case 1: try? await Task.sleep(for: .milliseconds(100))
            case 2:
                await withCheckedContinuation { continuation in
                    let ended = state.withLock { state in
                        guard state.active.contains(grant.port) else { return true }
                        state.waiters[grant.port, default: []].append(continuation)
                        return false
                    }
                    if ended { continuation.resume() }
                }
                return .ended
            default: return .ended
            }
        }
    }

    // MARK: - Where the consoles are

    public static func vncSocket(runDirectory: String, vmid: VMID) -> String { "\(runDirectory)/\(vmid).vnc" }

    /// What QEMU logs of a serial port's output (`logfile=` of its chardev), for the backlog.
    public static func serialLog(runDirectory: String, vmid: VMID, index: Int) -> String {
        "\(runDirectory)/\(vmid).serial\(index).log"
    }

    /// The last ``backlogBytes`` of a serial log, from the start of a line where there is one.
    public static func backlog(path: String, limit: Int = backlogBytes) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        let start = size > UInt64(limit) ? size - UInt64(limit) : 0
        try? handle.seek(toOffset: start)
        var bytes = Array((try? handle.readToEnd()) ?? Data())
        if start > 0, let newline = bytes.firstIndex(of: 0x0A) { bytes.removeSubrange(...newline) }
        return bytes
    }

    /// Cuts a serial log that grew past ``serialLogLimit`` back to its backlog. QEMU appends
    /// (`logappend=on`), so its next write lands at the new end.
    public static func trimSerialLog(path: String) {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int,
            size > serialLogLimit
        else { return }
        let tail = backlog(path: path)
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        defer { try? handle.close() }
        try? handle.truncate(atOffset: 0)
        try? handle.write(contentsOf: Data(tail))
    }
}
