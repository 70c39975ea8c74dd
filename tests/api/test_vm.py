"""Real VMs: the test guest booted under TCG through the API, checked on its own serial console."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import VIREOD, LocalRoot, free_port, pve, prerequisite
from vm_fixtures import ISO_NAME, SerialConsole, guest_iso, kill_vm_processes  # noqa: F401

NODE = "vmnode"


def wait_task(root: LocalRoot, upid: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = root.ok("GET", f"/nodes/{NODE}/tasks/{upid}/status")
        if status["status"] == "stopped":
            return status
        time.sleep(0.1)
    raise AssertionError(f"task {upid} did not finish")


class Node:
    """A vireod on a data dir of its own that tests may kill -9 and restart."""

    def __init__(self, extra_args=()):
        self.extra_args = list(extra_args)
        self.base = tempfile.mkdtemp(prefix="vireo-vm-test-")
        self.data_dir = os.path.join(self.base, "data")
        self.proc = None
        self.port = None

    def start(self):
        self.port = free_port()
        log = open(os.path.join(self.base, "vireod.log"), "ab")
        self.proc = subprocess.Popen(
            [VIREOD, "--data-dir", self.data_dir, "--listen", f"127.0.0.1:{self.port}", "--node", NODE,
             "--auth-failure-delay", "0", *self.extra_args],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.root = LocalRoot(os.path.join(self.data_dir, "run", "vireod.sock"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.root.get("/version")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("vireod did not come up")

    def kill9(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def serial(self, vmid: int) -> SerialConsole:
        return SerialConsole(os.path.join(self.data_dir, "run", "qemu", f"{vmid}.serial0"))

    def pidfile_pid(self, vmid: int) -> int:
        return int(open(os.path.join(self.data_dir, "run", "qemu", f"{vmid}.pid")).read().strip())

    def cleanup(self):
        kill_vm_processes(self.data_dir)
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def node(guest_iso):  # noqa: F811
    prerequisite(os.access(VIREOD, os.X_OK), f"daemon binary {VIREOD}")
    n = Node()
    try:
        n.start()
        iso_dir = os.path.join(n.data_dir, "local", "template", "iso")
        os.makedirs(iso_dir, exist_ok=True)
        shutil.copy(guest_iso, os.path.join(iso_dir, ISO_NAME))
        yield n
    finally:
        n.cleanup()


def create_vm(root: LocalRoot, vmid: int, **extra):
    params = {
        "vmid": vmid, "name": f"guest{vmid}", "memory": 256, "kvm": 0, "serial0": "socket", "vga": "serial0",
        "virtio0": "local:1,format=qcow2", "ide2": f"local:iso/{ISO_NAME},media=cdrom", "boot": "order=ide2;virtio0",
    }
    params.update(extra)
    upid = root.ok("POST", f"/nodes/{NODE}/qemu", params)
    assert wait_task(root, upid)["exitstatus"] == "OK"


def power(root: LocalRoot, vmid: int, action: str, **params) -> dict:
    upid = root.ok("POST", f"/nodes/{NODE}/qemu/{vmid}/status/{action}", params)
    return wait_task(root, upid)


def boot_and_write_marker(node: Node, vmid: int, text: str):
    """Starts the VM, waits for its guest and has it write `text` as the disk marker."""
    assert power(node.root, vmid, "start")["exitstatus"] == "OK"
    console = node.serial(vmid)
    try:
        console.wait_for("VIREO-GUEST-READY", timeout=90)
        console.command(f"write-disk {text}", f"VIREO-DISK-WROTE {text}")
    finally:
        console.close()


def expect_on_console(node: Node, vmid: int, marker: str, timeout: float = 90):
    console = node.serial(vmid)
    try:
        return console.wait_for(marker, timeout=timeout)
    finally:
        console.close()


def test_proxmoxer_lifecycle_with_the_guest_on_its_console(node):
    root = node.root
    root.ok("POST", "/access/users", {"userid": "vmadmin@pve", "password": "vm-admin-pass"})
    root.ok("PUT", "/access/acl", {"path": "/", "users": "vmadmin@pve", "roles": "Administrator"})
    api = pve(node_daemon(node), "vmadmin@pve", "vm-admin-pass")
    upid = api.nodes(NODE).qemu.post(
        vmid=100, name="web", memory=256, kvm=0, serial0="socket", vga="serial0", virtio0="local:1,format=qcow2",
        ide2=f"local:iso/{ISO_NAME},media=cdrom", boot="order=ide2;virtio0")
    assert wait_task(root, upid)["exitstatus"] == "OK"
    config = api.nodes(NODE).qemu(100).config.get()
    assert config["virtio0"].startswith("local:100/vm-100-disk-0.qcow2") and "size=1G" in config["virtio0"]
    upid = api.nodes(NODE).qemu(100).status.start.post()
    console = node.serial(100)
    try:
        assert wait_task(root, upid)["exitstatus"] == "OK"
        console.wait_for("VIREO-GUEST-READY", timeout=90)
        status = api.nodes(NODE).qemu(100).status.current.get()
        assert status["status"] == "running" and status["qmpstatus"] == "running"
        assert status["pid"] == node.pidfile_pid(100)
        assert os.path.exists(f"/proc/{status['pid']}")

        assert power(root, 100, "suspend")["exitstatus"] == "OK"
        assert api.nodes(NODE).qemu(100).status.current.get()["qmpstatus"] == "paused"
        assert power(root, 100, "resume")["exitstatus"] == "OK"
        assert console.command("uptime", "VIREO-UPTIME")

        mark = console.mark()
        upid = api.nodes(NODE).qemu(100).status.shutdown.post(timeout=60)
        assert wait_task(root, upid, timeout=90)["exitstatus"] == "OK"
        console.wait_for("VIREO-POWEROFF", since=mark, timeout=5)
        assert api.nodes(NODE).qemu(100).status.current.get()["status"] == "stopped"
    finally:
        console.close()


def node_daemon(node: Node):
    """The minimal shape `pve()` needs: a port."""
    class D:
        port = node.port
    return D()


def test_kill9_of_vireod_leaves_the_guest_running_and_readopted(node):
    create_vm(node.root, 101)
    assert power(node.root, 101, "start")["exitstatus"] == "OK"
    pid = node.pidfile_pid(101)
    node.kill9()
    time.sleep(0.5)
    stat = open(f"/proc/{pid}/stat").read()
    assert stat.split(")")[1].split()[0] not in ("Z", "X"), "QEMU died with the daemon"
    node.start()
    status = node.root.ok("GET", f"/nodes/{NODE}/qemu/101/status/current")
    assert status["status"] == "running" and status["pid"] == pid and status["qmpstatus"] == "running"
    assert power(node.root, 101, "stop")["exitstatus"] == "OK"
    assert node.root.ok("GET", f"/nodes/{NODE}/qemu/101/status/current")["status"] == "stopped"


def test_disk_marker_survives_stop_and_start(node):
    create_vm(node.root, 102)
    boot_and_write_marker(node, 102, "survives-102")
    assert power(node.root, 102, "stop")["exitstatus"] == "OK"
    assert power(node.root, 102, "start")["exitstatus"] == "OK"
    expect_on_console(node, 102, "VIREO-DISK-FOUND survives-102")
    assert power(node.root, 102, "stop")["exitstatus"] == "OK"


@pytest.mark.parametrize("params, key", [
    ({"memory": "abc"}, "memory"),
    ({"bogus": "1"}, "bogus"),
    ({"virtio0": "nosuchstorage:1"}, "virtio0"),
    ({"net0": "nosuchnic"}, "net0"),
])
def test_bad_config_values_are_named_and_nothing_is_written(node, params, key):
    status, reason, body = node.root.post(f"/nodes/{NODE}/qemu", {"vmid": 150, "kvm": 0, **params})
    assert status == 400, (status, reason, body)
    assert key in body["errors"], body
    assert node.root.get(f"/nodes/{NODE}/qemu/150/config")[0] == 404
    assert all(vm["vmid"] != 150 for vm in node.root.ok("GET", f"/nodes/{NODE}/qemu"))
    # An update with a bad value changes nothing either.
    create_vm(node.root, 151)
    before = node.root.ok("GET", f"/nodes/{NODE}/qemu/151/config")
    status, _, body = node.root.put(f"/nodes/{NODE}/qemu/151/config", params)
    assert status == 400 and key in body["errors"], body
    assert node.root.ok("GET", f"/nodes/{NODE}/qemu/151/config") == before


def test_guest_power_off_ends_qemu_and_onboot_vms_start_with_the_node(node):
    root = node.root
    create_vm(root, 103, onboot=1)
    create_vm(root, 104)
    assert power(root, 103, "start")["exitstatus"] == "OK"
    pid = node.pidfile_pid(103)
    console = node.serial(103)
    try:
        console.wait_for("VIREO-GUEST-READY", timeout=90)
        console.command("poweroff", "VIREO-POWEROFF")
    finally:
        console.close()
    # Nobody asked the API: vireod's event monitor sees the guest's power-off and ends QEMU.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and root.ok("GET", f"/nodes/{NODE}/qemu/103/status/current")["status"] != "stopped":
        time.sleep(0.2)
    assert root.ok("GET", f"/nodes/{NODE}/qemu/103/status/current")["status"] == "stopped"
    stat = open(f"/proc/{pid}/stat").read() if os.path.exists(f"/proc/{pid}/stat") else ") Z"
    assert stat.split(")")[1].split()[0] in ("Z", "X"), "QEMU still alive after the guest powered off"

    # A daemon restart is not a node boot: nothing starts.
    node.stop()
    node.start()
    time.sleep(1)
    assert root.ok("GET", f"/nodes/{NODE}/qemu/103/status/current")["status"] == "stopped"
    # A node boot (a boot ID vireod has not seen): the onboot VM starts, the other does not.
    node.stop()
    os.remove(os.path.join(node.data_dir, "run", "qemu", "boot-id"))
    node.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and node.root.ok("GET", f"/nodes/{NODE}/qemu/103/status/current")["status"] != "running":
        time.sleep(0.2)
    assert node.root.ok("GET", f"/nodes/{NODE}/qemu/103/status/current")["status"] == "running"
    assert node.root.ok("GET", f"/nodes/{NODE}/qemu/104/status/current")["status"] == "stopped"
    tasks = node.root.ok("GET", f"/nodes/{NODE}/tasks", {"typefilter": "startall"})
    assert tasks and tasks[0]["status"] == "OK", tasks
    assert power(node.root, 103, "stop")["exitstatus"] == "OK"


def test_qemu_events_exits_and_failed_tasks_are_kept_across_restarts(node):
    """The event history: QEMU's events, a QEMU killed behind Vireo's back (with its signal) and a
    failed task, per VM and per node, filtered by time, still there after vireod restarts."""
    root = node.root
    create_vm(root, 105)
    started = time.time()
    assert power(root, 105, "start")["exitstatus"] == "OK"
    assert power(root, 105, "suspend")["exitstatus"] == "OK"
    assert power(root, 105, "resume")["exitstatus"] == "OK"
    pid = node.pidfile_pid(105)
    time.sleep(1.1)  # `since` is in whole seconds: the kill's second holds no pause or resume
    killed = time.time()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(
            e["kind"] == "exit" for e in root.ok("GET", f"/nodes/{NODE}/qemu/105/events")):
        time.sleep(0.2)
    # A start that fails: its disk is gone.
    disk = os.path.join(node.data_dir, "local", "images", "105", "vm-105-disk-0.qcow2")
    os.unlink(disk)
    upid = root.ok("POST", f"/nodes/{NODE}/qemu/105/status/start", {})
    assert wait_task(root, upid)["exitstatus"] != "OK"
    log = "\n".join(line["t"] for line in root.ok("GET", f"/nodes/{NODE}/tasks/{upid}/log", {"limit": 500}))
    faults = [line.split(": ", 1)[1] for line in log.splitlines() if line.startswith("vireo-fault: ")]
    assert len(faults) == 1 and log.splitlines()[-1].startswith("TASK ERROR: "), log
    plane, layer = faults[0].split(" / ")

    node.stop()
    node.start()
    events = root.ok("GET", f"/nodes/{NODE}/qemu/105/events")
    names = [(e["kind"], e["name"]) for e in events]
    assert ("qemu", "STOP") in names and ("qemu", "RESUME") in names, names
    # The failed start's QEMU may get as far as its monitor and exit with status 1: that is kept too.
    exits = [e for e in events if e["kind"] == "exit" and e["details"].get("signal") == 9]
    assert len(exits) == 1, [e for e in events if e["kind"] in ("exit", "task")]
    assert exits[0]["details"]["expected"] == 0 and exits[0]["details"]["pid"] == pid, exits
    assert "SIGKILL" in exits[0]["message"] and (exits[0]["plane"], exits[0]["layer"]) == ("data", "vm-process")
    failed = [e for e in events if e["kind"] == "task"]
    assert failed and failed[-1]["details"]["upid"] == upid, events
    assert (failed[-1]["plane"], failed[-1]["layer"]) == (plane, layer), failed
    assert all(e["time"] >= started - 1 for e in events)
    # Filtered by time: nothing of the VM's before the kill but the pause and resume.
    later = root.ok("GET", f"/nodes/{NODE}/qemu/105/events", {"since": int(killed)})
    assert ("qemu", "STOP") not in [(e["kind"], e["name"]) for e in later] and any(e["kind"] == "exit" for e in later)
    # The node's history holds the VM's events and the daemon's own.
    node_events = root.ok("GET", f"/nodes/{NODE}/events", {"limit": 1000})
    assert any(e.get("vmid") == 105 and e["kind"] == "exit" for e in node_events)
    assert sum(1 for e in node_events if e["kind"] == "daemon" and e["name"] == "started") >= 2
    assert root.get(f"/nodes/{NODE}/qemu/999/events")[0] == 404
