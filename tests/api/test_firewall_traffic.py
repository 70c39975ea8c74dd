"""The firewall proven with real traffic: clients in a "LAN" namespace, the node's own addresses and
a real test guest (QEMU, TCG) behind the node's bridges, filtered by the nft ruleset vireod compiles
from Proxmox's `.fw` model.

Topology (all in throwaway namespaces; nothing in the root namespace is touched):

    LAN namespace                          NODE namespace (vireod --netns NODE)
    lan0 10.66.0.1/24, 10.66.0.3/24  <-veth->  eth0 -- vmbr0 -- tap300i0 (guest net0 = eth0, 10.66.0.10/24)
    lan1 10.67.0.1/24                <-veth->  eth1 -- vmbr1 -- tap300i1 (guest net1, no address)

10.66.0.1 is the trusted client (the `management` ipset, the `fwtclients` ipset); 10.66.0.3 is
"elsewhere". The test guest configures only its eth0 (`vireo.ip`), so net1 never answers: traffic
through net1 is shown by the kernel's counters of the rules (`packets` in the rule listing), while
net0 also shows delivery. The LAN reaches net1 by a static neighbour entry for net1's MAC; vmbr1
has no other guest port, so those frames meet net1's filter only.

Every socket of the LAN and NODE sides is made inside its namespace by a short-lived thread that
joins it (setns), and then used from the test; listeners are threads of this process, closed at
teardown, so no process is left behind.

The guest boots once for the module; the tests run in file order and each one leaves the firewall
as it found it (all off, no rules, sets, groups, aliases or options), also when it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest

from conftest import VIREOD, prerequisite
from net_fixtures import guest_ip, in_netns, sh
from test_vm import NODE, Node, create_vm, power, wait_task
from vm_fixtures import ISO_NAME, SerialConsole, guest_iso  # noqa: F401

VMID = 300
MAC0 = "BC:24:11:00:00:C8"
MAC1 = "BC:24:11:00:00:C9"
OTHER_MAC = "bc:24:11:00:00:d0"
GUEST = "10.66.0.10"
NET1_IP = "10.67.0.11"  # net1's address as far as the LAN is concerned (static neighbour, nobody answers)
TRUSTED = "10.66.0.1"
OTHER = "10.66.0.3"
NODE_IP = "10.66.0.2"
SPOOFED = "10.66.0.77"

VM_FW = f"/nodes/{NODE}/qemu/{VMID}/firewall"
HOST_FW = f"/nodes/{NODE}/firewall"
CLUSTER_FW = "/cluster/firewall"
VIREO_TABLES = {"table inet vireo-firewall", "table bridge vireo-firewall-guests"}

# A connection the firewall drops is given this long before it counts as timed out (SYN retried once).
DROP_WAIT = 3.0


# ---------------------------------------------------------------------------------------------
# Namespaces and sockets inside them


def ns_socket(ns: str, kind=socket.SOCK_STREAM) -> socket.socket:
    return in_netns(ns, lambda: socket.socket(socket.AF_INET, kind))


class Namespaces:
    def __init__(self):
        suffix = uuid.uuid4().hex[:6]
        self.node, self.lan = f"vn-fwnode-{suffix}", f"vn-fwlan-{suffix}"

    def create(self):
        for ns in (self.node, self.lan):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        n, lan = self.node, self.lan
        for index in (0, 1):
            bridge, port, peer = f"vmbr{index}", f"eth{index}", f"lan{index}"
            sh("ip", "-n", n, "link", "add", port, "type", "veth", "peer", "name", peer, "netns", lan)
            sh("ip", "-n", n, "link", "add", bridge, "type", "bridge")
            sh("ip", "-n", n, "link", "set", bridge, "up")
            sh("ip", "-n", n, "link", "set", port, "master", bridge)
            sh("ip", "-n", n, "link", "set", port, "up")
            sh("ip", "-n", lan, "link", "set", peer, "up")
        sh("ip", "-n", lan, "addr", "add", f"{TRUSTED}/24", "dev", "lan0")
        sh("ip", "-n", lan, "addr", "add", f"{OTHER}/24", "dev", "lan0")
        sh("ip", "-n", lan, "addr", "add", "10.67.0.1/24", "dev", "lan1")
        sh("ip", "-n", lan, "neigh", "replace", NET1_IP, "lladdr", MAC1.lower(), "dev", "lan1", "nud", "permanent")

    def delete(self):
        for ns in (self.node, self.lan):
            sh("ip", "netns", "del", ns, check=False)

    def nft(self, *args) -> str:
        return sh("ip", "netns", "exec", self.node, "nft", *args).stdout


@dataclass
class Probe:
    outcome: str  # ok | timeout | refused | error
    line: str = ""
    seconds: float = 0.0
    detail: str = ""


def tcp_probe(ns: str, dst: str, port: int, src: str | None = None, timeout: float = DROP_WAIT) -> Probe:
    """One TCP connection from namespace `ns` (from `src` if given); the first line the server sends."""
    sock = ns_socket(ns)
    start = time.monotonic()
    try:
        sock.settimeout(timeout)
        if src:
            sock.bind((src, 0))
        sock.connect((dst, port))
        connected = time.monotonic() - start
        sock.settimeout(5)
        data = b""
        try:
            while b"\n" not in data:
                chunk = sock.recv(256)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        return Probe("ok", data.decode(errors="replace").strip(), connected)
    except socket.timeout:
        return Probe("timeout", seconds=time.monotonic() - start)
    except ConnectionRefusedError:
        return Probe("refused", seconds=time.monotonic() - start)
    except OSError as error:
        return Probe("error", seconds=time.monotonic() - start, detail=repr(error))
    finally:
        sock.close()


def expect_reached(ns, dst, port, src=None, banner="VIREO-GUEST", what=""):
    probe = tcp_probe(ns, dst, port, src=src, timeout=8)
    assert probe.outcome == "ok" and probe.line.startswith(banner), \
        f"{what}: {src or 'LAN'} -> {dst}:{port} should connect and get '{banner}…', got {probe}"


def expect_dropped(ns, dst, port, src=None, what=""):
    probe = tcp_probe(ns, dst, port, src=src)
    assert probe.outcome == "timeout", f"{what}: {src or 'LAN'} -> {dst}:{port} should time out (DROP), got {probe}"
    # A timeout proves a DROP only if the SYN went out at all: the client knows the target's MAC.
    neighbour = sh("ip", "-n", ns, "neigh", "show", dst).stdout
    expected = {GUEST: MAC0.lower(), NET1_IP: MAC1.lower()}.get(dst, "")
    assert "lladdr " + expected in neighbour, f"{what}: the client has no (right) MAC for {dst}: {neighbour!r}"


def udp_send(ns: str, dst: str, port: int, count: int):
    """`count` datagrams from one fresh socket (a source port no earlier flow used)."""
    sock = ns_socket(ns, socket.SOCK_DGRAM)
    try:
        for n in range(count):
            sock.sendto(f"vireo-fw-test {n}\n".encode(), (dst, port))
            time.sleep(0.05)
    finally:
        sock.close()


class Listener:
    """A TCP server in a namespace, run by a thread of this process: each connection gets one line
    (`banner`) and is closed; the peers' addresses are recorded."""

    def __init__(self, ns: str, port: int, banner: str):
        self.banner = banner
        self.peers: list[str] = []
        self.sock = ns_socket(ns)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.peers.append(peer[0])
            try:
                conn.sendall(self.banner.encode() + b"\n")
            except OSError:
                pass
            finally:
                conn.close()

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# The module's node and guest


@dataclass
class Env:
    ns: Namespaces
    node: Node
    console: SerialConsole

    @property
    def root(self):
        return self.node.root

    def guest(self, command: str, prefix: str, timeout: float = 20) -> str:
        """A console command of the test guest; its one reply line (complete)."""
        return self.console.command(command, prefix, timeout=timeout)

    def guest_connect(self, target: str, port: int, src: str | None = None, attempts: int = 1) -> str:
        command = f"connect-from {src} {target} {port}" if src else f"connect {target} {port}"
        line = ""
        for _ in range(attempts):
            line = self.guest(command, "VIREO-CONNECT")
            if line.startswith("VIREO-CONNECT ok"):
                break
        return line


@pytest.fixture(scope="module")
def fwenv(guest_iso):  # noqa: F811
    prerequisite(os.access(VIREOD, os.X_OK), f"daemon binary {VIREOD}")
    prerequisite(os.geteuid() == 0, "root (network namespaces, nft)")
    for tool in ("ip", "nft", "ping"):
        prerequisite(shutil.which(tool) is not None, f"{tool} (scripts/install-deps.sh installs it)")
    namespaces = Namespaces()
    node = None
    console = None
    try:
        namespaces.create()
        node = Node(extra_args=["--netns", namespaces.node])
        node.start()
        iso_dir = os.path.join(node.data_dir, "local", "template", "iso")
        os.makedirs(iso_dir, exist_ok=True)
        shutil.copy(guest_iso, os.path.join(iso_dir, ISO_NAME))
        create_vm(node.root, VMID,
                  net0=f"virtio={MAC0},bridge=vmbr0,firewall=1",
                  net1=f"virtio={MAC1},bridge=vmbr1,firewall=1",
                  smbios1=guest_ip(f"{GUEST}/24"))
        assert power(node.root, VMID, "start")["exitstatus"] == "OK"
        console = node.serial(VMID)
        console.wait_for("VIREO-GUEST-READY", timeout=120)
        env = Env(namespaces, node, console)
        # Without any firewall the LAN reaches the guest.
        pinged = any(sh("ip", "netns", "exec", namespaces.lan, "ping", "-c", "1", "-W", "1", GUEST,
                        check=False).returncode == 0 for _ in range(10))
        assert pinged, "the LAN cannot ping the guest (no firewall yet)"
        assert namespaces.nft("list", "tables").strip() == "", "a table in the fresh node namespace"
        yield env
    finally:
        if console:
            console.close()
        if node:
            node.cleanup()
        namespaces.delete()


def vm_exists(root) -> bool:
    return root.get(f"/nodes/{NODE}/qemu/{VMID}/config")[0] == 200


def reset_firewall(root):
    """Everything off and empty again, through the API (the order respects group references).
    Goes on past a failing step and names every failure at the end."""
    errors = []

    def step(method, path, params=None):
        status, reason, body = root.request(method, path, params)
        if status != 200:
            errors.append(f"{method} {path} {params}: {status} {reason}")
            return None
        return (body or {}).get("data")

    step("PUT", f"{CLUSTER_FW}/options", {"enable": 0})
    levels = ([VM_FW] if vm_exists(root) else []) + [HOST_FW, CLUSTER_FW]
    for base in levels:
        for _ in range(len(step("GET", f"{base}/rules") or [])):
            step("DELETE", f"{base}/rules/0")
    for group in step("GET", f"{CLUSTER_FW}/groups") or []:
        name = group["group"]
        for _ in range(len(step("GET", f"{CLUSTER_FW}/groups/{name}") or [])):
            step("DELETE", f"{CLUSTER_FW}/groups/{name}/0")
        step("DELETE", f"{CLUSTER_FW}/groups/{name}")
    for base in levels:
        if base == HOST_FW:
            continue
        for ipset in step("GET", f"{base}/ipset") or []:
            step("DELETE", f"{base}/ipset/{ipset['name']}", {"force": 1})
        for alias in step("GET", f"{base}/aliases") or []:
            step("DELETE", f"{base}/aliases/{alias['name']}")
    for base in levels:
        keys = [key for key in step("GET", f"{base}/options") or {} if key != "digest"]
        if keys:
            step("PUT", f"{base}/options", {"delete": ",".join(keys)})
    assert not errors, "resetting the firewall failed:\n  " + "\n  ".join(errors)


@pytest.fixture(autouse=True)
def clean_firewall(fwenv):
    yield
    # Shown with a failing test's report ("Captured stdout teardown"): what vireod said.
    try:
        with open(os.path.join(fwenv.node.base, "vireod.log"), errors="replace") as log:
            print("--- vireod log (last 25 lines) ---\n" + "".join(log.readlines()[-25:]))
    except OSError:
        pass
    if fwenv.node.proc is None or fwenv.node.proc.poll() is not None:
        fwenv.node.start()  # a test that killed vireod failed before restarting it
    reset_firewall(fwenv.root)
    sh("ip", "-n", fwenv.ns.lan, "neigh", "flush", "dev", "lan0", check=False)


# ---------------------------------------------------------------------------------------------
# API and kernel helpers


def rules_path(base: str) -> str:
    """A level's rule collection; a security group's rules are the group itself."""
    return base if "/groups/" in base else f"{base}/rules"


def add_rule(root, base: str, **fields):
    """POST a rule (inserted at the top), enabled unless said otherwise."""
    fields.setdefault("enable", 1)
    root.ok("POST", rules_path(base), fields)


def find_rule(root, base: str, **match) -> dict:
    rules = root.ok("GET", rules_path(base))
    hits = [r for r in rules if all(str(r.get(k)) == str(v) for k, v in match.items())]
    assert len(hits) == 1, f"rule {match} not found once in {rules}"
    return hits[0]


def wait_packets(root, base: str, expected: int, **match) -> int:
    """The rule's `packets` once it reached `expected` (and stayed there for half a second)."""
    deadline = time.monotonic() + 5
    packets = find_rule(root, base, **match)["packets"]
    while packets < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        packets = find_rule(root, base, **match)["packets"]
    time.sleep(0.5)
    return find_rule(root, base, **match)["packets"]


def enable_guest_firewall(root, **vm_options):
    root.ok("PUT", f"{CLUSTER_FW}/options", {"enable": 1})
    root.ok("PUT", f"{VM_FW}/options", {"enable": 1, "policy_in": "DROP", **vm_options})


def tables(ns: Namespaces) -> set[str]:
    return {line.strip() for line in ns.nft("list", "tables").splitlines() if line.strip()}


def ruleset_with_handles(ns: Namespaces) -> str:
    """`nft -a list ruleset` without the counters' values (traffic may move them): any rewrite of
    a table, chain, set or rule shows as a new handle."""
    return re.sub(r"counter packets \d+ bytes \d+", "counter", ns.nft("-a", "list", "ruleset"))


def chain_handles(ns: Namespaces, family: str, table: str, chain: str) -> list[int]:
    listing = json.loads(ns.nft("-j", "list", "ruleset"))["nftables"]
    return [item["rule"]["handle"] for item in listing
            if "rule" in item and item["rule"]["family"] == family and item["rule"]["table"] == table
            and item["rule"]["chain"] == chain]


def kernel_packets(ns: Namespaces, comment: str) -> int:
    """The packets counted by the nft rules carrying `comment` (read from the kernel, no daemon)."""
    listing = json.loads(ns.nft("-j", "list", "ruleset"))["nftables"]
    total = 0
    for item in listing:
        rule = item.get("rule")
        if not rule or rule.get("comment") != comment:
            continue
        for expression in rule.get("expr", []):
            if isinstance(expression, dict) and "counter" in expression:
                total += expression["counter"].get("packets", 0)
    return total


# ---------------------------------------------------------------------------------------------
# (1) The host firewall


def test_host_firewall_lets_management_reach_8006_and_applies_the_input_policy(fwenv, cleanup):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    sh("ip", "-n", ns.node, "addr", "add", f"{NODE_IP}/24", "dev", "vmbr0")
    cleanup.add(sh, "ip", "-n", ns.node, "addr", "del", f"{NODE_IP}/24", "dev", "vmbr0", check=False)
    for port in (8006, 8007):
        listener = Listener(ns.node, port, f"NODE-{port}")
        cleanup.add(listener.close)

    # No firewall: both clients reach both ports.
    for src in (TRUSTED, OTHER):
        for port in (8006, 8007):
            expect_reached(ns.lan, NODE_IP, port, src=src, banner=f"NODE-{port}", what="firewall off")

    # The LAN is not the node's local network; only 10.66.0.1 is in `management`.
    root.ok("POST", f"{CLUSTER_FW}/aliases", {"name": "local_network", "cidr": "192.0.2.0/24"})
    root.ok("POST", f"{CLUSTER_FW}/ipset", {"name": "management"})
    root.ok("POST", f"{CLUSTER_FW}/ipset/management", {"cidr": TRUSTED})
    assert tables(ns) == set(), "tables while the cluster firewall is off"
    root.ok("PUT", f"{CLUSTER_FW}/options", {"enable": 1, "policy_in": "DROP"})
    present = tables(ns)
    assert "table inet vireo-firewall" in present and present <= VIREO_TABLES, present

    expect_reached(ns.lan, NODE_IP, 8006, src=TRUSTED, banner="NODE-8006", what="management, policy DROP")
    expect_dropped(ns.lan, NODE_IP, 8006, src=OTHER, what="not management, policy DROP")
    expect_dropped(ns.lan, NODE_IP, 8007, src=TRUSTED, what="management, but 8007 is no management port")

    # REJECT answers at once with a reset.
    root.ok("PUT", f"{CLUSTER_FW}/options", {"policy_in": "REJECT"})
    probe = tcp_probe(ns.lan, NODE_IP, 8006, src=OTHER)
    assert probe.outcome == "refused" and probe.seconds < 1.5, f"policy REJECT: expected a quick reset, got {probe}"
    expect_reached(ns.lan, NODE_IP, 8006, src=TRUSTED, banner="NODE-8006", what="management, policy REJECT")

    # A host rule comes before the policy; it opens only what it names.
    add_rule(root, HOST_FW, type="in", action="ACCEPT", source=OTHER, proto="tcp", dport="8007")
    expect_reached(ns.lan, NODE_IP, 8007, src=OTHER, banner="NODE-8007", what="host rule ACCEPT")
    probe = tcp_probe(ns.lan, NODE_IP, 8007, src=TRUSTED)
    assert probe.outcome == "refused", f"host rule names 10.66.0.3 only; 10.66.0.1 -> 8007 got {probe}"

    # The host's own switch: host firewall off, the node's ports are open to all.
    root.ok("PUT", f"{HOST_FW}/options", {"enable": 0})
    expect_reached(ns.lan, NODE_IP, 8006, src=OTHER, banner="NODE-8006", what="host firewall enable: 0")
    expect_reached(ns.lan, NODE_IP, 8007, src=TRUSTED, banner="NODE-8007", what="host firewall enable: 0")


# ---------------------------------------------------------------------------------------------
# (2) Guest rules


def test_guest_rule_with_an_ipset_admits_its_members_only(fwenv):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    assert env.guest("listen 8080", "VIREO-LISTEN") == "VIREO-LISTEN 8080"
    for src in (TRUSTED, OTHER):
        expect_reached(ns.lan, GUEST, 8080, src=src, what="guest firewall off")

    root.ok("POST", f"{CLUSTER_FW}/ipset", {"name": "fwtclients"})
    root.ok("POST", f"{CLUSTER_FW}/ipset/fwtclients", {"cidr": TRUSTED})
    add_rule(root, VM_FW, type="in", action="ACCEPT", source="+fwtclients", proto="tcp", dport="8080")
    enable_guest_firewall(root)
    present = tables(ns)
    assert present == VIREO_TABLES, present

    expect_reached(ns.lan, GUEST, 8080, src=TRUSTED, what="ipset member")
    expect_dropped(ns.lan, GUEST, 8080, src=OTHER, what="not in the ipset")
    expect_dropped(ns.lan, GUEST, 7777, src=TRUSTED, what="no rule for 7777, policy_in DROP")

    # The set is live: a new member gets in at once, a removed one is out again.
    root.ok("POST", f"{CLUSTER_FW}/ipset/fwtclients", {"cidr": OTHER})
    expect_reached(ns.lan, GUEST, 8080, src=OTHER, what="added to the ipset")
    root.ok("DELETE", f"{CLUSTER_FW}/ipset/fwtclients/{OTHER}")
    expect_dropped(ns.lan, GUEST, 8080, src=OTHER, what="removed from the ipset")


def test_replies_to_the_guests_own_connections_come_back_under_policy_drop(fwenv, cleanup):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    listener = Listener(ns.lan, 9100, "LAN-9100")
    cleanup.add(listener.close)
    enable_guest_firewall(root)
    expect_dropped(ns.lan, GUEST, 7777, what="policy_in DROP")

    assert env.guest_connect(TRUSTED, 9100, attempts=2) == "VIREO-CONNECT ok LAN-9100"
    assert env.guest(f"ping {TRUSTED}", "VIREO-PING") == "VIREO-PING ok"

    # An OUT rule stops the guest's own connection before it leaves.
    add_rule(root, VM_FW, type="out", action="DROP", dest=TRUSTED, proto="tcp", dport="9100")
    seen = len(listener.peers)
    assert env.guest_connect(TRUSTED, 9100) == "VIREO-CONNECT fail"
    assert len(listener.peers) == seen, "the OUT DROP rule let a connection through"


def test_macro_and_security_group_rules_open_their_ports(fwenv):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    assert env.guest("listen 80", "VIREO-LISTEN") == "VIREO-LISTEN 80"
    assert env.guest("listen 8443", "VIREO-LISTEN") == "VIREO-LISTEN 8443"
    enable_guest_firewall(root)
    expect_dropped(ns.lan, GUEST, 80, what="before the macro rule")
    expect_dropped(ns.lan, GUEST, 8443, what="before the group rule")

    add_rule(root, VM_FW, type="in", action="ACCEPT", macro="HTTP")
    assert find_rule(root, VM_FW, macro="HTTP")["action"] == "ACCEPT"
    expect_reached(ns.lan, GUEST, 80, what="HTTP(ACCEPT)")
    expect_dropped(ns.lan, GUEST, 8443, what="HTTP(ACCEPT) opens tcp 80 only")

    root.ok("POST", f"{CLUSTER_FW}/groups", {"group": "fwtweb"})
    add_rule(root, f"{CLUSTER_FW}/groups/fwtweb", type="in", action="ACCEPT", proto="tcp", dport="8443")
    expect_dropped(ns.lan, GUEST, 8443, what="group defined but not referenced by the guest")
    add_rule(root, VM_FW, type="group", action="fwtweb")
    expect_reached(ns.lan, GUEST, 8443, what="GROUP fwtweb")
    # The group's rules are edited in one place and apply at once.
    root.ok("PUT", f"{CLUSTER_FW}/groups/fwtweb/0", {"dport": "8444"})
    expect_dropped(ns.lan, GUEST, 8443, what="group rule moved to 8444")


def test_iface_rule_applies_to_its_nic_only_and_drop_counters_count_the_packets(fwenv):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    enable_guest_firewall(root)
    add_rule(root, VM_FW, type="in", action="DROP", iface="net1", proto="udp", dport="9998")
    add_rule(root, VM_FW, type="in", action="DROP", iface="net0", proto="udp", dport="9998")
    net0 = dict(iface="net0", proto="udp", dport="9998")
    net1 = dict(iface="net1", proto="udp", dport="9998")
    assert find_rule(root, VM_FW, **net0)["packets"] == 0
    assert find_rule(root, VM_FW, **net1)["packets"] == 0

    # 5 datagrams to net0 (the guest's address): the net0 rule counts them, the net1 rule none.
    udp_send(ns.lan, GUEST, 9998, 5)
    assert wait_packets(root, VM_FW, 5, **net0) == 5, find_rule(root, VM_FW, **net0)
    assert find_rule(root, VM_FW, **net1)["packets"] == 0, "a -i net1 rule saw net0's traffic"

    # 3 datagrams that vmbr1 hands to net1: the other way round.
    udp_send(ns.lan, NET1_IP, 9998, 3)
    assert wait_packets(root, VM_FW, 3, **net1) == 3, find_rule(root, VM_FW, **net1)
    assert find_rule(root, VM_FW, **net0)["packets"] == 5, "a -i net0 rule saw net1's traffic"

    # Delivery: an ACCEPT for net1 does not open net0; moved to net0 it does.
    assert env.guest("listen 8090", "VIREO-LISTEN") == "VIREO-LISTEN 8090"
    add_rule(root, VM_FW, type="in", action="ACCEPT", iface="net1", proto="tcp", dport="8090")
    expect_dropped(ns.lan, GUEST, 8090, what="ACCEPT -i net1, traffic on net0")
    root.ok("PUT", f"{VM_FW}/rules/0", {"iface": "net0"})
    expect_reached(ns.lan, GUEST, 8090, what="ACCEPT -i net0")


def test_macfilter_drops_frames_from_another_mac(fwenv, cleanup):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    listener = Listener(ns.lan, 9102, "LAN-9102")
    cleanup.add(listener.close)
    cleanup.add(env.guest, f"set-mac {MAC0.lower()}", "VIREO-MAC")
    enable_guest_firewall(root)  # macfilter is on by default
    assert env.guest_connect(TRUSTED, 9102, attempts=2) == "VIREO-CONNECT ok LAN-9102"

    assert env.guest(f"set-mac {OTHER_MAC}", "VIREO-MAC") == f"VIREO-MAC {OTHER_MAC}"
    assert env.guest_connect(TRUSTED, 9102) == "VIREO-CONNECT fail", "macfilter let a foreign MAC through"

    root.ok("PUT", f"{VM_FW}/options", {"macfilter": 0})
    assert env.guest_connect(TRUSTED, 9102, attempts=3) == "VIREO-CONNECT ok LAN-9102", "macfilter: 0"
    root.ok("PUT", f"{VM_FW}/options", {"macfilter": 1})
    assert env.guest_connect(TRUSTED, 9102) == "VIREO-CONNECT fail", "macfilter: 1 again"

    assert env.guest(f"set-mac {MAC0.lower()}", "VIREO-MAC") == f"VIREO-MAC {MAC0.lower()}"
    assert env.guest_connect(TRUSTED, 9102, attempts=3) == "VIREO-CONNECT ok LAN-9102", "back on its own MAC"


def test_ipfilter_drops_a_spoofed_source(fwenv, cleanup):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    listener = Listener(ns.lan, 9101, "LAN-9101")
    cleanup.add(listener.close)
    enable_guest_firewall(root)
    # Without ipfilter the guest may use any source address.
    assert env.guest_connect(TRUSTED, 9101, src=SPOOFED, attempts=2) == "VIREO-CONNECT ok LAN-9101"
    assert SPOOFED in listener.peers

    root.ok("POST", f"{VM_FW}/ipset", {"name": "ipfilter-net0"})
    root.ok("POST", f"{VM_FW}/ipset/ipfilter-net0", {"cidr": GUEST})
    root.ok("PUT", f"{VM_FW}/options", {"ipfilter": 1})
    spoofed_before = listener.peers.count(SPOOFED)
    assert env.guest_connect(TRUSTED, 9101, src=SPOOFED) == "VIREO-CONNECT fail", "ipfilter let 10.66.0.77 out"
    assert listener.peers.count(SPOOFED) == spoofed_before
    assert env.guest_connect(TRUSTED, 9101, attempts=2) == "VIREO-CONNECT ok LAN-9101", "its own address"
    assert listener.peers[-1] == GUEST


def test_log_rules_reach_the_log_endpoints_as_proxmox_lines(fwenv):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    enable_guest_firewall(root, log_level_in="info")
    add_rule(root, VM_FW, type="in", action="DROP", source=OTHER, proto="tcp", dport="7777", log="warning")
    expect_dropped(ns.lan, GUEST, 7777, src=OTHER, what="a logged DROP rule")
    expect_dropped(ns.lan, GUEST, 7778, src=TRUSTED, what="policy DROP with log_level_in info")

    def logged(path, *words):
        deadline = time.monotonic() + 5
        while True:
            lines = [line["t"] for line in root.ok("GET", path, {"limit": 1000})]
            found = [line for line in lines if all(word in line for word in words)]
            if found or time.monotonic() > deadline:
                return found, lines
            time.sleep(0.2)

    # Proxmox's line: <vmid> <level> <chain> <time> <what>: IN=... SRC=... DST=... PROTO=... DPT=...
    found, lines = logged(f"{VM_FW}/log", f"SRC={OTHER}", f"DST={GUEST}", "PROTO=TCP", "DPT=7777")
    assert found and found[0].startswith(f"{VMID} 4 guest-{VMID}-in ") and " DROP: " in found[0], lines[-5:]
    found, lines = logged(f"{VM_FW}/log", f"SRC={TRUSTED}", "DPT=7778")
    assert found and found[0].startswith(f"{VMID} 6 guest-{VMID}-in ") and "policy DROP: " in found[0], lines[-5:]
    # The node's log has every line; `since` in the future leaves nothing.
    found, _ = logged(f"/nodes/{NODE}/firewall/log", f"SRC={OTHER}", "DPT=7777")
    assert found
    later = root.ok("GET", f"{VM_FW}/log", {"since": int(time.time()) + 3600})
    assert later == [{"n": 1, "t": "no content"}], later


# ---------------------------------------------------------------------------------------------
# (3) Live edits


def test_rule_edits_apply_live_and_an_established_connection_survives(fwenv, cleanup):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    assert env.guest("listen 8081", "VIREO-LISTEN") == "VIREO-LISTEN 8081"
    assert env.guest("echo-listen 7000", "VIREO-ECHO-LISTEN") == "VIREO-ECHO-LISTEN 7000"
    enable_guest_firewall(root)
    add_rule(root, VM_FW, type="in", action="ACCEPT", proto="tcp", dport="7000")
    daemon_pid, qemu_pid = env.node.proc.pid, env.node.pidfile_pid(VMID)

    echo = ns_socket(ns.lan)
    cleanup.add(echo.close)
    echo.settimeout(8)
    echo.connect((GUEST, 7000))

    def round_trip(text: str):
        echo.sendall(text.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = echo.recv(256)
            assert chunk, f"the echo connection was closed (after sending {text!r})"
            data += chunk
        assert data.decode().strip() == text, data

    round_trip("before")
    unrelated = {("inet", "vireo-firewall", "input"): None, ("inet", "vireo-firewall", "forward"): None,
                 ("bridge", "vireo-firewall-guests", "prerouting"): None}
    for key in unrelated:
        unrelated[key] = chain_handles(ns, *key)
        assert unrelated[key], f"chain {key} has no rules"

    # An edited rule takes effect on return of the call, both ways.
    add_rule(root, VM_FW, type="in", action="ACCEPT", proto="tcp", dport="8082")
    expect_dropped(ns.lan, GUEST, 8081, what="rule for 8082")
    root.ok("PUT", f"{VM_FW}/rules/0", {"dport": "8081"})
    expect_reached(ns.lan, GUEST, 8081, what="rule edited to 8081")
    root.ok("PUT", f"{VM_FW}/rules/0", {"enable": 0})
    expect_dropped(ns.lan, GUEST, 8081, what="rule disabled")
    root.ok("PUT", f"{VM_FW}/rules/0", {"enable": 1})
    expect_reached(ns.lan, GUEST, 8081, what="rule enabled again")

    # The established connection lived through all of it; chains the edits do not concern were
    # not rewritten (same rule handles).
    round_trip("after")
    for key, handles in unrelated.items():
        assert chain_handles(ns, *key) == handles, f"chain {key} was rewritten by an unrelated guest rule edit"

    # Stateful: without the rule that admitted it, a new connection is dropped, the old one lives on.
    assert find_rule(root, VM_FW, pos=1)["dport"] == "7000"
    root.ok("DELETE", f"{VM_FW}/rules/1")
    expect_dropped(ns.lan, GUEST, 7000, what="7000's rule deleted")
    round_trip("still-open")
    assert env.node.proc.pid == daemon_pid and env.node.proc.poll() is None, "vireod was restarted"
    assert env.node.pidfile_pid(VMID) == qemu_pid, "QEMU was restarted"


# ---------------------------------------------------------------------------------------------
# (4) vireod killed and restarted


def test_guest_stays_filtered_when_vireod_dies_and_a_restart_writes_nothing(fwenv):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    assert env.guest("listen 8080", "VIREO-LISTEN") == "VIREO-LISTEN 8080"
    root.ok("POST", f"{CLUSTER_FW}/ipset", {"name": "fwtclients"})
    root.ok("POST", f"{CLUSTER_FW}/ipset/fwtclients", {"cidr": TRUSTED})
    add_rule(root, VM_FW, type="in", action="ACCEPT", source="+fwtclients", proto="tcp", dport="8080")
    add_rule(root, VM_FW, type="in", action="DROP", proto="udp", dport="9997")
    enable_guest_firewall(root)
    drop = dict(proto="udp", dport="9997")
    assert find_rule(root, VM_FW, **drop)["pos"] == 0
    expect_reached(ns.lan, GUEST, 8080, src=TRUSTED, what="daemon running")
    expect_dropped(ns.lan, GUEST, 8080, src=OTHER, what="daemon running")
    udp_send(ns.lan, GUEST, 9997, 5)
    assert wait_packets(root, VM_FW, 5, **drop) == 5
    before = ruleset_with_handles(ns)
    qemu_pid = env.node.pidfile_pid(VMID)

    env.node.kill9()
    try:
        time.sleep(0.5)
        assert os.path.exists(f"/proc/{qemu_pid}"), "QEMU died with vireod"
        assert ruleset_with_handles(ns) == before, "the ruleset changed when vireod was killed"
        expect_reached(ns.lan, GUEST, 8080, src=TRUSTED, what="vireod dead")
        expect_dropped(ns.lan, GUEST, 8080, src=OTHER, what="vireod dead")
        udp_send(ns.lan, GUEST, 9997, 5)
        deadline = time.monotonic() + 5
        while kernel_packets(ns, f"guest/{VMID}/rules/0") < 10 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert kernel_packets(ns, f"guest/{VMID}/rules/0") == 10, "the DROP rule stopped counting"
    finally:
        env.node.start()

    # The restarted daemon finds its ruleset loaded and writes nothing: same handles (a rewritten
    # chain or table gets new ones), and the counters go on from where they were.
    time.sleep(3)
    after = ruleset_with_handles(ns)
    assert after == before, "vireod's restart rewrote the ruleset; " + _describe_rewrite(env, before, after)
    assert find_rule(root, VM_FW, **drop)["packets"] == 10, "counters were reset by the restart"
    expect_reached(ns.lan, GUEST, 8080, src=TRUSTED, what="after restart")
    expect_dropped(ns.lan, GUEST, 8080, src=OTHER, what="after restart")

    # And it keeps the kernel in step from there on.
    root.ok("POST", f"{CLUSTER_FW}/ipset/fwtclients", {"cidr": OTHER})
    expect_reached(ns.lan, GUEST, 8080, src=OTHER, what="ipset member added after the restart")


def _describe_rewrite(env: Env, before: str, after: str) -> str:
    """What differs besides the handles, and what vireod said at start (kept short: pytest cuts
    long messages)."""
    def lines(text):
        return Counter(re.sub(r"\s*# handle \d+", "", line).strip() for line in text.splitlines())
    gone, new = lines(before) - lines(after), lines(after) - lines(before)
    with open(os.path.join(env.node.base, "vireod.log"), errors="replace") as log:
        said = [line.strip() for line in log if "firewall" in line][-4:]
    return (f"table lines {before.splitlines()[:1]} -> {after.splitlines()[:1]}; "
            f"content only before: {dict(gone)}; content only after: {dict(new)}; vireod: {said}")


# ---------------------------------------------------------------------------------------------
# Switched off again (the last filtered NIC goes)


def test_the_guests_enable_option_switches_its_filter_off(fwenv):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    assert env.guest("listen 8080", "VIREO-LISTEN") == "VIREO-LISTEN 8080"
    add_rule(root, VM_FW, type="in", action="ACCEPT", source=TRUSTED, proto="tcp", dport="8080")
    enable_guest_firewall(root)
    expect_dropped(ns.lan, GUEST, 8080, src=OTHER, what="guest firewall on")

    # An API call: in force when it returns; the only filtered guest goes, its chains with it.
    status, reason, body = root.put(f"{VM_FW}/options", {"enable": 0})
    assert status == 200, f"PUT {VM_FW}/options enable=0: {status} {reason} {body}"
    expect_reached(ns.lan, GUEST, 8080, src=OTHER, what="guest firewall enable: 0")
    assert f"tap{VMID}" not in ns.nft("list", "ruleset")


def test_nics_without_the_firewall_flag_are_not_filtered(fwenv, cleanup):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    assert env.guest("listen 8080", "VIREO-LISTEN") == "VIREO-LISTEN 8080"
    add_rule(root, VM_FW, type="in", action="ACCEPT", source=TRUSTED, proto="tcp", dport="8080")
    enable_guest_firewall(root)
    expect_dropped(ns.lan, GUEST, 8080, src=OTHER, what="guest firewall on")

    # A VM config change, applied by the store watch within about a second.
    cleanup.add(root.ok, "PUT", f"/nodes/{NODE}/qemu/{VMID}/config",
                {"net0": f"virtio={MAC0},bridge=vmbr0,firewall=1", "net1": f"virtio={MAC1},bridge=vmbr1,firewall=1"})
    root.ok("PUT", f"/nodes/{NODE}/qemu/{VMID}/config",
            {"net0": f"virtio={MAC0},bridge=vmbr0", "net1": f"virtio={MAC1},bridge=vmbr1"})
    deadline = time.monotonic() + 5
    probe = tcp_probe(ns.lan, GUEST, 8080, src=OTHER, timeout=1)
    while probe.outcome != "ok" and time.monotonic() < deadline:
        probe = tcp_probe(ns.lan, GUEST, 8080, src=OTHER, timeout=1)
    listing = ns.nft("list", "ruleset")
    assert probe.outcome == "ok", f"no NIC has firewall=1 any more, yet 10.66.0.3 -> 8080 got {probe}"
    assert f"tap{VMID}" not in listing, listing


# ---------------------------------------------------------------------------------------------
# (5) Nothing left behind


def test_deleting_the_vm_and_the_rules_and_disabling_leaves_no_table(fwenv):
    env, root, ns = fwenv, fwenv.root, fwenv.ns
    log_path = os.path.join(env.node.base, "vireod.log")
    log_start = os.path.getsize(log_path)
    root.ok("POST", f"{CLUSTER_FW}/ipset", {"name": "fwtclients"})
    root.ok("POST", f"{CLUSTER_FW}/ipset/fwtclients", {"cidr": TRUSTED})
    root.ok("POST", f"{CLUSTER_FW}/groups", {"group": "fwtweb"})
    add_rule(root, f"{CLUSTER_FW}/groups/fwtweb", type="in", action="ACCEPT", proto="tcp", dport="8443")
    add_rule(root, VM_FW, type="group", action="fwtweb")
    add_rule(root, VM_FW, type="in", action="ACCEPT", source="+fwtclients", proto="tcp", dport="8080")
    add_rule(root, HOST_FW, type="in", action="ACCEPT", source=TRUSTED, proto="tcp", dport="8007")
    enable_guest_firewall(root, ipfilter=1)
    assert tables(ns) == VIREO_TABLES
    assert f"tap{VMID}i0" in ns.nft("list", "ruleset")

    # The VM goes (with its rules still in place): nothing of it stays in the kernel.
    assert power(root, VMID, "stop")["exitstatus"] == "OK"
    upid = root.ok("DELETE", f"/nodes/{NODE}/qemu/{VMID}", {"purge": 1})
    assert wait_task(root, upid)["exitstatus"] == "OK"
    deadline = time.monotonic() + 5
    listing = ns.nft("list", "ruleset")
    while (f"tap{VMID}" in listing or f"-{VMID}-" in listing or f"guest-{VMID}" in listing) \
            and time.monotonic() < deadline:
        time.sleep(0.2)
        listing = ns.nft("list", "ruleset")
    for trace in (f"tap{VMID}", f"-{VMID}-", f"guest-{VMID}", f"guest/{VMID}"):
        assert trace not in listing, f"'{trace}' still in the ruleset after the VM was deleted:\n{listing}"
    # ... and it got there by a reload nft accepted (not by a later full replacement after a failed one).
    with open(log_path, errors="replace") as log:
        log.seek(log_start)
        refused = [line.strip() for line in log if "nft refused" in line]
    assert not refused, f"a firewall reload failed while the VM was deleted: {refused}"

    # The remaining rules and sets go, then the firewall is switched off: no table at all.
    root.ok("DELETE", f"{HOST_FW}/rules/0")
    root.ok("DELETE", f"{CLUSTER_FW}/groups/fwtweb/0")
    # Proxmox's destroy removes the guest's firewall file (remove_vmfw_conf): no rule of the deleted
    # VM names the group any more.
    status, reason, body = root.delete(f"{CLUSTER_FW}/groups/fwtweb")
    assert status == 200, f"the deleted VM's firewall file still uses the group: {status} {reason} {body}"
    root.ok("DELETE", f"{CLUSTER_FW}/ipset/fwtclients", {"force": 1})
    root.ok("PUT", f"{CLUSTER_FW}/options", {"enable": 0})
    assert ns.nft("list", "ruleset").strip() == "", ns.nft("list", "ruleset")
    assert tables(ns) == set()
