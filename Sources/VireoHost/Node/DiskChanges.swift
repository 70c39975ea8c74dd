import Foundation
public import VireoCore

/// The changes the disk endpoints make to the host's disks. Callers check first that no storage
/// or VM uses the disk; these check what the host itself knows (mounts, holders, partitions).
extension NodeHost {
    /// Proxmox's check of a `disk` parameter: a device path, no partition.
    public func wholeDisk(_ path: String, parameter: String = "disk") async throws -> (BlockDevice, BlockDevices) {
        let valid =
            path.hasPrefix("/dev/")
            && path.dropFirst(5).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "/") }
        guard valid else { throw VireoError.parameter(parameter, "got unusual device path '\(path)'") }
        let devices = try await BlockDevices.read(runner)
        guard let device = devices.device(path: path) else {
            throw VireoError.parameter(parameter, "'\(path)' is not a valid block device")
        }
        guard device.type != "part" else { throw VireoError.invalid("\(path) is a partition") }
        return (device, devices)
    }

    /// A new, empty GPT on `disk` (`sgdisk -o`), with the disk GUID `uuid` or a random one.
    public func initializeGPT(_ disk: BlockDevice, in devices: BlockDevices, uuid: String?) async throws {
        if let use = devices.hostUse(of: disk) ?? devices.usage(of: disk) {
            throw VireoError.conflict("disk \(disk.path) already in use (\(use))")
        }
        try await tool("sgdisk", ["-o", "-U", uuid ?? "R", disk.path], package: "gdisk")
    }

    /// Erases file system and partition-table signatures on `disk` and its partitions and zeroes
    /// its first 200 MiB.
    public func wipe(_ disk: BlockDevice, in devices: BlockDevices, log: (String) -> Void) async throws {
        for device in [disk] + devices.partitions(of: disk) {
            if !device.mountpoints.isEmpty { throw VireoError.conflict("disk/partition '\(device.path)' is mounted") }
            if !devices.holders(of: device).isEmpty {
                throw VireoError.conflict("disk/partition '\(device.path)' has a holder")
            }
        }
        let parts = devices.partitions(of: disk).map(\.path)
        try await tool("wipefs", ["--all"] + parts + [disk.path], package: "util-linux")
        let bytes = min(disk.size, 200 * 1024 * 1024)
        log("zeroing the first \(bytes / 1024 / 1024) MiB of \(disk.path)")
        try await tool(
            "dd",
            ["if=/dev/zero", "of=\(disk.path)", "bs=1M", "count=\(max(bytes / (1024 * 1024), 1))", "conv=fdatasync"],
            package: "coreutils"
        )
        try? await tool("blockdev", ["--rereadpt", disk.path], package: "util-linux")
        // Partitions the kernel still lists are gone now (a re-read is refused for a busy loop).
        try? await tool("partx", ["--delete", disk.path], package: "util-linux")
    }

    /// The mount unit of directory storage `name`: `mnt-pve-<name>.mount` (systemd's escaping of
    /// the path; storage IDs need none beyond `-` → `\x2d`).
    public static func mountUnitName(_ name: String) -> String {
        "mnt-pve-" + name.replacingOccurrences(of: "-", with: "\\x2d") + ".mount"
    }

    public var mountUnitDirectory: String { path(of: "/etc/systemd/system") }
    public func directoryStoragePath(_ name: String) -> String { path(of: "/mnt/pve/\(name)") }

    public struct DirectoryMount: Sendable, Equatable {
        public var unitFile: String
        public var path: String
        public var device: String
        public var type: String
        public var options: String

        public var fields: [String: JSON] {
            [
                "unitfile": .string(unitFile), "path": .string(path), "device": .string(device),
                "type": .string(type), "options": .string(options),
            ]
        }
    }

    /// The directory storages' mount units.
    public func directoryMounts() -> [DirectoryMount] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: mountUnitDirectory)) ?? []
        return names.filter { $0.hasPrefix("mnt-pve-") && $0.hasSuffix(".mount") }.sorted().compactMap { name in
            let file = mountUnitDirectory + "/" + name
            guard let text = TextFile.read(file) else { return nil }
            var values: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                values[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
            return DirectoryMount(
                unitFile: file,
                path: values["Where"] ?? "",
                device: values["What"] ?? "",
                type: values["Type"] ?? "",
                options: values["Options"] ?? ""
            )
        }
    }

    /// Partitions `disk`, makes a file system and mounts it at `/mnt/pve/<name>` through a
    /// systemd mount unit (mounted directly where systemd does not run the host). Returns the path.
    public func createDirectoryStorage(
        name: String,
        disk: BlockDevice,
        in devices: BlockDevices,
        filesystem: String,
        log: (String) -> Void
    ) async throws -> String {
        if let use = devices.hostUse(of: disk) ?? devices.usage(of: disk) {
            throw VireoError.conflict("device '\(disk.path)' is already in use (\(use))")
        }
        let mountPath = directoryStoragePath(name)
        let unitFile = mountUnitDirectory + "/" + Self.mountUnitName(name)
        guard !FileManager.default.fileExists(atPath: unitFile) else {
            throw VireoError.conflict("a systemd mount unit already exists: \(unitFile)")
        }
        if let mounted = devices.devices.first(where: { $0.mountpoints.contains(mountPath) }) {
            throw VireoError.conflict("the path for '\(name)' is already mounted: \(mountPath) (\(mounted.path))")
        }
        log("creating a partition on \(disk.path)")
        try await tool("sgdisk", ["-n1", "-t1:8300", disk.path], package: "gdisk")
        // The kernel learns of the new partition (partx also where a re-read is refused).
        try? await tool("partx", ["--add", disk.path], package: "util-linux")
        let partition = try await firstPartition(of: disk)
        log("creating a \(filesystem) file system on \(partition)")
        try await tool("mkfs", ["-t", filesystem, partition], package: filesystem == "xfs" ? "xfsprogs" : "e2fsprogs")
        let uuid = try await runTool("blkid", ["-o", "value", "-s", "UUID", partition], package: "util-linux")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // Without udev there are no /dev/disk/by-uuid links: name the partition itself.
        let what =
            FileManager.default.fileExists(atPath: "/dev/disk/by-uuid/\(uuid)") && !uuid.isEmpty
            ? "/dev/disk/by-uuid/\(uuid)" : partition
        let unit = """
            [Unit]
            Description=Mount storage '\(name)' under /mnt/pve

            [Mount]
            What=\(what)
            Where=\(mountPath)
            Type=\(filesystem)
            Options=defaults

            [Install]
            WantedBy=multi-user.target

            """
        try FileManager.default.createDirectory(atPath: mountPath, withIntermediateDirectories: true)
        try TextFile.writeAtomically(unit, to: unitFile)
        do {
            if hasSystemd && !isContained {
                try await tool("systemctl", ["daemon-reload"], package: "systemd")
                try await tool("systemctl", ["enable", "--now", Self.mountUnitName(name)], package: "systemd")
            } else {
                try await tool("mount", ["-t", filesystem, partition, mountPath], package: "mount")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: unitFile)
            throw error
        }
        log("mounted \(partition) on \(mountPath)")
        return mountPath
    }

    /// Unmounts directory storage `name` and removes its unit; returns the device it mounted.
    @discardableResult
    public func removeDirectoryStorage(name: String) async throws -> String {
        let unitFile = mountUnitDirectory + "/" + Self.mountUnitName(name)
        guard let mount = directoryMounts().first(where: { $0.unitFile == unitFile }) else {
            throw VireoError.notFound("no directory storage mount unit for '\(name)'")
        }
        if hasSystemd && !isContained {
            try await tool("systemctl", ["disable", "--now", Self.mountUnitName(name)], package: "systemd")
        } else if let devices = try? await BlockDevices.read(runner),
            devices.devices.contains(where: { $0.mountpoints.contains(mount.path) })
        {
            try await tool("umount", [mount.path], package: "mount")
        }
        try FileManager.default.removeItem(atPath: unitFile)
        try? FileManager.default.removeItem(atPath: mount.path)
        return mount.device
    }

    private func firstPartition(of disk: BlockDevice) async throws -> String {
        // The kernel names partitions `sda1`, `nvme0n1p1`, `loop3p1`; the device node appears
        // once the table is re-read.
        let name = disk.name.last?.isNumber == true ? disk.path + "p1" : disk.path + "1"
        for _ in 0..<50 {
            if FileManager.default.fileExists(atPath: name) { return name }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw VireoError(.unavailable, "partition \(name) did not appear (for a loop device: losetup --partscan)")
    }

    /// Runs a disk tool.
    func tool(_ name: String, _ arguments: [String], package: String) async throws {
        try await runTool(name, arguments, package: package, timeout: .seconds(600))
    }
}
