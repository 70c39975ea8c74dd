"""The seed's traffic path made real inside throwaway namespaces: a client on the "LAN" reaches a
VM through the node's physical NIC (a veth), its bridge and the VM's tap.

Namespaces: `LAN` holds the client (10.66.0.1/24 on lan0); `NODE` is where vireod (`--netns`)
makes bridges, taps and runs QEMU; eth0 (NODE, port of vmbr0) and lan0 (LAN) are one veth pair.
Nothing is created in the root namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import VIREOD, prerequisite
from net_fixtures import guest_ip
from test_vm import NODE, Node, create_vm, expect_on_console, power, wait_task
from vm_fixtures import ISO_NAME, guest_iso  # noqa: F401

GUEST_IP = "10.66.0.10"


def sh(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=30)


class Namespaces:
    def __init__(self):
        suffix = uuid.uuid4().hex[:6]
        self.node, self.lan = f"vn-node-{suffix}", f"vn-lan-{suffix}"

    def create(self):
        for ns in (self.node, self.lan):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        n, lan = self.node, self.lan
        sh("ip", "-n", n, "link", "add", "eth0", "type", "veth", "peer", "name", "lan0", "netns", lan)
        for bridge in ("vmbr0", "vmbr1"):
            sh("ip", "-n", n, "link", "add", bridge, "type", "bridge")
            sh("ip", "-n", n, "link", "set", bridge, "up")
        sh("ip", "-n", n, "link", "set", "eth0", "master", "vmbr0")
        sh("ip", "-n", n, "link", "set", "eth0", "up")
        sh("ip", "-n", lan, "addr", "add", "10.66.0.1/24", "dev", "lan0")
        sh("ip", "-n", lan, "link", "set", "lan0", "up")

    def delete(self):
        for ns in (self.node, self.lan):
            sh("ip", "netns", "del", ns, check=False)

    def link(self, name):
        result = sh("ip", "-n", self.node, "-j", "link", "show", "dev", name, check=False)
        return json.loads(result.stdout)[0] if result.returncode == 0 else None

    def ping(self, attempts=1):
        for _ in range(attempts):
            if sh("ip", "netns", "exec", self.lan, "ping", "-c", "1", "-W", "1", GUEST_IP, check=False).returncode == 0:
                return True
        return False

    def tcp_banner(self):
        code = (f"import socket; s=socket.create_connection(('{GUEST_IP}', 7777), timeout=5); "
                "print(s.recv(200).decode().strip())")
        result = sh("ip", "netns", "exec", self.lan, "python3", "-c", code, check=False)
        return result.stdout.strip()


@pytest.fixture
def network(guest_iso):  # noqa: F811
    prerequisite(os.access(VIREOD, os.X_OK), f"daemon binary {VIREOD}")
    for tool in ("ip", "nsenter", "ping", "bridge"):
        prerequisite(shutil.which(tool) is not None, f"{tool} (scripts/install-deps.sh installs it)")
    prerequisite(os.geteuid() == 0, "root (network namespaces)")
    namespaces = Namespaces()
    node = None
    try:
        namespaces.create()
        node = Node(extra_args=["--netns", namespaces.node])
        node.start()
        iso_dir = os.path.join(node.data_dir, "local", "template", "iso")
        os.makedirs(iso_dir, exist_ok=True)
        shutil.copy(guest_iso, os.path.join(iso_dir, ISO_NAME))
        yield node, namespaces
    finally:
        if node:
            node.cleanup()
        namespaces.delete()





def set_net(root, vmid, value):
    root.ok("PUT", f"/nodes/{NODE}/qemu/{vmid}/config", {"net0": value})


def test_client_reaches_the_guest_through_nic_bridge_and_tap(network):
    node, ns = network
    root = node.root
    create_vm(root, 200, net0="virtio=BC:24:11:00:00:C8,bridge=vmbr0", smbios1=guest_ip(f"{GUEST_IP}/24"))
    assert power(root, 200, "start")["exitstatus"] == "OK"
    tap = ns.link("tap200i0")
    assert tap and tap["master"] == "vmbr0" and "UP" in tap["flags"], tap
    expect_on_console(node, 200, "VIREO-GUEST-READY")

    assert ns.ping(attempts=10), "the LAN client cannot ping the guest"
    assert ns.tcp_banner().startswith("VIREO-GUEST"), "no answer from the guest's TCP port"
    # The traffic shows in the VM's figures (its taps live in the node namespace, not vireod's).
    status = root.ok("GET", f"/nodes/{NODE}/qemu/200/status/current")
    assert status["netin"] > 0 and status["netout"] > 0, status

    # link_down cuts the NIC live, link_down=0 restores it; the config says so at once.
    set_net(root, 200, "virtio=BC:24:11:00:00:C8,bridge=vmbr0,link_down=1")
    assert "link_down=1" in root.ok("GET", f"/nodes/{NODE}/qemu/200/config", {"current": 1})["net0"]
    assert not ns.ping(attempts=3)
    set_net(root, 200, "virtio=BC:24:11:00:00:C8,bridge=vmbr0")
    assert ns.ping(attempts=10)

    # Moved to a bridge with no port to the LAN, the guest is cut off (the seed's warning).
    set_net(root, 200, "virtio=BC:24:11:00:00:C8,bridge=vmbr1")
    assert ns.link("tap200i0")["master"] == "vmbr1"
    assert not ns.ping(attempts=3)
    set_net(root, 200, "virtio=BC:24:11:00:00:C8,bridge=vmbr0")
    assert ns.ping(attempts=10)

    # Hotplug: a second NIC appears in the running VM at once, and goes again.
    root.ok("PUT", f"/nodes/{NODE}/qemu/200/config", {"net1": "virtio,bridge=vmbr1"})
    config = root.ok("GET", f"/nodes/{NODE}/qemu/200/config", {"current": 1})
    assert config["net1"].startswith("virtio=BC:24:11:") and "bridge=vmbr1" in config["net1"], config
    assert ns.link("tap200i1")["master"] == "vmbr1"
    devices = root.ok("POST", f"/nodes/{NODE}/qemu/200/monitor", {"command": "info network"})
    assert "net1:" in devices, devices
    root.ok("PUT", f"/nodes/{NODE}/qemu/200/config", {"delete": "net1"})
    assert "net1" not in root.ok("GET", f"/nodes/{NODE}/qemu/200/config")
    assert "net1:" not in root.ok("POST", f"/nodes/{NODE}/qemu/200/monitor", {"command": "info network"})
    assert ns.link("tap200i1") is None

    assert power(root, 200, "stop")["exitstatus"] == "OK"
    assert ns.link("tap200i0") is None, "tap left behind after stop"


def test_missing_bridge_or_vlan_tag_fails_the_start_before_qemu_runs(network):
    node, ns = network
    root = node.root
    for vmid, net, words in [(201, "virtio,bridge=vmbr9", "bridge 'vmbr9' does not exist"),
                             (202, "virtio,bridge=vmbr0,tag=10", "VLAN")]:
        create_vm(root, vmid, net0=net)
        upid = root.ok("POST", f"/nodes/{NODE}/qemu/{vmid}/status/start")
        status = wait_task(root, upid)
        assert status["exitstatus"] != "OK" and words in status["exitstatus"], status
        assert not os.path.exists(os.path.join(node.data_dir, "run", "qemu", f"{vmid}.pid"))
        assert ns.link(f"tap{vmid}i0") is None
        assert root.ok("GET", f"/nodes/{NODE}/qemu/{vmid}/status/current")["status"] == "stopped"


def test_interfaces_api_stages_applies_only_differences_and_reverts(network):
    node, ns = network
    root = node.root
    # The node's second "physical" NIC: a veth end inside the node namespace.
    sh("ip", "-n", ns.node, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1peer")
    listed = {i["iface"]: i for i in root.ok("GET", f"/nodes/{NODE}/network")}
    assert listed["eth1"]["type"] == "eth" and listed["eth1"]["exists"] == 1, listed

    root.ok("POST", f"/nodes/{NODE}/network", {"iface": "vmbr5", "type": "bridge", "bridge_ports": "eth1",
                                                "cidr": "10.77.0.2/24", "autostart": 1, "comments": "lab"})
    status, reason, body = root.request("GET", f"/nodes/{NODE}/network")
    assert "+iface vmbr5 inet static" in body["changes"], body.get("changes")
    bridge = root.ok("GET", f"/nodes/{NODE}/network/vmbr5")
    assert bridge["type"] == "bridge" and bridge["bridge_ports"] == "eth1" and bridge["cidr"] == "10.77.0.2/24"
    assert bridge["active"] == 0 and ns.link("vmbr5") is None, "staged, not applied yet"

    upid = root.ok("PUT", f"/nodes/{NODE}/network")
    status = wait_task(root, upid)
    log = "\n".join(line["t"] for line in root.ok("GET", f"/nodes/{NODE}/tasks/{upid}/log"))
    assert status["exitstatus"] == "OK", log
    assert "ip link add name vmbr5 type bridge" in log and "ip addr add 10.77.0.2/24 dev vmbr5" in log, log
    assert ns.link("vmbr5") is not None and ns.link("eth1")["master"] == "vmbr5"
    addresses = sh("ip", "-n", ns.node, "-j", "addr", "show", "dev", "vmbr5").stdout
    assert "10.77.0.2" in addresses
    assert "changes" not in root.request("GET", f"/nodes/{NODE}/network")[2]
    interfaces = open(os.path.join(node.data_dir, "network", "interfaces")).read()
    assert "iface vmbr5 inet static" in interfaces and "bridge-ports eth1" in interfaces, interfaces

    # Applying again changes nothing in the kernel.
    upid = root.ok("PUT", f"/nodes/{NODE}/network")
    assert wait_task(root, upid)["exitstatus"] == "OK"
    log = "\n".join(line["t"] for line in root.ok("GET", f"/nodes/{NODE}/tasks/{upid}/log"))
    assert "nothing to change" in log and "step" not in log, log

    # A staged change that is reverted never reaches the file or the kernel.
    root.ok("PUT", f"/nodes/{NODE}/network/vmbr5", {"type": "bridge", "cidr": "10.77.0.3/24", "bridge_ports": "eth1"})
    assert root.ok("GET", f"/nodes/{NODE}/network/vmbr5")["cidr"] == "10.77.0.3/24"
    root.ok("DELETE", f"/nodes/{NODE}/network")
    assert root.ok("GET", f"/nodes/{NODE}/network/vmbr5")["cidr"] == "10.77.0.2/24"
    assert open(os.path.join(node.data_dir, "network", "interfaces")).read() == interfaces

    # Bad input is named and changes nothing.
    status, _, body = root.post(f"/nodes/{NODE}/network", {"iface": "vmbr6", "type": "bridge", "cidr": "10.1.2.300/24"})
    assert status == 400 and "cidr" in body["errors"], body
    status, _, body = root.post(f"/nodes/{NODE}/network", {"iface": "vmbr6", "type": "bridge", "bridge_ports": "eth1"})
    assert status == 400 and "bridge_ports" in body["errors"], body
    assert "changes" not in root.request("GET", f"/nodes/{NODE}/network")[2]


def test_a_failing_apply_names_its_step_and_keeps_the_staged_config(network):
    node, ns = network
    root = node.root
    root.ok("POST", f"/nodes/{NODE}/network", {"iface": "vmbr7", "type": "bridge", "autostart": 1})
    # This kernel has no bridge VLAN filtering: creating a VLAN-aware bridge fails in the kernel.
    root.ok("POST", f"/nodes/{NODE}/network", {"iface": "vmbr8", "type": "bridge", "bridge_vlan_aware": 1,
                                                "autostart": 1})
    upid = root.ok("PUT", f"/nodes/{NODE}/network")
    status = wait_task(root, upid)
    assert "step 2/" in status["exitstatus"] and "vmbr8" in status["exitstatus"], status
    assert "not supported" in status["exitstatus"].lower(), status
    assert ns.link("vmbr7") is not None and ns.link("vmbr8") is None
    # Nothing was committed: the change is still staged, the live file untouched.
    assert "vmbr8" in root.request("GET", f"/nodes/{NODE}/network")[2]["changes"]
    assert not os.path.exists(os.path.join(node.data_dir, "network", "interfaces"))


HAS_8021Q = os.path.exists("/proc/net/vlan/config")


@pytest.mark.skipif(not HAS_8021Q, reason="not run here: this kernel has no 802.1Q VLAN devices (module 8021q), "
                                          "and no bridge VLAN filtering")
def test_tagged_nic_reaches_a_client_on_that_vlan(network):
    """Traditional model: vmbr0v10 over eth0.10, made at VM start; the LAN client sits on VLAN 10."""
    node, ns = network
    root = node.root
    sh("ip", "-n", ns.lan, "link", "add", "link", "lan0", "name", "lan0.10", "type", "vlan", "id", "10")
    sh("ip", "-n", ns.lan, "addr", "add", "10.67.0.1/24", "dev", "lan0.10")
    sh("ip", "-n", ns.lan, "link", "set", "lan0.10", "up")
    create_vm(root, 203, net0="virtio,bridge=vmbr0,tag=10", smbios1=guest_ip("10.67.0.10/24"))
    assert power(root, 203, "start")["exitstatus"] == "OK"
    assert ns.link("tap203i0")["master"] == "vmbr0v10"
    expect_on_console(node, 203, "VIREO-GUEST-READY")
    ok = any(sh("ip", "netns", "exec", ns.lan, "ping", "-c", "1", "-W", "1", "10.67.0.10", check=False).returncode == 0
             for _ in range(10))
    assert ok, "no answer on VLAN 10"
    assert power(root, 203, "stop")["exitstatus"] == "OK"


def test_rate_limit_shapes_what_the_guest_sends(network):
    """`rate` (MB/s): the tap sits on fwbr<vmid>i<n>, whose veth (fwln/fwpr) joins vmbr0; HTB on
    fwln's egress shapes the guest's sending, HTB on the tap what it receives."""
    node, ns = network
    root = node.root
    create_vm(root, 204, net0="virtio=BC:24:11:00:00:CC,bridge=vmbr0,rate=0.05", smbios1=guest_ip("10.66.0.20/24"))
    assert power(root, 204, "start")["exitstatus"] == "OK"
    assert ns.link("tap204i0")["master"] == "fwbr204i0" and ns.link("fwpr204i0")["master"] == "vmbr0"
    expect_on_console(node, 204, "VIREO-GUEST-READY")
    assert any(sh("ip", "netns", "exec", ns.lan, "ping", "-c", "1", "-W", "1", "10.66.0.20", check=False).returncode == 0
               for _ in range(10))

    # 80 pings of 1400 bytes in under a second each way: ~110 KB, twice what 50 KB/s lets through.
    flood = sh("ip", "netns", "exec", ns.lan, "ping", "-q", "-c", "80", "-i", "0.01", "-s", "1400", "-W", "5",
               "10.66.0.20", check=False).stdout
    rtt_max = float(flood.split("rtt min/avg/max/mdev = ")[1].split("/")[2])
    assert rtt_max > 400, f"no queueing behind the limit: {flood}"
    shaped = sh("ip", "netns", "exec", ns.node, "tc", "-s", "class", "show", "dev", "fwln204i0").stdout
    sent = int(shaped.split("Sent ")[1].split(" bytes")[0])
    assert sent > 80 * 1400, shaped  # the guest's replies went through the shaper

    # Changed live: without the limit the same flood queues far less; a new limit is in place at once.
    root.ok("PUT", f"/nodes/{NODE}/qemu/204/config", {"net0": "virtio=BC:24:11:00:00:CC,bridge=vmbr0"})
    assert "rate" not in root.ok("GET", f"/nodes/{NODE}/qemu/204/config", {"current": 1})["net0"]
    assert "htb" not in sh("ip", "netns", "exec", ns.node, "tc", "qdisc", "show", "dev", "fwln204i0").stdout
    flood = sh("ip", "netns", "exec", ns.lan, "ping", "-q", "-c", "80", "-i", "0.01", "-s", "1400", "-W", "5",
               "10.66.0.20", check=False).stdout
    unlimited = float(flood.split("rtt min/avg/max/mdev = ")[1].split("/")[2])
    assert unlimited < rtt_max / 2, (rtt_max, flood)
    root.ok("PUT", f"/nodes/{NODE}/qemu/204/config", {"net0": "virtio=BC:24:11:00:00:CC,bridge=vmbr0,rate=2"})
    for device in ("tap204i0", "fwln204i0"):
        classes = sh("ip", "netns", "exec", ns.node, "tc", "class", "show", "dev", device).stdout
        assert "rate 16Mbit" in classes or "rate 16777Kbit" in classes or "2097152" in classes, classes

    assert power(root, 204, "stop")["exitstatus"] == "OK"
    assert all(ns.link(name) is None for name in ("tap204i0", "fwbr204i0", "fwln204i0", "fwpr204i0"))
