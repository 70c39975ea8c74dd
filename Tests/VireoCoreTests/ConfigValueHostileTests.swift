import Testing
import VireoTestSupport

@testable import VireoCore

/// `storage.cfg`/`domains.cfg` (section config) and VM configs, every field written with every
/// hostile value: refused, or read back as the same single entry.
@Suite struct ConfigValueHostileTests {
    @Test func sectionConfigFieldsRefuseOrRoundTrip() throws {
        var injected: [String] = []
        for value in HostileStrings.all() {
            let attempts: [(String, () throws -> SectionConfig)] = [
                (
                    "type",
                    {
                        try SectionConfig(sections: [
                            try .init(type: value, id: "local", options: [.init("path", "/x")])
                        ])
                    }
                ),
                (
                    "id",
                    { try SectionConfig(sections: [try .init(type: "dir", id: value, options: [.init("path", "/x")])]) }
                ),
                (
                    "key",
                    { try SectionConfig(sections: [try .init(type: "dir", id: "local", options: [.init(value, "1")])]) }
                ),
                (
                    "value",
                    {
                        try SectionConfig(sections: [
                            try .init(type: "dir", id: "local", options: [.init("path", value)])
                        ])
                    }
                ),
            ]
            for (field, make) in attempts {
                guard let config = try? make() else { continue }
                let reread = try? SectionConfig(parsing: config.description)
                if reread != config || reread?.sections.count != 1 {
                    injected.append("\(field) = \(value.debugDescription)")
                }
            }
        }
        #expect(injected.isEmpty, "written and read back differently:\n\(injected.joined(separator: "\n"))")
    }

    @Test func vmConfigFieldsRefuseOrRoundTrip() throws {
        var injected: [String] = []
        for value in HostileStrings.all() {
            var config = VMConfig()
            try config.main.set("memory", "512")
            if (try? config.main.set("name", value)) != nil { check(config, "value", value, &injected) }
            config = VMConfig()
            if (try? config.main.set(value, "1")) != nil { check(config, "key", value, &injected) }
            config = VMConfig()
            config.main.description = value
            check(config, "description", value, &injected)
            config = VMConfig()
            if (try? config.setSnapshot(value, VMConfig.Section())) != nil {
                check(config, "snapshot", value, &injected)
            }
        }
        #expect(injected.isEmpty, "written and read back differently:\n\(injected.joined(separator: "\n"))")
    }

    private func check(_ config: VMConfig, _ field: String, _ value: String, _ injected: inout [String]) {
        let reread = try? VMConfig(parsing: config.description)
        let same =
            reread?.main.entries == config.main.entries && reread?.pending == nil
            && reread?.snapshots.count == config.snapshots.count
        if !same { injected.append("\(field) = \(value.debugDescription)") }
    }

    @Test func descriptionLinesAreCommentsSoNoLineBecomesAnEntry() throws {
        var config = VMConfig()
        config.main.description = "notes\nargs: -monitor stdio\n[PENDING]\nmemory: 1"
        let reread = try VMConfig(parsing: config.description)
        #expect(reread.main.entries.isEmpty)
        #expect(reread.pending == nil)
    }

    @Test(arguments: HostileStrings.controlScalars)
    func singleLineCheckNamesTheCharacter(scalar: Unicode.Scalar) {
        #expect(!ConfigValue.isSingleLine("a" + String(Character(scalar)) + "b"))
        #expect(throws: VireoError.self) {
            try ConfigValue.checkSingleLine("a" + String(Character(scalar)), field: "f")
        }
    }
}
