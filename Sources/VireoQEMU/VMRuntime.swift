import Foundation
public import QMP
import Synchronization
public import VireoCore
public import VireoHost
import VireoStorage

/// Starts and controls QEMU processes. A VM's process is detached (`-daemonize`: own session,
/// reparented to init), so the daemon can die and restart without touching it; everything the
/// runtime knows about a VM comes from its pidfile, `/proc` and its QMP socket, never from memory.
public struct VMRuntime: Sendable {
    public let manager: VMManager
    let runner: any CommandRunner

    public init(manager: VMManager, runner: any CommandRunner) {
        self.manager = manager
        self.runner = runner
    }

    var runDirectory: String { manager.runDirectory }

    public var plumbing: VMNetworkPlumbing {
        VMNetworkPlumbing(network: HostNetwork(namespace: manager.namespace, runner: runner))
    }

    /// A line for the task log.
    public typealias Log = @Sendable (String) -> Void

    // MARK: - Start

    /// Builds the command line, launches QEMU and waits until QMP answers. Returns the PID.
    /// Pending changes are applied first. With `incomingState` QEMU loads a saved state (snapshot
    /// rollback) instead of booting. Runs under the VM's lock.
    ///
    /// `loaded` is the config the caller already read (the API reads it once per request): it is
    /// used as is when the store still holds that version, and read again only when it changed.
    @discardableResult
    public func start(
        _ vmid: VMID,
        loaded: LoadedVMConfig? = nil,
        skipLock: Bool = false,
        incomingState: String? = nil,
        log: Log
    ) async throws -> Int {
        try await manager.configs.withLock(vmid) {
            try await startLocked(vmid, loaded: loaded, skipLock: skipLock, incomingState: incomingState, log: log)
        }
    }

    private func startLocked(
        _ vmid: VMID,
        loaded: LoadedVMConfig?,
        skipLock: Bool,
        incomingState: String?,
        log: Log
    ) async throws -> Int {
        if manager.runningPID(vmid) != nil { throw VireoError.conflict("VM \(vmid) already running") }
        var current: LoadedVMConfig
        if let loaded { current = loaded } else { current = try await manager.configs.load(vmid) }
        var config = current.config
        while true {
            if config.main.isTemplate { throw VireoError.conflict("you can't start a vm if it's a template") }
            if !skipLock, let lock = config.main.lock { throw VireoError.conflict("VM is locked (\(lock))") }
            let changed = try config.applyPending()
            // The cloud-init ISO is made anew at every start, from the config the VM starts with.
            if incomingState == nil {
                try await VMCloudInit(manager: manager, runner: runner).regenerate(
                    vmid: vmid,
                    config: &config,
                    log: log
                )
            }
            if try await manager.configs.commit(config, over: current) {
                if !changed.isEmpty { log("applying pending changes: \(changed.joined(separator: ", "))") }
                break
            }
            // Changed since the caller read it: judge the config as it is now.
            current = try await manager.configs.load(vmid)
            config = current.config
        }
        var argv = try manager.commandLine(
            vmid: vmid,
            config: config.main,
            definitions: try await manager.storage.definitions()
        )
        if let incomingState { argv += ["-incoming", "exec:cat \(Self.shellQuoted(incomingState))"] }
        try FileManager.default.createDirectory(
            atPath: runDirectory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        for stale in [
            QEMUCommandBuilder.qmpSocket(runDirectory: runDirectory, vmid: vmid),
            QEMUCommandBuilder.pidFile(runDirectory: runDirectory, vmid: vmid),
        ] {
            try? FileManager.default.removeItem(atPath: stale)
        }
        // A serial port's log is of this boot only (it outlives a stop, for what the guest said last).
        for index in 0...3 {
            try? FileManager.default.removeItem(
                atPath: QEMUCommandBuilder.serialSocket(runDirectory: runDirectory, vmid: vmid, index: index)
            )
            try? FileManager.default.removeItem(
                atPath: VMConsoles.serialLog(runDirectory: runDirectory, vmid: vmid, index: index)
            )
        }
        try await plumbing.plug(vmid: vmid, config: config.main, log: log)
        log("start VM \(vmid): \(argv.count) arguments")
        do {
            // With -daemonize the launcher exits once the VM is set up; the VM itself lives on detached.
            let launch = Invocation(argv[0], Array(argv.dropFirst()), timeout: .seconds(60))
            _ = try await runner.run(manager.namespace.wrap(launch))
        } catch {
            await plumbing.unplug(vmid: vmid)
            throw VireoError(.internalError, "start failed: \(error)", underlying: error)
        }
        guard let pid = manager.runningPID(vmid) else {
            await plumbing.unplug(vmid: vmid)
            throw VireoError(.internalError, "start failed: QEMU exited right after starting").at(.vmProcess)
        }
        // The monitor QEMU connects to the daemon as it starts: wait for it, so the start's own
        // commands do not take the VM's QMP socket from an operator's (or a benchmark's) client.
        _ = await manager.sessions.awaitSession(vmid, pid: pid, within: .seconds(2))
        for nic in try VMNetworkPlumbing.bridgedNICs(vmid: vmid, config: config.main) where nic.linkDown {
            try await qmp(vmid) { try await $0.setLink(name: nic.key, up: false) }
        }
        let status = try await qmp(vmid) { try await $0.queryStatus() }
        log("VM \(vmid) started with PID \(pid) (\(status.status.rawValue))")
        return pid
    }

    // MARK: - Stop and shutdown

    /// Hard stop: QMP `quit`, then SIGTERM and SIGKILL when QEMU does not go.
    public func stop(_ vmid: VMID, timeout: Duration = .seconds(60), log: Log) async throws {
        guard let pid = manager.runningPID(vmid) else { throw VireoError.conflict("VM \(vmid) not running") }
        manager.endingPIDs.withLock { _ = $0.insert(pid) }
        do {
            try await qmp(vmid, timeout: .seconds(5)) { try await $0.quit() }
        } catch {
            log("QMP quit failed (\(error)); terminating PID \(pid)")
        }
        if await waitForExit(vmid, within: min(timeout, .seconds(10))) { return await cleanup(vmid, log: log) }
        log("VM \(vmid) still running - terminating now with SIGTERM")
        kill(Int32(pid), SIGTERM)
        if await waitForExit(vmid, within: .seconds(10)) { return await cleanup(vmid, log: log) }
        log("VM \(vmid) still running - terminating now with SIGKILL")
        kill(Int32(pid), SIGKILL)
        _ = await waitForExit(vmid, within: .seconds(5))
        await cleanup(vmid, log: log)
    }

    /// The guest agent's shutdown or the ACPI power button; waits for the guest to power off, then ends QEMU. With `forceStop` a
    /// guest that does not react in time is stopped hard; otherwise the task fails and the VM runs on.
    public func shutdown(_ vmid: VMID, timeout: Duration, forceStop: Bool, log: Log) async throws {
        guard manager.runningPID(vmid) != nil else { throw VireoError.conflict("VM \(vmid) not running") }
        let state = try await qmp(vmid) { try await $0.queryStatus() }.status
        if state == .paused || state == .prelaunch || state == .suspended {
            guard forceStop else { throw VireoError.conflict("VM \(vmid) is paused - cannot shutdown") }
            return try await stop(vmid, log: log)
        }
        // As Proxmox: the guest agent's shutdown when the VM has one that answers, else ACPI.
        let agent = VMGuestAgent(manager: manager)
        let agentEnabled = (try? await manager.configs.read(vmid))?.config.main.agentEnabled ?? false
        if agentEnabled, await agent.responds(vmid) {
            log("shutting down VM \(vmid) through the guest agent")
            _ = try await agent.callRunning(vmid, "guest-shutdown", arguments: nil, skipPing: true)
        } else {
            try await qmp(vmid) { try await $0.systemPowerdown() }
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard manager.runningPID(vmid) != nil else { return await cleanup(vmid, log: log) }
            // -no-shutdown keeps QEMU alive in state `shutdown` once the guest powered off.
            if let status = try? await qmp(vmid, timeout: .seconds(2), { try await $0.queryStatus() }),
                status.status == .shutdown
            {
                return try await stop(vmid, log: log)
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        guard forceStop else { throw VireoError(.timeout, "VM quit/powerdown failed - got timeout").at(.vmProcess) }
        log("VM \(vmid) did not power off in time - stopping it")
        try await stop(vmid, log: log)
    }

    // MARK: - Run state

    public func suspend(_ vmid: VMID) async throws { try await running(vmid) { try await $0.stop() } }

    public func resume(_ vmid: VMID) async throws {
        try await running(vmid) { client in
            let status = try await client.queryStatus().status
            if status == .running { return }
            if status == .suspended { try await client.systemWakeup() } else { try await client.cont() }
        }
    }

    public func reset(_ vmid: VMID) async throws { try await running(vmid) { try await $0.systemReset() } }

    /// QEMU's run state (`running`, `paused`, `io-error`, …), or nil when not running.
    public func qmpStatus(_ vmid: VMID) async -> String? {
        guard manager.runningPID(vmid) != nil else { return nil }
        return try? await qmp(vmid, timeout: .seconds(3)) { try await $0.queryStatus() }.status.rawValue
    }

    /// What `status/current` asks QEMU, in one QMP session: the run state and the bytes the guest
    /// read and wrote on its disks. Nil when not running.
    public func liveStatus(_ vmid: VMID) async -> (status: String, diskRead: Int, diskWritten: Int)? {
        guard manager.runningPID(vmid) != nil else { return nil }
        return try? await qmp(vmid, timeout: .seconds(3)) { client in
            let status = try await client.queryStatus().status.rawValue
            let stats = try await client.queryBlockstats()
            return (status, stats.reduce(0) { $0 + $1.readBytes }, stats.reduce(0) { $0 + $1.writtenBytes })
        }
    }

    /// The run state and every drive's I/O counters, in one QMP session, for the metrics and the
    /// diagnosis. Nil when not running or when QEMU does not answer within `timeout`.
    public func ioStatus(
        _ vmid: VMID,
        timeout: Duration = .seconds(3)
    ) async -> (
        status: String, drives: [QMPBlockStats]
    )? {
        guard manager.runningPID(vmid) != nil else { return nil }
        return try? await qmp(vmid, timeout: timeout) { client in
            (try await client.queryStatus().status.rawValue, try await client.queryBlockstats())
        }
    }

    /// Sets the VNC password for the next console connection; QEMU refuses it after `seconds`
    /// (a session already connected stays).
    public func setVNCPassword(_ vmid: VMID, _ password: String, validFor seconds: Int) async throws {
        try await running(vmid) { client in
            try await client.execute(
                "set_password",
                arguments: ["protocol": .string("vnc"), "password": .string(password)]
            )
            try await client.execute(
                "expire_password",
                arguments: ["protocol": .string("vnc"), "time": .string("+\(seconds)")]
            )
        }
    }

    /// A human monitor command (`qm monitor`).
    public func monitor(_ vmid: VMID, command: String) async throws -> String {
        try await running(vmid) { try await $0.humanMonitorCommand(command) }
    }

    // MARK: - Helpers

    /// Waits until a VM started with `incomingState` has loaded it, then lets it run: the state was
    /// saved paused (so disks and RAM match), and the stream carries that run state along.
    public func waitForIncoming(_ vmid: VMID, timeout: Duration = .seconds(600)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let status = try await qmp(vmid) { try await $0.queryStatus() }.status
            if status == .running { return }
            if status != .inmigrate, status != .prelaunch {
                if status == .paused || status == .postmigrate {
                    try await qmp(vmid) { try await $0.cont() }
                    return
                }
                throw VireoError(.internalError, "VM \(vmid) did not resume from its saved state (\(status.rawValue))")
                    .at(.vmProcess)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw VireoError(.timeout, "VM \(vmid): loading the saved state timed out").at(.vmProcess)
    }

    /// Single-quoted for `sh -c` (QEMU runs `exec:` migration URIs through the shell).
    static func shellQuoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    private func running<T: Sendable>(_ vmid: VMID, _ body: @Sendable (QMPClient) async throws -> T) async throws -> T {
        guard manager.runningPID(vmid) != nil else { throw VireoError.conflict("VM \(vmid) not running") }
        return try await qmp(vmid, body)
    }

    /// Runs `body` on the VM's QMP session with the daemon; without one (QEMU has not connected
    /// its monitor yet, or the daemon just restarted) on a connection to the VM's QMP socket.
    @discardableResult
    func qmp<T: Sendable>(
        _ vmid: VMID,
        timeout: Duration = .seconds(10),
        _ body: @Sendable (QMPClient) async throws -> T
    ) async throws -> T {
        if let pid = manager.runningPID(vmid), let session = manager.sessions.session(vmid, pid: pid) {
            do {
                return try await body(session)
            } catch QMPError.disconnected {
                manager.sessions.detach(session, from: vmid)  // QEMU went away mid-call: try the socket
            } catch let error as QMPError {
                throw VireoError(.internalError, "VM \(vmid) qmp command failed - \(error)", underlying: error)
            }
        }
        let path = QEMUCommandBuilder.qmpSocket(runDirectory: runDirectory, vmid: vmid)
        let client: QMPClient
        do {
            client = try await QMPClient.connect(unixSocket: path, timeout: timeout)
        } catch {
            throw VireoError(
                .unavailable,
                "VM \(vmid) qmp command failed - unable to connect to \(path): \(error)",
                underlying: error
            ).at(.vmProcess)
        }
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch let error as QMPError {
            await client.close()
            throw VireoError(.internalError, "VM \(vmid) qmp command failed - \(error)", underlying: error)
        } catch {
            await client.close()
            throw error
        }
    }

    private func waitForExit(_ vmid: VMID, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if manager.runningPID(vmid) == nil { return true }
            // Cancelled (the daemon stops): answer now instead of spinning until the deadline.
            do { try await Task.sleep(for: .milliseconds(50)) } catch { break }
        }
        return manager.runningPID(vmid) == nil
    }

    private func cleanup(_ vmid: VMID, log: Log) async {
        await plumbing.unplug(vmid: vmid)
        for file in ["\(vmid).pid", "\(vmid).qmp", "\(vmid).vnc", "\(vmid).qga"] {
            try? FileManager.default.removeItem(atPath: "\(runDirectory)/\(file)")
        }
        log("VM \(vmid) stopped")
    }
}
