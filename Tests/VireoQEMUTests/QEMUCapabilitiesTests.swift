import Testing

@testable import VireoQEMU

/// `/nodes/{node}/capabilities/qemu/cpu` and `…/machines`, from the QEMU binary's own help.
@Suite struct QEMUCapabilitiesTests {
    /// `qemu-system-x86_64 -cpu help` of QEMU 7.2 (Debian 12), an excerpt; the real output pads
    /// models without a description with trailing spaces, left out here.
    static let cpuHelp = """
        Available CPUs:
        x86 486                   (alias configured by machine type)
        x86 486-v1
        x86 Broadwell             (alias configured by machine type)
        x86 Broadwell-IBRS        (alias of Broadwell-v3)
        x86 Broadwell-v1          Intel Core Processor (Broadwell)
        x86 Broadwell-v4          Intel Core Processor (Broadwell, no TSX, IBRS)
        x86 Cascadelake-Server-v5  Intel Xeon Processor (Cascadelake) [ARCH_CAPABILITIES, EPT switching, XSAVES, no TSX]
        x86 Dhyana-v1             Hygon Dhyana Processor
        x86 EPYC                  (alias configured by machine type)
        x86 EPYC-Rome-v2          AMD EPYC-Rome Processor
        x86 EPYC-v2               AMD EPYC Processor (with IBPB)
        x86 Opteron_G5-v1         AMD Opteron 63xx class CPU
        x86 athlon-v1             QEMU Virtual CPU version 2.5+
        x86 core2duo-v1           Intel(R) Core(TM)2 Duo CPU     T7700  @ 2.40GHz
        x86 kvm64-v1              Common KVM processor
        x86 phenom-v1             AMD Phenom(tm) 9550 Quad-Core Processor
        x86 qemu64-v1             QEMU Virtual CPU version 2.5+
        x86 base                  base CPU model type with no features enabled
        x86 host                  processor with all supported host features
        x86 max                   Enables all features supported by the accelerator in the current host

        Recognized CPUID flags:
          3dnow 3dnowext 3dnowprefetch abm ace2 ace2-en acpi adx aes amd-no-ssb
          amd-ssbd amd-stibp amx-bf16 amx-int8 amx-tile apic arat arch-capabilities
        x86 not-a-model           listed after the flags
        """

    /// `qemu-system-x86_64 -machine help` of QEMU 7.2 (Debian 12), complete.
    static let machineHelp = """
        Supported machines are:
        microvm              microvm (i386)
        pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)
        pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)
        pc-i440fx-7.1        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-7.0        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-6.2        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-6.1        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-6.0        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-5.2        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-5.1        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-5.0        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-4.2        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-4.1        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-4.0        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-3.1        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-3.0        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.9        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.8        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.7        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.6        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.5        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.4        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.3        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.2        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.12       Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.11       Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.10       Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.1        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-2.0        Standard PC (i440FX + PIIX, 1996)
        pc-i440fx-1.7        Standard PC (i440FX + PIIX, 1996) (deprecated)
        pc-i440fx-1.6        Standard PC (i440FX + PIIX, 1996) (deprecated)
        pc-i440fx-1.5        Standard PC (i440FX + PIIX, 1996) (deprecated)
        pc-i440fx-1.4        Standard PC (i440FX + PIIX, 1996) (deprecated)
        q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)
        pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)
        pc-q35-7.1           Standard PC (Q35 + ICH9, 2009)
        pc-q35-7.0           Standard PC (Q35 + ICH9, 2009)
        pc-q35-6.2           Standard PC (Q35 + ICH9, 2009)
        pc-q35-6.1           Standard PC (Q35 + ICH9, 2009)
        pc-q35-6.0           Standard PC (Q35 + ICH9, 2009)
        pc-q35-5.2           Standard PC (Q35 + ICH9, 2009)
        pc-q35-5.1           Standard PC (Q35 + ICH9, 2009)
        pc-q35-5.0           Standard PC (Q35 + ICH9, 2009)
        pc-q35-4.2           Standard PC (Q35 + ICH9, 2009)
        pc-q35-4.1           Standard PC (Q35 + ICH9, 2009)
        pc-q35-4.0.1         Standard PC (Q35 + ICH9, 2009)
        pc-q35-4.0           Standard PC (Q35 + ICH9, 2009)
        pc-q35-3.1           Standard PC (Q35 + ICH9, 2009)
        pc-q35-3.0           Standard PC (Q35 + ICH9, 2009)
        pc-q35-2.9           Standard PC (Q35 + ICH9, 2009)
        pc-q35-2.8           Standard PC (Q35 + ICH9, 2009)
        pc-q35-2.7           Standard PC (Q35 + ICH9, 2009)
        pc-q35-2.6           Standard PC (Q35 + ICH9, 2009)
        pc-q35-2.5           Standard PC (Q35 + ICH9, 2009)
        pc-q35-2.4           Standard PC (Q35 + ICH9, 2009)
        pc-q35-2.12          Standard PC (Q35 + ICH9, 2009)
        pc-q35-2.11          Standard PC (Q35 + ICH9, 2009)
        pc-q35-2.10          Standard PC (Q35 + ICH9, 2009)
        isapc                ISA-only PC
        none                 empty machine
        x-remote             Experimental remote machine
        """

    @Test func cpuModelsWithTheVendorFromTheirDescription() {
        let models = QEMUCapabilities.parseCPUHelp(Self.cpuHelp)
        #expect(
            models.map(\.name) == [
                "486", "486-v1", "Broadwell", "Broadwell-IBRS", "Broadwell-v1", "Broadwell-v4", "Cascadelake-Server-v5",
                "Dhyana-v1", "EPYC", "EPYC-Rome-v2", "EPYC-v2", "Opteron_G5-v1", "athlon-v1", "core2duo-v1", "kvm64-v1",
                "phenom-v1", "qemu64-v1", "base", "host", "max",
            ]
        )
        let vendor = Dictionary(uniqueKeysWithValues: models.map { ($0.name, $0.vendor) })
        for name in ["Broadwell-v1", "Broadwell-v4", "Cascadelake-Server-v5", "core2duo-v1"] {
            #expect(vendor[name] == "GenuineIntel", "\(name)")
        }
        // Hygon's Dhyana is an AMD Zen licence: AMD's vendor for the guest.
        for name in ["Dhyana-v1", "EPYC-Rome-v2", "EPYC-v2", "Opteron_G5-v1", "phenom-v1"] {
            #expect(vendor[name] == "AuthenticAMD", "\(name)")
        }
        for name in ["486-v1", "kvm64-v1", "qemu64-v1", "base", "host", "max"] {
            #expect(vendor[name] == "default", "\(name)")
        }
    }

    @Test func aModelAliasHasTheVendorOfTheModelItStandsFor() {
        // `Broadwell` is the name users pick; it is an Intel model whatever its help line says.
        let vendor = Dictionary(
            uniqueKeysWithValues: QEMUCapabilities.parseCPUHelp(Self.cpuHelp).map { ($0.name, $0.vendor) }
        )
        #expect(vendor["Broadwell"] == "GenuineIntel")
        #expect(vendor["Broadwell-IBRS"] == "GenuineIntel")
        #expect(vendor["EPYC"] == "AuthenticAMD")
    }

    @Test func noModelsWithoutAModelList() {
        #expect(QEMUCapabilities.parseCPUHelp("").isEmpty)
        #expect(QEMUCapabilities.parseCPUHelp("qemu-system-x86_64: -cpu help: invalid option\n").isEmpty)
    }

    @Test func versionedMachinesNewestFirstWithoutAliases() {
        let machines = QEMUCapabilities.parseMachineHelp(Self.machineHelp)
        #expect(machines.count == 55)
        #expect(
            machines.prefix(6).map(\.id) == [
                "pc-i440fx-7.2", "pc-q35-7.2", "pc-i440fx-7.1", "pc-q35-7.1", "pc-i440fx-7.0", "pc-q35-7.0",
            ]
        )
        #expect(machines.first == QEMUCapabilities.Machine(id: "pc-i440fx-7.2", type: "i440fx", version: "7.2"))
        #expect(machines.last == QEMUCapabilities.Machine(id: "pc-i440fx-1.4", type: "i440fx", version: "1.4"))
        // Versions compare as numbers: 4.0.1 is between 4.1 and 4.0, 2.12 newer than 2.9.
        let ids = machines.map(\.id)
        #expect(
            ids.filter { $0.hasPrefix("pc-q35-4.") || $0.hasPrefix("pc-q35-2.1") || $0 == "pc-q35-2.9" } == [
                "pc-q35-4.2", "pc-q35-4.1", "pc-q35-4.0.1", "pc-q35-4.0", "pc-q35-2.12", "pc-q35-2.11", "pc-q35-2.10",
                "pc-q35-2.9",
            ]
        )
        for alias in ["pc", "q35", "microvm", "isapc", "none", "x-remote"] {
            #expect(!ids.contains(alias), "\(alias)")
        }
        #expect(Set(machines.map(\.type)) == ["i440fx", "q35"])
    }

    @Test func twoDigitMajorVersionsSortAboveSingleDigitOnes() {
        // QEMU 10 lists its machines like this.
        let help = """
            Supported machines are:
            pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-10.0)
            pc-i440fx-10.0       Standard PC (i440FX + PIIX, 1996) (default)
            pc-i440fx-9.2        Standard PC (i440FX + PIIX, 1996)
            q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-10.0)
            pc-q35-10.0          Standard PC (Q35 + ICH9, 2009)
            pc-q35-9.2           Standard PC (Q35 + ICH9, 2009)
            """
        #expect(
            QEMUCapabilities.parseMachineHelp(help).map(\.id) == [
                "pc-i440fx-10.0", "pc-q35-10.0", "pc-i440fx-9.2", "pc-q35-9.2",
            ]
        )
    }
}
