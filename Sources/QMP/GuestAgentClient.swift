import Foundation

/// A QEMU guest agent (qemu-ga) reached through the VM's virtio-serial channel, exposed by QEMU
/// as a unix socket (`-chardev socket,…,server=on`).
///
/// The channel is a byte pipe that outlives agent restarts, so stale replies of an earlier,
/// abandoned call can still be in it. Each call first sends `guest-sync-delimited` with a fresh
/// id: the agent answers with a `0xFF` byte (which resets its parser) and the id, and every line
/// before that answer is discarded. Only one client may talk to an agent at a time; callers
/// serialise per VM.
public final class GuestAgentClient: Sendable {
    private let transport: UnixSocketQMPTransport

    private init(transport: UnixSocketQMPTransport) { self.transport = transport }

    public static func connect(path: String, timeout: Duration = .seconds(3)) async throws(QMPError) -> GuestAgentClient
    {
        GuestAgentClient(transport: try await UnixSocketQMPTransport.connect(path: path, timeout: timeout))
    }

    public func close() async { await transport.close() }

    /// Runs `command` and returns its `return` value. `expectsNoReply` is for commands after
    /// which the agent goes away (`guest-shutdown`, `guest-suspend-*`): a hang-up is success.
    /// - Throws: `.commandFailed` with the agent's error, `.timeout` when `timeout` passes.
    public func execute(
        _ command: String,
        arguments: [String: QMPValue]? = nil,
        timeout: Duration = .seconds(5),
        expectsNoReply: Bool = false
    ) async throws(QMPError) -> QMPValue {
        do {
            return try await withThrowingTaskGroup(of: QMPValue.self) { group in
                group.addTask { try await self.exchange(command, arguments: arguments, expectsNoReply: expectsNoReply) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw QMPError.timeout
                }
                defer { group.cancelAll() }
                guard let value = try await group.next() else { throw QMPError.timeout }
                return value
            }
        } catch let error as QMPError {
            if error == .timeout { await transport.close() }
            throw error
        } catch is CancellationError {
            throw .cancelled
        } catch {
            throw .io("\(error)")
        }
    }

    private func exchange(
        _ command: String,
        arguments: [String: QMPValue]?,
        expectsNoReply: Bool
    ) async throws
        -> QMPValue
    {
        let id = Int.random(in: 1..<Int(Int32.max))
        try await send(["execute": .string("guest-sync-delimited"), "arguments": .object(["id": .int(id)])])
        while true {
            guard let line = try await transport.receive() else { throw QMPError.disconnected }
            if case .object(let reply)? = Self.decode(line), reply["return"]?.intValue == id { break }
        }
        var message: [String: QMPValue] = ["execute": .string(command)]
        if let arguments { message["arguments"] = .object(arguments) }
        try await send(message)
        while true {
            guard let line = try await transport.receive() else {
                if expectsNoReply { return .null }
                throw QMPError.disconnected
            }
            guard case .object(let reply)? = Self.decode(line) else { continue }
            if let value = reply["return"] { return value }
            if case .object(let error)? = reply["error"] {
                throw QMPError.commandFailed(
                    class: error["class"]?.stringValue ?? "GenericError",
                    description: error["desc"]?.stringValue ?? "unknown error"
                )
            }
        }
    }

    private func send(_ message: [String: QMPValue]) async throws {
        try await transport.send(try QMPValue.object(message).jsonBytes() + [UInt8(ascii: "\n")])
    }

    /// A reply line, without the `0xFF` sync marker and anything else before the JSON.
    static func decode(_ line: [UInt8]) -> QMPValue? {
        guard let start = line.firstIndex(of: UInt8(ascii: "{")) else { return nil }
        return try? QMPValue(json: Array(line[start...]))
    }
}
