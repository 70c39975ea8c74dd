/// Everything the `QMP` module throws.
public enum QMPError: Error, Hashable, Sendable {
    /// QEMU answered with `{"error": {"class": …, "desc": …}}`.
    case commandFailed(class: String, description: String)
    /// No reply arrived within the caller's timeout; the connection stays usable.
    case timeout
    /// The connection is gone (QEMU exited, the socket broke, or `close()` was called).
    case disconnected
    /// The calling task was cancelled while it waited.
    case cancelled
    /// A QMP job concluded with an error.
    case jobFailed(id: String, description: String)
    /// A message could not be parsed, or a value could not be encoded as JSON.
    case invalidMessage(String)
    /// A command's `return` value did not have the documented shape.
    case unexpectedResponse(command: String, reason: String)
    /// The Unix socket could not be connected.
    case connectionFailed(path: String, reason: String)
    /// A socket read or write failed.
    case io(String)
    /// The API was used out of order, for example `connect()` twice.
    case misuse(String)
}

extension QMPError: CustomStringConvertible {
    /// Lower-case, subject first.
    public var description: String {
        switch self {
        case .commandFailed(let errorClass, let description): "qmp: command failed (\(errorClass)): \(description)"
        case .timeout: "qmp: timed out waiting for a reply"
        case .disconnected: "qmp: disconnected"
        case .cancelled: "qmp: cancelled"
        case .jobFailed(let id, let description): "qmp: job \(id) failed: \(description)"
        case .invalidMessage(let reason): "qmp: invalid message: \(reason)"
        case .unexpectedResponse(let command, let reason): "qmp: unexpected reply to \(command): \(reason)"
        case .connectionFailed(let path, let reason): "qmp: cannot connect to \(path): \(reason)"
        case .io(let reason): "qmp: socket error: \(reason)"
        case .misuse(let reason): "qmp: \(reason)"
        }
    }
}
