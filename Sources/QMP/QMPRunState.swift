/// QEMU's run state as `query-status` reports it (PVE's `qmpstatus`); unknown values are kept.
public struct QMPRunState: RawRepresentable, Hashable, Sendable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The guest runs.
    public static let running: QMPRunState = "running"
    /// Paused by `stop`.
    public static let paused: QMPRunState = "paused"
    /// Started with `-S` and not yet continued.
    public static let prelaunch: QMPRunState = "prelaunch"
    /// The guest shut down and QEMU was kept alive by `-no-shutdown`.
    public static let shutdown: QMPRunState = "shutdown"
    /// Paused by a disk error (`werror=stop`).
    public static let ioError: QMPRunState = "io-error"
    /// Waiting for an incoming migration.
    public static let inmigrate: QMPRunState = "inmigrate"
    /// An outgoing migration completed.
    public static let postmigrate: QMPRunState = "postmigrate"
    /// The last phase of an outgoing migration.
    public static let finishMigrate: QMPRunState = "finish-migrate"
    /// The guest is in ACPI S3 (suspend to RAM).
    public static let suspended: QMPRunState = "suspended"
    /// QEMU hit an internal error.
    public static let internalError: QMPRunState = "internal-error"
    /// The guest kernel panicked (pvpanic).
    public static let guestPanicked: QMPRunState = "guest-panicked"
    /// Stopped by a watchdog action.
    public static let watchdog: QMPRunState = "watchdog"
    /// Saving a VM state.
    public static let saveVM: QMPRunState = "save-vm"
    /// Restoring a VM state.
    public static let restoreVM: QMPRunState = "restore-vm"
    /// Stopped by the debugger.
    public static let debug: QMPRunState = "debug"

    /// The wire spelling.
    public var rawValue: String

    /// Wraps a wire value.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps a wire value.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// The wire spelling.
    public var description: String { rawValue }
}
