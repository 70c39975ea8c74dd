import Testing

@testable import VireoCore

@Suite struct VMConfigTests {
    /// The config example of /work/shared/spec/vm.md §1, the only config sample in that file (its other
    /// fenced block is a QEMU command line). The sample's `...` placeholder line in `[pre_upgrade]`
    /// (standing for the rest of the snapshot's copied config) is removed here.
    static let specExample = """
        #Web server%3A nginx
        boot: order=scsi0;ide2;net0
        cores: 2
        cpu: x86-64-v2-AES
        ide2: local:iso/debian-12.iso,media=cdrom,size=628M
        memory: 4096
        name: web01
        net0: virtio=BC:24:11:A3:DA:B1,bridge=vmbr0,firewall=1,tag=20
        ostype: l26
        parent: pre_upgrade
        scsi0: local-lvm:vm-100-disk-0,discard=on,iothread=1,size=32G
        scsihw: virtio-scsi-single
        smbios1: uuid=2c4a2cda-712b-44ab-8728-51f5e734b658
        vmgenid: 713da648-38a6-489e-b0b2-dd9cef419f33

        [PENDING]
        delete: net1
        memory: 8192

        [pre_upgrade]
        runningmachine: pc-i440fx-9.2+pve1
        snaptime: 1737549549
        vmstate: local-lvm:vm-100-state-pre_upgrade

        """

    /// Every section kind, a multi-line description, an empty pending description and keys that are
    /// not in canonical order.
    static let allSectionKinds = """
        #Line one%3A with colon
        #
        #Gr%C3%BC%C3%9Fe 100%25
        name: db01
        memory: 2048
        net2: virtio=BC:24:11:00:00:02,bridge=vmbr0
        net10: virtio=BC:24:11:00:00:10,bridge=vmbr0
        ide2: local-lvm:vm-101-cloudinit,media=cdrom
        args: -device foo,bar=1 -S

        [PENDING]
        #
        delete: !net10,tags
        cores: 4

        [special:cloudinit]
        name: db01
        added: 1

        [zeta]
        #before upgrade
        memory: 2048
        snaptime: 1737549549

        [alpha]
        memory: 1024

        """

    @Test(arguments: [specExample, allSectionKinds, "", "name: a\n", "\n[PENDING]\n"])
    func printsWhatWasParsedByteForByte(text: String) throws {
        #expect(try VMConfig(parsing: text).description == text)
    }

    @Test func specExampleIsAlreadyCanonical() throws {
        #expect(try VMConfig(parsing: Self.specExample).canonicalText == Self.specExample)
    }

    @Test func parsesSpecExampleIntoSections() throws {
        let config = try VMConfig(parsing: Self.specExample)
        #expect(config.main.description == "Web server: nginx")
        #expect(config.main["boot"] == "order=scsi0;ide2;net0")
        #expect(config.main["net0"] == "virtio=BC:24:11:A3:DA:B1,bridge=vmbr0,firewall=1,tag=20")
        #expect(config.main.keys.count == 13)
        let pending = try #require(config.pending)
        #expect(pending.entries == [.init(key: "delete", value: "net1"), .init(key: "memory", value: "8192")])
        #expect(pending.description == nil)
        #expect(config.snapshots.map(\.name) == ["pre_upgrade"])
        #expect(config[snapshot: "pre_upgrade"]?["vmstate"] == "local-lvm:vm-100-state-pre_upgrade")
        #expect(config.specialSections.isEmpty)
    }

    @Test func parsesEverySectionKind() throws {
        let config = try VMConfig(parsing: Self.allSectionKinds)
        #expect(config.main.description == "Line one: with colon\n\nGrüße 100%")
        #expect(config.main["args"] == "-device foo,bar=1 -S")
        #expect(config.pending?.description == "")
        #expect(config.pending?["delete"] == "!net10,tags")
        #expect(config[special: "cloudinit"]?["added"] == "1")
        #expect(config.snapshots.map(\.name) == ["zeta", "alpha"])
        #expect(config[snapshot: "zeta"]?.description == "before upgrade")
    }

    @Test func canonicalTextSortsKeysAndSections() throws {
        let config = try VMConfig(parsing: Self.allSectionKinds)
        #expect(
            config.canonicalText == """
                #Line one%3A with colon
                #
                #Gr%C3%BC%C3%9Fe 100%25
                args: -device foo,bar=1 -S
                ide2: local-lvm:vm-101-cloudinit,media=cdrom
                memory: 2048
                name: db01
                net10: virtio=BC:24:11:00:00:10,bridge=vmbr0
                net2: virtio=BC:24:11:00:00:02,bridge=vmbr0

                [PENDING]
                #
                cores: 4
                delete: !net10,tags

                [special:cloudinit]
                added: 1
                name: db01

                [alpha]
                memory: 1024

                [zeta]
                #before upgrade
                memory: 2048
                snaptime: 1737549549

                """
        )
    }

    @Test func canonicalTextWritesSpecialSectionsBeforeSnapshots() throws {
        var config = VMConfig(main: try VMConfig.Section(["memory": "512"]))
        try config.setSnapshot("b1", VMConfig.Section())
        try config.setSpecial("fleecing", try VMConfig.Section(["fleecing-images": "local:vm-100-fleece-0"]))
        try config.setSpecial("cloudinit", try VMConfig.Section(["added": "1"]))
        config.pending = try VMConfig.Section(["memory": "1024"])
        #expect(
            config.canonicalText == """
                memory: 512

                [PENDING]
                memory: 1024

                [special:cloudinit]
                added: 1

                [special:fleecing]
                fleecing-images: local:vm-100-fleece-0

                [b1]

                """
        )
    }

    @Test func canonicalTextDropsEmptyDescriptionOutsidePending() throws {
        var config = VMConfig(main: VMConfig.Section(description: "  \n"), pending: VMConfig.Section(description: ""))
        try config.main.set("memory", "512")
        #expect(config.canonicalText == "memory: 512\n\n[PENDING]\n#\n")
    }

    @Test func percentEncodesDescription() throws {
        var config = VMConfig()
        config.main.description = "Web: 100%\nline\twith tab\u{7F}"
        #expect(config.description == "#Web%3A 100%25\n#line%09with tab%7F\n")
        #expect(try VMConfig(parsing: config.description).main.description == config.main.description)
    }

    @Test func trimsDescriptionEndAndKeepsInnerBlankLines() throws {
        let config = try VMConfig(parsing: "#first\n#\n#third  \n#\n#\nname: a\n")
        #expect(config.main.description == "first\n\nthird")
    }

    @Test func acceptsDescriptionKey() throws {
        let config = try VMConfig(parsing: "description: from key\nname: a\n")
        #expect(config.main.description == "from key")
        #expect(config.main.keys == ["name"])
        #expect(config.description == "#from key\nname: a\n")
    }

    @Test func trimsValuesAndReadsAnyCasePending() throws {
        let config = try VMConfig(parsing: "name:web01   \ncores:   2\n\n\n[pending]\nmemory: 1024\n")
        #expect(config.main["name"] == "web01")
        #expect(config.main["cores"] == "2")
        #expect(config.pending?["memory"] == "1024")
        #expect(config.description == "name: web01\ncores: 2\n\n[PENDING]\nmemory: 1024\n")
    }

    @Test(arguments: [
        ("name: a\nmemory:\n", "line 2: empty value for 'memory'"),
        ("name: a\nmemory:   \n", "line 2: empty value for 'memory'"),
        ("Memory: 1024\n", "line 1: unable to parse config line 'Memory: 1024'"),
        ("net0a: virtio\n", "line 1: unable to parse config line"),
        ("name web01\n", "line 1: unable to parse config line"),
        ("  name: web01\n", "line 1: unable to parse config line"),
        ("name: a\n\n[Foo Bar]\n", "line 3: invalid section header '[Foo Bar]'"),
        ("[x]\n", "line 1: invalid section header"),
        ("[]\n", "line 1: invalid section header"),
        ("[snap\n", "line 1: invalid section header"),
        ("[special:]\n", "line 1: invalid section header"),
        ("[current]\n", "line 1: invalid section header"),
        ("name: a\nname: b\n", "line 2: duplicate key 'name'"),
        ("[PENDING]\n\n[pending]\n", "line 3: duplicate section '[pending]'"),
        ("[s1]\nmemory: 1\n[s1]\n", "line 3: duplicate section '[s1]'"),
        ("[special:cloudinit]\n[special:cloudinit]\n", "line 2: duplicate section"),
        ("description: a\ndescription: b\n", "line 2: duplicate key 'description'"),
        ("name: a\rb\n", "line 1:"),
    ])
    func rejectsBadLinesNamingTheLine(text: String, message: String) throws {
        let error = try #require(throws: VireoError.self) { try VMConfig(parsing: text) }
        #expect(error.code == .invalidArgument)
        #expect(error.message.hasPrefix(message), "\(error.message)")
    }

    @Test(arguments: ["a", "net0", "running-nets-host-mtu", "fleecing-images", "unused255", "scsi_hw"])
    func acceptsKeysMatchingPattern(key: String) throws {
        var section = VMConfig.Section()
        try section.set(key, "1")
        #expect(section[key] == "1")
    }

    @Test(arguments: ["", "Net0", "0net", "net0a", "net 0", "net.0", "-net", "_a"])
    func rejectsKeysNotMatchingPattern(key: String) {
        var section = VMConfig.Section()
        #expect(throws: VireoError.self) { try section.set(key, "1") }
    }

    @Test(arguments: ["", " leading", "trailing ", "two\nlines", "carriage\rreturn"])
    func rejectsValuesThatCannotBeReadBack(value: String) {
        var section = VMConfig.Section()
        #expect(throws: VireoError.self) { try section.set("name", value) }
    }

    @Test func sectionSetReplacesInPlaceAndRemoveReturnsValue() throws {
        var section = try VMConfig.Section(["name": "a", "memory": "512"])
        try section.set("name", "b")
        try section.set("cores", "2")
        #expect(section.keys == ["name", "memory", "cores"])
        #expect(section.remove("memory") == "512")
        #expect(section.remove("memory") == nil)
        #expect(throws: VireoError.self) { try VMConfig.Section(["a": "1", "a": "2"]) }
    }

    @Test(arguments: ["a", "current", "pending", "Snap", "1snap", "snap.1", "special:x"])
    func rejectsInvalidSnapshotNames(name: String) {
        var config = VMConfig()
        #expect(throws: VireoError.self) { try config.setSnapshot(name, VMConfig.Section()) }
    }

    @Test func replacesAndRemovesSnapshotsAndSpecialSections() throws {
        var config = VMConfig()
        try config.setSnapshot("s1", VMConfig.Section(description: "one"))
        try config.setSnapshot("s2", VMConfig.Section())
        try config.setSnapshot("s1", VMConfig.Section(description: "uno"))
        #expect(config.snapshots.map(\.name) == ["s1", "s2"])
        #expect(config[snapshot: "s1"]?.description == "uno")
        #expect(config.removeSnapshot("s1")?.description == "uno")
        #expect(config.removeSnapshot("s1") == nil)
        try config.setSpecial("cloudinit", VMConfig.Section())
        #expect(throws: VireoError.self) { try config.setSpecial("Cloud", VMConfig.Section()) }
        #expect(config.removeSpecial("cloudinit") != nil)
        #expect(config.specialSections.isEmpty)
    }

    @Test func losslessInitReturnsNilForBadInput() {
        #expect(VMConfig("memory:\n") == nil)
        #expect(VMConfig("memory: 1\n")?.main["memory"] == "1")
    }
}
