import Foundation
import QMP
public import VireoCore
import VireoStorage

/// Disk hotplug on a running VM (Proxmox's default `hotplug` includes `disk`): a new `virtioN`, or
/// a `scsiN` on a SCSI controller the VM already has, is attached at once; removing one detaches it.
extension VMRuntime {
    /// Whether `key` can be hotplugged into a VM whose running config is `current`.
    public static func canHotplugDisk(_ key: String, value: String, current: VMConfig.Section) -> Bool {
        guard !value.contains("media=cdrom") else { return false }
        if key.hasPrefix("virtio") { return true }
        guard key.hasPrefix("scsi"), let index = Int(key.dropFirst(4)) else { return false }
        // Only onto a controller QEMU already has (one per 7 disks, or one per disk for virtio-scsi-single).
        let single = current["scsihw"] == "virtio-scsi-single"
        return !single
            && current.disks.contains {
                $0.key.hasPrefix("scsi") && Int($0.key.dropFirst(4)).map { $0 / 7 } == index / 7
            }
    }

    /// Attaches the disk: `drive_add` (the `-drive` QEMU would have had), then `device_add`.
    public func hotplugDisk(_ vmid: VMID, key: String, value: String, current: VMConfig.Section) async throws {
        var section = VMConfig.Section()
        if let scsihw = current["scsihw"] { try section.set("scsihw", scsihw) }
        try section.set("kvm", "0")  // only the disk arguments are used
        try section.set(key, value)
        let argv = try manager.commandLine(
            vmid: vmid,
            config: section,
            definitions: try await manager.storage.definitions()
        )
        guard let driveIndex = argv.firstIndex(of: "-drive"), let deviceIndex = argv.lastIndex(of: "-device"),
            argv.indices.contains(driveIndex + 1), argv.indices.contains(deviceIndex + 1)
        else { throw VireoError(.internalError, "no drive for '\(key)' in the command line") }
        let drive = argv[driveIndex + 1]
        let device = Self.qmpArguments(argv[deviceIndex + 1], firstIsDriver: true)
        try await qmp(vmid) { client in
            let reply = try await client.humanMonitorCommand("drive_add 0 \(drive)")
            guard reply.trimmingCharacters(in: .whitespacesAndNewlines) == "OK" else {
                throw QMPError.unexpectedResponse(command: "drive_add", reason: reply)
            }
            do {
                try await client.deviceAdd(device)
            } catch {
                _ = try? await client.humanMonitorCommand("drive_del drive-\(key)")
                throw error
            }
        }
    }

    /// Detaches the disk: `device_del` (the guest lets go), then `drive_del`.
    public func unplugDisk(_ vmid: VMID, key: String) async throws {
        try await qmp(vmid) { client in
            try await Self.removeDevice(key, client: client)
            _ = try await client.humanMonitorCommand("drive_del drive-\(key)")
        }
    }
}
