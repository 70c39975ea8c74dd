/// The reply of `query-balloon`.
public struct QMPBalloonInfo: Hashable, Sendable {
    /// Guest memory in bytes as the balloon currently leaves it.
    public var actual: Int

    /// Creates balloon info.
    public init(actual: Int) { self.actual = actual }

    /// Parses `{"actual": bytes}`; extra members of patched QEMUs are ignored.
    init(reply: QMPValue) throws(QMPError) {
        self.init(actual: try reply.member("actual", of: "query-balloon", as: \.intValue))
    }
}
