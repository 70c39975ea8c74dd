/// An asynchronous QMP event, such as `{"event": "STOP", "data": {}, "timestamp": {…}}`.
public struct QMPEvent: Hashable, Sendable {
    /// Names of the events Vireo reacts to; QEMU sends others too.
    public enum Name {
        /// The guest was paused.
        public static let stop = "STOP"
        /// The guest resumed running.
        public static let resume = "RESUME"
        /// The guest shut down (QEMU stays alive under `-no-shutdown`).
        public static let shutdown = "SHUTDOWN"
        /// `system_powerdown` was delivered to the guest.
        public static let powerdown = "POWERDOWN"
        /// The guest was reset.
        public static let reset = "RESET"
        /// The guest reported a kernel panic (through a pvpanic device).
        public static let guestPanicked = "GUEST_PANICKED"
        /// A disk reported an I/O error.
        public static let blockIOError = "BLOCK_IO_ERROR"
        /// A device finished unplugging after `device_del`.
        public static let deviceDeleted = "DEVICE_DELETED"
        /// A job (e.g. `snapshot-save`) changed state.
        public static let jobStatusChange = "JOB_STATUS_CHANGE"
    }

    /// The wire name, e.g. `"STOP"`; compare with the constants in `QMPEvent.Name`.
    public var name: String
    /// The `data` member; `.null` when the event has none.
    public var data: QMPValue
    /// Seconds since the Unix epoch, from the `timestamp` member (`-1` when QEMU had no clock).
    public var timestamp: Double

    /// Creates an event.
    public init(name: String, data: QMPValue = .null, timestamp: Double = 0) {
        self.name = name
        self.data = data
        self.timestamp = timestamp
    }

    /// Builds an event from a message that has an `event` member; nil for any other message.
    init?(message: QMPValue) {
        guard let name = message["event"]?.stringValue else { return nil }
        let seconds = message["timestamp"]?["seconds"]?.doubleValue ?? 0
        let microseconds = message["timestamp"]?["microseconds"]?.doubleValue ?? 0
        self.init(name: name, data: message["data"] ?? .null, timestamp: seconds + microseconds / 1_000_000)
    }
}
