/// `diff -b -N -u` of two files, as Proxmox shows staged config changes.
public enum FileDiff {
    /// The unified diff, empty when the files are the same (ignoring whitespace changes).
    public static func unified(from old: String, to new: String, runner: any CommandRunner) async throws -> String {
        do {
            return try await runner.run(Invocation("diff", ["-b", "-N", "-u", old, new])).standardOutput
        } catch {
            // diff exits 1 when the files differ: that is its answer, not a failure.
            guard case .failed(_, let code, _, let output) = error, code == 1 else { throw error }
            return output
        }
    }
}
