import Foundation
import NFTables
import Testing

@testable import VireoFirewall

/// Runs tools for the tests that load rulesets into a real nft in a throwaway namespace.
enum NFTSandbox {
    static var available: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft")
    }

    /// Whether a missing nft fails (CI) or skips (local) a test.
    static func require() throws -> Bool {
        if available { return true }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("nft and root are required in CI (scripts/install-deps.sh installs nftables)")
        }
        return false
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `tool`; throws with its stderr when it fails.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], input: [UInt8] = []) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                description: "\(tool) \(arguments.joined(separator: " ")): \(String(decoding: errors, as: UTF8.self))"
            )
        }
        return Array(output)
    }

    /// A fresh namespace for `body`, deleted afterwards.
    static func withNamespace<T>(_ body: (String) throws -> T) throws -> T {
        let namespace = "vfwtest\(getpid())\(UInt32.random(in: 0...UInt32.max))"
        try run("/usr/sbin/ip", ["netns", "add", namespace])
        defer { _ = try? run("/usr/sbin/ip", ["netns", "del", namespace]) }
        return try body(namespace)
    }

    static func withNamespaceAsync(_ body: (String) async throws -> Void) async throws {
        let namespace = "vfwtest\(getpid())\(UInt32.random(in: 0...UInt32.max))"
        try run("/usr/sbin/ip", ["netns", "add", namespace])
        do {
            try await body(namespace)
        } catch {
            _ = try? run("/usr/sbin/ip", ["netns", "del", namespace])
            throw error
        }
        _ = try? run("/usr/sbin/ip", ["netns", "del", namespace])
    }

    @discardableResult
    static func nft(_ namespace: String, _ arguments: [String], input: [UInt8] = []) throws -> [UInt8] {
        try run("/usr/sbin/ip", ["netns", "exec", namespace, "/usr/sbin/nft"] + arguments, input: input)
    }
}
