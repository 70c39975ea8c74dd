import Foundation
public import VireoCore

/// What Proxmox fills into a config: MAC addresses of new NICs, and on creation an SMBIOS UUID,
/// a VM generation ID and the creation meta.
public enum VMConfigDefaults {
    public static func addGenerated(to section: inout VMConfig.Section, creating: Bool = true) throws {
        for entry in section.entries {
            guard let nic = try? VMNIC(key: entry.key, value: entry.value), nic.mac == nil else { continue }
            var rebuilt = try PropertyString(defaultValue: nil, [:])
            try rebuilt.set(nic.model, to: VMManager.randomMAC())
            for item in nic.options.entries where item.key != "model" && item.key != nic.model {
                try rebuilt.set(item.key, to: item.value)
            }
            try section.set(entry.key, rebuilt.description)
        }
        guard creating else { return }
        if section["smbios1"] == nil { try section.set("smbios1", "uuid=\(UUID().uuidString.lowercased())") }
        if section["vmgenid"] == nil || section["vmgenid"] == "1" {
            try section.set("vmgenid", UUID().uuidString.lowercased())
        }
        if section["meta"] == nil {
            try section.set("meta", "creation-qemu=vireo,ctime=\(Int64(Date().timeIntervalSince1970))")
        }
    }
}
