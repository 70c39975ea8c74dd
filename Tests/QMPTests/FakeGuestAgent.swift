import Foundation
import Glibc
import Synchronization

@testable import QMP

/// A qemu-ga on a real Unix socket, as QEMU exposes the agent's virtio-serial channel: it
/// listens at once, serves one client and answers each request line from a script. On
/// `guest-sync-delimited` it first replays stale lines (an abandoned call's reply, an old sync)
/// before the `0xFF`-prefixed answer with the caller's id. Runs on its own thread with blocking
/// syscalls, each bounded by a 10 s poll; `finished` ends when the client has hung up.
final class FakeGuestAgent: Sendable {
    enum Reply: Sendable {
        /// One raw line (without its newline).
        case line(String)
        /// Close the channel without answering (the agent went away).
        case hangUp
        /// Never answer.
        case silence
    }

    let path: String
    let finished: AsyncStream<Void>
    private let done: AsyncStream<Void>.Continuation
    private let received = Mutex<[String]>([])
    private let failure = Mutex<String?>(nil)

    init(directory: String) {
        path = directory + "/qga.sock"
        let stream = AsyncStream<Void>.makeStream()
        finished = stream.stream
        done = stream.continuation
    }

    /// Names of the commands received so far.
    var commands: [String] { received.withLock { $0 } }
    /// The first thing that went wrong on the agent's side, if anything.
    var error: String? { failure.withLock { $0 } }

    /// Starts listening before it returns, so a client may connect right away.
    func start(replies: [String: Reply], staleLines: [[UInt8]] = []) throws {
        let listener = try listen()
        let thread = Thread { [self] in
            defer {
                close(listener)
                done.finish()
            }
            do {
                try serve(listener, replies: replies, staleLines: staleLines)
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
        }
        thread.start()
    }

    private struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private func listen() throws -> Int32 {
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw Failure(description: "socket failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, Glibc.listen(listener, 1) == 0 else {
            close(listener)
            throw Failure(description: "bind/listen: \(errno)")
        }
        return listener
    }

    private func serve(_ listener: Int32, replies: [String: Reply], staleLines: [[UInt8]]) throws {
        try waitReadable(listener)
        let client = accept(listener, nil, nil)
        guard client >= 0 else { throw Failure(description: "accept: \(errno)") }
        defer { close(client) }
        var buffer: [UInt8] = []
        while let line = try readLine(client, buffer: &buffer) {
            let request = try QMPValue(json: line)
            let name = request["execute"]?.stringValue ?? "?"
            received.withLock { $0.append(name) }
            if name == "guest-sync-delimited", let id = request["arguments"]?["id"]?.intValue {
                for stale in staleLines { try write(client, stale + [UInt8(ascii: "\n")]) }
                try write(client, [0xFF] + Array("{\"return\": \(id)}\n".utf8))
                continue
            }
            switch replies[name] ?? .line(#"{"return": {}}"#) {
            case .line(let text): try write(client, Array((text + "\n").utf8))
            case .hangUp: return
            case .silence: continue
            }
        }
    }

    private func waitReadable(_ fd: Int32) throws {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 10_000) == 1 else { throw Failure(description: "timed out waiting for the client") }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { throw Failure(description: "write: \(errno)") }
            offset += written
        }
    }

    /// The next line, or nil once the client hung up.
    private func readLine(_ fd: Int32, buffer: inout [UInt8]) throws -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                return line
            }
            try waitReadable(fd)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }
}
