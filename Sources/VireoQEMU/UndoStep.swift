/// A step that undoes part of a failed operation. Its own failure goes to the task log, never
/// hidden and never masking the error that made the undo necessary.
func undoStep(_ what: String, log: VMRuntime.Log, _ step: () async throws -> Void) async {
    do { try await step() } catch { log("WARN: could not \(what): \(error)") }
}
