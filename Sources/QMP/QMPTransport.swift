/// Carries QMP messages between a `QMPClient` and QEMU.
public protocol QMPTransport: Sendable {
    /// Sends one complete JSON message (the client appends the newline).
    func send(_ message: [UInt8]) async throws
    /// Returns the next complete JSON message without its line ending, or nil when QEMU hung up.
    /// `QMPClient` calls it from one task at a time.
    func receive() async throws -> [UInt8]?
    /// Releases the connection; a pending and every later `receive()` returns nil.
    func close() async
}

extension QMPTransport {
    /// Does nothing; transports that own a resource override it.
    public func close() async {}
}
