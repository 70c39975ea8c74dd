import Foundation
import VireoCore

/// `qemu-img`: create, inspect, resize and snapshot image files.
public struct QemuImg: Sendable {
    public enum Format: String, Sendable { case raw, qcow2, vmdk }

    /// What `qemu-img info --output=json` reports.
    public struct Info: Sendable, Equatable {
        public var virtualSize: Int
        public var actualSize: Int
        public var format: String
        public var backingFile: String?
        public var snapshots: [String]
    }

    let runner: any CommandRunner

    public init(runner: any CommandRunner) { self.runner = runner }

    /// Creates an image of `sizeKiB`; optionally a qcow2 overlay on `backing` (a path relative to the
    /// image's directory, as Proxmox writes linked clones).
    public func create(
        at path: String,
        format: Format,
        sizeKiB: Int?,
        preallocation: String? = nil,
        backing: (path: String, format: Format)? = nil,
        workingDirectory: String? = nil
    ) async throws(CommandError) {
        var arguments = ["create"]
        if let backing { arguments += ["-F", backing.format.rawValue, "-b", backing.path] }
        arguments += ["-f", format.rawValue]
        var options: [String] = []
        if backing != nil { options += ["extended_l2=on", "cluster_size=128k"] }
        if let preallocation, format != .vmdk { options.append("preallocation=\(preallocation)") }
        if !options.isEmpty { arguments += ["-o", options.joined(separator: ",")] }
        arguments.append(path)
        if let sizeKiB { arguments.append("\(sizeKiB)K") }
        _ = try await runner.run(
            Invocation("qemu-img", arguments, workingDirectory: workingDirectory, timeout: .seconds(120))
        )
    }

    /// Sends `qemu-img info --output=json -U`: `-U` (force share) reads images a running VM holds
    /// open; size, format and backing file are safe to read that way.
    public func info(_ path: String, format: Format? = nil) async throws(CommandError) -> Info {
        var arguments = ["info", "--output=json", "-U"]
        if let format { arguments += ["-f", format.rawValue] }
        arguments.append(path)
        let output = try await runner.run(Invocation("qemu-img", arguments, timeout: .seconds(10)))
        return Self.parseInfo(output.standardOutput)
    }

    /// The image and every backing file under it, top first (`--backing-chain`).
    public func chain(_ path: String) async throws(CommandError) -> [Info] {
        let output = try await runner.run(
            Invocation("qemu-img", ["info", "--output=json", "-U", "--backing-chain", path], timeout: .seconds(10))
        )
        return Self.parseChain(output.standardOutput)
    }

    static func parseChain(_ text: String) -> [Info] {
        let json = (try? JSONDecoder().decode(JSON.self, from: Data(text.utf8))) ?? .null
        return (json.arrayValue ?? [json]).map(parseInfo)
    }

    static func parseInfo(_ text: String) -> Info {
        parseInfo((try? JSONDecoder().decode(JSON.self, from: Data(text.utf8))) ?? .null)
    }

    static func parseInfo(_ json: JSON) -> Info {
        let snapshots = json["snapshots"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        return Info(
            virtualSize: json["virtual-size"]?.intValue ?? 0,
            actualSize: json["actual-size"]?.intValue ?? 0,
            format: json["format"]?.stringValue ?? "raw",
            backingFile: json["backing-filename"]?.stringValue,
            snapshots: snapshots
        )
    }

    public func resize(_ path: String, format: Format, sizeBytes: Int) async throws(CommandError) {
        _ = try await runner.run(
            Invocation("qemu-img", ["resize", "-f", format.rawValue, path, String(sizeBytes)], timeout: .seconds(30))
        )
    }

    public enum SnapshotAction: String, Sendable {
        case create = "-c"
        case apply = "-a"
        case delete = "-d"
    }

    /// Sends `qemu-img snapshot -c|-a|-d <name> <path>` (internal qcow2 snapshots).
    public func snapshot(_ action: SnapshotAction, name: String, path: String) async throws(CommandError) {
        _ = try await runner.run(
            Invocation("qemu-img", ["snapshot", action.rawValue, name, path], timeout: .seconds(120))
        )
    }
}

extension QemuImg {
    /// Copies an image into an existing target (`qemu-img convert -n`), converting formats; with
    /// `existing: false` the target file is made.
    public func convert(
        from source: String,
        format: Format,
        to target: String,
        targetFormat: Format,
        existing: Bool = true
    ) async throws(CommandError) {
        _ = try await runner.run(
            Invocation(
                "qemu-img",
                ["convert", "-p"] + (existing ? ["-n"] : []) + [
                    "-f", format.rawValue, "-O", targetFormat.rawValue, source, target,
                ],
                timeout: .seconds(3600)
            )
        )
    }
}

extension QemuImg {
    /// The parser of `info`, for tests on captured output.
    public static func parseInfoForTesting(_ text: String) -> Info { parseInfo(text) }
}
