"""A three-node cluster on this machine, driven as an operator would: `pvecm` on the nodes,
proxmoxer and Proxmox's exporter against their APIs.

Each node is a real `vireod` with its own data dir, loopback address (127.A.B.1-3, port 8006 as on
Proxmox), guest network namespace and etcd member (started by the daemon, ended by the test).
root@pam gets a password of the test's own through a PAM service the test installs and removes
(`vireod --pam-service`), since `pvecm add` logs in as root@pam as Proxmox's does.

The tests build on each other in file order (create, join, use, lose quorum, kill, delnode): they
share one cluster, made once for the module.
"""

import contextlib
import os
import random
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from conftest import VIREO, VIREOD, REPO, new_session, prerequisite, unique

try:
    from proxmoxer import ProxmoxAPI
except ImportError:  # pragma: no cover - reported by the test
    ProxmoxAPI = None

try:
    from pve_exporter.collector import CollectorsOptions, collect_pve
except ImportError:  # pragma: no cover
    collect_pve = None

try:
    import websocket
except ImportError:  # pragma: no cover
    websocket = None

ROOT_PASSWORD = "cluster-root-" + unique("pw")
PORT = 8006


@dataclass
class Node:
    name: str
    address: str
    netns: str
    data_dir: str
    log_path: str
    proc: subprocess.Popen | None = None
    extra: list = field(default_factory=list)

    def api(self, path: str) -> str:
        return f"https://{self.address}:{PORT}/api2/json{path}"

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("VIREO_RUN_DIR",)}
        env["VIREO_DATA_DIR"] = self.data_dir
        return subprocess.run([VIREO, *args], env=env, capture_output=True, text=True, timeout=timeout,
                              input=stdin if stdin is not None else "")

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self.cli(*args, stdin=stdin)
        assert result.returncode == 0, (f"{' '.join(args)} on {self.name} exited {result.returncode}\n"
                                        f"stdout: {result.stdout}\nstderr: {result.stderr}\n{self.log_tail()}")
        return result.stdout

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def etcd_pid(self) -> int | None:
        try:
            return int(Path(self.data_dir, "cluster", "etcd.pid").read_text().strip())
        except (OSError, ValueError):
            return None


def running(pid: int | None) -> bool:
    """Alive and not a zombie (PID 1 here reaps late: the state says it, /proc/PID alone does not)."""
    if not pid:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def start(node: Node) -> None:
    args = [VIREOD, "--data-dir", node.data_dir, "--listen", f"{node.address}:{PORT}", "--node", node.name,
            "--netns", node.netns, "--auth-failure-delay", "0", "--pam-service", PAM_SERVICE, *node.extra]
    env = {k: v for k, v in os.environ.items() if k not in ("VIREO_DATA_DIR", "VIREO_RUN_DIR")}
    env["VIREO_UI_DIR"] = str(REPO / "ui")
    with open(node.log_path, "ab") as log:
        node.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env)
    wait_answering(node)


def wait_answering(node: Node, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert node.proc.poll() is None, f"vireod of {node.name} exited:\n{node.log_tail()}"
        try:
            if (requests.get(node.api("/version"), verify=False, timeout=5).status_code == 401
                    and os.path.exists(os.path.join(node.data_dir, "run", "vireod.sock"))):
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(f"vireod of {node.name} did not answer within {timeout} s:\n{node.log_tail()}")


def stop(node: Node) -> None:
    if node.proc is not None and node.proc.poll() is None:
        try:
            os.killpg(node.proc.pid, signal.SIGTERM)
            node.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(node.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            node.proc.wait(timeout=10)
    # A member left behind by a killed daemon (it outlives the daemon on purpose).
    pid = node.etcd_pid()
    if running(pid) and "etcd" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGKILL)


PAM_SERVICE = unique("vireo-cluster-test")


@pytest.fixture(scope="module")
def cluster():
    prerequisite(os.access(VIREOD, os.X_OK), f"daemon binary {VIREOD}")
    prerequisite(shutil.which("etcd") is not None, "etcd (apt-get install etcd-server)")
    prerequisite(os.path.exists("/lib/x86_64-linux-gnu/security/pam_exec.so"), "pam_exec (libpam-modules)")
    base = tempfile.mkdtemp(prefix="vireo-cluster-test-")
    # root@pam's password for these daemons only: a PAM service of the test's own.
    checker = Path(base, "pam-check")
    checker.write_text(f'#!/bin/sh\nread -r password\n[ "$PAM_USER" = root ] && [ "$password" = "{ROOT_PASSWORD}" ]\n')
    checker.chmod(0o755)
    pam_file = Path("/etc/pam.d", PAM_SERVICE)
    pam_file.write_text(f"auth required pam_exec.so expose_authtok quiet {checker}\naccount required pam_permit.so\n")
    prefix = f"127.{random.randint(64, 250)}.{random.randint(1, 250)}"
    nodes = []
    try:
        for index in (1, 2, 3):
            name = f"cl{index}"
            netns = unique(f"vn-cl{index}")
            subprocess.run(["ip", "netns", "add", netns], check=True)
            subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
            node = Node(name=name, address=f"{prefix}.{index}", netns=netns,
                        data_dir=os.path.join(base, name), log_path=os.path.join(base, f"{name}.log"))
            nodes.append(node)
            start(node)
        yield nodes
    finally:
        for node in nodes:
            stop(node)
        for node in nodes:
            subprocess.run(["pkill", "-9", "-f", f"qemu-system.*{node.data_dir}"], check=False)
            subprocess.run(["ip", "netns", "del", node.netns], check=False)
        pam_file.unlink(missing_ok=True)
        shutil.rmtree(base, ignore_errors=True)


def session(node: Node, user: str, password: str) -> requests.Session:
    r = requests.post(node.api("/access/ticket"), data={"username": user, "password": password}, verify=False,
                      timeout=30)
    assert r.status_code == 200, f"login of {user} on {node.name}: {r.status_code} {r.text}"
    s = new_session()
    s.cookies.set("PVEAuthCookie", r.json()["data"]["ticket"])
    s.headers["CSRFPreventionToken"] = r.json()["data"]["CSRFPreventionToken"]
    return s


def proxmox(node: Node, user: str, password: str):
    prerequisite(ProxmoxAPI is not None, "python package 'proxmoxer'")
    return ProxmoxAPI(node.address, port=PORT, user=user, password=password, verify_ssl=False, timeout=30)


def fingerprint(of: Node, via: Node) -> str:
    import json
    info = json.loads(via.ok("api", "get", "/cluster/config/join", "--output-format", "json"))
    return next(entry["pve_fp"] for entry in info["nodelist"] if entry["name"] == of.name)


def wait_until(predicate, timeout: float, message: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"{message} (waited {timeout} s; last: {last!r})")


def cluster_status(node: Node) -> list:
    import json
    return json.loads(node.ok("api", "get", "/cluster/status", "--output-format", "json"))


# ---------------------------------------------------------------------------------------------


def test_a_standalone_node_reports_itself_as_proxmox_does(cluster):
    one = cluster[0]
    status = cluster_status(one)
    assert [entry["type"] for entry in status] == ["node"]
    assert status[0]["name"] == one.name and status[0]["local"] == 1 and status[0]["online"] == 1
    result = one.cli("pvecm", "status")
    assert result.returncode != 0 and "is this node part of a cluster" in result.stderr + result.stdout
    result = one.cli("api", "get", "/cluster/config/join")
    assert result.returncode != 0 and "not in a cluster" in result.stderr + result.stdout


def test_create_then_join_refusing_bad_input_with_nothing_changed(cluster):
    one, two, three = cluster
    out = one.ok("pvecm", "create", "vireotest", "--link0", one.address)
    assert "cluster 'vireotest' created" in out
    status = cluster_status(one)
    assert status[0] == {"type": "cluster", "id": "cluster", "name": "vireotest", "version": 1, "nodes": 1,
                         "quorate": 1}
    fp = fingerprint(one, via=one)

    # A wrong password, a wrong fingerprint: refused, the node stays standalone, the cluster as it was.
    result = two.cli("pvecm", "add", one.address, "--fingerprint", fp, "--link0", two.address, stdin="wrong-password\n")
    assert result.returncode != 0 and "authentication failed for root@pam" in result.stdout + result.stderr
    wrong_fp = ("00" if not fp.startswith("00") else "11") + fp[2:]
    result = two.cli("pvecm", "add", one.address, "--fingerprint", wrong_fp, "--link0", two.address,
                     stdin=ROOT_PASSWORD + "\n")
    assert result.returncode != 0 and "fingerprint mismatch" in result.stdout + result.stderr
    assert [entry["type"] for entry in cluster_status(two)] == ["node"]
    assert [n["name"] for n in cluster_status(one) if n["type"] == "node"] == [one.name]

    # A node with guests cannot join.
    two.ok("qm", "create", "150", "--memory", "64", "--kvm", "0")
    result = two.cli("pvecm", "add", one.address, "--fingerprint", fp, "--link0", two.address,
                     stdin=ROOT_PASSWORD + "\n")
    assert result.returncode != 0 and "already contains virtual guests" in result.stdout + result.stderr
    assert [entry["type"] for entry in cluster_status(two)] == ["node"]
    two.ok("qm", "destroy", "150")

    two.ok("pvecm", "add", one.address, "--fingerprint", fp, "--link0", two.address, stdin=ROOT_PASSWORD + "\n")
    # The third joins through the second: any member serves the join.
    three.ok("pvecm", "add", two.address, "--fingerprint", fingerprint(two, via=one), "--link0", three.address,
             stdin=ROOT_PASSWORD + "\n")

    for node in cluster:
        status = cluster_status(node)
        assert status[0]["name"] == "vireotest" and status[0]["nodes"] == 3 and status[0]["quorate"] == 1
        members = {entry["name"]: entry for entry in status if entry["type"] == "node"}
        assert set(members) == {"cl1", "cl2", "cl3"}
        assert {name: entry["nodeid"] for name, entry in members.items()} == {"cl1": 1, "cl2": 2, "cl3": 3}
        assert all(entry["online"] == 1 for entry in members.values())
        assert [name for name, entry in members.items() if entry["local"] == 1] == [node.name]
        assert {entry["ip"] for entry in members.values()} == {n.address for n in cluster}
    out = three.ok("pvecm", "status")
    assert "Quorate:          Yes" in out and "0x00000003          1 cl3 (local)" in out
    # The local node cannot be deleted.
    result = one.cli("pvecm", "delnode", "cl1")
    assert result.returncode != 0 and "cannot delete the local node" in result.stdout + result.stderr
    assert len([e for e in cluster_status(one) if e["type"] == "node"]) == 3


def test_one_identity_tickets_and_users_work_on_every_node(cluster):
    one, two, three = cluster
    user, password = unique("ops") + "@pve", "ops-" + unique("pw")
    # Made on node 3, logs in on node 1 at once.
    three.ok("pveum", "user", "add", user, "--password", password)
    three.ok("pveum", "acl", "modify", "/", "--users", user, "--roles", "PVEAuditor")
    s = session(one, user, password)
    # That ticket, from node 1, on node 3.
    r = s.get(three.api("/cluster/status"), timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["name"] == "vireotest"
    # The API certificates are signed by the cluster CA.
    ca = Path(one.data_dir, "cluster", "ca.pem")
    assert requests.get(three.api("/version"), verify=str(ca), timeout=10).status_code == 401


def test_a_vm_created_on_node2_through_node1_runs_and_node3_sees_it(cluster):
    one, two, three = cluster
    root = proxmox(one, "root@pam", ROOT_PASSWORD)
    vmid = 4242
    upid = root.nodes("cl2").qemu.create(vmid=vmid, name="on-two", memory=64, kvm=0)
    assert upid.startswith("UPID:cl2:")
    wait_until(lambda: root.nodes("cl2").tasks(upid).status.get()["status"] == "stopped", 30, "create task")
    assert root.nodes("cl2").tasks(upid).status.get()["exitstatus"] == "OK"
    upid = root.nodes("cl2").qemu(vmid).status.start.post()
    wait_until(lambda: root.nodes("cl2").tasks(upid).status.get()["status"] == "stopped", 60, "start task")
    assert root.nodes("cl2").tasks(upid).status.get()["exitstatus"] == "OK"
    three_api = proxmox(three, "root@pam", ROOT_PASSWORD)

    def seen():
        entries = {e["id"]: e for e in three_api.cluster.resources.get(type="vm")}
        entry = entries.get(f"qemu/{vmid}")
        return entry if entry and entry["status"] == "running" else None

    entry = wait_until(seen, 10, "node 3 never listed the VM as running")
    assert entry["node"] == "cl2" and entry["name"] == "on-two"
    # Every node and its storage, from any node; tasks of all nodes.
    resources = three_api.cluster.resources.get()
    assert {e["node"] for e in resources if e["type"] == "node"} == {"cl1", "cl2", "cl3"}
    assert {e["id"] for e in resources if e["type"] == "storage"} >= {f"storage/cl{i}/local" for i in (1, 2, 3)}
    tasks = three_api.cluster.tasks.get()
    assert any(t["upid"] == upid for t in tasks)
    assert {n["node"]: n["status"] for n in three_api.nodes.get()} == {"cl1": "online", "cl2": "online",
                                                                       "cl3": "online"}
    # qm on node 3 acts on node 2's guest.
    assert "status: running" in three.ok("qm", "status", str(vmid))
    # Proxmox's exporter reads the cluster from node 1.
    prerequisite(collect_pve is not None, "python package 'prometheus-pve-exporter'")
    saved = {v: os.environ.pop(v) for v in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") if v in os.environ}
    try:
        options = CollectorsOptions(status=True, version=True, subscription=False, node=True, cluster=True,
                                    resources=True, backup_info=False, config=False, replication=False, qdevice=False)
        text = collect_pve({"user": "root@pam", "password": ROOT_PASSWORD, "verify_ssl": False, "port": PORT},
                           one.address, True, True, options).decode()
    finally:
        os.environ.update(saved)
    assert 'pve_cluster_info{id="cluster/vireotest",nodes="3",quorate="1"' in text, text[:2000]
    assert 'pve_up{id="qemu/4242"} 1.0' in text, text[:2000]


def test_the_console_of_a_guest_on_node2_opens_through_node1(cluster):
    """noVNC's two calls, both made to node 1: the grant comes from node 2, and the WebSocket is
    relayed by node 1 to node 2's, up to QEMU's VNC server."""
    prerequisite(websocket is not None, "python package 'websocket-client'")
    one = cluster[0]
    vmid = 4242
    s = session(one, "root@pam", ROOT_PASSWORD)
    r = s.post(one.api(f"/nodes/cl2/qemu/{vmid}/vncproxy"), data={"websocket": 1}, timeout=30)
    assert r.status_code == 200, r.text
    grant = r.json()["data"]
    query = urllib.parse.urlencode({"port": grant["port"], "vncticket": grant["ticket"]})
    url = f"wss://{one.address}:{PORT}/api2/json/nodes/cl2/qemu/{vmid}/vncwebsocket?{query}"
    options = {"sslopt": {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}, "subprotocols": ["binary"],
               "timeout": 20, "http_no_proxy": [one.address]}
    ws = websocket.create_connection(url, cookie=f"PVEAuthCookie={s.cookies['PVEAuthCookie']}", **options)
    try:
        opcode, data = ws.recv_data()
        assert data.startswith(b"RFB 003.00"), data  # QEMU's VNC server greets through both nodes
    finally:
        ws.close()
    # Node 2 refuses a ticket it did not grant; node 1 answers with its refusal.
    forged = url.split("?")[0] + "?" + urllib.parse.urlencode({"port": grant["port"], "vncticket": "PVEVNC:forged"})
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(forged, cookie=f"PVEAuthCookie={s.cookies['PVEAuthCookie']}", **options)
    assert refused.value.status_code == 403, refused.value


@contextlib.contextmanager
def members_frozen(*nodes: Node):
    """The etcd members of `nodes` answer nothing (SIGSTOP) inside the block, and again after it,
    also when the block fails."""
    members = [node.etcd_pid() for node in nodes]
    assert all(running(p) for p in members)
    for p in members:
        os.kill(p, signal.SIGSTOP)
    try:
        yield
    finally:
        for p in members:
            os.kill(p, signal.SIGCONT)


def vm_pid(node: Node, vmid: int) -> int:
    return int(Path(node.data_dir, "run", "qemu", f"{vmid}.pid").read_text().strip())


def test_without_quorum_writes_fail_fast_reads_answer_guests_run(cluster):
    one, two, three = cluster
    pid = vm_pid(two, 4242)
    with members_frozen(two, three):  # two of three members answer nothing: no quorum
        # Logging in is a read: it works without quorum.
        s = session(one, "root@pam", ROOT_PASSWORD)
        started = time.monotonic()
        r = s.post(one.api("/access/users"), data={"userid": unique("late") + "@pve"}, timeout=30)
        elapsed = time.monotonic() - started
        assert r.status_code >= 500 and "cluster not ready - no quorum?" in r.text, (r.status_code, r.text)
        print(f"write refused without quorum after {elapsed:.2f} s")
        assert elapsed < 2.0, f"the write took {elapsed:.2f} s to fail"
        r = s.post(one.api("/pools"), data={"poolid": unique("p")}, timeout=30)
        assert r.status_code >= 500 and "no quorum" in r.text
        r = s.get(one.api("/access/users"), timeout=30)
        assert r.status_code == 200 and "stale" in r.headers.get("X-Vireo-Stale", "")
        status = s.get(one.api("/cluster/status"), timeout=30).json()["data"]
        assert status[0]["quorate"] == 0
        assert running(pid), "the guest stopped when quorum was lost"
        # Node-local reads on the guest's node keep working.
        assert "status: running" in two.ok("qm", "status", "4242")
    s = session(one, "root@pam", ROOT_PASSWORD)
    wait_until(lambda: s.post(one.api("/pools"), data={"poolid": unique("back")}, timeout=30).status_code == 200,
               20, "writes did not work again after quorum returned")
    assert running(pid)


def test_a_node_restarted_without_quorum_starts_read_only_from_its_copy(cluster):
    """etcd serves no client until it reaches a majority: a node restarted while two of three
    members are down starts from its own copy of the tree (as pmxcfs from config.db), answers
    reads, refuses writes, and takes writes again once the majority is back, with no restart."""
    one, two, three = cluster
    stop(one)  # its member stops with it
    with members_frozen(two, three):
        start(one)
        s = session(one, "root@pam", ROOT_PASSWORD)
        users = s.get(one.api("/access/users"), timeout=30)
        assert users.status_code == 200 and "stale" in users.headers.get("X-Vireo-Stale", ""), users.text
        assert any(u["userid"] == "root@pam" for u in users.json()["data"])
        entries = s.get(one.api("/cluster/resources"), params={"type": "vm"}, timeout=30).json()["data"]
        assert any(e["vmid"] == 4242 for e in entries), entries
        r = s.post(one.api("/pools"), data={"poolid": unique("ro")}, timeout=30)
        assert r.status_code >= 500 and "no quorum" in r.text, (r.status_code, r.text)
    s = session(one, "root@pam", ROOT_PASSWORD)
    wait_until(lambda: s.post(one.api("/pools"), data={"poolid": unique("rw")}, timeout=30).status_code == 200,
               60, "writes did not work again after the majority returned")


def test_a_killed_daemon_goes_offline_and_its_guests_keep_running(cluster):
    one, two, three = cluster
    pid = vm_pid(two, 4242)
    os.killpg(two.proc.pid, signal.SIGKILL)
    two.proc.wait(timeout=10)
    killed = time.monotonic()

    def offline():
        entries = {e["name"]: e for e in cluster_status(one) if e["type"] == "node"}
        return entries["cl2"]["online"] == 0

    wait_until(offline, 10, "node 2 still online 10 s after its daemon was killed", interval=0.25)
    print(f"node 2 offline after {time.monotonic() - killed:.1f} s")
    assert running(pid), "the guest died with its node's daemon"
    # A call for it answers 595 as Proxmox's proxy does.
    s = session(one, "root@pam", ROOT_PASSWORD)
    r = s.get(one.api("/nodes/cl2/status"), timeout=30)
    assert r.status_code == 595, (r.status_code, r.text)
    start(two)  # adopts its running etcd member and guest
    wait_until(lambda: not offline(), 15, "node 2 did not come back online")
    assert "status: running" in three.ok("qm", "status", "4242")
    three.ok("qm", "stop", "4242")


def test_delnode_removes_a_member(cluster):
    one, two, three = cluster
    stop(three)
    # A cluster node stops cleanly on SIGTERM (its etcd member with it).
    assert three.proc.returncode == 0, f"vireod of cl3 exited {three.proc.returncode}:\n{three.log_tail()}"
    member = subprocess.run(["pgrep", "-f", f"--data-dir {three.data_dir}/cluster/etcd"], capture_output=True)
    assert member.returncode != 0, f"cl3's etcd member still runs: {member.stdout!r}"
    one.ok("pvecm", "delnode", "cl3")
    status = cluster_status(one)
    assert status[0]["nodes"] == 2 and status[0]["quorate"] == 1
    assert {e["name"] for e in status if e["type"] == "node"} == {"cl1", "cl2"}
    result = one.cli("pvecm", "delnode", "cl3")
    assert result.returncode != 0 and "not a member" in result.stdout + result.stderr
    # The remaining two still write.
    s = session(two, "root@pam", ROOT_PASSWORD)
    assert s.post(two.api("/pools"), data={"poolid": unique("after")}, timeout=30).status_code == 200
