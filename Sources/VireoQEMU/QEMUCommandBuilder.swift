import Foundation
public import VireoCore

/// Turns a VM config into QEMU's argv (upstream QEMU, as Debian ships it).
///
/// The shape follows Proxmox's (fixed PCI slots, `bootindex` from `boot order=`, `-no-shutdown`,
/// QMP on a unix socket, pidfile and `-daemonize`) minus pve-qemu's private options (`-id`, the
/// `+pveN` machine suffix). Disks use `-drive … if=none` plus a `-device`, which every QEMU accepts.
public struct QEMUCommandBuilder: Sendable {
    /// What the builder needs from the host.
    public struct Environment: Sendable {
        public var binary: String
        public var runDirectory: String
        /// Whether KVM can be used (`/dev/kvm` usable); `kvm: 1` without it is an error.
        public var kvmAvailable: Bool
        /// The path QEMU opens for a volume ID (`local:100/vm-100-disk-0.qcow2`), and its format.
        public var resolveVolume: @Sendable (String) throws -> (path: String, format: String)

        public init(
            binary: String = "qemu-system-x86_64",
            runDirectory: String,
            kvmAvailable: Bool,
            resolveVolume: @escaping @Sendable (String) throws -> (path: String, format: String)
        ) {
            self.binary = binary
            self.runDirectory = runDirectory
            self.kvmAvailable = kvmAvailable
            self.resolveVolume = resolveVolume
        }
    }

    public let environment: Environment
    public init(environment: Environment) { self.environment = environment }

    /// Runtime files of a VM under the run directory.
    public static func qmpSocket(runDirectory: String, vmid: VMID) -> String { "\(runDirectory)/\(vmid).qmp" }
    public static func pidFile(runDirectory: String, vmid: VMID) -> String { "\(runDirectory)/\(vmid).pid" }
    /// Where vireod listens for QEMU's event monitor connections (Proxmox's qmeventd socket).
    public static func eventSocket(runDirectory: String) -> String { "\(runDirectory)/qmeventd.sock" }
    public static func serialSocket(runDirectory: String, vmid: VMID, index: Int) -> String {
        "\(runDirectory)/\(vmid).serial\(index)"
    }

    /// Fixed PCI slots, as Proxmox keeps them for migration compatibility.
    static let slots: [String: String] = [
        "vga": "0x2", "balloon0": "0x3", "scsihw0": "0x5", "ahci0": "0x7", "qga0": "0x8", "virtio0": "0xa",
        "virtio1": "0xb", "virtio2": "0xc", "virtio3": "0xd", "virtio4": "0xe", "virtio5": "0xf",
        "net0": "0x12", "net1": "0x13", "net2": "0x14", "net3": "0x15", "net4": "0x16", "net5": "0x17",
    ]

    /// The options of a `netN` value besides `<model>=<MAC>`.
    static let netOptions: Set<String> = [
        "model", "macaddr", "bridge", "tag", "trunks", "firewall", "rate", "link_down", "mtu", "queues",
    ]

    static let netModels: [String: String] = [
        "virtio": "virtio-net-pci", "e1000": "e1000", "e1000e": "e1000e", "rtl8139": "rtl8139",
        "vmxnet3": "vmxnet3", "ne2k_pci": "ne2k_pci", "pcnet": "pcnet", "i82551": "i82551",
        "i82557b": "i82557b", "i82559er": "i82559er", "e1000-82540em": "e1000-82540em",
        "e1000-82544gc": "e1000-82544gc", "e1000-82545em": "e1000-82545em",
    ]

    public func build(vmid: VMID, config: VMConfig.Section) throws -> [String] {
        var argv: [String] = [environment.binary]
        let run = environment.runDirectory
        let kvm = try flag(config, "kvm", default: true)
        if kvm, !environment.kvmAvailable {
            throw VireoError.invalid(
                "KVM virtualisation configured, but not available (no usable /dev/kvm); set 'kvm: 0' to use software emulation"
            )
        }
        argv += ["-name", "\(try Self.checkedName(config["name"]) ?? "vm\(vmid)"),debug-threads=on", "-no-shutdown"]
        argv += [
            "-chardev", "socket,id=qmp,path=\(Self.qmpSocket(runDirectory: run, vmid: vmid)),server=on,wait=off",
            "-mon", "chardev=qmp,mode=control",
            // A second monitor connects out to vireod for events; QEMU retries while vireod is away.
            "-chardev", "socket,id=qmp-event,path=\(Self.eventSocket(runDirectory: run)),reconnect=5",
            "-mon", "chardev=qmp-event,mode=control",
            "-pidfile", Self.pidFile(runDirectory: run, vmid: vmid), "-daemonize",
        ]
        if let smbios = config["smbios1"] {
            argv += ["-smbios", try Self.smbios1Argument(try property("smbios1", smbios))]
        }
        let sockets = try integer(config, "sockets", default: 1, range: 1...4)
        let cores = try integer(config, "cores", default: 1, range: 1...128)
        let vcpus = try integer(config, "vcpus", default: sockets * cores, range: 1...(sockets * cores))
        argv += ["-smp", "\(vcpus),sockets=\(sockets),cores=\(cores),maxcpus=\(sockets * cores)", "-nodefaults"]
        argv += ["-boot", "menu=on,strict=on,reboot-timeout=1000"]
        argv += ["-vnc", "unix:\(run)/\(vmid).vnc,password=on"]
        argv += ["-cpu", try cpu(config, kvm: kvm)]
        let memory = try memoryMiB(config)
        argv += ["-m", String(memory)]
        argv += ["-device", "pci-bridge,id=pci.1,chassis_nr=1,bus=pci.0,addr=0x1e"]
        argv += ["-device", "pci-bridge,id=pci.2,chassis_nr=2,bus=pci.0,addr=0x1f"]
        if let vmgenid = config["vmgenid"], vmgenid != "0" {
            argv += ["-device", "vmgenid,guid=\(vmgenid)"]
        }
        argv += ["-device", "piix3-usb-uhci,id=uhci,bus=pci.0,addr=0x1.0x2"]
        if try flag(config, "tablet", default: true) {
            argv += ["-device", "usb-tablet,id=tablet,bus=uhci.0,port=1"]
        }
        argv += try vga(config)
        let balloon = try integer(config, "balloon", default: memory, range: 0...memory)
        if balloon != 0 {
            argv += ["-device", "virtio-balloon-pci,id=balloon0,bus=pci.0,addr=\(Self.slots["balloon0"] ?? "0x3")"]
        }
        argv += try serials(config, vmid: vmid)
        if let agent = try config["agent"].map({ try property("agent", $0) }),
            PropertyString.parseBool(agent.defaultValue ?? agent["enabled"] ?? "0") == true
        {
            argv += [
                "-chardev", "socket,path=\(run)/\(vmid).qga,server=on,wait=off,id=qga0",
                "-device", "virtio-serial,id=qga0,bus=pci.0,addr=\(Self.slots["qga0"] ?? "0x8")",
                "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
            ]
        }
        let boot = try BootOrder(config)
        argv += try disks(config, vmid: vmid, boot: boot)
        argv += try networks(config, vmid: vmid, boot: boot, kvm: kvm)
        if let ostype = config["ostype"], ostype.hasPrefix("w") {
            argv += ["-rtc", "driftfix=slew,base=localtime"]
        }
        var machine = ["type=" + (try machineType(config))]
        machine.append("accel=\(kvm ? "kvm" : "tcg")")
        if try !flag(config, "acpi", default: true) { machine.append("acpi=off") }
        argv += ["-machine", machine.joined(separator: ",")]
        if let args = config["args"] { argv += Self.splitArguments(args) }
        return argv
    }

    // MARK: - Pieces

    func machineType(_ config: VMConfig.Section) throws -> String {
        guard let text = config["machine"], let parsed = try? PropertyString(parsing: text) else { return "pc" }
        let type = parsed.defaultValue ?? parsed["type"] ?? "pc"
        guard TextShape.isWord(type, others: "._+-") else {
            throw VireoError.parameter("machine", "invalid machine type '\(type)'")
        }
        // pve-qemu's `+pveN` suffix does not exist upstream.
        return type.split(separator: "+").first.map(String.init) ?? type
    }

    /// `name` is a DNS name in Proxmox's schema; it lands inside QEMU's `-name` option.
    static func checkedName(_ name: String?) throws -> String? {
        guard let name else { return nil }
        guard TextShape.isDNSName(name) else {
            throw VireoError.parameter("name", "invalid format - value '\(name)' does not look like a valid DNS name")
        }
        return name
    }

    func cpu(_ config: VMConfig.Section, kvm: Bool) throws -> String {
        let parsed = try config["cpu"].map { try property("cpu", $0) }
        var type = parsed?.defaultValue ?? parsed?["cputype"] ?? (kvm ? "kvm64" : "qemu64")
        var flags: [String] = []
        switch type {
        case "x86-64-v2", "x86-64-v2-AES", "x86-64-v3", "x86-64-v4":
            // Proxmox's models: qemu64 plus the level's flags.
            let aes = type.hasSuffix("-AES")
            let level = type.replacingOccurrences(of: "-AES", with: "")
            type = "qemu64"
            flags = ["+popcnt", "+sse4.1", "+sse4.2", "+ssse3", "+cx16", "+lahf_lm"] + (aes ? ["+aes"] : [])
            if level != "x86-64-v2" {
                flags += ["+avx", "+avx2", "+bmi1", "+bmi2", "+f16c", "+fma", "+movbe", "+xsave"]
            }
            if level == "x86-64-v4" { flags += ["+avx512f", "+avx512bw", "+avx512cd", "+avx512dq", "+avx512vl"] }
        default: break
        }
        if kvm, type == "kvm64" || type == "qemu64" {
            flags =
                ["enforce", "+kvm_pv_eoi", "+kvm_pv_unhalt"] + flags.filter { $0 != "+lahf_lm" } + ["+lahf_lm", "+sep"]
        }
        // Each piece becomes a word of QEMU's `-cpu` option: a model a plain name, a flag `+name`/`-name`.
        guard TextShape.isWord(type, others: "._-") else {
            throw VireoError.parameter("cpu", "invalid CPU model '\(type)'")
        }
        for flag in parsed?["flags"]?.split(separator: ";") ?? [] {
            guard TextShape.isCPUFlag(flag) else {
                throw VireoError.parameter("cpu", "invalid CPU flag '\(flag)' (expected +name or -name)")
            }
            flags.append(String(flag))
        }
        return ([type] + flags).joined(separator: ",")
    }

    func memoryMiB(_ config: VMConfig.Section) throws -> Int {
        guard let text = config["memory"] else { return 512 }
        let parsed = try property("memory", text)
        let value = parsed.defaultValue ?? parsed["current"] ?? text
        guard let mib = Int(value), mib >= 16 else {
            throw VireoError.parameter("memory", "value '\(text)' is not a memory size in MiB (at least 16)")
        }
        return mib
    }

    func vga(_ config: VMConfig.Section) throws -> [String] {
        let parsed = try config["vga"].map { try property("vga", $0) }
        let type = parsed?.defaultValue ?? parsed?["type"] ?? "std"
        let slot = "bus=pci.0,addr=\(Self.slots["vga"] ?? "0x2")"
        switch type {
        case "std": return ["-device", "VGA,id=vga,\(slot)"]
        case "cirrus": return ["-device", "cirrus-vga,id=vga,\(slot)"]
        case "vmware": return ["-device", "vmware-svga,id=vga,\(slot)"]
        case "virtio": return ["-device", "virtio-vga,id=vga,\(slot)"]
        case "qxl": return ["-device", "qxl-vga,id=vga,\(slot)"]
        case "none", "serial0", "serial1", "serial2", "serial3": return ["-nographic", "-vga", "none"]
        default: throw VireoError.parameter("vga", "unsupported display type '\(type)'")
        }
    }

    func serials(_ config: VMConfig.Section, vmid: VMID) throws -> [String] {
        var argv: [String] = []
        for index in 0...3 {
            guard let value = config["serial\(index)"] else { continue }
            if value == "socket" {
                let path = Self.serialSocket(runDirectory: environment.runDirectory, vmid: vmid, index: index)
                // The log keeps what the guest printed while nobody was attached (a console's backlog).
                let log = VMConsoles.serialLog(runDirectory: environment.runDirectory, vmid: vmid, index: index)
                argv += [
                    "-chardev", "socket,id=serial\(index),path=\(path),server=on,wait=off,logfile=\(log),logappend=on",
                ]
            } else if value.hasPrefix("/dev/"), !value.contains(",") {
                argv += ["-chardev", "serial,id=serial\(index),path=\(value)"]
            } else {
                throw VireoError.parameter("serial\(index)", "value '\(value)' must be 'socket' or a /dev/ path")
            }
            argv += ["-device", "isa-serial,chardev=serial\(index)"]
        }
        return argv
    }

    // MARK: - Disks

    static let diskBuses: [(prefix: String, range: ClosedRange<Int>)] = [
        ("ide", 0...3), ("sata", 0...5), ("scsi", 0...30), ("virtio", 0...15),
    ]

    func disks(_ config: VMConfig.Section, vmid: VMID, boot: BootOrder) throws -> [String] {
        var argv: [String] = []
        let scsihw = config["scsihw"] ?? "lsi"
        var scsiControllers: Set<Int> = []
        var ahci = false
        for (prefix, range) in Self.diskBuses {
            for index in range {
                let key = "\(prefix)\(index)"
                guard let value = config[key] else { continue }
                let drive = try property(key, value)
                guard let file = drive.defaultValue ?? drive["file"] ?? drive["volume"] else {
                    throw VireoError.parameter(key, "missing volume in '\(value)'")
                }
                let isCD = drive["media"] == "cdrom" || file == "cdrom"
                var driveOptions: [String] = []
                if file == "none" {
                    driveOptions.append("if=none,id=drive-\(key),media=cdrom")
                } else {
                    let (path, format) = try resolve(file, key: key)
                    var options = ["file=\(Self.escapeComma(path))", "if=none", "id=drive-\(key)"]
                    if isCD {
                        options += ["media=cdrom", "aio=threads"]
                    } else {
                        let cache = drive["cache"] ?? "none"
                        options += ["format=\(drive["format"] ?? format)", "cache=\(cache)"]
                        // io_uring works with every cache mode; native AIO needs O_DIRECT.
                        options.append("aio=\(drive["aio"] ?? "io_uring")")
                        if drive["discard"] == "on" { options.append("discard=unmap") }
                        options.append("detect-zeroes=\(drive["discard"] == "on" ? "unmap" : "on")")
                        // Stop the VM on ENOSPC instead of passing the error to the guest (Proxmox's default).
                        options.append("werror=\(drive["werror"] ?? "enospc")")
                        options.append("rerror=\(drive["rerror"] ?? "report")")
                        if try drive.bool("ro") == true { options.append("readonly=on") }
                    }
                    driveOptions.append(options.joined(separator: ","))
                }
                argv += ["-drive", driveOptions.joined(separator: ",")]
                var device: [String]
                let bootIndex = boot.index(for: key, isCD: isCD).map { ",bootindex=\($0)" } ?? ""
                switch prefix {
                case "ide":
                    device = [
                        "\(isCD ? "ide-cd" : "ide-hd"),bus=ide.\(index / 2),unit=\(index % 2),drive=drive-\(key),id=\(key)\(bootIndex)"
                    ]
                case "sata":
                    if !ahci {
                        argv += [
                            "-device", "ahci,id=ahci0,multifunction=on,bus=pci.0,addr=\(Self.slots["ahci0"] ?? "0x7")",
                        ]
                        ahci = true
                    }
                    device = [
                        "\(isCD ? "ide-cd" : "ide-hd"),bus=ahci0.\(index),drive=drive-\(key),id=\(key)\(bootIndex)"
                    ]
                case "scsi":
                    let controller = scsihw == "virtio-scsi-single" ? index : index / 7
                    if !scsiControllers.contains(controller) {
                        argv += try scsiController(
                            scsihw,
                            controller: controller,
                            iothread: try drive.bool("iothread") == true
                        )
                        scsiControllers.insert(controller)
                    }
                    let lun = scsihw == "virtio-scsi-single" ? 0 : index % 7
                    device = [
                        "\(isCD ? "scsi-cd" : "scsi-hd"),bus=scsihw\(controller).0,channel=0,scsi-id=0,lun=\(lun),drive=drive-\(key),id=\(key)\(bootIndex)"
                    ]
                default:  // virtio
                    var options =
                        "virtio-blk-pci,drive=drive-\(key),id=\(key),bus=pci.0,addr=\(Self.slots[key] ?? "0x\(String(10 + index, radix: 16))")"
                    if try drive.bool("iothread") == true {
                        argv += ["-object", "iothread,id=iothread-\(key)"]
                        options += ",iothread=iothread-\(key)"
                    }
                    device = [options + bootIndex]
                }
                argv += ["-device"] + device
            }
        }
        return argv
    }

    func scsiController(_ model: String, controller: Int, iothread: Bool) throws -> [String] {
        let address =
            controller == 0
            ? "addr=\(Self.slots["scsihw0"] ?? "0x5")" : "bus=pci.1,addr=0x\(String(controller, radix: 16))"
        let bus = controller == 0 ? "bus=pci.0," : ""
        switch model {
        case "virtio-scsi-pci", "virtio-scsi-single":
            var argv: [String] = []
            var device = "virtio-scsi-pci,id=scsihw\(controller),\(bus)\(address)"
            if model == "virtio-scsi-single", iothread {
                argv += ["-object", "iothread,id=iothread-scsihw\(controller)"]
                device += ",iothread=iothread-scsihw\(controller)"
            }
            return argv + ["-device", device]
        case "lsi", "lsi53c810", "megasas", "pvscsi":
            let names = ["lsi": "lsi53c895a", "lsi53c810": "lsi53c810", "megasas": "megasas", "pvscsi": "pvscsi"]
            return ["-device", "\(names[model] ?? "lsi53c895a"),id=scsihw\(controller),\(bus)\(address)"]
        default:
            throw VireoError.parameter("scsihw", "unknown SCSI controller '\(model)'")
        }
    }

    /// `-smbios type=1,…` from `smbios1`: the UUID in its pattern, the text fields in base64's
    /// alphabet (Proxmox's pattern, which keeps `,`, spaces and control characters out), decoded
    /// for QEMU when `base64=1`.
    static func smbios1Argument(_ parsed: PropertyString) throws -> String {
        let textFields = ["manufacturer", "product", "version", "serial", "sku", "family"]
        let known = Set(textFields + ["uuid", "base64"])
        if let bare = parsed.defaultValue {
            throw VireoError.parameter("smbios1", "value without key: '\(bare)'")
        }
        if let unknown = parsed.entries.first(where: { !known.contains($0.key) }) {
            throw VireoError.parameter("smbios1", "invalid key in comma-separated list property: \(unknown.key)")
        }
        let encoded = try parsed.bool("base64") ?? false
        var fields = ["type=1"]
        if let uuid = parsed["uuid"] {
            guard TextShape.isUUID(uuid) else {
                throw VireoError.parameter("smbios1", "uuid: value does not match the regex pattern")
            }
            fields.append("uuid=\(uuid)")
        }
        for key in textFields {
            guard let value = parsed[key] else { continue }
            guard TextShape.isBase64(value) else {
                throw VireoError.parameter(
                    "smbios1",
                    "\(key): value does not match the regex pattern (base64 alphabet)"
                )
            }
            guard encoded else {
                fields.append("\(key)=\(value)")
                continue
            }
            guard let data = Data(base64Encoded: value), let text = String(data: data, encoding: .utf8),
                ConfigValue.isSingleLine(text)
            else { throw VireoError.parameter("smbios1", "\(key): not valid base64 of one line of text") }
            fields.append("\(key)=\(Self.escapeComma(text))")
        }
        return fields.joined(separator: ",")
    }

    func resolve(_ file: String, key: String) throws -> (path: String, format: String) {
        if file.hasPrefix("/") { return (file, "raw") }
        do {
            return try environment.resolveVolume(file)
        } catch let error as VireoError {
            throw VireoError.parameter(key, error.message)
        }
    }

    // MARK: - Network

    func networks(_ config: VMConfig.Section, vmid: VMID, boot: BootOrder, kvm: Bool) throws -> [String] {
        var argv: [String] = []
        for index in 0...31 {
            let key = "net\(index)"
            guard let value = config[key] else { continue }
            let nic = try Self.nic(
                key: key,
                value: value,
                vmid: vmid,
                kvm: kvm,
                bootIndex: boot.index(for: key, isCD: false)
            )
            argv += ["-netdev", nic.netdev, "-device", nic.device]
        }
        return argv
    }

    /// The `-netdev` and `-device` option strings of one `netN` (also what NIC hotplug sends).
    public static func nic(
        key: String,
        value: String,
        vmid: VMID,
        kvm: Bool,
        bootIndex: Int? = nil
    ) throws -> (netdev: String, device: String) {
        guard let index = VMNIC.index(ofKey: key) else {
            throw VireoError.parameter(key, "not a network device")
        }
        let net: PropertyString
        do { net = try PropertyString(parsing: value) } catch let error as VireoError {
            throw VireoError.parameter(key, error.message)
        }
        var model = net["model"] ?? "virtio"
        var mac = net["macaddr"]
        // `<model>=<MAC>` as the first part sets both.
        if let first = net.entries.first, !Self.netOptions.contains(first.key) {
            model = first.key
            mac = first.value
        } else if let bare = net.defaultValue {
            model = bare
        }
        for entry in net.entries.dropFirst() where !Self.netOptions.contains(entry.key) {
            throw VireoError.parameter(key, "unknown option '\(entry.key)'")
        }
        guard let device = Self.netModels[model] else {
            throw VireoError.parameter(key, "unknown NIC model '\(model)'")
        }
        var netdev: String
        if net["bridge"] != nil {
            netdev = "type=tap,id=\(key),ifname=tap\(vmid)i\(index),script=no,downscript=no"
            if model == "virtio", kvm { netdev += ",vhost=on" }
        } else {
            // No bridge: user-mode NAT, as Proxmox does.
            netdev = "type=user,id=\(key)"
        }
        let slot = Self.slots[key].map { "bus=pci.0,addr=\($0)" } ?? "bus=pci.1,addr=0x\(String(index, radix: 16))"
        var options = "\(device),netdev=\(key),\(slot),id=\(key)"
        if let mac { options = "\(device),mac=\(mac),netdev=\(key),\(slot),id=\(key)" }
        if let bootIndex { options += ",bootindex=\(bootIndex)" }
        return (netdev, options)
    }

    // MARK: - Helpers

    func property(_ key: String, _ value: String) throws -> PropertyString {
        do { return try PropertyString(parsing: value) } catch let error as VireoError {
            throw VireoError.parameter(key, error.message)
        }
    }

    func flag(_ config: VMConfig.Section, _ key: String, default fallback: Bool) throws -> Bool {
        guard let value = config[key] else { return fallback }
        guard let parsed = PropertyString.parseBool(value) else {
            throw VireoError.parameter(key, "type check ('boolean') failed - got '\(value)'")
        }
        return parsed
    }

    func integer(
        _ config: VMConfig.Section,
        _ key: String,
        default fallback: Int,
        range: ClosedRange<Int>
    ) throws -> Int {
        guard let value = config[key] else { return fallback }
        guard let number = Int(value), range.contains(number) else {
            throw VireoError.parameter(
                key,
                "value '\(value)' must be an integer in \(range.lowerBound)...\(range.upperBound)"
            )
        }
        return number
    }

    /// QEMU option values escape a comma by doubling it.
    static func escapeComma(_ text: String) -> String { text.replacingOccurrences(of: ",", with: ",,") }

    /// `args:` split like a shell would, for the common quoting forms.
    static func splitArguments(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        var quote: Character?
        var inWord = false
        for character in text {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
                inWord = true
            } else if character.isWhitespace {
                if inWord { result.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        if inWord { result.append(current) }
        return result
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    fileprivate func range(of target: String) -> Range<Substring.Index>? {
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(target) { return index..<self.index(index, offsetBy: target.count) }
            index = self.index(after: index)
        }
        return nil
    }
}
