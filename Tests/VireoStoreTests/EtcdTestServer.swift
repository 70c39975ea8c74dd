import Foundation
import Testing
import VireoCore
import VireoStore

/// A real single-member etcd for one test: its own data directory and free loopback ports,
/// ended (and its directory removed) by ``stop()``, which every caller runs also on failure.
final class EtcdTestServer: Sendable {
    let directory: URL
    let clientURL: String
    private let peerURL: String
    private let process: Process

    /// The etcd binary, or nil when it is not installed: tests then skip, except in CI where a
    /// missing prerequisite is a failure.
    static let binary: String? = ["/usr/bin/etcd", "/usr/local/bin/etcd"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static var required: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    static var available: Bool { binary != nil || required }

    init() throws {
        guard let binary = Self.binary else {
            throw TestPrerequisiteMissing("etcd is not installed (apt-get install etcd-server)")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vireo-etcd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ports = try FreePorts.take(2)
        clientURL = "http://127.0.0.1:\(ports[0])"
        peerURL = "http://127.0.0.1:\(ports[1])"
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = Self.arguments(directory: directory, clientURL: clientURL, peerURL: peerURL)
        let logPath = directory.appendingPathComponent("etcd.log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath) ?? .nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    private static func arguments(directory: URL, clientURL: String, peerURL: String) -> [String] {
        [
            "--name", "test", "--data-dir", directory.appendingPathComponent("data").path,
            "--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
            "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
            "--initial-cluster", "test=\(peerURL)",
            // Fast elections so a one-second lease is allowed (etcd's minimum TTL follows them).
            "--heartbeat-interval", "10", "--election-timeout", "100",
        ]
    }

    var connection: EtcdConnection { EtcdConnection(endpoints: [clientURL], tls: nil) }

    /// Waits until the member answers.
    func ready() async throws {
        let client = try EtcdClient(connection)
        defer { Task { await client.shutdown() } }
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while ContinuousClock.now < deadline {
            if (try? await client.call("/v3/maintenance/status", [:], timeout: .milliseconds(500))) != nil { return }
            guard process.isRunning else { throw TestPrerequisiteMissing("etcd exited: \(log())") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestPrerequisiteMissing("etcd did not answer within 20 s: \(log())")
    }

    func log() -> String {
        (try? String(contentsOf: directory.appendingPathComponent("etcd.log"), encoding: .utf8)) ?? ""
    }

    /// Freezes the member (SIGSTOP): it accepts connections but answers nothing, as a member
    /// cut off from its quorum does.
    func freeze() { kill(process.processIdentifier, SIGSTOP) }

    func thaw() { kill(process.processIdentifier, SIGCONT) }

    /// Ends the member and removes its data. Waits without blocking a thread: the cooperative
    /// pool has as many threads as cores, and other tests run on it meanwhile.
    func stop() async {
        if process.isRunning {
            thaw()
            process.terminate()
            for _ in 0..<200 where process.isRunning { try? await Task.sleep(for: .milliseconds(25)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `body` with a fresh member that is stopped afterwards, also when `body` throws.
    static func with<T>(_ body: (EtcdTestServer) async throws -> T) async throws -> T {
        let server = try EtcdTestServer()
        do {
            try await server.ready()
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }
}

struct TestPrerequisiteMissing: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Ports the kernel hands out as free; closed again before etcd binds them.
enum FreePorts {
    static func take(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { for socket in sockets { close(socket) } }
        return try (0..<count).map { _ in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TestPrerequisiteMissing("socket() failed") }
            sockets.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                    bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
                }
            }
            guard bound else { throw TestPrerequisiteMissing("bind() failed") }
            return Int(UInt16(bigEndian: address.sin_port))
        }
    }
}
