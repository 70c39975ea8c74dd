/// The reply of `query-status`.
public struct QMPStatus: Hashable, Sendable {
    /// The run state, e.g. `.running` or `.paused`.
    public var status: QMPRunState
    /// Whether the vCPUs run (true only in `running`).
    public var running: Bool

    /// Creates a status.
    public init(status: QMPRunState, running: Bool) {
        self.status = status
        self.running = running
    }

    /// Parses `{"status": "running", "running": true}`.
    init(reply: QMPValue) throws(QMPError) {
        self.init(
            status: QMPRunState(rawValue: try reply.member("status", of: "query-status", as: \.stringValue)),
            running: try reply.member("running", of: "query-status", as: \.boolValue)
        )
    }
}
