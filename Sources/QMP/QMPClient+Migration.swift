extension QMPClient {
    /// Sends `migrate`: starts migrating to `uri` (e.g. `unix:/run/…/migrate` or `tcp:10.0.0.2:60000`).
    /// Poll `queryMigrate()` for progress.
    public func migrate(uri: String) async throws(QMPError) {
        try await execute("migrate", arguments: ["uri": .string(uri)])
    }

    /// Sends `query-migrate`.
    public func queryMigrate() async throws(QMPError) -> QMPMigrationInfo {
        try QMPMigrationInfo(reply: try await execute("query-migrate"))
    }
}
