import Testing

@testable import VireoCore

@Suite struct SectionConfigTests {
    /// The default `storage.cfg` from /work/shared/spec/storage.md §1.
    static let defaultStorageConfig = """
        dir: local
        \tpath /var/lib/vz
        \tcontent iso,vztmpl,backup

        lvmthin: local-lvm
        \tthinpool data
        \tvgname pve
        \tcontent rootdir,images

        zfspool: local-zfs
        \tpool rpool/data
        \tsparse
        \tcontent images,rootdir

        """

    static let domainsConfig = """
        pam: pam
        \tcomment Linux PAM standard authentication

        pve: pve
        \tcomment Proxmox VE authentication server
        \tdefault 1

        ldap: corp
        \tbase_dn dc=example,dc=com
        \tserver1 ldap.example.com
        \tuser_attr uid

        """

    @Test(arguments: [defaultStorageConfig, domainsConfig, "", "dir: local\n", "dir: local\n\ndir: other\n"])
    func printsCanonicalTextUnchanged(text: String) throws {
        #expect(try SectionConfig(parsing: text).description == text)
    }

    @Test func parsesSectionsAndOptionsInOrder() throws {
        let config = try SectionConfig(parsing: Self.defaultStorageConfig)
        #expect(config.sections.map(\.id) == ["local", "local-lvm", "local-zfs"])
        #expect(config.sections.map(\.type) == ["dir", "lvmthin", "zfspool"])
        let zfs = try #require(config["local-zfs"])
        #expect(zfs.options.map(\.key) == ["pool", "sparse", "content"])
        #expect(zfs["pool"] == "rpool/data")
        #expect(zfs.contains("sparse"))
        #expect(zfs.option("sparse") == SectionConfig.Option("sparse"))
        #expect(zfs["sparse"] == nil)
    }

    @Test func keepsSpacesInsideValues() throws {
        let config = try SectionConfig(parsing: Self.domainsConfig)
        #expect(config["pam"]?["comment"] == "Linux PAM standard authentication")
    }

    @Test func readsLooseInputAndPrintsCanonicalForm() throws {
        // Written out with escapes: trailing spaces in a multi-line literal are easy to lose.
        let loose =
            "# storage config\nDIR:   local   \n  path    /var/lib/vz  \n\t# a comment inside a section\n"
            + "\tcontent iso\n\n\nnfs:backup\n    server 10.0.0.5"
        let config = try SectionConfig(parsing: loose)
        #expect(
            config.description == "dir: local\n\tpath /var/lib/vz\n\tcontent iso\n\nnfs: backup\n\tserver 10.0.0.5\n"
        )
    }

    @Test func readsWhitespaceOnlyLineAsSectionEnd() throws {
        let config = try SectionConfig(parsing: "dir: a\n\tpath /a\n \t \ndir: b\n")
        #expect(config.sections.map(\.id) == ["a", "b"])
    }

    @Test(arguments: [
        ("\tpath /var/lib/vz\n", "line 1:"),
        ("dir: local\n\tpath /a\ndir: other\n", "line 3:"),
        ("dir local\n", "line 1:"),
        ("dir:\n", "line 1:"),
        ("dir: local extra\n", "line 1:"),
        (": local\n", "line 1:"),
        ("dir: local\n\tpath /a\n\tpath /b\n", "line 3:"),
        ("dir: local\n\ndir: local\n", "line 3:"),
        ("dir: local\n\ttag a\rb\n", "line 2:"),
    ])
    func rejectsMalformedLinesNamingTheLine(text: String, prefix: String) throws {
        let error = try #require(throws: VireoError.self) { try SectionConfig(parsing: text) }
        #expect(error.code == .invalidArgument)
        #expect(error.message.hasPrefix(prefix), "\(error.message)")
    }

    @Test func buildsAndEditsSections() throws {
        var section = try SectionConfig.Section(
            type: "dir",
            id: "backup",
            options: [.init("path", "/mnt/backup"), .init("content", "backup")]
        )
        try section.set("disable", nil)
        try section.set("content", "backup,iso")
        #expect(section.remove("missing") == nil)
        var config = try SectionConfig(sections: [section])
        config.set(try SectionConfig.Section(type: "nfs", id: "share", options: [.init("server", "10.0.0.5")]))
        #expect(
            config.description == """
                dir: backup
                \tpath /mnt/backup
                \tcontent backup,iso
                \tdisable

                nfs: share
                \tserver 10.0.0.5

                """
        )
        #expect(config.remove(id: "backup")?.type == "dir")
        #expect(SectionConfig().description == "")
        #expect(config.sections.map(\.id) == ["share"])
    }

    @Test func setReplacesSectionWithSameID() throws {
        var config = try SectionConfig(parsing: Self.defaultStorageConfig)
        config.set(try SectionConfig.Section(type: "dir", id: "local-lvm", options: [.init("path", "/srv")]))
        #expect(config.sections.map(\.id) == ["local", "local-lvm", "local-zfs"])
        #expect(config["local-lvm"]?.type == "dir")
    }

    @Test func rejectsSectionsAndOptionsThatCannotBeWritten() throws {
        #expect(throws: VireoError.self) { try SectionConfig.Section(type: "Dir", id: "a") }
        #expect(throws: VireoError.self) { try SectionConfig.Section(type: "dir", id: "a b") }
        #expect(throws: VireoError.self) { try SectionConfig.Section(type: "d:r", id: "a") }
        #expect(throws: VireoError.self) { try SectionConfig.Section(type: "#dir", id: "a") }
        var section = try SectionConfig.Section(type: "dir", id: "a")
        #expect(throws: VireoError.self) { try section.set("path", "/a\n/b") }
        #expect(throws: VireoError.self) { try section.set("path", " /a") }
        #expect(throws: VireoError.self) { try section.set("path", "") }
        #expect(throws: VireoError.self) { try section.set("two words", "x") }
        #expect(throws: VireoError.self) { try section.set("#key", "x") }
        #expect(throws: VireoError.self) {
            try SectionConfig.Section(type: "dir", id: "a", options: [.init("k", "1"), .init("k", "2")])
        }
        #expect(throws: VireoError.self) { try SectionConfig(sections: [section, section]) }
    }
}
