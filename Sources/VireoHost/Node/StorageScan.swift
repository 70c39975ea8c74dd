import Foundation
public import VireoCore

/// What storages a node can reach (`/nodes/{node}/scan/*`), asked of the real tools.
extension NodeHost {
    /// `showmount --no-headers --exports <server>` → `[{path, options}]`.
    public func scanNFS(server: String) async throws -> [JSON] {
        let output = try await scanTool("showmount", ["--no-headers", "--exports", server], package: "nfs-common")
        return output.split(separator: "\n").compactMap { line -> JSON? in
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let path = words.first else { return nil }
            return ["path": .string(String(path)), "options": .string(words.dropFirst().joined(separator: " "))]
        }
    }

    /// `smbclient -L` → `[{share, description}]` of the disk shares.
    public func scanCIFS(server: String, username: String?, password: String?, domain: String?) async throws -> [JSON] {
        var arguments = ["-m", "smb3", "-d", "0", "-g", "-L", server]
        if let username { arguments += ["-U", username] } else { arguments.append("-N") }
        if let domain { arguments += ["-W", domain] }
        // The password goes through the environment-free stdin prompt, never the command line.
        let output = try await scanTool(
            "smbclient",
            arguments,
            package: "smbclient",
            input: password.map { Array(($0 + "\n").utf8) } ?? []
        )
        return output.split(separator: "\n").compactMap { line -> JSON? in
            let fields = line.split(separator: "|", omittingEmptySubsequences: false)
            guard fields.count >= 3, fields[0] == "Disk" else { return nil }
            return ["share": .string(String(fields[1])), "description": .string(String(fields[2]))]
        }
    }

    /// `iscsiadm --mode discovery --type sendtargets` → `[{target, portal}]`.
    public func scanISCSI(portal: String) async throws -> [JSON] {
        let output = try await scanTool(
            "iscsiadm",
            ["--mode", "discovery", "--type", "sendtargets", "--portal", portal],
            package: "open-iscsi"
        )
        var targets: [String: [String]] = [:]
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 2 else { continue }
            let address = words[0].split(separator: ",").first.map(String.init) ?? String(words[0])
            targets[String(words[1]), default: []].append(address)
        }
        return targets.sorted { $0.key < $1.key }.map {
            ["target": .string($0.key), "portal": .string($0.value.joined(separator: ","))]
        }
    }

    /// `vgs` → `[{vg}]`.
    public func scanLVM() async throws -> [JSON] {
        let output = try await scanTool("vgs", ["--noheadings", "--options", "vg_name"], package: "lvm2")
        return Self.words(output).map { ["vg": .string($0)] }
    }

    /// Thin pools of `vg` (`lvs`) → `[{lv}]`.
    public func scanLVMThin(vg: String) async throws -> [JSON] {
        let output = try await scanTool(
            "lvs",
            ["--noheadings", "--separator", ":", "--options", "lv_name,segtype", vg],
            package: "lvm2"
        )
        return output.split(separator: "\n").compactMap { line -> JSON? in
            let fields = line.trimmingCharacters(in: .whitespaces).split(separator: ":")
            guard fields.count == 2, fields[1] == "thin-pool" else { return nil }
            return ["lv": .string(String(fields[0]))]
        }
    }

    /// `zpool list` → `[{pool}]`.
    public func scanZFS() async throws -> [JSON] {
        let output = try await scanTool("zpool", ["list", "-H", "-o", "name"], package: "zfsutils-linux")
        return Self.words(output).map { ["pool": .string($0)] }
    }

    static func words(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Runs a scan tool in the node's namespace (scans reach the storage network).
    private func scanTool(
        _ name: String,
        _ arguments: [String],
        package: String,
        input: [UInt8] = []
    ) async throws
        -> String
    {
        try await runTool(name, arguments, package: package, input: input, timeout: .seconds(30), inNamespace: true)
    }
}

extension NodeHost {
    /// Whether `name` is an executable on `PATH` (checked before a tool runs inside a namespace,
    /// where the wrapper would hide that it is missing).
    public static func isInstalled(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        return directories.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
}
