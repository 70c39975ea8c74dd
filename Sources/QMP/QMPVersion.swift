/// QEMU's version, from the greeting or `query-version`.
public struct QMPVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Major version, e.g. 9 for QEMU 9.2.0.
    public var major: Int
    /// Minor version.
    public var minor: Int
    /// Micro (patch) version.
    public var micro: Int
    /// The distribution's package string, e.g. `"Debian 1:7.2+dfsg-7"` or `"pve-qemu-kvm_9.0.2-3"`.
    public var package: String

    /// Creates a version.
    public init(major: Int, minor: Int, micro: Int, package: String = "") {
        self.major = major
        self.minor = minor
        self.micro = micro
        self.package = package
    }

    /// Parses `{"qemu": {"major": …, "minor": …, "micro": …}, "package": …}`.
    init(reply: QMPValue, command: String) throws(QMPError) {
        let qemu = try reply.member("qemu", of: command, as: { $0.objectValue == nil ? nil : $0 })
        self.init(
            major: try qemu.member("major", of: command, as: \.intValue),
            minor: try qemu.member("minor", of: command, as: \.intValue),
            micro: try qemu.member("micro", of: command, as: \.intValue),
            package: reply["package"]?.stringValue ?? ""
        )
    }

    /// `"major.minor.micro"`.
    public var description: String { "\(major).\(minor).\(micro)" }

    /// Orders by major, minor, then micro; the package string is ignored.
    public static func < (lhs: QMPVersion, rhs: QMPVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.micro) < (rhs.major, rhs.minor, rhs.micro)
    }
}
