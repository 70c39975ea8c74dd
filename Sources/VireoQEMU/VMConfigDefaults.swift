import Foundation
public import VireoCore

/// What Proxmox fills into a config: MAC addresses of new NICs, and on creation an SMBIOS UUID,
/// a VM generation ID and the creation meta.
public enum VMConfigDefaults {
    public static func addGenerated(to section: inout VMConfig.Section, creating: Bool = true) throws {
        for entry in section.entries {
            guard let nic = try? VMNIC(key: entry.key, value: entry.value), nic.mac == nil else { continue }
            var rebuilt = try PropertyString(defaultValue: nil, [:])
            try rebuilt.set(nic.model, to: randomMAC())
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

    /// New MAC addresses, SMBIOS UUID and VM generation ID: what makes a copy a different machine.
    public static func regenerateIdentity(_ section: inout VMConfig.Section) throws {
        for entry in section.entries {
            guard var nic = try? VMNIC(key: entry.key, value: entry.value), nic.mac != nil else { continue }
            // The MAC sits under the model's key (`virtio=…`) or under `macaddr`.
            let macKey = nic.options.entries.first { $0.value == nic.mac }?.key ?? "macaddr"
            try nic.options.set(macKey, to: randomMAC())
            try section.set(entry.key, nic.options.description)
        }
        if var smbios = section["smbios1"].flatMap({ try? PropertyString(parsing: $0) }) {
            try smbios.set("uuid", to: UUID().uuidString.lowercased())
            try section.set("smbios1", smbios.description)
        }
        if section["vmgenid"] != nil { try section.set("vmgenid", UUID().uuidString.lowercased()) }
    }

    /// Proxmox's MAC prefix, used unless datacenter.cfg's `mac_prefix` says otherwise.
    public static let defaultMACPrefix = "BC:24:11"

    /// The prefix new MACs get: the API sets the cluster's `mac_prefix` for the calls that make
    /// NICs (and the tasks they start).
    @TaskLocal public static var macPrefix = defaultMACPrefix

    /// A MAC with `macPrefix` (one to three octets), the rest random.
    public static func randomMAC() -> String {
        let prefix = macPrefix.split(separator: ":").filter { !$0.isEmpty }.prefix(5).map { $0.uppercased() }
        let random = (prefix.count..<6).map { _ in String(format: "%02X", UInt8.random(in: 0...255)) }
        return (prefix + random).joined(separator: ":")
    }
}
