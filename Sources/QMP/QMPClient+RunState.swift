extension QMPClient {
    /// Sends `query-status`.
    public func queryStatus() async throws(QMPError) -> QMPStatus {
        try QMPStatus(reply: try await execute("query-status"))
    }

    /// Sends `query-version`.
    public func queryVersion() async throws(QMPError) -> QMPVersion {
        try QMPVersion(reply: try await execute("query-version"), command: "query-version")
    }

    /// Sends `stop`: pauses the vCPUs (run state `paused`).
    public func stop() async throws(QMPError) {
        try await execute("stop")
    }

    /// Sends `cont`: resumes a paused or prelaunch guest.
    public func cont() async throws(QMPError) {
        try await execute("cont")
    }

    /// Sends `system_powerdown`: an ACPI power button press.
    public func systemPowerdown() async throws(QMPError) {
        try await execute("system_powerdown")
    }

    /// Sends `system_reset`: a hard reset of the guest.
    public func systemReset() async throws(QMPError) {
        try await execute("system_reset")
    }

    /// Sends `system_wakeup`: wakes a guest from `suspended` (S3).
    public func systemWakeup() async throws(QMPError) {
        try await execute("system_wakeup")
    }

    /// Sends `quit`: QEMU exits at once.
    /// - Throws: `.disconnected` also when QEMU exits before its reply is read.
    public func quit() async throws(QMPError) {
        try await execute("quit")
    }

    /// Sends `human-monitor-command` and returns HMP's output (for `qm monitor`, `sendkey`).
    public func humanMonitorCommand(
        _ commandLine: String,
        timeout: Duration = .seconds(10)
    ) async throws(QMPError) -> String {
        let output = try await execute(
            "human-monitor-command",
            arguments: ["command-line": .string(commandLine)],
            timeout: timeout
        )
        guard let text = output.stringValue else {
            throw .unexpectedResponse(command: "human-monitor-command", reason: "expected a string, got \(output)")
        }
        return text
    }
}
