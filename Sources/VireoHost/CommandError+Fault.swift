public import VireoCore

extension CommandError: FaultLocating {
    /// The layer of the tool that failed: what it manages is where the failure lives. A full file
    /// system is the storage backend's fault whichever tool ran into it.
    public var fault: Fault? {
        if standardError.contains("No space left on device") || standardError.contains("Disk quota exceeded") {
            return Fault(.storageBackend)
        }
        return Self.layer(ofTool: executable).map(Fault.init)
    }

    /// The layer a host tool works on, by its name (`/usr/bin/qemu-img` → virtual disk).
    public static func layer(ofTool path: String) -> Fault.Layer? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasPrefix("qemu-system") { return .vmProcess }
        switch name {
        case "qemu-img", "qemu-nbd": return .virtualDisk
        case "nft", "ipset", "conntrack": return .firewall
        case "ip", "bridge", "ifup", "ifdown", "ifreload", "sysctl": return .bridge
        case "btrfs", "zfs", "zpool", "rbd", "ceph", "mount", "umount", "losetup", "mkfs", "mkfs.ext4", "mkfs.xfs",
            "mkfs.btrfs", "pvs", "vgs", "lvs", "pvcreate", "vgcreate", "lvcreate", "lvremove", "lvresize",
            "lvchange", "lvrename", "vgchange", "iscsiadm", "showmount", "rsync", "cp", "dd":
            return .storageBackend
        case "smartctl", "lsblk", "sgdisk", "wipefs", "blkid", "partprobe", "udevadm":
            return .physicalDisk
        default: return nil
        }
    }

    private var executable: String {
        switch self {
        case .notFound(let name): name
        case .failed(let invocation, _, _, _), .signaled(let invocation, _, _), .timedOut(let invocation, _),
            .launchFailed(let invocation, _):
            invocation.executable
        }
    }

    private var standardError: String {
        switch self {
        case .failed(_, _, let stderr, _), .signaled(_, _, let stderr): stderr
        default: ""
        }
    }
}
