import Foundation
import VireoCore
public import VireoHost

/// What this node's QEMU offers (`/nodes/{node}/capabilities/qemu/*`), asked of the binary itself
/// (`-cpu help`, `-machine help`).
public struct QEMUCapabilities: Sendable {
    public struct CPUModel: Sendable, Equatable {
        public var name: String
        /// `GenuineIntel`, `AuthenticAMD`, or `default` for generic models.
        public var vendor: String
    }

    public struct Machine: Sendable, Equatable {
        public var id: String
        /// `q35` or `i440fx`.
        public var type: String
        public var version: String
    }

    public var cpuModels: [CPUModel]
    public var machines: [Machine]

    public static func read(
        binary: String = "qemu-system-x86_64",
        runner: any CommandRunner
    ) async throws
        -> QEMUCapabilities
    {
        func help(_ option: String) async throws -> String {
            do {
                return try await runner.run(Invocation(binary, [option, "help"], timeout: .seconds(20))).standardOutput
            } catch CommandError.notFound {
                throw VireoError(.notImplemented, "\(binary) is not installed (Debian package qemu-system-x86)")
            }
        }
        return QEMUCapabilities(
            cpuModels: parseCPUHelp(try await help("-cpu")),
            machines: parseMachineHelp(try await help("-machine"))
        )
    }

    /// `x86 <model>  <description>` lines up to the CPUID flags; `host` and `max` are generic. An
    /// alias has no description of its own: its vendor is that of the model it stands for
    /// (`alias of X`, or the model's `-v1` when the machine type decides).
    static func parseCPUHelp(_ text: String) -> [CPUModel] {
        var models: [(name: String, description: String)] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Recognized") { break }
            let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            guard words.count >= 2, words[0] == "x86" else { continue }
            models.append((String(words[1]), words.count > 2 ? words[2].trimmingCharacters(in: .whitespaces) : ""))
        }
        let descriptions = Dictionary(models.map { ($0.name, $0.description) }, uniquingKeysWith: { first, _ in first })
        func vendor(of description: String) -> String {
            if description.contains("Intel") { return "GenuineIntel" }
            if description.contains("AMD") || description.contains("Hygon") { return "AuthenticAMD" }
            return "default"
        }
        /// The description of a model's family: `<family>-v1`, else any described `<family>-vN`.
        func familyDescription(_ family: String) -> String? {
            if let first = descriptions[family + "-v1"], !first.hasPrefix("(") { return first }
            return models.first { $0.name.hasPrefix(family + "-v") && !$0.description.hasPrefix("(") }?.description
        }
        return models.map { model in
            var description = model.description
            if description.hasPrefix("(alias of ") {
                let target = String(description.dropFirst("(alias of ".count).prefix { $0 != ")" })
                let family = target.range(of: #"-v[0-9]+$"#, options: .regularExpression).map {
                    String(target[..<$0.lowerBound])
                }
                description = descriptions[target] ?? family.flatMap(familyDescription) ?? description
            } else if description.hasPrefix("(alias configured by machine type)") {
                description = familyDescription(model.name) ?? description
            }
            return CPUModel(name: model.name, vendor: vendor(of: description))
        }
    }

    /// Versioned `pc-q35-X.Y` and `pc-i440fx-X.Y` machines, newest first.
    static func parseMachineHelp(_ text: String) -> [Machine] {
        let machines = text.split(separator: "\n").compactMap { line -> Machine? in
            guard let id = line.split(separator: " ").first.map(String.init) else { return nil }
            for (prefix, type) in [("pc-q35-", "q35"), ("pc-i440fx-", "i440fx")] where id.hasPrefix(prefix) {
                return Machine(id: id, type: type, version: String(id.dropFirst(prefix.count)))
            }
            return nil
        }
        return machines.sorted {
            let a = $0.version.split(separator: ".").compactMap { Int($0) }
            let b = $1.version.split(separator: ".").compactMap { Int($0) }
            return a == b ? $0.type < $1.type : a.lexicographicallyPrecedes(b) == false
        }
    }

    /// The CPU flags a VM's `cpu: …,flags=` may turn on or off (Proxmox's fixed list).
    public static let cpuFlags: [(name: String, description: String)] = [
        ("md-clear", "Tells the guest that the host mitigates MDS (microarchitectural data sampling)"),
        ("pcid", "Process-context identifiers: cheaper Meltdown mitigation on older Intel CPUs"),
        ("spec-ctrl", "Speculation control MSR for Spectre mitigation on Intel CPUs"),
        ("ssbd", "Speculative Store Bypass Disable on Intel CPUs"),
        ("ibpb", "Indirect Branch Prediction Barrier for Spectre mitigation on AMD CPUs"),
        ("virt-ssbd", "Virtualized Speculative Store Bypass Disable on AMD CPUs"),
        ("amd-ssbd", "Speculative Store Bypass Disable on AMD CPUs (use with virt-ssbd)"),
        ("amd-no-ssb", "Tells the guest that the AMD host is not affected by Speculative Store Bypass"),
        ("pdpe1gb", "1 GiB pages for the guest, where the host supports them"),
        ("hv-tlbflush", "Hyper-V paravirtual TLB flush for Windows guests on overcommitted hosts"),
        ("hv-evmcs", "Hyper-V enlightened VMCS for nested virtualization (Intel only)"),
        ("aes", "AES-NI instructions in the guest"),
    ]
}
