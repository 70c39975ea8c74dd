import Testing
import VireoCore
import VireoHost

@Suite struct CommandErrorFaultTests {
    private func failed(_ tool: String, stderr: String = "boom") -> CommandError {
        .failed(Invocation(tool, ["x"]), exitCode: 1, standardError: stderr, standardOutput: "")
    }

    @Test func aToolsFailureLivesInTheLayerItManages() {
        #expect(Fault.of(failed("/usr/bin/qemu-img")) == Fault(.virtualDisk))
        #expect(Fault.of(failed("nft")) == Fault(.firewall))
        #expect(Fault.of(failed("ip")) == Fault(.bridge))
        #expect(Fault.of(failed("btrfs")) == Fault(.storageBackend))
        #expect(Fault.of(failed("smartctl")) == Fault(.physicalDisk))
        #expect(Fault.of(failed("/usr/bin/qemu-system-x86_64")) == Fault(.vmProcess))
        #expect(Fault.of(failed("true")) == Fault(.api))
    }

    @Test func aFullFileSystemIsTheBackendsWhicheverToolMetIt() {
        let error = failed("qemu-img", stderr: "qemu-img: /x.qcow2: Could not write: No space left on device")
        #expect(Fault.of(error) == Fault(.storageBackend))
        let wrapped = VireoError(.internalError, "storage 'local': allocation failed", underlying: error)
        #expect(Fault.of(wrapped).description == "storage / storage-backend")
    }
}

@Suite struct WrappedToolFaultTests {
    @Test func aToolRunInANamespaceIsPlacedByItsOwnName() {
        let qemu = CommandError.failed(
            Invocation("nsenter", ["--net=/run/netns/x", "--", "qemu-system-x86_64", "-name", "a"]),
            exitCode: 1,
            standardError: "qemu-system-x86_64: -drive file=/x.raw,if=none: Could not open '/x.raw': No such file",
            standardOutput: ""
        )
        #expect(qemu.fault == Fault(.virtualDisk))
        let nft = CommandError.failed(
            Invocation("ip", ["netns", "exec", "x", "nft", "-f", "-"]),
            exitCode: 1,
            standardError: "Error: syntax error",
            standardOutput: ""
        )
        #expect(nft.fault == Fault(.firewall))
        let crash = CommandError.failed(
            Invocation("nsenter", ["--net=/run/netns/x", "--", "qemu-system-x86_64"]),
            exitCode: 1,
            standardError: "qemu-system-x86_64: cannot set up guest memory",
            standardOutput: ""
        )
        #expect(crash.fault == Fault(.vmProcess))
    }
}
