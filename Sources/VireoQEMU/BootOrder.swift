import VireoCore

/// `bootindex` values from `boot`: `order=scsi0;ide2;net0` gives 100, 101, 102 in that order;
/// the legacy `cdn` form gives the boot disk 100, CD-ROMs 200+ and NICs 300+.
struct BootOrder {
    private var explicit: [String: Int] = [:]
    private var legacy: String?
    private var bootDisk: String?

    init(_ config: VMConfig.Section) throws {
        guard let text = config["boot"] else {
            legacy = "cdn"
            bootDisk = config["bootdisk"]
            return
        }
        let parsed: PropertyString
        do { parsed = try PropertyString(parsing: text) } catch let error as VireoError {
            throw VireoError.parameter("boot", error.message)
        }
        if let order = parsed["order"] {
            for (position, device) in order.split(separator: ";").enumerated() {
                let name = String(device)
                guard config[name] != nil else {
                    throw VireoError.parameter("boot", "boot device '\(name)' does not exist in the config")
                }
                explicit[name] = 100 + position
            }
        } else {
            legacy = parsed.defaultValue ?? parsed["legacy"] ?? "cdn"
            bootDisk = config["bootdisk"]
        }
    }

    func index(for device: String, isCD: Bool) -> Int? {
        if legacy == nil { return explicit[device] }
        guard let legacy else { return nil }
        if let nic = VMNIC.index(ofKey: device) {
            return legacy.contains("n") ? 300 + nic : nil
        }
        if isCD { return legacy.contains("d") ? 200 + (Int(device.filter(\.isNumber)) ?? 0) : nil }
        if legacy.contains("c"), device == bootDisk { return 100 }
        return nil
    }
}
