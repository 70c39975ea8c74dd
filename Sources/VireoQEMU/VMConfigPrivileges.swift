import VireoCore

/// Which privilege a change to a config key needs on `/vms/<vmid>`, as Proxmox decides it per key
/// after its endpoint-level check (that one only asks for *any* `VM.Config.*`).
public enum VMConfigPrivileges {
    /// nil means root@pam only (``VMHostAccess/rootOnlyKeys``: `args`, `hookscript`).
    public static func required(for key: String, value: String?) -> String? {
        if VMHostAccess.rootOnlyKeys.contains(key) { return nil }
        switch key {
        case "memory", "balloon", "shares": return "VM.Config.Memory"
        case "sockets", "cores", "cpu", "cpulimit", "cpuunits", "vcpus", "affinity", "numa":
            return "VM.Config.CPU"
        case "ciuser", "cipassword", "citype", "ciupgrade", "cicustom", "nameserver", "searchdomain", "sshkeys":
            return "VM.Config.Cloudinit"
        case "machine", "bios", "scsihw", "vga", "tablet", "keyboard", "audio0", "watchdog", "rng0", "smbios1",
            "vmgenid", "efidisk0", "tpmstate0", "kvm", "acpi", "hugepages", "localtime", "tdf", "freeze":
            return key == "efidisk0" || key == "tpmstate0" ? "VM.Config.Disk" : "VM.Config.HWType"
        default: break
        }
        if key.hasPrefix("numa") { return "VM.Config.CPU" }
        if key.hasPrefix("ipconfig") { return "VM.Config.Cloudinit" }
        if VMNIC.isKey(key) { return "VM.Config.Network" }
        if key.hasPrefix("unused") { return "VM.Config.Disk" }
        for prefix in ["hostpci", "usb", "serial", "parallel", "virtiofs"] where key.hasPrefix(prefix) {
            return "VM.Config.HWType"
        }
        if VMManager.isDiskKey(key) {
            let isCDROM = value.map { $0.contains("media=cdrom") || $0.hasPrefix("cdrom") || $0 == "none" } ?? false
            return isCDROM ? "VM.Config.CDROM" : "VM.Config.Disk"
        }
        return "VM.Config.Options"
    }
}
