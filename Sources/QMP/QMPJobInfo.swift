/// One entry of `query-jobs`.
public struct QMPJobInfo: Hashable, Sendable {
    /// The `job-id` given when the job was started.
    public var id: String
    /// The job type, e.g. `snapshot-save`.
    public var type: String
    /// `created`, `running`, `paused`, `waiting`, `pending`, `aborting`, `concluded` or `null`.
    public var status: String
    /// Progress so far, in units of `totalProgress`.
    public var currentProgress: Int
    /// Progress at completion (an estimate that may change).
    public var totalProgress: Int
    /// Why the job failed; set only once it concluded unsuccessfully.
    public var error: String?

    /// Creates job info.
    public init(
        id: String,
        type: String,
        status: String,
        currentProgress: Int = 0,
        totalProgress: Int = 0,
        error: String? = nil
    ) {
        self.id = id
        self.type = type
        self.status = status
        self.currentProgress = currentProgress
        self.totalProgress = totalProgress
        self.error = error
    }

    /// Whether the job finished and awaits `job-dismiss`.
    public var isConcluded: Bool { status == "concluded" }

    /// Parses `{"id", "type", "status", "current-progress", "total-progress", "error"}`.
    init(reply: QMPValue) throws(QMPError) {
        let command = "query-jobs"
        self.init(
            id: try reply.member("id", of: command, as: \.stringValue),
            type: try reply.member("type", of: command, as: \.stringValue),
            status: try reply.member("status", of: command, as: \.stringValue),
            currentProgress: reply["current-progress"]?.intValue ?? 0,
            totalProgress: reply["total-progress"]?.intValue ?? 0,
            error: reply["error"]?.stringValue
        )
    }
}
