extension QMPClient {
    /// Sends `snapshot-save`: starts job `jobID` that writes internal snapshot `tag` to the qcow2 nodes
    /// `devices`, with the VM state in node `vmstate`. Wait for it with `waitForJob(id:)`.
    public func snapshotSave(jobID: String, tag: String, vmstate: String, devices: [String]) async throws(QMPError) {
        try await execute(
            "snapshot-save",
            arguments: [
                "job-id": .string(jobID), "tag": .string(tag), "vmstate": .string(vmstate),
                "devices": .array(devices.map(QMPValue.string)),
            ]
        )
    }

    /// Sends `snapshot-load`: starts job `jobID` that reverts `devices` and the VM state to snapshot `tag`.
    public func snapshotLoad(jobID: String, tag: String, vmstate: String, devices: [String]) async throws(QMPError) {
        try await execute(
            "snapshot-load",
            arguments: [
                "job-id": .string(jobID), "tag": .string(tag), "vmstate": .string(vmstate),
                "devices": .array(devices.map(QMPValue.string)),
            ]
        )
    }

    /// Sends `snapshot-delete`: starts job `jobID` that removes snapshot `tag` from `devices`.
    public func snapshotDelete(jobID: String, tag: String, devices: [String]) async throws(QMPError) {
        try await execute(
            "snapshot-delete",
            arguments: ["job-id": .string(jobID), "tag": .string(tag), "devices": .array(devices.map(QMPValue.string))]
        )
    }

    /// Sends `query-jobs`.
    public func queryJobs() async throws(QMPError) -> [QMPJobInfo] {
        var jobs: [QMPJobInfo] = []
        for entry in try await execute("query-jobs").elements(of: "query-jobs") {
            jobs.append(try QMPJobInfo(reply: entry))
        }
        return jobs
    }

    /// Sends `job-dismiss`: removes a concluded job from `query-jobs`.
    public func jobDismiss(id: String) async throws(QMPError) {
        try await execute("job-dismiss", arguments: ["id": .string(id)])
    }

    /// Polls `query-jobs` until job `id` concludes, then dismisses it.
    /// - Throws: `.jobFailed` with the job's error text, `.unexpectedResponse` when the job is unknown,
    ///   `.timeout` when it runs longer than `timeout` (the job is left running).
    public func waitForJob(
        id: String,
        pollInterval: Duration = .milliseconds(100),
        timeout: Duration = .seconds(600)
    ) async throws(QMPError) {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard let job = try await queryJobs().first(where: { $0.id == id }) else {
                throw .unexpectedResponse(command: "query-jobs", reason: "no job \(id)")
            }
            if job.isConcluded {
                try await jobDismiss(id: id)
                if let error = job.error { throw .jobFailed(id: id, description: error) }
                return
            }
            guard ContinuousClock.now < deadline else { throw .timeout }
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                throw .cancelled
            }
        }
    }
}
