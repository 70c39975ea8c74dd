"""The metrics history (`rrddata`, as Proxmox's) and `/metrics` (Prometheus text), read by the
clients people use for them: proxmoxer and prometheus_client's parser."""

from __future__ import annotations

import os
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import NODE, make_token, pve, token_session, unique

NODE_FIELDS = {"cpu", "iowait", "loadavg", "maxcpu", "memtotal", "memused", "memfree", "memavailable", "swaptotal",
               "swapused", "roottotal", "rootused", "netin", "netout", "pressurecpusome", "pressureiosome",
               "pressureiofull", "pressurememorysome", "pressurememoryfull"}


def wait_rows(fetch, needed: set[str], timeout: float = 150) -> list[dict]:
    """rrddata rows until one holds every `needed` field: a row is a whole minute, so the first one
    comes at most two minutes after the daemon started sampling."""
    deadline = time.monotonic() + timeout
    while True:
        rows = fetch()
        if any(needed <= set(row) for row in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(5)


def test_node_and_storage_history_as_proxmox_serves_it(daemon, admin):
    api = pve(daemon, admin.userid, admin.password)
    rows = wait_rows(lambda: api.nodes(NODE).rrddata.get(timeframe="hour"), NODE_FIELDS)
    assert len(rows) == 60, len(rows)
    times = [row["time"] for row in rows]
    assert times == list(range(times[0], times[0] + 60 * 60, 60)) and times[-1] % 60 == 0
    assert times[-1] <= time.time() < times[-1] + 60
    full = [row for row in rows if NODE_FIELDS <= set(row)]
    assert full, rows[-3:]
    last = full[-1]
    assert last["maxcpu"] == os.cpu_count()
    assert 0 <= last["cpu"] <= 1 and 0 <= last["iowait"] <= 1
    assert 0 < last["memused"] < last["memtotal"] and last["memavailable"] == last["memfree"]
    assert 0 <= last["pressureiosome"] <= 100
    # The day at the same resolution, the week at 30 minutes; MAX is at least the AVERAGE.
    day = api.nodes(NODE).rrddata.get(timeframe="day", cf="MAX")
    assert len(day) == 1440 and day[-1]["time"] in (times[-1], times[-1] + 60)
    week = api.nodes(NODE).rrddata.get(timeframe="week")
    assert len(week) == 336 and all(row["time"] % 1800 == 0 for row in week)
    peaks = {row["time"]: row for row in day if "cpu" in row}
    for row in full:
        if row["time"] in peaks:
            assert peaks[row["time"]]["cpu"] >= row["cpu"] - 1e-9
    storage = wait_rows(lambda: api.nodes(NODE).storage("local").rrddata.get(timeframe="hour"), {"total", "used"})
    filled = [row for row in storage if {"total", "used"} <= set(row)]
    assert filled and 0 < filled[-1]["used"] <= filled[-1]["total"], storage[-3:]


def test_rrddata_refuses_bad_input_and_unknown_objects(daemon):
    root = daemon.root
    status, _, body = root.get(f"/nodes/{NODE}/rrddata", {"timeframe": "century"})
    assert status == 400 and "timeframe" in body["errors"], body
    status, _, body = root.get(f"/nodes/{NODE}/rrddata", {})
    assert status == 400 and "timeframe" in body["errors"], body
    status, _, body = root.get(f"/nodes/{NODE}/rrddata", {"timeframe": "hour", "cf": "MIN"})
    assert status == 400 and "cf" in body["errors"], body
    assert root.get(f"/nodes/{NODE}/qemu/99999/rrddata", {"timeframe": "hour"})[0] == 404
    assert root.get(f"/nodes/{NODE}/storage/{unique('nosuch')}/rrddata", {"timeframe": "hour"})[0] == 404


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_prometheus_metrics_with_a_token_of_an_auditor(daemon, make_user, cleanup):
    auditor = make_user(role="PVEAuditor")
    tokenid, secret = make_token(daemon.root, auditor.userid, privsep=False, cleanup=cleanup)
    r = token_session(tokenid, secret).get(f"https://127.0.0.1:{daemon.port}/metrics", timeout=30)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    # As a Prometheus scrape config sends it: `authorization: {type: PVEAPIToken, credentials: …}`.
    session = token_session(tokenid, secret)
    session.headers["Authorization"] = f"PVEAPIToken {tokenid}={secret}"
    assert session.get(f"https://127.0.0.1:{daemon.port}/metrics", timeout=30).status_code == 200
    found = families(r.text)
    assert found["vireo_up"].samples[0].labels == {"node": NODE} and found["vireo_up"].samples[0].value == 1
    cpus = found["vireo_node_cpus"].samples[0]
    assert cpus.labels == {"node": NODE} and cpus.value == os.cpu_count()
    assert found["vireo_node_network_receive_bytes"].type == "counter"
    pressure = {(s.labels["resource"], s.labels["kind"]) for s in found["vireo_node_pressure_avg10_percent"].samples}
    assert {("cpu", "some"), ("io", "some"), ("io", "full"), ("memory", "some"), ("memory", "full")} <= pressure
    local = [s for s in found["vireo_storage_size_bytes"].samples if s.labels["storage"] == "local"]
    assert local and local[0].labels == {"node": NODE, "storage": "local", "type": "dir"} and local[0].value > 0
    assert "vireo_tasks" in found


def test_prometheus_metrics_need_credentials_and_sys_audit(daemon, make_user, cleanup):
    url = f"https://127.0.0.1:{daemon.port}/metrics"
    anonymous = token_session("nobody@pve!x", "y")
    del anonymous.headers["Authorization"]
    assert anonymous.get(url, timeout=30).status_code == 401
    assert token_session("nobody@pve!x", "00000000-0000-0000-0000-000000000000").get(url, timeout=30).status_code == 401
    vm_user = make_user(role="PVEVMUser", path="/vms")
    tokenid, secret = make_token(daemon.root, vm_user.userid, privsep=False, cleanup=cleanup)
    r = token_session(tokenid, secret).get(url, timeout=30)
    assert r.status_code == 403 and "Sys.Audit" in r.reason, (r.status_code, r.reason)
    assert token_session(tokenid, secret).post(url, timeout=30).status_code == 501
