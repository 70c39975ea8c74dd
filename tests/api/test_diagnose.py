"""The diagnosis engine against real faults: each test breaks one thing for real (a locked store,
a killed QEMU, a full or overcommitted file system, a long snapshot chain, a noisy neighbour, a tap
off its bridge, a bridge without uplink, an uplink without carrier, a firewall DROP, bad tickets,
a dead daemon), checks that the fault really happened, asks `…/diagnose` (or `vireo diagnose`) and
asserts what a user reads first: the verdict's plane and layer, the check that carries it and its
evidence, and the first line of `text`. Then it puts things back.

Topology (throwaway namespaces; nothing in the root namespace is touched):

    LAN namespace                        NODE namespace (vireod --netns NODE)
    lan0 10.66.0.1/24  <----veth---->  eth0 -- vmbr0 (made through the API) -- tap100i0 (guest 100, 10.66.0.10)

Module guests (TCG, booted once): 100 on vmbr0 (net0 firewall=1, the firewall itself off) and 101
without NIC, both with a qcow2 disk on `local`. Tests that need a VM of their own (killed QEMU,
paused guest, full storage, wrong bridge, …) make it and destroy it. Loop-device file systems are
ext4 with no reserved blocks, so "full" means full for everyone.

The tests run in file order: the healthy node is checked first, before any fault was injected, and
every test leaves the node healthy again (an autouse fixture restarts a daemon a test left dead or
running with other options).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

import pytest

from conftest import VIREO, VIREOD, LocalRoot, new_session, prerequisite, unique
from net_fixtures import guest_ip, in_netns, join_netns, sh
from storage_fixtures import loop_filesystem, loop_tools_available
from test_vm import NODE, Node, create_vm, power, wait_task
from vm_fixtures import ISO_NAME, SerialConsole, guest_iso  # noqa: F401

MAIN = 100  # running, net0 on vmbr0 (firewall=1), disk on local
NEIGHBOUR = 101  # running, no NIC, disk on local
MAC0 = "BC:24:11:00:0D:64"
GUEST_IP = "10.66.0.10"
LAN_IP = "10.66.0.1"
BRIDGE = "vmbr0"
UPLINK = "eth0"  # the node's "physical" NIC: a veth whose peer (lan0) is in the LAN namespace
CLUSTER_FW = "/cluster/firewall"
MAIN_FW = f"/nodes/{NODE}/qemu/{MAIN}/firewall"


# ---------------------------------------------------------------------------------------------
# Namespaces


class Namespaces:
    def __init__(self):
        suffix = uuid.uuid4().hex[:6]
        self.node, self.lan = f"vn-dgnode-{suffix}", f"vn-dglan-{suffix}"

    def create(self):
        for ns in (self.node, self.lan):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.node, "link", "add", UPLINK, "type", "veth", "peer", "name", "lan0", "netns", self.lan)
        sh("ip", "-n", self.lan, "addr", "add", f"{LAN_IP}/24", "dev", "lan0")
        sh("ip", "-n", self.lan, "link", "set", "lan0", "up")

    def delete(self):
        for ns in (self.node, self.lan):
            sh("ip", "netns", "del", ns, check=False)

    def link(self, name: str, ns: str | None = None) -> dict | None:
        result = sh("ip", "-n", ns or self.node, "-j", "link", "show", "dev", name, check=False)
        return json.loads(result.stdout)[0] if result.returncode == 0 else None

    def nft_packets(self, comment: str) -> int:
        """Packets the kernel counted for the nft rules carrying `comment` (no daemon involved)."""
        listing = json.loads(sh("ip", "netns", "exec", self.node, "nft", "-j", "list", "ruleset").stdout)["nftables"]
        total = 0
        for item in listing:
            rule = item.get("rule")
            if rule and rule.get("comment") == comment:
                for expression in rule.get("expr", []):
                    if isinstance(expression, dict) and "counter" in expression:
                        total += expression["counter"].get("packets", 0)
        return total


def guest_banner(ns: str, timeout: float = 3) -> str:
    """The line the guest's port 7777 sends to a client in the LAN ('' when nothing connects)."""
    def attempt():
        with socket.create_connection((GUEST_IP, 7777), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(200).decode(errors="replace").strip()

    try:
        return in_netns(ns, attempt) or ""
    except OSError:
        return ""


def lan_reaches_guest(ns: str, attempts: int = 10) -> bool:
    return any(guest_banner(ns).startswith("VIREO-GUEST") for _ in range(attempts))


class Knocker:
    """A thread in the LAN namespace that keeps opening TCP connections to the guest's port (each
    given 0.2 s), so a DROP rule sees fresh SYNs all the time; counts attempts and successes."""

    def __init__(self, ns: str, port: int):
        self.ns, self.port = ns, port
        self.attempts = self.connected = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        join_netns(self.ns)
        while not self.stopping.is_set():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(0.2)
            self.attempts += 1
            try:
                sock.connect((GUEST_IP, self.port))
                self.connected += 1
            except OSError:
                pass
            finally:
                sock.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(5)


# ---------------------------------------------------------------------------------------------
# The module's node and guests


@dataclass
class Env:
    ns: Namespaces
    node: Node
    base_args: list[str]
    consoles: dict[int, SerialConsole] = field(default_factory=dict)
    session: object = None

    @property
    def root(self) -> LocalRoot:
        return self.node.root

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.node.port}/api2/json{path}"

    def get(self, path: str, params: dict | None = None, timeout: float = 120):
        """GET as the module's admin over HTTPS (ticket cookie), as a user's client would."""
        return self.session.get(self.url(path), params=params, timeout=timeout)

    def login(self, userid: str, password: str):
        return new_session().post(self.url("/access/ticket"), data={"username": userid, "password": password},
                                  timeout=30)

    def restart(self, extra: list[str] | None = None):
        """Stops vireod (SIGTERM) and starts it again with the base options plus `extra`."""
        self.node.stop()
        self.node.extra_args = self.base_args + list(extra or [])
        self.node.start()

    def daemon_running_plain(self) -> bool:
        return (self.node.proc is not None and self.node.proc.poll() is None
                and self.node.extra_args == self.base_args)

    def guest(self, vmid: int, command: str, reply: str, timeout: float = 30) -> str:
        return self.consoles[vmid].command(command, reply, timeout=timeout)

    def status(self, vmid: int) -> dict:
        return self.root.ok("GET", f"/nodes/{NODE}/qemu/{vmid}/status/current")


def copy_iso(node: Node, iso: str):
    iso_dir = os.path.join(node.data_dir, "local", "template", "iso")
    os.makedirs(iso_dir, exist_ok=True)
    shutil.copy(iso, os.path.join(iso_dir, ISO_NAME))


def apply_network(root: LocalRoot):
    upid = root.ok("PUT", f"/nodes/{NODE}/network")
    status = wait_task(root, upid)
    log = "\n".join(line["t"] for line in root.ok("GET", f"/nodes/{NODE}/tasks/{upid}/log"))
    assert status["exitstatus"] == "OK", f"network apply failed: {status}\n{log}"


@pytest.fixture(scope="module")
def env(guest_iso):  # noqa: F811
    prerequisite(os.access(VIREOD, os.X_OK), f"daemon binary {VIREOD}")
    prerequisite(os.geteuid() == 0, "root (namespaces, loop devices, nft)")
    for tool in ("ip", "nft", "qemu-img", "fallocate", "tune2fs"):
        prerequisite(shutil.which(tool) is not None, f"{tool} (scripts/install-deps.sh installs it)")
    namespaces = Namespaces()
    node = None
    e = None
    try:
        namespaces.create()
        base_args = ["--netns", namespaces.node]
        node = Node(extra_args=base_args)
        node.start()
        copy_iso(node, guest_iso)
        e = Env(namespaces, node, list(base_args))
        root = node.root

        # vmbr0 with its uplink, configured as a user would (interfaces file and kernel agree).
        root.ok("POST", f"/nodes/{NODE}/network", {"iface": BRIDGE, "type": "bridge", "bridge_ports": UPLINK,
                                                    "autostart": 1})
        apply_network(root)
        sh("ip", "-n", namespaces.node, "link", "set", UPLINK, "up")
        assert namespaces.link(UPLINK).get("master") == BRIDGE, namespaces.link(UPLINK)

        userid, password = f"{unique('diag')}@pve", f"Pw-{uuid.uuid4().hex[:12]}"
        root.ok("POST", "/access/users", {"userid": userid, "password": password})
        root.ok("PUT", "/access/acl", {"path": "/", "users": userid, "roles": "Administrator"})
        reply = e.login(userid, password)
        assert reply.status_code == 200, reply.text
        e.session = new_session()
        e.session.cookies.set("PVEAuthCookie", reply.json()["data"]["ticket"])

        create_vm(root, MAIN, net0=f"virtio={MAC0},bridge={BRIDGE},firewall=1", smbios1=guest_ip(f"{GUEST_IP}/24"))
        create_vm(root, NEIGHBOUR)
        for vmid in (MAIN, NEIGHBOUR):
            assert power(root, vmid, "start")["exitstatus"] == "OK"
            e.consoles[vmid] = node.serial(vmid)
        for vmid in (MAIN, NEIGHBOUR):
            e.consoles[vmid].wait_for("VIREO-GUEST-READY", timeout=180)
        assert lan_reaches_guest(namespaces.lan), "the LAN does not reach the guest's port 7777"
        yield e
    finally:
        if e:
            for console in e.consoles.values():
                console.close()
        if node:
            node.cleanup()
        namespaces.delete()


@pytest.fixture(autouse=True)
def daemon_back_to_normal(env):
    """After each test: vireod runs with its usual options (a test may have killed it or started it
    with a clock offset, and failed before putting it back)."""
    yield
    if not env.daemon_running_plain():
        env.restart()


# ---------------------------------------------------------------------------------------------
# Reading reports


def explain(report: dict) -> str:
    """The report in a few lines for an assertion message: verdict, non-ok checks, text head."""
    if not isinstance(report, dict):
        return repr(report)[:1500]
    bad = [f"  {c.get('id')} {c.get('status')}: {c.get('summary')} {json.dumps(c.get('evidence'))[:300]}"
           for c in report.get("checks", []) if c.get("status") != "ok"]
    text = "\n".join((report.get("text") or "").splitlines()[:8])
    return f"verdict {report.get('verdict')}\nchecks not ok:\n" + "\n".join(bad) + f"\ntext:\n{text}"


def answer(reply) -> dict:
    assert reply.status_code == 200, \
        f"GET {reply.url} -> {reply.status_code} {reply.reason}: {reply.text[:500]}"
    return reply.json()["data"]


def diagnose_vm(env: Env, vmid: int) -> dict:
    report = answer(env.get(f"/nodes/{NODE}/qemu/{vmid}/diagnose"))
    assert report.get("subject") == f"vm {vmid}" and report.get("node") == NODE, explain(report)
    return report


def diagnose_node(env: Env, **params) -> dict:
    return answer(env.get(f"/nodes/{NODE}/diagnose", params or None))


def check(report: dict, check_id: str) -> dict:
    found = [c for c in report.get("checks", []) if c.get("id") == check_id]
    assert len(found) == 1, f"check {check_id} not once in {[c.get('id') for c in report.get('checks', [])]}"
    return found[0]


def first_line(report: dict) -> str:
    return (report.get("text") or "").split("\n", 1)[0]


def expect_verdict(report: dict, plane: str, layer: str, statuses=("fail",), check_id: str | None = None) -> dict:
    """The verdict names `plane / layer` (and `check_id` when given); the text starts with it."""
    verdict = report.get("verdict") or {}
    assert (verdict.get("fault"), verdict.get("plane"), verdict.get("layer")) == (1, plane, layer), explain(report)
    assert verdict.get("status") in statuses, explain(report)
    if check_id is not None:
        assert verdict.get("check") == check_id, explain(report)
    line = first_line(report)
    assert line.startswith(f"{plane} / {layer} ({verdict['status']}): "), line
    return verdict


def expect_no_fault(report: dict):
    """No fault, every check ok, and the text says so first."""
    verdict = report.get("verdict") or {}
    assert verdict.get("fault") == 0 and verdict.get("status") == "ok", explain(report)
    assert verdict.get("plane") is None and verdict.get("layer") is None, explain(report)
    not_ok = [c["id"] for c in report["checks"] if c.get("status") != "ok"]
    assert not not_ok, f"false alarms: {not_ok}\n{explain(report)}"
    assert first_line(report) == f"no fault found ({len(report['checks'])} checks)", first_line(report)


# ---------------------------------------------------------------------------------------------
# Host helpers


def run_cli(env: Env, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    prerequisite(os.access(VIREO, os.X_OK), f"CLI binary {VIREO} (build it, or set VIREO)")
    environment = {k: v for k, v in os.environ.items() if k != "VIREO_RUN_DIR"}
    environment["VIREO_DATA_DIR"] = env.node.data_dir
    environment["VIREOD"] = VIREOD
    return subprocess.run([VIREO, *args], env=environment, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def cli_json(result: subprocess.CompletedProcess) -> dict:
    try:
        return json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"not JSON (exit {result.returncode}): {result.stdout[:800]!r} {result.stderr[-800:]!r}")


def alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def destroy_vm(root: LocalRoot, vmid: int):
    """Stops (if running) and destroys a VM with its disks; a missing VM is fine (teardown)."""
    if root.get(f"/nodes/{NODE}/qemu/{vmid}/config")[0] != 200:
        return
    if root.ok("GET", f"/nodes/{NODE}/qemu/{vmid}/status/current")["status"] != "stopped":
        power(root, vmid, "stop")
    upid = root.ok("DELETE", f"/nodes/{NODE}/qemu/{vmid}", {"purge": 1})
    assert wait_task(root, upid)["exitstatus"] == "OK"


@contextlib.contextmanager
def vm(env: Env, vmid: int, **config):
    """A VM of the test's own (`create_vm`'s defaults plus `config`), destroyed afterwards."""
    try:
        create_vm(env.root, vmid, **config)
        yield vmid
    finally:
        console = env.consoles.pop(vmid, None)
        if console:
            console.close()
        destroy_vm(env.root, vmid)


@contextlib.contextmanager
def loop_storage(env: Env, size_mb: int, **options):
    """A `dir` storage (content images) on a fresh ext4 loop file system without reserved blocks;
    yields (storage id, mount point). Removed, unmounted and detached afterwards."""
    ok, missing = loop_tools_available("ext4")
    prerequisite(ok, f"{missing} for an ext4 loop file system")
    with loop_filesystem("ext4", size_mb) as mnt:
        device = next(line.split()[0] for line in open("/proc/self/mounts")
                      if line.split()[1] == os.path.realpath(mnt))
        sh("tune2fs", "-m", "0", device)
        sid = unique("dg").lower()
        try:
            env.root.ok("POST", "/storage", {"storage": sid, "type": "dir", "path": mnt, "content": "images",
                                             **options})
            yield sid, mnt
        finally:
            env.root.delete(f"/storage/{sid}")


def allocate(env: Env, sid: str, vmid: int, filename: str, size: str) -> str:
    """A volume through the storage content API; returns its volid."""
    fmt = filename.rsplit(".", 1)[1]
    return env.root.ok("POST", f"/nodes/{NODE}/storage/{sid}/content",
                       {"vmid": vmid, "filename": filename, "size": size, "format": fmt})


def volume_path(env: Env, volid: str) -> str:
    sid = volid.split(":", 1)[0]
    encoded = urllib.parse.quote(volid, safe="")
    return env.root.ok("GET", f"/nodes/{NODE}/storage/{sid}/content/{encoded}")["path"]


def used_percent(path: str) -> float:
    st = os.statvfs(path)
    return 100.0 * (st.f_blocks - st.f_bavail) / st.f_blocks


def wait_until(predicate, timeout: float, interval: float = 0.5):
    """Polls `predicate` until it returns something true or `timeout` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


# ---------------------------------------------------------------------------------------------
# 1. The healthy node (first, before any fault)


def test_healthy_node_and_vm_report_no_fault(env):
    """A running guest on a bridge with its uplink, firewall off: no fault, and no check is anything
    but ok, for the VM and for the node. The ok checks saw the real thing (pid, tap on bridge,
    uplink with carrier, guest running)."""
    report = diagnose_vm(env, MAIN)
    expect_no_fault(report)
    process = check(report, "vm.process")["evidence"]
    assert process["alive"] == 1 and process["pid"] == env.node.pidfile_pid(MAIN), process
    assert check(report, "vm.runstate")["evidence"]["qmpstatus"] == "running"
    for check_id in ("vm.config", "vm.qmp", "disk.virtio0.volume", "storage.local.space", "network.net0.bridge"):
        check(report, check_id)
    tap = check(report, "network.net0.tap")["evidence"]
    assert (tap["tap"], tap["master"], tap["bridge"]) == (f"tap{MAIN}i0", BRIDGE, BRIDGE), tap
    uplinks = check(report, "network.net0.uplink")["evidence"]["uplinks"]
    assert [(u["name"], u["carrier"]) for u in uplinks] == [(UPLINK, True)], uplinks

    report = diagnose_node(env)
    assert report["subject"] == "node" and report["node"] == NODE and report["offline"] == 0
    expect_no_fault(report)
    for check_id in ("control.daemon", "control.store", "control.auth", "host.memory", "host.cpu",
                     "physical-disk.io", "storage.local.space", f"network.{BRIDGE}.bridge",
                     f"network.{BRIDGE}.uplink", f"vm.{MAIN}.process", f"vm.{MAIN}.runstate",
                     f"vm.{NEIGHBOUR}.process", f"vm.{NEIGHBOUR}.runstate"):
        check(report, check_id)

    assert env.get(f"/nodes/{NODE}/qemu/999/diagnose").status_code == 404


def test_cli_diagnose_on_the_healthy_node(env):
    """`vireo diagnose node` prints the report (verdict line first) and exits 0; `vireo diagnose vm
    N --output-format json` prints the report object."""
    result = run_cli(env, "diagnose", "node")
    assert result.returncode == 0, (result.returncode, result.stdout[-1500:], result.stderr[-1500:])
    assert result.stdout.startswith("no fault found ("), result.stdout[:500]

    result = run_cli(env, "diagnose", "vm", str(MAIN), "--output-format", "json")
    report = cli_json(result)
    assert result.returncode == 0, (result.returncode, explain(report), result.stderr[-800:])
    assert report["subject"] == f"vm {MAIN}" and report["offline"] == 0
    expect_no_fault(report)


# ---------------------------------------------------------------------------------------------
# 2.-3. Control plane and VM process


HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(900)
"""


def test_store_locked_by_another_process(env):
    """Another process holds the config store's write lock: the verdict is control / store and the
    evidence names that process; once it is gone, no fault again."""
    db = os.path.join(env.node.data_dir, "config.db")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, db], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert holder.stdout.readline().strip() == "locked", holder.stderr.read()
        # The lock is real: nobody else can start writing now.
        probe = sqlite3_try_write(db)
        assert "locked" in probe, probe

        for report in (diagnose_vm(env, MAIN), diagnose_node(env)):
            expect_verdict(report, "control", "store", check_id="control.store")
            evidence = check(report, "control.store")["evidence"]
            assert evidence["holder_pid"] == holder.pid, evidence
            assert evidence["path"] == db and "python" in evidence["holder"], evidence
            assert evidence["holder_running_seconds"] >= 0, evidence
    finally:
        holder.kill()
        holder.wait(10)
        holder.stdout.close()
        holder.stderr.close()
    expect_no_fault(diagnose_vm(env, MAIN))


def sqlite3_try_write(db: str) -> str:
    """Tries to take the write lock for a moment in a child process; returns what happened."""
    code = ("import sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0.2)\n"
            "try:\n    db.execute('BEGIN IMMEDIATE'); db.execute('ROLLBACK'); print('free')\n"
            "except sqlite3.OperationalError as e:\n    print(e)\n")
    return sh(sys.executable, "-c", code, db).stdout.strip()


def test_qemu_killed(env):
    """QEMU dies of SIGKILL behind Vireo's back: data / vm-process, the process not alive, and the
    exit with signal 9 among the last events."""
    vmid = 102
    with vm(env, vmid):
        assert power(env.root, vmid, "start")["exitstatus"] == "OK"
        pid = env.node.pidfile_pid(vmid)
        assert alive(pid)
        os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: not alive(pid), 20), f"QEMU {pid} still alive after SIGKILL"
        exits = wait_until(lambda: [e for e in env.root.ok("GET", f"/nodes/{NODE}/qemu/{vmid}/events")
                                    if e["kind"] == "exit"], 20)
        assert exits and exits[-1]["details"].get("signal") == 9, exits

        report = diagnose_vm(env, vmid)
        expect_verdict(report, "data", "vm-process")
        evidence = check(report, "vm.process")["evidence"]
        assert evidence["alive"] == 0, evidence  # false (or 0, as Proxmox writes booleans)
        killed = [e for e in evidence["last_events"] if e.get("kind") == "exit"]
        assert killed and killed[-1]["details"]["signal"] == 9, evidence["last_events"]


# ---------------------------------------------------------------------------------------------
# 4.-8. Storage


def test_guest_paused_on_io_error_blames_the_full_storage(env):
    """A guest fills its thin disk on a small file system until QEMU pauses it (io-error). The
    symptom is the VM's run state; the verdict names the cause: storage / storage-backend, the
    storage's space nearly all used."""
    vmid = 104
    with loop_storage(env, 48, overcommit=1) as (sid, mnt):
        volid = allocate(env, sid, vmid, f"vm-{vmid}-disk-0.qcow2", "256M")
        with vm(env, vmid, virtio0=volid):
            assert power(env.root, vmid, "start")["exitstatus"] == "OK"
            env.consoles[vmid] = env.node.serial(vmid)
            env.consoles[vmid].wait_for("VIREO-GUEST-READY", timeout=180)
            assert env.guest(vmid, "fill-disk", "VIREO-FILL") == "VIREO-FILL-STARTED"
            paused = wait_until(lambda: env.status(vmid).get("qmpstatus") == "io-error", 240, interval=1)
            assert paused, f"no io-error pause: {env.status(vmid)}, {used_percent(mnt):.1f} % used"
            assert used_percent(mnt) >= 95, used_percent(mnt)

            report = diagnose_vm(env, vmid)
            expect_verdict(report, "storage", "storage-backend")
            runstate = check(report, "vm.runstate")
            assert runstate["status"] == "fail" and runstate["evidence"]["qmpstatus"] == "io-error", runstate
            # The fill was measured above; ext4 may give reserved blocks back after the failed
            # writes, so the report names the pause on "no space left" rather than a percentage.
            space = check(report, f"storage.{sid}.space")
            assert space["status"] == "fail" and vmid in space["evidence"]["paused_vms"], space
            assert vmid in space["evidence"]["vms"] and "ran out of space" in space["summary"], space
            assert report["verdict"]["check"] == f"storage.{sid}.space", report["verdict"]


def test_storage_nearly_full(env):
    """A storage filled to 99 % (by a file, nothing of Vireo's): its scope report says storage /
    storage-backend, space fail, and lists the VM whose disk lives there."""
    vmid = 105
    with loop_storage(env, 48) as (sid, mnt):
        volid = allocate(env, sid, vmid, f"vm-{vmid}-disk-0.raw", "4M")
        with vm(env, vmid, virtio0=volid):
            st = os.statvfs(mnt)
            filler = st.f_bavail * st.f_frsize - (st.f_blocks * st.f_frsize) // 200  # leave 0.5 %
            sh("fallocate", "-l", str(filler // 4096 * 4096), os.path.join(mnt, "filler"))
            assert used_percent(mnt) >= 99, used_percent(mnt)

            report = diagnose_node(env, scope="storage", storage=sid)
            assert report["subject"] == f"storage {sid}", explain(report)
            expect_verdict(report, "storage", "storage-backend", check_id=f"storage.{sid}.space")
            space = check(report, f"storage.{sid}.space")
            assert space["status"] == "fail", space
            evidence = space["evidence"]
            assert evidence["used_percent"] >= 95 and evidence["vms"] == [vmid], evidence
            assert evidence["total"] == st.f_blocks * st.f_frsize, evidence
            assert 0 <= evidence["available"] <= evidence["total"] // 100, evidence


def test_thin_overcommit(env):
    """Thin volumes whose sizes add up to three times the free space (each allocation alone fits,
    so nothing refused them): storage / storage-backend from the provisioning check, while the
    space itself is still fine."""
    vmid = 106
    with loop_storage(env, 64) as (sid, mnt):
        disks = {f"virtio{n}": allocate(env, sid, vmid, f"vm-{vmid}-disk-{n}.{fmt}", "48M")
                 for n, fmt in enumerate(("qcow2", "raw", "qcow2", "raw"))}
        free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
        assert 4 * 48 * 2**20 > 3 * free, f"{free} bytes free"
        with vm(env, vmid, **disks):
            report = diagnose_node(env, scope="storage", storage=sid)
            expect_verdict(report, "storage", "storage-backend", statuses=("warn", "fail"),
                           check_id=f"storage.{sid}.provisioning")
            provisioning = check(report, f"storage.{sid}.provisioning")
            assert provisioning["status"] in ("warn", "fail"), provisioning
            evidence = provisioning["evidence"]
            assert evidence["provisioned"] == 4 * 48 * 2**20 and evidence["volumes"] == 4, evidence
            assert evidence["provisioned"] > evidence["available"], evidence
            assert evidence["allocated"] < evidence["available"], evidence
            assert check(report, f"storage.{sid}.space")["status"] == "ok"


def test_snapshot_chain(env):
    """A stopped VM whose qcow2 disk carries 30 internal snapshots: storage / virtual-disk, the
    volume check counting them."""
    vmid = 107
    with vm(env, vmid):
        volid = env.root.ok("GET", f"/nodes/{NODE}/qemu/{vmid}/config")["virtio0"].split(",")[0]
        path = volume_path(env, volid)
        for n in range(1, 31):
            sh("qemu-img", "snapshot", "-c", f"s{n}", path)
        info = json.loads(sh("qemu-img", "info", "--output", "json", path).stdout)
        assert len(info.get("snapshots", [])) == 30, info

        report = diagnose_vm(env, vmid)
        expect_verdict(report, "storage", "virtual-disk", statuses=("warn", "fail"),
                       check_id="disk.virtio0.volume")
        evidence = check(report, "disk.virtio0.volume")["evidence"]
        assert evidence["volid"] == volid and evidence["path"] == path and evidence["format"] == "qcow2", evidence
        assert evidence["snapshots"] >= 30, evidence


class SharedSlowDisk:
    """The guests' disk made slow and shared, as a busy spindle is: a blkio cgroup (v1) that
    throttles writes to the block device under the node's storage to `bps`, holding both guests'
    QEMUs. Moved back and removed on exit."""

    ROOT = "/sys/fs/cgroup/blkio"

    def __init__(self, path: str, pids: list[int], bps: int):
        self.pids, self.bps = pids, bps
        device = os.stat(path).st_dev
        sysfs = f"/sys/dev/block/{os.major(device)}:{os.minor(device)}"
        if os.path.exists(os.path.join(sysfs, "partition")):  # throttle rules name the whole disk
            sysfs = os.path.join(sysfs, "..")
        self.device = open(os.path.join(sysfs, "dev")).read().strip()
        self.group = os.path.join(self.ROOT, unique("vireo-test-slowdisk"))

    def __enter__(self):
        prerequisite(os.path.exists(os.path.join(self.ROOT, "blkio.throttle.write_bps_device")),
                     "the cgroup v1 blkio controller (throttling a shared disk for the noisy-neighbour test)")
        os.mkdir(self.group)
        try:
            with open(os.path.join(self.group, "blkio.throttle.write_bps_device"), "w") as f:
                f.write(f"{self.device} {self.bps}")
            for pid in self.pids:
                with open(os.path.join(self.group, "cgroup.procs"), "w") as f:
                    f.write(str(pid))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for pid in self.pids:
            try:
                with open(os.path.join(self.ROOT, "cgroup.procs"), "w") as f:
                    f.write(str(pid))
            except OSError:
                pass
        try:
            os.rmdir(self.group)
        except OSError:
            pass


def test_noisy_neighbour(env):
    """One guest rewrites its disk flat out next to another on the same slow disk (a 1 MB/s
    throttle the two QEMUs share): the node report says storage / physical-disk, with the I/O
    pressure and the VMs ranked by I/O, the noisy one first."""
    pids = [env.node.pidfile_pid(MAIN), env.node.pidfile_pid(NEIGHBOUR)]
    local = os.path.join(env.node.data_dir, "local")
    with SharedSlowDisk(local, pids, bps=1 << 20):
        assert env.guest(NEIGHBOUR, "noise start", "VIREO-NOISE") == "VIREO-NOISE started"
        try:
            def flagged():
                report = diagnose_node(env)
                physical = check(report, "physical-disk.io")
                return report if physical["status"] != "ok" and physical["evidence"]["vms_by_io"] else None

            report = wait_until(flagged, 60, interval=5) or diagnose_node(env)
            physical = check(report, "physical-disk.io")
            evidence = physical["evidence"]
            assert {"psi_io_some_avg10", "psi_io_full_avg10"} <= set(evidence), evidence
            top = evidence["vms_by_io"][0]
            assert top["vmid"] == NEIGHBOUR and top["bytes_per_second"] > 0, evidence
            expect_verdict(report, "storage", "physical-disk", statuses=("warn", "fail"), check_id="physical-disk.io")
            assert f"{NEIGHBOUR}" in physical["summary"], physical
        finally:
            env.guest(NEIGHBOUR, "noise stop", "VIREO-NOISE")
    # Healthy again once the sampler has seen a cycle of the guests' normal I/O.
    assert wait_until(lambda: check(diagnose_node(env), "physical-disk.io")["status"] == "ok", 60, interval=5), \
        "the disk check did not return to ok after the noise stopped"


# ---------------------------------------------------------------------------------------------
# 9.-12. Network


def test_tap_off_its_bridge(env):
    """The guest's tap taken off its bridge: network / vnic, the tap's master not the configured
    bridge."""
    tap = f"tap{MAIN}i0"
    sh("ip", "-n", env.ns.node, "link", "set", tap, "nomaster")
    try:
        assert env.ns.link(tap).get("master") is None, env.ns.link(tap)
        assert not lan_reaches_guest(env.ns.lan, attempts=1), "the guest answers with its tap off the bridge"

        report = diagnose_vm(env, MAIN)
        expect_verdict(report, "network", "vnic", check_id="network.net0.tap")
        evidence = check(report, "network.net0.tap")["evidence"]
        assert evidence["tap"] == tap and evidence["bridge"] == BRIDGE and evidence["master"] != BRIDGE, evidence
    finally:
        sh("ip", "-n", env.ns.node, "link", "set", tap, "master", BRIDGE)
    assert lan_reaches_guest(env.ns.lan), "the tap is back on the bridge, yet the LAN does not reach the guest"


def test_wrong_bridge_without_uplink(env):
    """A running guest whose NIC is on a bridge without any uplink: network / bridge, no uplinks."""
    vmid, bridge = 103, "vmbr1"
    root = env.root
    try:
        root.ok("POST", f"/nodes/{NODE}/network", {"iface": bridge, "type": "bridge", "autostart": 1})
        apply_network(root)
        assert env.ns.link(bridge) is not None
        with vm(env, vmid, net0=f"virtio,bridge={bridge}"):
            assert power(root, vmid, "start")["exitstatus"] == "OK"
            assert env.ns.link(f"tap{vmid}i0").get("master") == bridge

            report = diagnose_vm(env, vmid)
            expect_verdict(report, "network", "bridge", statuses=("warn", "fail"), check_id="network.net0.bridge")
            evidence = check(report, "network.net0.bridge")["evidence"]
            assert evidence["bridge"] == bridge and evidence["uplinks"] == [], evidence
            assert f"tap{vmid}i0" in evidence["ports"], evidence
            assert check(report, "network.net0.tap")["status"] == "ok"
    finally:
        if root.get(f"/nodes/{NODE}/network/{bridge}")[0] == 200:
            root.delete(f"/nodes/{NODE}/network/{bridge}")
            apply_network(root)
        sh("ip", "-n", env.ns.node, "link", "del", bridge, check=False)


def test_uplink_without_carrier(env):
    """The far end of the bridge's uplink goes down, so the uplink has no carrier: network /
    physical-nic, the uplink's carrier false."""
    sh("ip", "-n", env.ns.lan, "link", "set", "lan0", "down")
    try:
        link = env.ns.link(UPLINK)
        assert "NO-CARRIER" in link["flags"] and link["operstate"] != "UP", link

        report = diagnose_vm(env, MAIN)
        expect_verdict(report, "network", "physical-nic", check_id="network.net0.uplink")
        uplinks = check(report, "network.net0.uplink")["evidence"]["uplinks"]
        assert [(u["name"], u["carrier"]) for u in uplinks] == [(UPLINK, False)], uplinks
        assert check(report, "network.net0.tap")["status"] == "ok"
    finally:
        sh("ip", "-n", env.ns.lan, "link", "set", "lan0", "up")
    assert wait_until(lambda: env.ns.link(UPLINK)["operstate"] == "UP", 10), env.ns.link(UPLINK)
    assert lan_reaches_guest(env.ns.lan), "carrier is back, yet the LAN does not reach the guest"


def test_firewall_drop_rule(env):
    """A guest firewall rule drops the port a client keeps trying: network / firewall, the rule by
    its id with its action and a counter that moved while the engine watched."""
    root = env.root
    assert guest_banner(env.ns.lan).startswith("VIREO-GUEST"), "port 7777 unreachable before the rule"
    knocker = None
    try:
        root.ok("PUT", f"{CLUSTER_FW}/options", {"enable": 1})
        root.ok("PUT", f"{MAIN_FW}/options", {"enable": 1})
        root.ok("POST", f"{MAIN_FW}/rules", {"type": "in", "action": "DROP", "proto": "tcp", "dport": "7777",
                                             "enable": 1})
        comment = f"guest/{MAIN}/rules/0"
        knocker = Knocker(env.ns.lan, 7777)
        assert wait_until(lambda: env.ns.nft_packets(comment) > 0, 10), "the DROP rule counts nothing"
        before = (knocker.attempts, knocker.connected, env.ns.nft_packets(comment))
        assert not guest_banner(env.ns.lan, timeout=1), "port 7777 still answers behind the DROP rule"

        report = diagnose_vm(env, MAIN)
        after = (knocker.attempts, knocker.connected, env.ns.nft_packets(comment))
        assert after[0] > before[0] and after[1] == before[1] and after[2] > before[2], (before, after)
        expect_verdict(report, "network", "firewall", statuses=("warn", "fail"), check_id="network.net0.firewall")
        rules = check(report, "network.net0.firewall")["evidence"]["rules"]
        assert rules and rules[0]["rule"] == comment and rules[0]["action"] == "DROP", rules
        assert rules[0]["packets_after"] > rules[0]["packets_before"], rules
    finally:
        if knocker:
            knocker.stop()
        for _ in root.ok("GET", f"{MAIN_FW}/rules") or []:
            root.ok("DELETE", f"{MAIN_FW}/rules/0")
        root.ok("PUT", f"{MAIN_FW}/options", {"delete": "enable"})
        root.ok("PUT", f"{CLUSTER_FW}/options", {"enable": 0})
    assert lan_reaches_guest(env.ns.lan), "firewall off again, yet port 7777 does not answer"


# ---------------------------------------------------------------------------------------------
# 13. Authentication


@pytest.fixture
def auth_user(env):
    """A user that can log in (no role needed); deleted afterwards."""
    userid, password = f"{unique('dgauth')}@pve", f"Pw-{uuid.uuid4().hex[:12]}"
    env.root.ok("POST", "/access/users", {"userid": userid, "password": password})
    yield userid, password
    if not env.daemon_running_plain():
        env.restart()
    env.root.delete(f"/access/users/{userid}")


def ticket_of(env: Env, userid: str, password: str) -> str:
    reply = env.login(userid, password)
    assert reply.status_code == 200, f"login of {userid}: {reply.status_code} {reply.text[:300]}"
    return reply.json()["data"]["ticket"]


def version_with(env: Env, ticket: str) -> int:
    session = new_session()
    session.cookies.set("PVEAuthCookie", ticket)
    return session.get(env.url("/version"), timeout=30).status_code


def auth_failure(report: dict, reason: str, userid: str) -> dict:
    failures = check(report, "control.auth")["evidence"]["failures"]
    found = [f for f in failures if f.get("reason") == reason and f.get("user") == userid]
    assert found and found[0]["count"] >= 1, failures
    return found[0]


def test_auth_expired_ticket(env, auth_user):
    """A ticket issued by a node whose clock ran 7300 s behind is refused as expired: control /
    auth, failure reason expired-ticket for that user."""
    env.restart(["--clock-offset=-7300"])  # `=`: a separate "-7300" would parse as an option
    ticket = ticket_of(env, *auth_user)
    env.restart()
    assert version_with(env, ticket) == 401
    assert version_with(env, ticket_of(env, *auth_user)) == 200, "a fresh ticket of the same user is refused too"

    report = diagnose_node(env)
    expect_verdict(report, "control", "auth", statuses=("warn", "fail"), check_id="control.auth")
    auth_failure(report, "expired-ticket", auth_user[0])


def test_auth_ticket_from_the_future(env, auth_user):
    """A ticket issued by a node whose clock ran an hour ahead is refused by a node with the right
    time: control / auth, reason future-ticket, and the summary points at the clock. (A normal
    ticket checked by a node an hour ahead would still be valid: tickets live 2 h.)"""
    env.restart(["--clock-offset=3600"])
    ticket = ticket_of(env, *auth_user)
    env.restart()
    assert version_with(env, ticket) == 401
    assert version_with(env, ticket_of(env, *auth_user)) == 200, "a fresh ticket of the same user is refused too"

    report = diagnose_node(env)
    verdict = expect_verdict(report, "control", "auth", statuses=("warn", "fail"), check_id="control.auth")
    auth_failure(report, "future-ticket", auth_user[0])
    assert "clock" in verdict["summary"].lower(), verdict


def test_auth_disabled_user(env, auth_user):
    """A disabled user trying to log in: control / auth, reason disabled-user."""
    userid, password = auth_user
    env.root.ok("PUT", f"/access/users/{userid}", {"enable": 0})
    reply = env.login(userid, password)
    assert reply.status_code == 401, (reply.status_code, reply.text[:300])

    report = diagnose_node(env)
    expect_verdict(report, "control", "auth", statuses=("warn", "fail"), check_id="control.auth")
    auth_failure(report, "disabled-user", userid)


# ---------------------------------------------------------------------------------------------
# 14. The daemon killed (last: the CLI falls back to the offline report)


def test_daemon_killed_cli_reports_control_plane_with_data_plane_unharmed(env):
    """vireod killed with SIGKILL: `vireo diagnose vm` reports offline, control / api (exit 2),
    and shows the guest's QEMU, its QMP and its tap as fine."""
    qemu = env.node.pidfile_pid(MAIN)
    env.node.kill9()
    try:
        assert alive(qemu), "QEMU died with vireod"
        result = run_cli(env, "diagnose", "vm", str(MAIN), "--output-format", "json")
        report = cli_json(result)
        assert result.returncode == 2, (result.returncode, explain(report), result.stderr[-800:])
        assert report["offline"] == 1 and report["subject"] == f"vm {MAIN}", explain(report)
        expect_verdict(report, "control", "api", check_id="control.daemon")
        daemon = check(report, "control.daemon")["evidence"]
        assert daemon["socket"] == os.path.join(env.node.data_dir, "run", "vireod.sock"), daemon
        for check_id in ("vm.process", "vm.qmp", "network.net0.tap"):
            assert check(report, check_id)["status"] == "ok", explain(report)
        assert check(report, "vm.process")["evidence"]["pid"] == qemu

        result = run_cli(env, "diagnose", "vm", str(MAIN))
        assert result.returncode == 2, (result.returncode, result.stdout[-800:], result.stderr[-800:])
        assert result.stdout.startswith("control / api (fail): "), result.stdout[:500]
    finally:
        env.node.start()
    assert env.status(MAIN)["status"] == "running" and env.node.pidfile_pid(MAIN) == qemu
