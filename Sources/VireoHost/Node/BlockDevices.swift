import Foundation
import VireoCore

/// One block device as `lsblk --list --json` reports it.
public struct BlockDevice: Sendable, Equatable {
    public var name: String
    public var path: String
    /// `disk`, `part`, `loop`, `lvm`, `rom`, …
    public var type: String
    public var size: Int
    public var model: String?
    public var serial: String?
    public var vendor: String?
    public var wwn: String?
    public var rotational: Bool
    public var mountpoints: [String]
    public var fstype: String?
    public var partitionTable: String?
    /// The parent device (`sda` of `sda1`).
    public var parent: String?
    public var transport: String?
    public var partitionType: String?
    public var hotplug: Bool

    /// Parses `lsblk --list --json --bytes --output …` (``BlockDevices/lsblkColumns``).
    public static func parseList(_ text: String) -> [BlockDevice] {
        guard let json = try? JSON.parse(text), let items = json["blockdevices"]?.arrayValue else { return [] }
        return items.compactMap { item -> BlockDevice? in
            func string(_ key: String) -> String? {
                guard case .string(let value)? = item[key], !value.trimmingCharacters(in: .whitespaces).isEmpty
                else { return nil }
                return value.trimmingCharacters(in: .whitespaces)
            }
            func flag(_ key: String) -> Bool {
                switch item[key] {
                case .bool(let value)?: value
                case .string(let value)?: value == "1"
                case .int(let value)?: value != 0
                default: false
                }
            }
            guard let name = string("name"), let type = string("type") else { return nil }
            let mounts = (item["mountpoints"]?.arrayValue ?? []).compactMap { json -> String? in
                if case .string(let path) = json { return path }
                return nil
            }
            return BlockDevice(
                name: name,
                path: string("path") ?? "/dev/\(name)",
                type: type,
                size: item["size"]?.intValue ?? 0,
                model: string("model"),
                serial: string("serial"),
                vendor: string("vendor"),
                wwn: string("wwn"),
                rotational: flag("rota"),
                mountpoints: mounts,
                fstype: string("fstype"),
                partitionTable: string("pttype"),
                parent: string("pkname"),
                transport: string("tran"),
                partitionType: string("parttype"),
                hotplug: flag("hotplug")
            )
        }
    }
}

/// The node's disks (`/nodes/{node}/disks/…`): what they are, what uses them, and the changes
/// Proxmox makes to them (a new GPT, a wipe, a file system for a directory storage).
public struct BlockDevices: Sendable {
    static let lsblkColumns =
        "NAME,PATH,TYPE,SIZE,MODEL,SERIAL,VENDOR,WWN,ROTA,MOUNTPOINTS,FSTYPE,PTTYPE,PKNAME,TRAN,PARTTYPE,HOTPLUG"
    public let devices: [BlockDevice]

    public init(devices: [BlockDevice]) { self.devices = devices }

    public static func read(_ runner: any CommandRunner) async throws -> BlockDevices {
        let listing = try await NodeHost(runner: runner).runTool(
            "lsblk",
            ["--list", "--json", "--bytes", "--output", lsblkColumns],
            package: "util-linux",
            timeout: .seconds(30)
        )
        var devices = BlockDevice.parseList(listing)
        // lsblk reads file system and partition table types from udev's database; without udev
        // (containers, minimal hosts) ask the signatures themselves.
        if !FileManager.default.fileExists(atPath: "/run/udev/data") {
            for index in devices.indices where ["disk", "part", "loop"].contains(devices[index].type) {
                guard devices[index].size > 0, !devices[index].name.hasPrefix("zram") else { continue }
                let probe = await Self.probe(devices[index].path, runner)
                devices[index].fstype = devices[index].fstype ?? probe["TYPE"]
                devices[index].partitionTable = devices[index].partitionTable ?? probe["PTTYPE"]
            }
        }
        return BlockDevices(devices: devices)
    }

    /// `blkid -p -o export`: the signatures on a device (`TYPE`, `PTTYPE`, `UUID`, …).
    static func probe(_ path: String, _ runner: any CommandRunner) async -> [String: String] {
        guard let output = try? await runner.run(Invocation("blkid", ["-p", "-o", "export", path])) else { return [:] }
        var values: [String: String] = [:]
        for line in output.standardOutput.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }

    /// Whole disks a user would put a storage on: physical disks and attached loop devices.
    public var disks: [BlockDevice] {
        devices.filter { ($0.type == "disk" && !$0.name.hasPrefix("zram")) || ($0.type == "loop" && $0.size > 0) }
    }

    public func partitions(of disk: BlockDevice) -> [BlockDevice] {
        devices.filter { $0.parent == disk.name && $0.type == "part" }
    }

    /// Devices built on `device` (LVM volumes, device-mapper, md).
    func holders(of device: BlockDevice) -> [BlockDevice] {
        devices.filter { $0.parent == device.name && $0.type != "part" }
    }

    public func device(path: String) -> BlockDevice? {
        let resolved = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map {
            $0.hasPrefix("/") ? $0 : "/dev/" + ($0 as NSString).lastPathComponent
        }
        return devices.first { $0.path == path || $0.path == resolved }
    }

    /// Proxmox's `used` word for a disk: what is on it, nil when it is free.
    public func usage(of disk: BlockDevice) -> String? {
        if !disk.mountpoints.isEmpty { return "mounted" }
        if let holder = holders(of: disk).first { return holder.type == "lvm" ? "LVM" : "Device Mapper" }
        if let fstype = disk.fstype { return fstype == "LVM2_member" ? "LVM" : fstype }
        let parts = partitions(of: disk)
        if parts.contains(where: { $0.partitionType?.lowercased() == "21686148-6449-6e6f-744e-656564454649" }) {
            return "BIOS boot"
        }
        return parts.isEmpty ? nil : "partitions"
    }

    /// Why `disk` may not be wiped or re-partitioned: a mount of it or of a partition, a device
    /// built on it. Nil when it is not in use by the host.
    public func hostUse(of disk: BlockDevice) -> String? {
        for device in [disk] + partitions(of: disk) {
            if let mount = device.mountpoints.first { return "\(device.path) is mounted on \(mount)" }
            if let holder = holders(of: device).first { return "\(device.path) is in use by \(holder.path)" }
        }
        return nil
    }
}

extension NodeHost {
    /// `smartctl --json` about `disk`, nil when smartctl is missing or printed nothing. Its exit
    /// code is a bit mask of findings, so the JSON of a "failed" run is still the answer.
    public func smartReport(_ disk: String, healthOnly: Bool) async -> String? {
        guard Self.isInstalled("smartctl") else { return nil }
        let arguments = ["--json", "-H"] + (healthOnly ? [] : ["-A"]) + [disk]
        do {
            return try await runner.run(Invocation("smartctl", arguments)).standardOutput
        } catch {
            switch error {
            case .failed(_, _, _, let standardOutput): return standardOutput
            default: return nil
            }
        }
    }
}
