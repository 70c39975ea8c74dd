public import VireoCore

extension CommandError: FaultLocating {
    /// The layer of the tool that failed: what it manages is where the failure lives. A full file
    /// system is the storage backend's fault whichever tool ran into it.
    public var fault: Fault? {
        if standardError.contains("No space left on device") || standardError.contains("Disk quota exceeded") {
            return Fault(.storageBackend)
        }
        let tool = Self.wrappedTool(invocation) ?? executable
        // QEMU that cannot open a drive fails on its virtual disk, not as a process.
        if tool.split(separator: "/").last?.hasPrefix("qemu-system") == true,
            standardError.contains("-drive "), standardError.contains("Could not open")
        {
            return Fault(.virtualDisk)
        }
        return Self.layer(ofTool: tool).map(Fault.init)
    }

    /// The tool a namespace wrapper ran: `nsenter … -- TOOL …`, `ip netns exec NS TOOL …`.
    static func wrappedTool(_ invocation: Invocation?) -> String? {
        guard let invocation else { return nil }
        let name = invocation.executable.split(separator: "/").last.map(String.init) ?? invocation.executable
        let arguments = invocation.arguments
        if name == "nsenter", let separator = arguments.firstIndex(of: "--"), separator + 1 < arguments.count {
            return arguments[separator + 1]
        }
        if name == "ip", arguments.count > 3, arguments[0] == "netns", arguments[1] == "exec" { return arguments[3] }
        return nil
    }

    private var invocation: Invocation? {
        switch self {
        case .notFound: nil
        case .failed(let invocation, _, _, _), .signaled(let invocation, _, _), .timedOut(let invocation, _),
            .launchFailed(let invocation, _):
            invocation
        }
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
