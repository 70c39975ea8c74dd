import Testing
import VireoCore

@testable import VireoQEMU

/// The planner on configs alone: where each key of an update goes, stopped and running.
@Suite struct VMConfigPlannerTests {
    static let current = VMConfig(
        main: (try? VMConfig.Section([
            "memory": "1024",
            "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0",
            "virtio0": "local:100/vm-100-disk-0.qcow2,size=1G",
            "scsi0": "local:100/vm-100-disk-1.qcow2,size=1G",
        ])) ?? VMConfig.Section()
    )

    func update(
        _ changes: KeyValuePairs<String, String>,
        delete: [String] = [],
        revert: [String] = []
    ) throws
        -> VMConfigUpdate
    {
        try VMConfigUpdate(changes: try VMConfig.Section(changes), deletions: delete, reverts: revert)
    }

    @Test func aStoppedVMTakesEveryChangeAtOnce() throws {
        let plan = try VMConfigPlanner.plan(
            current: Self.current,
            update: try update(["memory": "2048", "net1": "virtio,bridge=vmbr1"], delete: ["scsi0"]),
            running: false
        )
        #expect(plan.main["memory"] == "2048")
        #expect(plan.main["net1"] == "virtio,bridge=vmbr1")
        #expect(plan.main["scsi0"] == nil)
        #expect(plan.main["unused0"] == "local:100/vm-100-disk-1.qcow2")  // detached, not forgotten
        #expect(plan.pending.isEmpty)
        #expect(plan.live.isEmpty)
    }

    @Test func aRunningVMDefersHardwareAndTakesOptionsAtOnce() throws {
        let plan = try VMConfigPlanner.plan(
            current: Self.current,
            update: try update(["memory": "2048", "name": "web", "onboot": "1"]),
            running: true
        )
        #expect(plan.main["memory"] == "1024")
        #expect(plan.pending["memory"] == "2048")
        #expect(plan.main["name"] == "web" && plan.main["onboot"] == "1")
        #expect(try plan.effective.main["memory"] == "2048")
    }

    @Test func aRunningVMHotplugsNewNICsAndDisksAndUnplugsDeletedOnes() throws {
        let plan = try VMConfigPlanner.plan(
            current: Self.current,
            update: try update(["net1": "virtio,bridge=vmbr1", "virtio1": "local:1"], delete: ["net0"]),
            running: true
        )
        #expect(
            plan.live == [
                .hotplugNIC(key: "net1", value: "virtio,bridge=vmbr1"),
                .hotplugDisk(key: "virtio1", value: "local:1"),
                .unplugNIC(key: "net0", value: "virtio=BC:24:11:00:00:01,bridge=vmbr0"),
            ]
        )
        #expect(plan.pending.pendingDeletions == [PendingDeletion(key: "net0")])
    }

    @Test func anExistingNICChangeIsTriedLive() throws {
        let plan = try VMConfigPlanner.plan(
            current: Self.current,
            update: try update(["net0": "virtio=BC:24:11:00:00:01,bridge=vmbr1"]),
            running: true
        )
        #expect(
            plan.live == [
                .updateNIC(
                    key: "net0",
                    from: "virtio=BC:24:11:00:00:01,bridge=vmbr0",
                    to: "virtio=BC:24:11:00:00:01,bridge=vmbr1"
                )
            ]
        )
    }

    @Test func hotplugZeroKeepsEveryDeviceChangePending() throws {
        var current = Self.current
        try current.main.set("hotplug", "0")
        let plan = try VMConfigPlanner.plan(
            current: current,
            update: try update(["net1": "virtio,bridge=vmbr1"], delete: ["virtio0"]),
            running: true
        )
        #expect(plan.live.isEmpty)
        #expect(plan.pending["net1"] != nil)
        #expect(plan.pending.pendingDeletions.map(\.key) == ["virtio0"])
    }

    @Test func aSucceededLiveChangeMovesItsKeyIntoTheConfig() throws {
        var plan = try VMConfigPlanner.plan(
            current: Self.current,
            update: try update(["net1": "virtio,bridge=vmbr1"], delete: ["net0"]),
            running: true
        )
        for change in plan.live { try plan.applied(change) }
        #expect(plan.main["net1"] == "virtio,bridge=vmbr1" && plan.main["net0"] == nil)
        #expect(plan.pending.isEmpty)
    }

    @Test func revertDropsPendingChangesAndDeletions() throws {
        var current = Self.current
        var pending = VMConfig.Section()
        try pending.set("memory", "4096")
        try pending.addPendingDeletion("scsi0")
        current.pending = pending
        let plan = try VMConfigPlanner.plan(
            current: current,
            update: try update([:], revert: ["memory", "scsi0"]),
            running: true
        )
        #expect(plan.pending.isEmpty)
        #expect(plan.main["scsi0"] != nil)
    }

    @Test func aStoppedVMAppliesEarlierPendingChangesFirst() throws {
        var current = Self.current
        var pending = VMConfig.Section()
        try pending.set("memory", "4096")
        current.pending = pending
        let plan = try VMConfigPlanner.plan(current: current, update: try update(["name": "db"]), running: false)
        #expect(plan.main["memory"] == "4096" && plan.main["name"] == "db")
        #expect(plan.pending.isEmpty)
    }

    @Test func oneKeyCannotBeSetAndDeletedOrRevertedAtOnce() throws {
        #expect(throws: VireoError.self) { try update(["memory": "1"], delete: ["memory"]) }
        #expect(throws: VireoError.self) { try update([:], delete: ["memory"], revert: ["memory"]) }
    }

    @Test func typedNICAccessorsReadProxmoxNotation() throws {
        let nic = try VMNIC(
            key: "net3",
            value: "e1000=BC:24:11:AA:BB:CC,bridge=vmbr0,tag=12,firewall=1,rate=2.5,link_down=1"
        )
        #expect(nic.index == 3 && nic.model == "e1000" && nic.mac == "BC:24:11:AA:BB:CC")
        #expect(nic.bridge == "vmbr0" && nic.tag == 12 && nic.firewall && nic.linkDown && nic.rate == 2.5)
        #expect(throws: VireoError.self) { try VMNIC(key: "net32", value: "virtio,bridge=vmbr0") }
        #expect(throws: VireoError.self) { try VMNIC(key: "net01", value: "virtio,bridge=vmbr0") }
    }
}
