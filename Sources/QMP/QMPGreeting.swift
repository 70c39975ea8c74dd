/// The first message QEMU sends on a QMP connection.
public struct QMPGreeting: Hashable, Sendable {
    /// The QEMU version announced in the greeting.
    public var version: QMPVersion
    /// Capabilities QEMU offers, e.g. `["oob"]`; the client enables none of them.
    public var capabilities: [String]

    /// Creates a greeting.
    public init(version: QMPVersion, capabilities: [String] = []) {
        self.version = version
        self.capabilities = capabilities
    }

    /// Parses the `QMP` member of `{"QMP": {"version": {…}, "capabilities": […]}}`.
    init(reply: QMPValue) throws(QMPError) {
        let version = try reply.member("version", of: "greeting", as: { $0.objectValue == nil ? nil : $0 })
        self.init(
            version: try QMPVersion(reply: version, command: "greeting"),
            capabilities: reply["capabilities"]?.arrayValue?.compactMap(\.stringValue) ?? []
        )
    }
}
