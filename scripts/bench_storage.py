#!/usr/bin/env python3
"""Allocates and frees 100 small qcow2 volumes through the API (token auth, HTTPS, keep-alive)
and the same with bare `qemu-img create` / `rm`, in one run. Target: API <= 1.5x bare."""
import os
import subprocess
import sys
import tempfile
import time

import http.client
import json
import ssl
import urllib.parse

port, token, node, data_dir = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
count = int(os.environ.get("BENCH_VOLUMES", "100"))
base = f"/api2/json/nodes/{node}/storage/local/content"
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
# One keep-alive HTTPS connection, as an API client would hold (http.client: little client overhead).
connection = http.client.HTTPSConnection("127.0.0.1", int(port), context=context)
headers = {"Authorization": f"PVEAPIToken={token}", "Content-Type": "application/x-www-form-urlencoded"}


def call(method, path, params):
    body = urllib.parse.urlencode(params)
    if method == "DELETE":
        path, body = f"{path}?{body}", None
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise SystemExit(f"{method} {path}: {response.status} {response.reason}")
    return json.loads(data)["data"]


start = time.perf_counter()
volids = []
for i in range(count):
    volids.append(call("POST", base, {"vmid": 990, "filename": f"vm-990-disk-{i}.qcow2", "size": "1M"}))
allocated = time.perf_counter()
for volid in volids:
    # `delay` makes the call wait for the imgdel task, so the timing includes the removal.
    call("DELETE", f"{base}/{urllib.parse.quote(volid, safe='')}", {"delay": 5})
api_alloc, api_free = allocated - start, time.perf_counter() - allocated

bare_dir = tempfile.mkdtemp(dir=data_dir)
start = time.perf_counter()
paths = []
for i in range(count):
    path = f"{bare_dir}/vm-990-disk-{i}.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", "-o", "preallocation=metadata", path, "1024K"],
                   check=True, stdout=subprocess.DEVNULL)
    paths.append(path)
allocated = time.perf_counter()
for path in paths:
    subprocess.run(["rm", path], check=True)
bare_alloc, bare_free = allocated - start, time.perf_counter() - allocated
os.rmdir(bare_dir)

print(f"{count} qcow2 volumes: API alloc {api_alloc:.2f} s + free {api_free:.2f} s = {api_alloc + api_free:.2f} s")
print(f"{count} qcow2 volumes: bare qemu-img {bare_alloc:.2f} s + rm {bare_free:.2f} s = {bare_alloc + bare_free:.2f} s")
print(f"ratio API / bare: {(api_alloc + api_free) / (bare_alloc + bare_free):.2f}x (target <= 1.5x)")
