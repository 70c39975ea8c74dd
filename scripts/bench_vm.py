#!/usr/bin/env python3
"""VM benchmarks in one run:
- boot storm: 40 VMs started at once through the API until every QMP socket reports `running`,
  next to the same 40 QEMU command lines launched at once by hand; target API <= 1.1x bare;
- start-to-running through the API (POST status/start, then QEMU's QMP socket until it reports
  `running`) next to a bare launch of the same QEMU argv until its QMP socket answers; target API
  <= 1.25x bare; the start task is also checked to end OK (untimed);
- GET /nodes/{node}/qemu with 1,000 defined VMs; target < 50 ms.
"""
import http.client
import json
import os
import shlex
import socket
import ssl
import statistics
import subprocess
import sys
import time
import urllib.parse

port, token, node, data_dir = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
runs = int(os.environ.get("BENCH_STARTS", "10"))
vm_count = int(os.environ.get("BENCH_VMS", "1000"))
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
connection = http.client.HTTPSConnection("127.0.0.1", int(port), context=context)
headers = {"Authorization": f"PVEAPIToken={token}", "Content-Type": "application/x-www-form-urlencoded"}


def call(method, path, params=None):
    body = urllib.parse.urlencode(params or {})
    if method in ("GET", "DELETE") and body:
        path, body = f"{path}?{body}", None
    connection.request(method, "/api2/json" + path, body=body if method in ("POST", "PUT") else None, headers=headers)
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise SystemExit(f"{method} {path}: {response.status} {response.reason}")
    return json.loads(data)["data"]


def wait_task(upid):
    quoted = urllib.parse.quote(upid, safe="")
    while True:
        status = call("GET", f"/nodes/{node}/tasks/{quoted}/status")
        if status["status"] == "stopped":
            if status["exitstatus"] != "OK":
                raise SystemExit(f"task failed: {status['exitstatus']}")
            return
        time.sleep(0.005)


def qmp_answers(path, deadline):
    while time.monotonic() < deadline:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            f = s.makefile("rwb")
            f.readline()
            f.write(b'{"execute":"qmp_capabilities"}\n')
            f.flush()
            f.readline()
            f.write(b'{"execute":"query-status"}\n')
            f.flush()
            reply = json.loads(f.readline())
            s.close()
            return reply["return"]["status"]
        except OSError:
            time.sleep(0.002)
    raise SystemExit("QMP did not answer")


vmid = 9000
call("POST", f"/nodes/{node}/qemu", {"vmid": vmid, "memory": 128, "kvm": 0, "vga": "none"}) and None
time.sleep(0.5)
api_times = []
task_times = []
qmp_path = os.path.join(data_dir, "run", "qemu", f"{vmid}.qmp")
for _ in range(runs):
    # Timed like the bare launch: from the call until QEMU's own QMP says `running`.
    start = time.perf_counter()
    upid = call("POST", f"/nodes/{node}/qemu/{vmid}/status/start")
    status = qmp_answers(qmp_path, time.monotonic() + 30)
    api_times.append(time.perf_counter() - start)
    assert status == "running", status
    wait_task(upid)
    task_times.append(time.perf_counter() - start)
    wait_task(call("POST", f"/nodes/{node}/qemu/{vmid}/status/stop"))

class LocalRootConnection(http.client.HTTPConnection):
    """root@pam over the daemon's local socket (showcmd is root's, as `qm showcmd` is)."""

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(os.path.join(data_dir, "run", "vireod.sock"))


def root_call(path):
    local = LocalRootConnection("localhost")
    local.request("GET", "/api2/json" + path)
    response = local.getresponse()
    data = response.read()
    local.close()
    if response.status != 200:
        raise SystemExit(f"GET {path} as root: {response.status} {response.reason}")
    return json.loads(data)["data"]


argv = shlex.split(root_call(f"/nodes/{node}/qemu/{vmid}/showcmd"))
run_dir = os.path.join(data_dir, "run", "qemu")
bare_times = []
for _ in range(runs):
    qmp = os.path.join(run_dir, f"{vmid}.qmp")
    for stale in (qmp, os.path.join(run_dir, f"{vmid}.pid")):
        if os.path.exists(stale):
            os.remove(stale)
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    status = qmp_answers(qmp, time.monotonic() + 30)
    bare_times.append(time.perf_counter() - start)
    pid = int(open(os.path.join(run_dir, f"{vmid}.pid")).read())
    os.kill(pid, 9)
    while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] not in "ZX":
        time.sleep(0.01)
call("DELETE", f"/nodes/{node}/qemu/{vmid}")

api_median, bare_median = statistics.median(api_times), statistics.median(bare_times)
print(f"VM start to running ({runs} runs, TCG, 128 MiB): API median {api_median * 1000:.0f} ms, "
      f"bare qemu-system-x86_64 + QMP median {bare_median * 1000:.0f} ms: {api_median / bare_median:.2f}x (target <= 1.25x); "
      f"start task seen OK after median {statistics.median(task_times) * 1000:.0f} ms (polled every 5 ms)")


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    for pid in pids:
        while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] not in "ZX":
            time.sleep(0.01)


def all_running(paths, deadline):
    """Waits until every QMP socket in `paths` reports `running` (polled in turn)."""
    waiting = list(paths)
    while waiting:
        path = waiting.pop(0)
        if qmp_answers(path, deadline) != "running":
            waiting.append(path)


storm = int(os.environ.get("BENCH_STORM", "40"))
storm_ids = [9100 + i for i in range(storm)]
for vmid in storm_ids:
    call("POST", f"/nodes/{node}/qemu", {"vmid": vmid, "memory": 64, "kvm": 0, "vga": "none"})
time.sleep(1)
storm_qmp = [os.path.join(run_dir, f"{vmid}.qmp") for vmid in storm_ids]
storm_pids = [os.path.join(run_dir, f"{vmid}.pid") for vmid in storm_ids]
storm_argv = [shlex.split(root_call(f"/nodes/{node}/qemu/{vmid}/showcmd")) for vmid in storm_ids]

# Through the API: one connection per VM, every start sent at once (as a bulk action or a
# node's boot does), timed until each VM's own QMP says `running`. The guests' firmware keeps both
# cores busy, so single runs are noisy: API and bare runs alternate (ABBA…), medians compared.
import threading


def api_storm_once():
    barrier = threading.Barrier(storm + 1)
    upids = {}

    def start_one(vmid):
        # Connected (TLS done) before the clock starts: the storm measures the starts, not handshakes.
        conn = http.client.HTTPSConnection("127.0.0.1", int(port), context=context)
        conn.connect()
        barrier.wait()
        conn.request("POST", f"/api2/json/nodes/{node}/qemu/{vmid}/status/start", body="", headers=headers)
        response = conn.getresponse()
        upids[vmid] = json.loads(response.read())["data"]
        conn.close()

    threads = [threading.Thread(target=start_one, args=(vmid,)) for vmid in storm_ids]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    all_running(storm_qmp, time.monotonic() + 300)
    took = time.perf_counter() - start
    for vmid in storm_ids:
        wait_task(upids[vmid])
    for vmid in storm_ids:
        wait_task(call("POST", f"/nodes/{node}/qemu/{vmid}/status/stop"))
    return took


def bare_storm_once():
    """The same command lines, launched at once."""
    for path in storm_qmp + storm_pids:
        if os.path.exists(path):
            os.remove(path)
    start = time.perf_counter()
    launches = [subprocess.Popen(argv) for argv in storm_argv]
    for launch in launches:
        launch.wait()
    all_running(storm_qmp, time.monotonic() + 300)
    took = time.perf_counter() - start
    kill_pids([int(open(path).read()) for path in storm_pids])
    for path in storm_qmp + storm_pids:
        if os.path.exists(path):
            os.remove(path)
    return took


rounds = int(os.environ.get("BENCH_STORM_ROUNDS", "3"))
api_runs, bare_runs = [], []
for round_ in range(rounds):
    order = (api_storm_once, bare_storm_once) if round_ % 2 == 0 else (bare_storm_once, api_storm_once)
    for run in order:
        (api_runs if run is api_storm_once else bare_runs).append(run())
api_storm, bare_storm = statistics.median(api_runs), statistics.median(bare_runs)
for vmid in storm_ids:
    call("DELETE", f"/nodes/{node}/qemu/{vmid}")
print(f"boot storm, {storm} VMs at once to running (TCG, 64 MiB, median of {rounds * 2} alternating runs): "
      f"API {api_storm * 1000:.0f} ms, bare {bare_storm * 1000:.0f} ms: {api_storm / bare_storm:.2f}x (target <= 1.1x); "
      f"API runs {', '.join(f'{t * 1000:.0f}' for t in api_runs)} ms, bare {', '.join(f'{t * 1000:.0f}' for t in bare_runs)} ms")

for i in range(vm_count):
    call("POST", f"/nodes/{node}/qemu", {"vmid": 10000 + i, "memory": 128, "kvm": 0, "name": f"bench{i}"})
time.sleep(1)
list_times = []
for _ in range(10):
    start = time.perf_counter()
    listed = call("GET", f"/nodes/{node}/qemu")
    list_times.append(time.perf_counter() - start)
assert len(listed) >= vm_count, len(listed)
print(f"GET /nodes/{node}/qemu with {len(listed)} VMs: median {statistics.median(list_times) * 1000:.1f} ms (target < 50 ms)")
