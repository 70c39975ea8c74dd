#!/usr/bin/env python3
"""Diagnosis and metrics benchmarks in one run (issue 13):
- a full `diagnose vm` report through the API on a node running 20 guests; target < 1 s;
- one sampling cycle of the metrics sampler with 50 running guests (its own timing, from
  /metrics), and the daemon's CPU share while it samples them (utime+stime over a minute of wall
  time, as a share of one core).
"""
import http.client
import json
import os
import re
import ssl
import statistics
import sys
import time
import urllib.parse

port, token, node, data_dir = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
guests = int(os.environ.get("BENCH_SAMPLED_GUESTS", "50"))
diagnosed = int(os.environ.get("BENCH_DIAGNOSED_GUESTS", "20"))
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
headers = {"Authorization": f"PVEAPIToken={token}", "Content-Type": "application/x-www-form-urlencoded"}


def request(method, path, params=None, raw=False):
    connection = http.client.HTTPSConnection("127.0.0.1", int(port), context=context, timeout=120)
    body = urllib.parse.urlencode(params or {})
    if method in ("GET", "DELETE") and body:
        path, body = f"{path}?{body}", None
    connection.request(method, path if raw else "/api2/json" + path,
                       body=body if method in ("POST", "PUT") else None, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    if response.status != 200:
        raise SystemExit(f"{method} {path}: {response.status} {response.reason}")
    return data.decode() if raw else json.loads(data)["data"]


def wait_task(upid):
    quoted = urllib.parse.quote(upid, safe="")
    while True:
        status = request("GET", f"/nodes/{node}/tasks/{quoted}/status")
        if status["status"] == "stopped":
            if status["exitstatus"] != "OK":
                raise SystemExit(f"task failed: {status['exitstatus']}")
            return
        time.sleep(0.05)


def daemon_pid():
    return int(json.load(open(os.path.join(data_dir, "run", "vireod.json")))["pid"])


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def sampler_figures():
    text = request("GET", "/metrics", raw=True)
    last = re.search(r"^vireo_sampler_last_run_timestamp_seconds\{[^}]*\} (\S+)$", text, re.M)
    took = re.search(r"^vireo_sampler_duration_seconds\{[^}]*\} (\S+)$", text, re.M)
    return (float(last.group(1)), float(took.group(1))) if last and took else None


ids = [9500 + i for i in range(guests)]
for vmid in ids:
    wait_task(request("POST", f"/nodes/{node}/qemu", {
        "vmid": vmid, "name": f"sampled{vmid}", "memory": 64, "kvm": 0, "vga": "none",
        "virtio0": "local:1,format=qcow2"}))
try:
    for vmid in ids[:diagnosed]:
        wait_task(request("POST", f"/nodes/{node}/qemu/{vmid}/status/start"))
    time.sleep(2)
    times = []
    for _ in range(10):
        start = time.perf_counter()
        report = request("GET", f"/nodes/{node}/qemu/{ids[0]}/diagnose")
        times.append(time.perf_counter() - start)
    node_times = []
    for _ in range(5):
        start = time.perf_counter()
        request("GET", f"/nodes/{node}/diagnose")
        node_times.append(time.perf_counter() - start)
    print(f"diagnose vm with {diagnosed} guests running: median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms, {len(report['checks'])} checks, verdict: {report['verdict']['line']} "
          f"(target < 1 s); node report median {statistics.median(node_times) * 1000:.0f} ms")

    for vmid in ids[diagnosed:]:
        wait_task(request("POST", f"/nodes/{node}/qemu/{vmid}/status/start"))
    time.sleep(25)  # two cycles with every guest up
    pid = daemon_pid()
    hz = os.sysconf("SC_CLK_TCK")
    cycles = {}
    ticks, wall = cpu_ticks(pid), time.monotonic()
    window = float(os.environ.get("BENCH_SAMPLER_WINDOW", "60"))
    while time.monotonic() - wall < window:
        figures = sampler_figures()
        if figures:
            cycles[figures[0]] = figures[1]
        time.sleep(2)
    share = (cpu_ticks(pid) - ticks) / hz / (time.monotonic() - wall)
    durations = sorted(cycles.values())
    print(f"sampling cycle with {guests} running guests: median {statistics.median(durations) * 1000:.0f} ms, "
          f"max {durations[-1] * 1000:.0f} ms over {len(durations)} cycles (every 10 s); vireod CPU over "
          f"{window:.0f} s while sampling: {share * 100:.1f}% of one core (includes this benchmark's /metrics polls)")
finally:
    for vmid in ids:
        try:
            wait_task(request("POST", f"/nodes/{node}/qemu/{vmid}/status/stop"))
        except SystemExit:
            pass
        try:
            wait_task(request("DELETE", f"/nodes/{node}/qemu/{vmid}"))
        except SystemExit:
            pass
