import Foundation
import Glibc
public import Logging
import QMP
import Synchronization
import VireoCore
import VireoHost

/// Proxmox's qmeventd in vireod: every QEMU connects its event monitor to a socket here
/// (`-chardev socket,…,reconnect=5`), also again after vireod restarts.
///
/// A guest that powers itself off leaves QEMU alive in state `shutdown` (`-no-shutdown` keeps it
/// for an API shutdown to see); the watcher ends such a QEMU and cleans up, as Proxmox does.
/// I/O errors of disks are logged, naming the VM: a storage failure must not look like a hang.
public final class VMEventWatcher: Sendable {
    let runtime: VMRuntime
    let logger: Logger
    let path: String
    private let listener = Mutex<Int32>(-1)
    /// One task per connected VM, ended by `stop()` with the daemon's service group.
    private let watches = Mutex<(next: Int, tasks: [Int: Task<Void, Never>])>((0, [:]))

    public init(runtime: VMRuntime, logger: Logger) {
        self.runtime = runtime
        self.logger = logger
        path = QEMUCommandBuilder.eventSocket(runDirectory: runtime.manager.runDirectory)
    }

    /// Binds the socket and accepts connections on a thread of its own until `stop()`.
    public func start() throws {
        try FileManager.default.createDirectory(
            atPath: runtime.manager.runDirectory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw POSIXError(.ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        listener.withLock { $0 = fd }
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.name = "qmeventd"
        thread.start()
    }

    public func stop() {
        let fd = listener.withLock { fd in
            defer { fd = -1 }
            return fd
        }
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
        for task in watches.withLock({ Array($0.tasks.values) }) { task.cancel() }
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return  // closed by stop()
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            guard let pid = Self.peerPID(client), let vmid = runtime.manager.vmid(ofPID: pid) else {
                logger.debug("event monitor connection from an unknown process (\(Self.peerPID(client) ?? -1))")
                close(client)
                continue
            }
            do {
                let transport = try UnixSocketQMPTransport.adopt(socket: client, path: path)
                watches.withLock { watches in
                    watches.next += 1
                    let id = watches.next
                    watches.tasks[id] = Task {
                        await self.watch(vmid, pid: pid, transport: transport)
                        self.watches.withLock { _ = $0.tasks.removeValue(forKey: id) }
                    }
                }
            } catch {
                logger.warning("event monitor of VM \(vmid) failed: \(error)")
            }
        }
    }

    private static func peerPID(_ fd: Int32) -> Int? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: Glibc's module hides it (needs _GNU_SOURCE).
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        return Int(credentials.pid)
    }

    private func watch(_ vmid: VMID, pid: Int, transport: UnixSocketQMPTransport) async {
        let client = QMPClient(transport: transport)
        do {
            try await client.connect(timeout: .seconds(10))
            logger.debug("event monitor of VM \(vmid) connected")
            runtime.manager.sessions.attach(client, to: vmid, pid: pid)
            // It may have powered off while vireod was away.
            if try await client.queryStatus().status == .shutdown { await guestPoweredOff(vmid, pid: pid) }
            for await event in client.events {
                if let recorded = Self.historyEvent(event, vmid: vmid) { runtime.manager.events?.record(recorded) }
                switch event.name {
                case QMPEvent.Name.shutdown where event.data["guest"]?.boolValue == true:
                    logger.info("VM \(vmid) was powered off by its guest")
                    await guestPoweredOff(vmid, pid: pid)
                case QMPEvent.Name.blockIOError:
                    let device = event.data["device"]?.stringValue ?? "?"
                    let reason = event.data["reason"]?.stringValue ?? event.data["action"]?.stringValue ?? ""
                    logger.warning("VM \(vmid): I/O error on \(device) \(reason)")
                default:
                    break
                }
            }
        } catch {
            logger.debug("event monitor of VM \(vmid) ended: \(error)")
        }
        runtime.manager.sessions.detach(client, from: vmid)
        await client.close()
        if !Task.isCancelled { await monitorClosed(vmid, pid: pid) }
    }

    /// The monitor closes when QEMU ends: record how it ended (reaped here when vireod started it:
    /// the daemon is the subreaper of the QEMUs it daemonizes) and whether Vireo ended it.
    private func monitorClosed(_ vmid: VMID, pid: Int) async {
        // The socket closes as QEMU exits, a moment before it is a zombie to reap.
        var exit: ProcessExit?
        var gone = false
        for _ in 0..<50 {
            exit = ProcessExit.reap(pid)
            gone = exit != nil || ProcessStat(pid: pid) == nil
            if gone { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        // Still a zombie: another vireod started it (init reaps it); else QEMU lives on and only its
        // monitor connection broke.
        if !gone, ProcessStat(pid: pid).map({ $0.state != "Z" && $0.state != "X" }) ?? false { return }
        let expected = runtime.manager.endingPIDs.withLock { $0.remove(pid) != nil }
        var details: [String: JSON] = ["pid": .int(pid), "expected": .flag(expected)]
        let how: String
        switch exit {
        case .exited(let status)?:
            details["status"] = .int(Int(status))
            how = "exited with status \(status)"
        case .signaled(let signal)?:
            details["signal"] = .int(Int(signal))
            how = "was killed by signal \(signal) (\(ProcessExit.signalName(signal)))"
        case nil:
            how = "ended (exit status unknown: started by an earlier vireod)"
        }
        let message = "QEMU (PID \(pid)) \(how)" + (expected ? "" : " - not stopped by Vireo")
        if !expected { logger.warning("VM \(vmid): \(message)") }
        runtime.manager.events?.record(
            HistoryEvent(
                kind: .exit,
                vmid: vmid,
                name: "exited",
                message: message,
                fault: expected ? nil : Fault(.vmProcess),
                details: details
            )
        )
    }

    /// The events the diagnosis needs, as history entries; nil for the chatter (jobs, devices).
    static func historyEvent(_ event: QMPEvent, vmid: VMID) -> HistoryEvent? {
        let time = event.timestamp > 0 ? event.timestamp : Date().timeIntervalSince1970
        var details: [String: JSON] = [:]
        if case .object(let fields) = event.data {
            for (key, value) in fields {
                switch value {
                case .string(let text): details[key] = .string(text)
                case .bool(let flag): details[key] = .bool(flag)
                case .int(let number): details[key] = .int(number)
                case .double(let number): details[key] = .double(number)
                default: break
                }
            }
        }
        let message: String
        var fault: Fault?
        switch event.name {
        case QMPEvent.Name.blockIOError:
            let device =
                event.data["device"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
                ?? event.data["node-name"]?.stringValue ?? "?"
            let operation = event.data["operation"]?.stringValue ?? "I/O"
            let noSpace = event.data["nospace"]?.boolValue == true
            let reason = event.data["reason"]?.stringValue ?? (noSpace ? "No space left on device" : "I/O error")
            let action = event.data["action"]?.stringValue ?? "report"
            message = "\(operation) error on \(device): \(reason) (action: \(action))"
            fault = Fault(noSpace ? .storageBackend : .physicalDisk)
        case QMPEvent.Name.stop: message = "VM paused"
        case QMPEvent.Name.resume: message = "VM resumed"
        case QMPEvent.Name.shutdown:
            let guest = event.data["guest"]?.boolValue == true
            message = "shutdown (\(event.data["reason"]?.stringValue ?? (guest ? "guest" : "host")))"
        case QMPEvent.Name.reset:
            message =
                "reset (\(event.data["reason"]?.stringValue ?? (event.data["guest"]?.boolValue == true ? "guest" : "host")))"
        case QMPEvent.Name.guestPanicked:
            message = "guest panicked (\(event.data["action"]?.stringValue ?? "pause"))"
            fault = Fault(.vmProcess)
        case QMPEvent.Name.powerdown: message = "power button pressed"
        default: return nil
        }
        return HistoryEvent(
            time: time,
            kind: .qemu,
            vmid: vmid,
            name: event.name,
            message: message,
            fault: fault,
            details: details
        )
    }

    /// Ends a QEMU whose guest is off. Under the VM's lock: an API shutdown in progress finishes first.
    private func guestPoweredOff(_ vmid: VMID, pid: Int) async {
        let runtime = self.runtime
        runtime.manager.endingPIDs.withLock { _ = $0.insert(pid) }
        do {
            try await runtime.manager.configs.withLock(vmid) {
                guard runtime.manager.runningPID(vmid) != nil, await runtime.qmpStatus(vmid) == "shutdown" else {
                    return
                }
                try await runtime.stop(vmid) { [logger] line in logger.debug("\(line)") }
            }
        } catch {
            logger.debug("VM \(vmid): ending QEMU after guest power-off: \(error)")
        }
    }
}

extension VMManager {
    /// The VMID whose pidfile this process was started with.
    func vmid(ofPID pid: Int) -> VMID? {
        guard let file = Self.pidFileArgument(of: pid), file.hasPrefix(runDirectory + "/"), file.hasSuffix(".pid")
        else { return nil }
        return VMID(String(file.dropFirst(runDirectory.count + 1).dropLast(4)))
    }
}
