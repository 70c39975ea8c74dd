import Testing

@testable import VireoCore

@Suite struct PropertyStringTests {
    @Test(arguments: [
        "virtio=BC:24:11:A3:DA:B1,bridge=vmbr0,firewall=1",
        "virtio=BC:24:11:A3:DA:B1,bridge=vmbr0,firewall=1,tag=20",
        "local:100/vm-100-disk-0.qcow2,size=32G",
        "local-lvm:vm-100-disk-0,discard=on,iothread=1,size=32G",
        "local:iso/debian-12.iso,media=cdrom,size=628M",
        "order=scsi0;ide2;net0",
        "uuid=2c4a2cda-712b-44ab-8728-51f5e734b658",
        "media=cdrom,local:iso/x.iso",
        "x86-64-v2-AES",
        "",
    ])
    func printsWhatWasParsed(text: String) throws {
        #expect(try PropertyString(parsing: text).description == text)
    }

    @Test func parsesNetSpecIntoOrderedEntries() throws {
        let net = try PropertyString(parsing: "virtio=BC:24:11:A3:DA:B1,bridge=vmbr0,firewall=1")
        #expect(net.defaultValue == nil)
        #expect(net.keys == ["virtio", "bridge", "firewall"])
        #expect(net["virtio"] == "BC:24:11:A3:DA:B1")
        #expect(net["bridge"] == "vmbr0")
        #expect(net["tag"] == nil)
        #expect(try net.bool("firewall") == true)
    }

    @Test func parsesBarePartAsDefaultValue() throws {
        let drive = try PropertyString(parsing: "local:100/vm-100-disk-0.qcow2,size=32G")
        #expect(drive.defaultValue == "local:100/vm-100-disk-0.qcow2")
        #expect(drive.entries == [PropertyString.Entry(key: "size", value: "32G")])
        #expect(try drive.size("size") == ByteSize(32, .gibibyte))
    }

    @Test func splitsPartAtFirstEquals() throws {
        let value = try PropertyString(parsing: "user=local:snippets/a=b.yaml")
        #expect(value["user"] == "local:snippets/a=b.yaml")
    }

    @Test func ignoresEmptyParts() throws {
        #expect(try PropertyString(parsing: ",a=1,,b=2,").description == "a=1,b=2")
    }

    @Test func rejectsDuplicateKeys() throws {
        let error = try #require(throws: VireoError.self) {
            try PropertyString(parsing: "bridge=vmbr0,bridge=vmbr1")
        }
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("duplicate key 'bridge'"))
    }

    @Test func rejectsSecondBarePart() {
        #expect(throws: VireoError.self) { try PropertyString(parsing: "local:iso/a.iso,local:iso/b.iso") }
    }

    @Test(arguments: ["size=", "=32G", "a=1,b="])
    func rejectsEmptyKeyOrValue(text: String) {
        #expect(throws: VireoError.self) { try PropertyString(parsing: text) }
    }

    @Test(arguments: [
        ("1", true), ("on", true), ("yes", true), ("true", true), ("TRUE", true),
        ("0", false), ("off", false), ("no", false), ("false", false), ("Off", false),
    ])
    func readsProxmoxBooleanSpellings(text: String, expected: Bool) throws {
        let value = try PropertyString(parsing: "firewall=\(text)")
        #expect(try value.bool("firewall") == expected)
    }

    @Test func boolThrowsForNonBooleanAndIsNilWhenMissing() throws {
        let value = try PropertyString(parsing: "firewall=maybe")
        #expect(throws: VireoError.self) { try value.bool("firewall") }
        #expect(try value.bool("link_down") == nil)
    }

    @Test func intAcceptsOnlyPlainDigits() throws {
        let value = try PropertyString(parsing: "tag=20,queues=+4,mtu=-1")
        #expect(try value.int("tag") == 20)
        #expect(throws: VireoError.self) { try value.int("queues") }
        #expect(throws: VireoError.self) { try value.int("mtu") }
    }

    @Test func setReplacesInPlaceOrAppends() throws {
        var net = try PropertyString(parsing: "virtio=BC:24:11:A3:DA:B1,bridge=vmbr0,firewall=1")
        try net.set("bridge", to: "vmbr1")
        try net.set("tag", to: "20")
        try net.set("firewall", to: false)
        #expect(net.description == "virtio=BC:24:11:A3:DA:B1,bridge=vmbr1,firewall=0,tag=20")
    }

    @Test func setDefaultValueGoesFirstAndCanBeRemoved() throws {
        var drive = try PropertyString(defaultValue: nil, ["size": "32G"])
        try drive.setDefaultValue("local-lvm:vm-100-disk-0")
        #expect(drive.description == "local-lvm:vm-100-disk-0,size=32G")
        try drive.setDefaultValue(nil)
        #expect(drive.description == "size=32G")
    }

    @Test func setRejectsValuesThatCannotBePrinted() throws {
        var value = PropertyString()
        #expect(throws: VireoError.self) { try value.set("trunks", to: "10,20") }
        #expect(throws: VireoError.self) { try value.set("tag", to: "") }
        #expect(throws: VireoError.self) { try value.set("a=b", to: "1") }
        #expect(throws: VireoError.self) { try value.setDefaultValue("a=b") }
        #expect(value.isEmpty)
    }

    @Test func buildsFromPairsInOrder() throws {
        let value = try PropertyString(defaultValue: "virtio", ["bridge": "vmbr0", "firewall": "1"])
        #expect(value.description == "virtio,bridge=vmbr0,firewall=1")
        #expect(throws: VireoError.self) { try PropertyString(["a": "1", "a": "2"]) }
    }

    @Test func removeReturnsTheOldValue() throws {
        var value = try PropertyString(parsing: "a=1,b=2")
        #expect(value.remove("a") == "1")
        #expect(value.remove("a") == nil)
        #expect(value.description == "b=2")
    }

    @Test func losslessInitReturnsNilForBadInput() {
        #expect(PropertyString("a=1,a=2") == nil)
        #expect(PropertyString("a=1")?["a"] == "1")
    }
}

@Suite struct ByteSizeTests {
    @Test(arguments: [
        ("32G", 32 << 30), ("628M", 628 << 20), ("104858K", 104_858 << 10), ("512", 512), ("1T", 1 << 40),
        ("1.5G", 1536 << 20), ("0.5K", 512), ("1.0001K", 1024), ("0", 0),
    ])
    func parsesBinaryUnits(text: String, bytes: Int) throws {
        #expect(try ByteSize(parsing: text).bytes == bytes)
    }

    @Test(arguments: [
        (32 << 30, "32G"), (104_858 << 10, "104858K"), (1536 << 20, "1536M"), (512, "512"), (0, "0"),
        (3 << 40, "3T"), (1025, "1025"), (2048 << 40, "2048T"),
    ])
    func printsLargestExactUnit(bytes: Int, text: String) {
        #expect(ByteSize(bytes: bytes).description == text)
    }

    @Test(arguments: [
        "", "G", "1.5.3G", "-1G", "+1G", "1g", "1.G", ".5G", "1 G", "1GB", "99999999999999999999", "9999999T",
    ])
    func rejectsMalformedSizes(text: String) throws {
        let error = try #require(throws: VireoError.self) { try ByteSize(parsing: text) }
        #expect(error.message.contains("'\(text)'"))
    }

    @Test func comparesByBytes() {
        #expect(ByteSize(1, .gibibyte) > ByteSize(1023, .mebibyte))
        #expect(ByteSize(1, .gibibyte) == ByteSize(1024, .mebibyte))
    }
}
