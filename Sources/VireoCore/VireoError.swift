/// The one error type services throw. Its code says what went wrong, never which HTTP status to send;
/// only `VireoAPI` maps codes to statuses.
public struct VireoError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidArgument = Code("invalid-argument")
        public static let notFound = Code("not-found")
        /// Exists already, locked, wrong state, or a `digest` mismatch.
        public static let conflict = Code("conflict")
        public static let unauthenticated = Code("unauthenticated")
        public static let permissionDenied = Code("permission-denied")
        public static let unavailable = Code("unavailable")
        public static let timeout = Code("timeout")
        public static let notImplemented = Code("not-implemented")
        public static let internalError = Code("internal-error")
    }

    public var code: Code
    /// Lower-case, subject first, in Proxmox's words where clients match on them.
    public var message: String
    /// Per-parameter messages (`errors` in the API's 400 answer).
    public var parameterErrors: [String: String]
    public var underlying: (any Error)?
    /// The plane and layer the failure lives in, when the raiser knows it.
    public var fault: Fault?

    public init(
        _ code: Code,
        _ message: String,
        parameterErrors: [String: String] = [:],
        underlying: (any Error)? = nil,
        fault: Fault? = nil
    ) {
        self.code = code
        self.message = message
        self.parameterErrors = parameterErrors
        self.underlying = underlying
        self.fault = fault
    }

    public var description: String {
        guard !parameterErrors.isEmpty else { return message }
        let details = parameterErrors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        return message + " (" + details.joined(separator: "; ") + ")"
    }

    /// A 400 naming one bad parameter, as Proxmox's schema validation reports it.
    /// The message with every parameter's error, on one line (a task's exit status).
    public var summary: String {
        guard !parameterErrors.isEmpty else { return message }
        return message + " "
            + parameterErrors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            .joined(separator: "; ")
    }

    public static func parameter(_ name: String, _ message: String) -> VireoError {
        VireoError(.invalidArgument, "Parameter verification failed.", parameterErrors: [name: message])
    }

    public static func notFound(_ message: String) -> VireoError { VireoError(.notFound, message) }
    public static func conflict(_ message: String) -> VireoError { VireoError(.conflict, message) }
    public static func invalid(_ message: String) -> VireoError { VireoError(.invalidArgument, message) }

    /// The digest mismatch message Proxmox clients know.
    public static let modifiedConfiguration = VireoError(
        .conflict,
        "detected modified configuration - file changed by other user? Try again."
    )
}
