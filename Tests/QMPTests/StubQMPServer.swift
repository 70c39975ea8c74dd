import Foundation
import Glibc
import Synchronization

@testable import QMP

/// A QMP server on a real Unix socket: after a delay it listens, greets one client, answers a fixed
/// number of commands from `replies` (default `{}`), then closes. Runs on its own thread with
/// blocking syscalls, each bounded by a 10 s poll.
final class StubQMPServer: Sendable {
    let path: String
    private let received = Mutex<[String]>([])
    private let failure = Mutex<String?>(nil)

    init(path: String) {
        self.path = path
    }

    /// Names of the commands received so far.
    var commands: [String] { received.withLock { $0 } }
    /// The first thing that went wrong on the server side, if anything.
    var error: String? { failure.withLock { $0 } }

    func start(after delay: Duration, answering count: Int, replies: [String: QMPValue]) {
        let thread = Thread { [self] in
            do {
                try serve(after: delay, answering: count, replies: replies)
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
        }
        thread.start()
    }

    private struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private func serve(after delay: Duration, answering count: Int, replies: [String: QMPValue]) throws {
        Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) / 1e18 + Double(delay.components.seconds))
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw Failure(description: "socket failed") }
        defer {
            close(listener)
            unlink(path)
        }
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
        guard bound == 0, listen(listener, 1) == 0 else { throw Failure(description: "bind/listen: \(errno)") }
        try waitReadable(listener)
        let client = accept(listener, nil, nil)
        guard client >= 0 else { throw Failure(description: "accept: \(errno)") }
        defer { close(client) }

        try writeLine(
            client,
            #"{"QMP": {"version": {"qemu": {"micro": 1, "minor": 2, "major": 9}, "package": "stub"}, "capabilities": ["oob"]}}"#
        )
        var buffer: [UInt8] = []
        for _ in 0..<count {
            let line = try readLine(client, buffer: &buffer)
            let request = try QMPValue(json: line)
            let name = request["execute"]?.stringValue ?? "?"
            received.withLock { $0.append(name) }
            let reply: QMPValue = ["return": replies[name] ?? [:], "id": request["id"] ?? nil]
            try writeLine(client, String(decoding: try reply.jsonBytes(), as: UTF8.self))
        }
    }

    private func waitReadable(_ fd: Int32) throws {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 10_000) == 1 else { throw Failure(description: "timed out waiting for the client") }
    }

    private func writeLine(_ fd: Int32, _ text: String) throws {
        let bytes = Array((text + "\r\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { throw Failure(description: "write: \(errno)") }
            offset += written
        }
    }

    private func readLine(_ fd: Int32, buffer: inout [UInt8]) throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                return line
            }
            try waitReadable(fd)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw Failure(description: "client closed early") }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }
}
