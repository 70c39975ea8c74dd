import Prometheus
import VireoCore
import VireoHost

/// `GET /metrics`: the sampler's last snapshot and the daemon's counters in Prometheus's text
/// format, labelled the way an operator groups them (node, vmid and name, drive, storage, bridge,
/// firewall rule). Rendered by swift-prometheus into a fresh registry per scrape, so series of
/// VMs that are gone disappear with them.
public struct MetricsExposition {
    /// A guest NIC's traffic, from its tap (the guest's point of view).
    public struct NIC: Sendable {
        public var vmid: Int
        public var nic: String
        public var bridge: String
        public var received: Int
        public var sent: Int

        public init(vmid: Int, nic: String, bridge: String, received: Int, sent: Int) {
            self.vmid = vmid
            self.nic = nic
            self.bridge = bridge
            self.received = received
            self.sent = sent
        }
    }

    /// Tasks of the kept history by type and outcome (`running`, `ok`, `warnings`, `error`).
    public var tasks: [(type: String, outcome: String, count: Int)] = []
    /// Per firewall rule id (`guest/100/rules/0`): packets and bytes it matched.
    public var firewall: [String: (packets: Int, bytes: Int)] = [:]
    public var nics: [NIC] = []

    public init() {}

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public func render(_ snapshot: MetricsSnapshot?, node: String) -> String {
        let registry = PrometheusCollectorRegistry()
        let nodeLabel = [("node", node)]
        // One help text per name: the registry refuses (fatally) a name registered twice differently.
        func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "vireo", metricName: name, unitName: "", helpText: help)
        }
        func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
            registry.makeGauge(descriptor: descriptor(name, help), labels: labels).set(value)
        }
        func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Int) {
            registry.makeCounter(descriptor: descriptor(name, help), labels: labels).increment(by: Int64(max(0, value)))
        }
        gauge("up", "1: the node's control plane answers", nodeLabel, 1)
        if let snapshot {
            gauge("sampler_last_run_timestamp_seconds", "When the last sampling cycle ran", nodeLabel, snapshot.time)
            gauge("sampler_duration_seconds", "How long the last sampling cycle took", nodeLabel, snapshot.duration)
            renderNode(snapshot.node, nodeLabel, gauge, counter)
            for vm in snapshot.vms { renderVM(vm, node: node, gauge, counter) }
            for storage in snapshot.storages {
                let labels = nodeLabel + [("storage", storage.id), ("type", storage.type)]
                gauge("storage_up", "1: the storage is active", labels, storage.active ? 1 : 0)
                gauge("storage_shared", "1: the storage is shared between nodes", labels, storage.shared ? 1 : 0)
                gauge("storage_size_bytes", "Size of the storage", labels, Double(storage.total))
                gauge("storage_used_bytes", "Space used on the storage", labels, Double(storage.used))
                gauge("storage_available_bytes", "Space free on the storage", labels, Double(storage.available))
            }
        }
        for nic in nics {
            let labels = nodeLabel + [("vmid", String(nic.vmid)), ("nic", nic.nic), ("bridge", nic.bridge)]
            counter("vm_nic_receive_bytes_total", "Bytes the guest received on the NIC", labels, nic.received)
            counter("vm_nic_transmit_bytes_total", "Bytes the guest sent on the NIC", labels, nic.sent)
        }
        for task in tasks {
            let labels = nodeLabel + [("type", task.type), ("outcome", task.outcome)]
            gauge("tasks", "Tasks in the node's kept history by type and outcome", labels, Double(task.count))
        }
        for (rule, counters) in firewall.sorted(by: { $0.key < $1.key }) {
            // Every series of a family has the same label names: `vmid` is empty outside a guest's rules.
            let parts = rule.split(separator: "/")
            let vmid = parts.first == "guest" && parts.count > 1 ? String(parts[1]) : ""
            let labels = nodeLabel + [("rule", rule), ("scope", parts.first.map(String.init) ?? ""), ("vmid", vmid)]
            counter("firewall_rule_packets_total", "Packets matched by the firewall rule", labels, counters.packets)
            counter("firewall_rule_bytes_total", "Bytes matched by the firewall rule", labels, counters.bytes)
        }
        return registry.emitToString()
    }

    private typealias Gauge = (String, String, [(String, String)], Double) -> Void
    private typealias Counter = (String, String, [(String, String)], Int) -> Void

    private func renderNode(
        _ node: MetricsSnapshot.Node,
        _ labels: [(String, String)],
        _ gauge: Gauge,
        _ counter: Counter
    ) {
        gauge("node_cpu_usage_ratio", "Share of the node's CPU time in use (0..1)", labels, node.cpu)
        gauge("node_cpu_iowait_ratio", "Share of the node's CPU time waiting for I/O (0..1)", labels, node.iowait)
        gauge("node_cpus", "Logical CPUs of the node", labels, Double(node.maxcpu))
        gauge("node_load1", "Load average over one minute", labels, node.loadavg)
        gauge("node_memory_size_bytes", "Memory of the node", labels, Double(node.memtotal))
        gauge("node_memory_used_bytes", "Memory in use on the node", labels, Double(node.memused))
        gauge("node_memory_free_bytes", "Memory free on the node", labels, Double(node.memfree))
        gauge("node_swap_size_bytes", "Swap of the node", labels, Double(node.swaptotal))
        gauge("node_swap_used_bytes", "Swap in use on the node", labels, Double(node.swapused))
        gauge("node_rootfs_size_bytes", "Size of the node's root file system", labels, Double(node.roottotal))
        gauge("node_rootfs_used_bytes", "Space used on the node's root file system", labels, Double(node.rootused))
        gauge("node_uptime_seconds", "Seconds since the node booted", labels, Double(node.uptime))
        counter("node_network_receive_bytes_total", "Bytes received by the node's physical NICs", labels, node.netin)
        counter("node_network_transmit_bytes_total", "Bytes sent by the node's physical NICs", labels, node.netout)
        for (resource, stall) in node.pressure.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            var lines = [("some", stall.some)]
            if let full = stall.full { lines.append(("full", full)) }
            for (kind, line) in lines {
                let psi = labels + [("resource", resource.rawValue), ("kind", kind)]
                counter(
                    "node_pressure_stalled_microseconds_total",
                    "Time tasks stalled waiting for the resource (PSI)",
                    psi,
                    line.total
                )
                gauge(
                    "node_pressure_avg10_percent",
                    "Share of the last 10 s stalled on the resource (PSI)",
                    psi,
                    line.avg10
                )
            }
        }
    }

    private func renderVM(_ vm: MetricsSnapshot.VM, node: String, _ gauge: Gauge, _ counter: Counter) {
        let labels = [("node", node), ("vmid", String(vm.vmid.value)), ("name", vm.name)]
        let running = vm.status == "running"
        gauge("vm_up", "1: the VM's QEMU process is running", labels, running ? 1 : 0)
        gauge("vm_cpus", "Virtual CPUs of the VM", labels, Double(vm.maxcpu))
        gauge("vm_memory_size_bytes", "Memory configured for the VM", labels, Double(vm.maxmem))
        gauge("vm_disk_size_bytes", "Size of the VM's boot disk", labels, Double(vm.maxdisk))
        guard running else { return }
        if let status = vm.qmpStatus {
            gauge("vm_qemu_status", "QEMU's run state (running, paused, io-error, …)", labels + [("status", status)], 1)
        }
        gauge("vm_cpu_usage_ratio", "Share of the VM's virtual CPUs in use (0..1)", labels, vm.cpu)
        gauge("vm_memory_used_bytes", "Resident memory of the VM's QEMU process", labels, Double(vm.mem))
        gauge("vm_uptime_seconds", "Seconds since the VM's QEMU started", labels, Double(vm.uptime))
        counter("vm_network_receive_bytes_total", "Bytes the guest received", labels, vm.netin)
        counter("vm_network_transmit_bytes_total", "Bytes the guest sent", labels, vm.netout)
        for drive in vm.drives {
            let disk = labels + [("drive", drive.name)]
            counter("vm_disk_read_bytes_total", "Bytes the guest read from the drive", disk, drive.readBytes)
            counter("vm_disk_written_bytes_total", "Bytes the guest wrote to the drive", disk, drive.writtenBytes)
            counter("vm_disk_read_operations_total", "Read requests of the drive", disk, drive.readOperations)
            counter("vm_disk_write_operations_total", "Write requests of the drive", disk, drive.writeOperations)
            counter(
                "vm_disk_failed_operations_total",
                "Requests of the drive that failed",
                disk,
                drive.failedOperations
            )
            let latencies = [("read", drive.readLatency), ("write", drive.writeLatency), ("flush", drive.flushLatency)]
            for case (let operation, let milliseconds?) in latencies {
                gauge(
                    "vm_disk_latency_seconds",
                    "Average time per request over the last sampling interval",
                    disk + [("operation", operation)],
                    milliseconds / 1000
                )
            }
        }
    }
}
