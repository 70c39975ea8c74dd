import QMP
import Synchronization
import Testing
import VireoCore
import VireoHost
import VireoTestSupport

@testable import VireoMetrics

@Suite struct MetricsExpositionTests {
    @Test func aDrivesLatencyIsTheTimeOfItsRequestsOverTheInterval() {
        var before = QMPBlockStats(device: "drive-virtio0", readBytes: 1000, writtenBytes: 0, writeOperations: 10)
        before.writeTotalTimeNs = 50_000_000
        var after = QMPBlockStats(
            device: "drive-virtio0",
            readBytes: 1000,
            writtenBytes: 10_000_000,
            writeOperations: 110
        )
        after.writeTotalTimeNs = 550_000_000  // 100 writes took 500 ms: 5 ms each
        let drive = MetricsSampler.drive(after, previous: before, seconds: 10)
        #expect(drive.name == "virtio0")
        #expect(drive.writeBytesRate == 1_000_000 && drive.readBytesRate == 0 && drive.iops == 10)
        #expect(drive.writeLatency == 5 && drive.readLatency == nil)
        // QEMU restarted: counters went down, no rate.
        #expect(MetricsSampler.drive(before, previous: after, seconds: 10).writeBytesRate == nil)
        #expect(
            MetricsSampler.driveName(QMPBlockStats(device: "", nodeName: "#block1", readBytes: 0, writtenBytes: 0))
                == "#block1"
        )
    }

    @Test func theExpositionLabelsSeriesAsOperatorsGroupThem() {
        var vm = MetricsSnapshot.VM(vmid: 100, name: "web \"1\"", status: "running")
        vm.qmpStatus = "io-error"
        vm.drives = [MetricsSnapshot.Drive(name: "virtio0", readBytes: 5, writeLatency: 2)]
        let snapshot = MetricsSnapshot(
            time: 1_800_000_000,
            node: MetricsSnapshot.Node(),
            vms: [vm, MetricsSnapshot.VM(vmid: 101, name: "db", status: "stopped")],
            storages: [.init(id: "local", type: "dir", total: 10, used: 4, available: 6, active: true, shared: false)],
            duration: 0.01
        )
        var exposition = MetricsExposition()
        exposition.firewall = ["guest/100/rules/0": (3, 180), "cluster/rules/1": (1, 60)]
        exposition.nics = [.init(vmid: 100, nic: "net0", bridge: "vmbr0", received: 7, sent: 8)]
        exposition.tasks = [("qmstart", "error", 2)]
        let text = exposition.render(snapshot, node: "pve1")
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains(#"vireo_vm_up{node="pve1",vmid="100",name="web \"1\""} 1.0"#))
        #expect(lines.contains(#"vireo_vm_up{node="pve1",vmid="101",name="db"} 0.0"#))
        #expect(lines.contains(#"vireo_vm_qemu_status{node="pve1",vmid="100",name="web \"1\"",status="io-error"} 1.0"#))
        #expect(
            lines.contains(
                #"vireo_vm_disk_latency_seconds{node="pve1",vmid="100",name="web \"1\"",drive="virtio0",operation="write"} 0.002"#
            )
        )
        #expect(
            lines.contains(
                #"vireo_vm_disk_read_bytes_total{node="pve1",vmid="100",name="web \"1\"",drive="virtio0"} 5"#
            )
        )
        #expect(
            lines.contains(
                #"vireo_firewall_rule_packets_total{node="pve1",rule="guest/100/rules/0",scope="guest",vmid="100"} 3"#
            )
        )
        #expect(
            lines.contains(
                #"vireo_firewall_rule_bytes_total{node="pve1",rule="cluster/rules/1",scope="cluster",vmid=""} 60"#
            )
        )
        #expect(
            lines.contains(#"vireo_vm_nic_receive_bytes_total{node="pve1",vmid="100",nic="net0",bridge="vmbr0"} 7"#)
        )
        #expect(lines.contains(#"vireo_storage_used_bytes{node="pve1",storage="local",type="dir"} 4.0"#))
        #expect(lines.contains(#"vireo_tasks{node="pve1",type="qmstart",outcome="error"} 2.0"#))
        // A stopped VM has no usage series.
        #expect(!text.contains(#"vireo_vm_cpu_usage_ratio{node="pve1",vmid="101""#))
        #expect(text.hasSuffix("\n"))
    }
}

@Suite struct DeadlineTests {
    /// The body waits for a reply that only comes after `run` has returned: a `run` that waited for
    /// its body would never return.
    @Test func aBodyThatIgnoresCancellationIsLeftAtTheDeadline() async {
        let reply = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let result: Int? = await Deadline.run(within: .milliseconds(100)) {
            await withCheckedContinuation { continuation in reply.withLock { $0 = continuation } }
            return 1
        }
        #expect(result == nil)
        reply.withLock { $0?.resume() }
        #expect(await Deadline.run(within: .seconds(60)) { 7 } == 7)
    }
}
