#!/usr/bin/env python3
"""Network apply benchmark, inside a throwaway network namespace:
- a config of 50 bridges (each with an address) applied through the API from nothing, then the
  same config applied again (which must make no kernel writes: its task log has no steps);
- next to a shell script of the equivalent `ip` commands (add, address, up for each bridge).
Usage: bench_network.py VIREOD
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "api"))
from conftest import LocalRoot  # noqa: E402

vireod = sys.argv[1]
bridges = int(os.environ.get("BENCH_BRIDGES", "50"))
ns = f"vbench-{uuid.uuid4().hex[:6]}"
base = tempfile.mkdtemp(prefix="vireo-netbench-")
daemon = None


def wait_task(root, upid):
    while True:
        status = root.ok("GET", f"/nodes/bench/tasks/{upid}/status")
        if status["status"] == "stopped":
            assert status["exitstatus"] == "OK", status
            return root.ok("GET", f"/nodes/bench/tasks/{upid}/log", {"limit": 100000})
        time.sleep(0.005)


try:
    subprocess.run(["ip", "netns", "add", ns], check=True)
    daemon = subprocess.Popen(
        [vireod, "--data-dir", base, "--listen", "127.0.0.1:0", "--node", "bench", "--netns", ns,
         "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = LocalRoot(os.path.join(base, "run", "vireod.sock"))
    for _ in range(100):
        try:
            if root.get("/version")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    for i in range(bridges):
        root.ok("POST", "/nodes/bench/network", {"iface": f"vmbr{100 + i}", "type": "bridge",
                                                 "cidr": f"10.{100 + i // 250}.{i % 250}.1/24", "autostart": 1})
    start = time.perf_counter()
    log = wait_task(root, root.ok("PUT", "/nodes/bench/network"))
    first = time.perf_counter() - start
    steps = sum(1 for line in log if line["t"].startswith("step "))
    start = time.perf_counter()
    log = wait_task(root, root.ok("PUT", "/nodes/bench/network"))
    again = time.perf_counter() - start
    writes = sum(1 for line in log if line["t"].startswith("step "))

    for i in range(bridges):
        subprocess.run(["ip", "-n", ns, "link", "del", f"vmbr{100 + i}"], check=True)
    script = "\n".join(
        f"ip -n {ns} link add name vmbr{100 + i} type bridge\n"
        f"ip -n {ns} addr add 10.{100 + i // 250}.{i % 250}.1/24 dev vmbr{100 + i}\n"
        f"ip -n {ns} link set dev vmbr{100 + i} up"
        for i in range(bridges))
    start = time.perf_counter()
    subprocess.run(["sh", "-e", "-c", script], check=True)
    shell = time.perf_counter() - start

    print(f"network apply of {bridges} bridges from nothing: {first * 1000:.0f} ms ({steps} kernel steps); "
          f"shell script of the same {3 * bridges} ip commands: {shell * 1000:.0f} ms ({first / shell:.2f}x)")
    print(f"network apply again, unchanged: {again * 1000:.0f} ms with {writes} kernel writes (target: 0)")
finally:
    if daemon:
        daemon.terminate()
        daemon.wait(timeout=10)
    subprocess.run(["ip", "netns", "del", ns])
    shutil.rmtree(base, ignore_errors=True)
