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
                throw VireoError(.unavailable, "\(binary) is not installed (Debian package qemu-system-x86)")
            }
        }
        return QEMUCapabilities(
            cpuModels: parseCPUHelp(try await help("-cpu")),
            machines: parseMachineHelp(try await help("-machine"))
        )
    }

    /// `x86 <model>  <description>` lines up to the CPUID flags; `host` and `max` are generic.
    static func parseCPUHelp(_ text: String) -> [CPUModel] {
        var models: [CPUModel] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Recognized") { break }
            let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            guard words.count >= 2, words[0] == "x86" else { continue }
            let description = words.count > 2 ? words[2] : ""
            let vendor: String =
                if description.contains("Intel") {
                    "GenuineIntel"
                } else if description.contains("AMD")
                    || description.contains("Hygon")
                { "AuthenticAMD" } else { "default" }
            models.append(CPUModel(name: String(words[1]), vendor: vendor))
        }
        return models
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
