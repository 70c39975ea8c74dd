import Testing
import VireoCore

/// `datacenter.cfg`-style files: a `#` description on top, then `key: value` lines.
@Suite struct KeyValueConfigTests {
    static let datacenterCfg = """
        #Lab cluster%3A rack 4
        #backups at night (see wiki)

        keyboard: de
        migration: secure,network=10.10.10.0/24
          console: html5
        email_from: root@pve.example.com

        """

    @Test func parsesTheDescriptionAndTheSettingsInOrder() throws {
        let config = try KeyValueConfig(parsing: Self.datacenterCfg)
        #expect(config.description == "Lab cluster: rack 4\nbackups at night (see wiki)")
        #expect(config.keys == ["keyboard", "migration", "console", "email_from"])
        #expect(config["migration"] == "secure,network=10.10.10.0/24")
        #expect(config["console"] == "html5")
        #expect(config["email_from"] == "root@pve.example.com")
        #expect(config["missing"] == nil)
    }

    @Test func rendersPercentEncodedDescriptionLinesThenTheSettings() throws {
        var config = KeyValueConfig(description: "Owner: ops\n100% uptime", entries: [("keyboard", "en-us")])
        #expect(config.text == "#Owner%3A ops\n#100%25 uptime\n\nkeyboard: en-us\n")
        config.description = ""
        #expect(config.text == "keyboard: en-us\n")
        #expect(KeyValueConfig().text == "")
    }

    @Test func roundTripsThroughItsText() throws {
        let config = try KeyValueConfig(parsing: Self.datacenterCfg)
        #expect(try KeyValueConfig(parsing: config.text) == config)
        // An encoded newline inside one comment line decodes to a line break of the description.
        let encoded = try KeyValueConfig(parsing: "#first%0Asecond\nkeyboard: fr\n")
        #expect(encoded.description == "first\nsecond")
        #expect(encoded.text == "#first\n#second\n\nkeyboard: fr\n")
        #expect(try KeyValueConfig(parsing: encoded.text) == encoded)
    }

    @Test func settingReplacesInPlaceAppendsNewKeysAndNilRemoves() throws {
        var config = try KeyValueConfig(parsing: Self.datacenterCfg)
        config["keyboard"] = "en-us"
        config["mac_prefix"] = "BC:24:11"
        config["console"] = nil
        #expect(config.keys == ["keyboard", "migration", "email_from", "mac_prefix"])
        #expect(config["keyboard"] == "en-us")
        #expect(
            config.text == """
                #Lab cluster%3A rack 4
                #backups at night (see wiki)

                keyboard: en-us
                migration: secure,network=10.10.10.0/24
                email_from: root@pve.example.com
                mac_prefix: BC:24:11

                """
        )
    }

    @Test func commentsAfterTheFirstSettingAreNotPartOfTheDescription() throws {
        let config = try KeyValueConfig(parsing: "#top\nkeyboard: de\n#later note\nconsole: vv\n")
        #expect(config.description == "top")
        #expect(config.keys == ["keyboard", "console"])
    }

    @Test func aLineWithoutAColonIsRefusedWithItsNumber() {
        let error = #expect(throws: VireoError.self) {
            try KeyValueConfig(parsing: "#notes\nkeyboard: de\nconsole html5\n")
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "line 3: expected 'key: value', got 'console html5'")
    }

    @Test func settingAKeyThatAppearsTwiceChangesWhatIsReadBack() throws {
        // Reading takes the last occurrence; a set must not leave that one behind.
        var config = try KeyValueConfig(parsing: "keyboard: de\nkeyboard: fr\n")
        #expect(config["keyboard"] == "fr")
        config["keyboard"] = "en-us"
        #expect(config["keyboard"] == "en-us")
    }
}
