/// `btrfs` subvolume operations.
public struct Btrfs: Sendable {
    let runner: any CommandRunner
    public init(runner: any CommandRunner) { self.runner = runner }

    public func createSubvolume(_ path: String) async throws(CommandError) {
        _ = try await runner.run(Invocation("btrfs", ["subvolume", "create", "--", path]))
    }

    /// A snapshot of `source` at `target`; read-only with `readOnly`.
    public func snapshot(_ source: String, to target: String, readOnly: Bool) async throws(CommandError) {
        _ = try await runner.run(
            Invocation("btrfs", ["subvolume", "snapshot"] + (readOnly ? ["-r"] : []) + ["--", source, target])
        )
    }

    public func deleteSubvolume(_ path: String) async throws(CommandError) {
        _ = try await runner.run(Invocation("btrfs", ["subvolume", "delete", "--", path], timeout: .seconds(300)))
    }

    public func setReadOnly(_ path: String, _ readOnly: Bool) async throws(CommandError) {
        _ = try await runner.run(Invocation("btrfs", ["property", "set", path, "ro", readOnly ? "true" : "false"]))
    }
}
