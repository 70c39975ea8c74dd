import Testing

@testable import VireoHost

/// Reading `systemctl show` for `/nodes/{node}/services`.
@Suite struct SystemdServicesTests {
    /// `systemctl show --property=Id,Description,ActiveState,SubState,UnitFileState,LoadState --
    /// chrony.service corosync.service ssh.service systemd-journald.service` on a Debian 12 host
    /// without corosync (systemd prints the properties in its own order, a block per unit).
    static let output = """
        Id=chrony.service
        Description=chrony, an NTP client/server
        LoadState=loaded
        ActiveState=active
        SubState=running
        UnitFileState=enabled

        Id=corosync.service
        Description=corosync.service
        LoadState=not-found
        ActiveState=inactive
        SubState=dead
        UnitFileState=

        Id=ssh.service
        Description=OpenBSD Secure Shell server
        LoadState=loaded
        ActiveState=failed
        SubState=failed
        UnitFileState=enabled

        Id=systemd-journald.service
        Description=Journal Service
        LoadState=loaded
        ActiveState=active
        SubState=running
        UnitFileState=static

        """

    @Test func readsOneBlockPerUnitKeyedByItsId() {
        let units = NodeHost.parseSystemctlShow(Self.output)
        #expect(
            units.keys.sorted() == ["chrony.service", "corosync.service", "ssh.service", "systemd-journald.service"]
        )
        #expect(
            units["chrony.service"] == [
                "Id": "chrony.service", "Description": "chrony, an NTP client/server", "LoadState": "loaded",
                "ActiveState": "active", "SubState": "running", "UnitFileState": "enabled",
            ]
        )
        #expect(units["ssh.service"]?["ActiveState"] == "failed")
        #expect(units["systemd-journald.service"]?["UnitFileState"] == "static")
    }

    @Test func aUnitThatIsNotInstalledIsReportedAsNotFoundWithAnEmptyFileState() {
        let corosync = NodeHost.parseSystemctlShow(Self.output)["corosync.service"]
        #expect(corosync?["LoadState"] == "not-found")
        #expect(corosync?["SubState"] == "dead")
        #expect(corosync?["UnitFileState"] == "")
    }

    @Test func valuesMayContainEqualsSignsAndBlocksWithoutAnIdAreIgnored() {
        let text = "Id=foo.service\nDescription=a=b test\n\nDescription=orphan\n\n\n"
        let units = NodeHost.parseSystemctlShow(text)
        #expect(units.count == 1)
        #expect(units["foo.service"]?["Description"] == "a=b test")
        #expect(NodeHost.parseSystemctlShow("").isEmpty)
    }
}
