/// The reply of `query-migrate`.
public struct QMPMigrationInfo: Hashable, Sendable {
    /// `setup`, `active`, `completed`, `failed`, `cancelled` …; nil when no migration ever started.
    public var status: String?
    /// Why the migration failed (`error-desc`).
    public var errorDescription: String?
    /// RAM bytes sent so far.
    public var transferredBytes: Int?
    /// RAM bytes still to send.
    public var remainingBytes: Int?
    /// Total guest RAM bytes.
    public var totalBytes: Int?

    /// Creates migration info.
    public init(
        status: String? = nil,
        errorDescription: String? = nil,
        transferredBytes: Int? = nil,
        remainingBytes: Int? = nil,
        totalBytes: Int? = nil
    ) {
        self.status = status
        self.errorDescription = errorDescription
        self.transferredBytes = transferredBytes
        self.remainingBytes = remainingBytes
        self.totalBytes = totalBytes
    }

    /// Parses `{"status": …, "error-desc": …, "ram": {"transferred": …, "remaining": …, "total": …}}`.
    init(reply: QMPValue) throws(QMPError) {
        guard reply.objectValue != nil else {
            throw .unexpectedResponse(command: "query-migrate", reason: "expected an object, got \(reply)")
        }
        self.init(
            status: reply["status"]?.stringValue,
            errorDescription: reply["error-desc"]?.stringValue,
            transferredBytes: reply["ram"]?["transferred"]?.intValue,
            remainingBytes: reply["ram"]?["remaining"]?.intValue,
            totalBytes: reply["ram"]?["total"]?.intValue
        )
    }
}
