#!/usr/bin/env python3
"""Firewall benchmark, inside a throwaway network namespace (issue 12's targets):
- compile + apply of 10,000 rules over 500 guests (one firewalled NIC each) plus a
  100,000-entry ipset, timed as `pve-firewall stop` then `start` through the API, next to a bare
  `nft -j -f` of the same ruleset (target: at most 1.5x);
- one rule added through the API on top of that, call to kernel (target: <= 50 ms);
- re-applying the unchanged configuration, and restarting the daemon: kernel writes counted with
  `nft monitor` (target: 0).
The configuration is written straight into a stopped daemon's store (100,000 API calls would
measure the API, not the firewall).
Usage: bench_firewall.py VIREOD
"""
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "api"))
from conftest import LocalRoot  # noqa: E402

vireod = sys.argv[1]
guests = int(os.environ.get("BENCH_FW_GUESTS", "500"))
rules_per_guest = int(os.environ.get("BENCH_FW_RULES", "20"))
ipset_size = int(os.environ.get("BENCH_FW_IPSET", "100000"))
ns = f"vfwbench-{uuid.uuid4().hex[:6]}"
base = tempfile.mkdtemp(prefix="vireo-fwbench-")
daemon = None


def start_daemon():
    process = subprocess.Popen(
        [vireod, "--data-dir", base, "--listen", "127.0.0.1:0", "--node", "bench", "--netns", ns,
         "--log-level", os.environ.get("BENCH_LOG_LEVEL", "warning")], stdout=subprocess.DEVNULL, stderr=open(os.path.join(base, "vireod.log"), "a"))
    root = LocalRoot(os.path.join(base, "run", "vireod.sock"))
    for _ in range(300):
        try:
            if root.get("/version")[0] == 200:
                return process, root
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("vireod did not start")


def stop_daemon(process, sig=signal.SIGTERM):
    process.send_signal(sig)
    process.wait(timeout=60)


def nft(*args, input=None):
    return subprocess.run(["ip", "netns", "exec", ns, "nft", *args], input=input, capture_output=True,
                          text=True, check=True).stdout


class Monitor:
    """Counts ruleset changes (`nft monitor`) while it runs."""

    def __enter__(self):
        self.process = subprocess.Popen(["ip", "netns", "exec", ns, "nft", "monitor", "ruleset"],
                                        stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        time.sleep(0.3)
        self.process.terminate()
        out, _ = self.process.communicate(timeout=10)
        self.events = [line for line in out.splitlines() if line.strip()]


def guest_fw(vmid):
    lines = ["[OPTIONS]", "", "enable: 1", "", "[RULES]", ""]
    for i in range(rules_per_guest):
        port = 1000 + i
        if i % 4 == 0:
            lines.append(f"IN ACCEPT -source +dc/big -p tcp -dport {port} # rule {i}")
        elif i % 4 == 1:
            lines.append(f"IN ACCEPT -source 10.{i}.{vmid % 250}.0/24 -p udp -dport {port}")
        elif i % 4 == 2:
            lines.append(f"OUT DROP -dest 192.0.2.{i} -p tcp -dport {port}")
        else:
            lines.append("IN HTTP(ACCEPT)")
    return "\n".join(lines) + "\n"


def cluster_fw():
    lines = ["[OPTIONS]", "", "enable: 1", "", "[IPSET big]", ""]
    for i in range(ipset_size):
        lines.append(f"172.{16 + (i >> 16) % 16}.{(i >> 8) & 255}.{i & 255}")
    lines += ["", "[RULES]", "", "IN SSH(ACCEPT) -source +big", ""]
    return "\n".join(lines) + "\n"


def seed_store():
    database = sqlite3.connect(os.path.join(base, "config.db"))
    (version,) = database.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    now = int(time.time())
    files = {"firewall/cluster.fw": cluster_fw()}
    for n in range(guests):
        vmid = 1000 + n
        mac = f"BC:24:11:{(n >> 16) & 255:02X}:{(n >> 8) & 255:02X}:{n & 255:02X}"
        files[f"nodes/bench/qemu-server/{vmid}.conf"] = (
            f"name: fw{vmid}\nmemory: 64\nnet0: virtio={mac},bridge=vmbr0,firewall=1\n")
        files[f"firewall/{vmid}.fw"] = guest_fw(vmid)
    for path, content in files.items():
        version += 1
        database.execute("INSERT OR REPLACE INTO files (path, content, version, mtime) VALUES (?, ?, ?, ?)",
                         (path, content, version, now))
    database.execute("UPDATE meta SET value = ? WHERE key = 'version'", (version,))
    database.commit()
    database.close()


def best(samples):
    return min(samples), statistics.median(samples)


try:
    subprocess.run(["ip", "netns", "add", ns], check=True)
    daemon, root = start_daemon()
    stop_daemon(daemon)
    seed_store()
    daemon, root = start_daemon()
    rules = guests * rules_per_guest

    applies = []
    for _ in range(3):
        root.ok("POST", "/nodes/bench/vireo/firewall/stop")
        started = time.perf_counter()
        root.ok("POST", "/nodes/bench/vireo/firewall/start")
        applies.append(time.perf_counter() - started)
    loaded = nft("-j", "-t", "list", "ruleset")
    compiled = root.ok("GET", "/nodes/bench/vireo/firewall/compile")["ruleset"]
    batch = os.path.join(base, "ruleset.json")
    with open(batch, "w") as file:
        json.dump(compiled, file)
    root.ok("POST", "/nodes/bench/vireo/firewall/stop")
    bare = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "-f", batch], check=True)
        bare.append(time.perf_counter() - started)
        nft("delete", "table", "inet", "vireo-firewall")
        nft("delete", "table", "bridge", "vireo-firewall-guests")
    root.ok("POST", "/nodes/bench/vireo/firewall/start")

    one_rule = []
    for i in range(5):
        started = time.perf_counter()
        root.ok("POST", "/nodes/bench/qemu/1000/firewall/rules",
                {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": str(9000 + i), "enable": 1})
        one_rule.append(time.perf_counter() - started)
    listed = nft("list", "chain", "inet", "vireo-firewall", "nic-1000-0-in")
    assert "tcp dport 9004" in listed, "the added rule is not in the kernel"

    with Monitor() as unchanged:
        root.ok("POST", "/nodes/bench/vireo/firewall/start")
    before = nft("-a", "list", "chain", "inet", "vireo-firewall", "input")
    with Monitor() as restart:
        stop_daemon(daemon, signal.SIGKILL)
        daemon, root = start_daemon()
        time.sleep(3)  # the daemon applies at start, in the background
        root.ok("GET", "/nodes/bench/vireo/firewall/status")
    after = nft("-a", "list", "chain", "inet", "vireo-firewall", "input")
    rss_kb = int(next(line.split()[1] for line in open(f"/proc/{daemon.pid}/status") if line.startswith("VmRSS")))

    low, median = best(applies)
    bare_low, bare_median = best(bare)
    print(f"firewall: {rules} rules over {guests} guests, a {ipset_size}-entry ipset "
          f"({len(compiled['nftables'])} nft commands)")
    print(f"  compile + apply (pve-firewall start): best {low * 1000:.0f} ms, median {median * 1000:.0f} ms")
    print(f"  bare nft -j -f of the same ruleset:   best {bare_low * 1000:.0f} ms, median {bare_median * 1000:.0f} ms")
    print(f"  ratio (best/best): {low / bare_low:.2f}x (target <= 1.5x)")
    print(f"  one rule added through the API, call to kernel: best {min(one_rule) * 1000:.1f} ms, "
          f"median {statistics.median(one_rule) * 1000:.1f} ms (target <= 50 ms)")
    print(f"  re-apply unchanged: {len(unchanged.events)} kernel writes (target 0)")
    print(f"  kill -9 and restart: {len(restart.events)} kernel writes, rule handles "
          f"{'unchanged' if before == after else 'CHANGED'}")
    print(f"  daemon RSS with this configuration: {rss_kb / 1024:.0f} MB")
finally:
    if daemon and daemon.poll() is None:
        daemon.kill()
        daemon.wait()
    subprocess.run(["ip", "netns", "del", ns], check=False)
    if os.environ.get("BENCH_KEEP_LOG"):
        shutil.copy(os.path.join(base, "vireod.log"), os.environ["BENCH_KEEP_LOG"])
    shutil.rmtree(base, ignore_errors=True)
