"""The node and cluster endpoints Proxmox's tools call first (issue 11), on the real daemon.

Every parameterless GET under /nodes/{node} and /cluster is compared field by field with the
return schema of Proxmox's API (tests/api/pve-returns.json, generated from the schema): types,
required properties, enums, and no unknown properties where the schema allows none. Then the
endpoints that change things are tried for what a user sees: datacenter options round trip,
`next-id` honoured by /cluster/nextid, DNS/hosts/time changes (in the test daemon's own host
root, never the machine's), services without systemd, schedules, mappings, metric servers,
replication refusing with its reason, containers listing nothing, the batch `execute`, the log
from journal files, and API coverage of the schema's in-scope endpoints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, create_user, prerequisite, start_daemon, stop_daemon, ticket_session, unique
from schema_values import create_vm, destroy_vm, free_vmid, openapi_document, wait_task

RETURNS = json.loads((Path(__file__).parent / "pve-returns.json").read_text())
sys.path.insert(0, str(REPO / "scripts"))
import api_coverage  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Field-by-field comparison with the schema's return types


def conforms(value, schema: dict, where: str, problems: list[str]) -> None:
    """Appends to `problems` every way `value` differs from the return `schema`."""
    if not schema:
        return
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if value is None:
        if kind not in (None, "null") and not schema.get("optional"):
            problems.append(f"{where}: null where the schema has {kind}")
        return
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, (bool, int)) and v in (0, 1, True, False),
        "null": lambda v: v is None,
    }
    if kind in checks and not checks[kind](value):
        problems.append(f"{where}: {type(value).__name__} {value!r:.60} where the schema has {kind}")
        return
    if "enum" in schema and schema["enum"] and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if kind == "array" and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value[:50]):
            conforms(item, schema["items"], f"{where}[{index}]", problems)
    if kind == "object" and isinstance(schema.get("properties"), dict):
        properties = schema["properties"]
        for name, sub in properties.items():
            if name.endswith("[n]"):
                continue
            if name not in value:
                if not sub.get("optional") and "default" not in sub:
                    problems.append(f"{where}: required field '{name}' missing")
                continue
            conforms(value[name], sub, f"{where}.{name}", problems)
        if schema.get("additionalProperties") == 0:
            indexed = [n[:-3] for n in properties if n.endswith("[n]")]
            for name in value:
                if name not in properties and not any(name.startswith(p) for p in indexed):
                    problems.append(f"{where}: field '{name}' is not in the schema")


# GETs that need a running thing, an argument the walk cannot invent, or hardware.
NOT_WALKED = {
    "/nodes/{node}/query-url-metadata",  # needs a URL
    "/nodes/{node}/disks/smart",  # needs a disk
    "/cluster/config/join",  # a standalone node has no join info (as Proxmox); tests/api/test_cluster.py
}


# Where Proxmox itself answers other than its schema says, Vireo answers as Proxmox does.
AS_PROXMOX_ANSWERS = {
    "/cluster/nextid": "the VM ID comes as a JSON string (the schema says integer); clients parse it",
}


def parameterless_gets(root) -> list[str]:
    document = openapi_document(root)
    paths = []
    for path, operations in document["paths"].items():
        short = path.removeprefix("/api2/json")
        if "get" not in operations or not (short.startswith("/nodes/{node}") or short.startswith("/cluster")):
            continue
        if "{" in short.replace("{node}", ""):
            continue
        required = [p for p in operations["get"].get("parameters", []) if p.get("required") and p["in"] == "query"]
        if required or short in NOT_WALKED:
            continue
        if "/vireo/" in short or operations["get"].get("x-vireo-addition"):
            continue  # Vireo's own calls: Proxmox has no schema to compare them with
        paths.append(short)
    return sorted(paths)


def test_node_and_cluster_answers_match_the_schema(daemon):
    root = daemon.root
    walked, problems = [], []
    for path in parameterless_gets(root):
        concrete = path.replace("{node}", daemon.node)
        status, reason, body = root.get(concrete)
        schema = RETURNS.get(f"GET {path}")
        assert schema is not None, f"no return schema for GET {path}"
        # A host tool this machine lacks (zpool) is a clear 501, not a wrong answer.
        if status == 501:
            assert body and "is not installed" in body.get("message", ""), f"GET {concrete}: {status} {body}"
            continue
        assert status == 200, f"GET {concrete}: {status} {reason} {body}"
        if path not in AS_PROXMOX_ANSWERS:
            conforms(body.get("data"), schema, f"GET {path}", problems)
        walked.append(path)
    assert len(walked) >= 45, f"only {len(walked)} endpoints walked: {walked}"
    assert not problems, "answers that differ from Proxmox's schema:\n" + "\n".join(problems)


def test_api_coverage_is_at_least_half_of_the_schema(daemon):
    result = api_coverage.coverage(openapi_document(daemon.root))
    answered, scope = len(result["answered"]), len(result["scope"])
    print(f"Vireo answers {answered} of {scope} in-scope endpoints ({100 * answered / scope:.0f}%)")
    assert answered * 2 >= scope, f"{answered} of {scope}: missing {sorted(result['missing'])[:40]}"


# ---------------------------------------------------------------------------------------------
# What Proxmox clients ask a node first


def test_version_subscription_and_containers(admin_api, daemon):
    version = admin_api.nodes(daemon.node).version.get()
    assert version["version"] and version["release"]
    subscription = admin_api.nodes(daemon.node).subscription.get()
    assert subscription["status"] == "notfound"
    # A Proxmox node without containers lists none; Vireo runs none.
    assert admin_api.nodes(daemon.node).lxc.get() == []
    resources = admin_api.cluster.resources.get()
    assert not [r for r in resources if r.get("type") == "lxc"]
    status, _, body = daemon.root.get(f"/nodes/{daemon.node}/lxc/100/status/current")
    assert status == 501 and "does not run containers" in body["message"]
    status, _, body = daemon.root.post(f"/nodes/{daemon.node}/lxc", {"vmid": 100, "ostemplate": "x"})
    assert status == 501 and "does not run containers" in body["message"]


def test_services_say_why_they_cannot_be_controlled(daemon):
    root, node = daemon.root, daemon.node
    services = root.ok("GET", f"/nodes/{node}/services")
    names = {s["service"] for s in services}
    assert {"pveproxy", "pvedaemon", "sshd", "cron"} <= names
    state = root.ok("GET", f"/nodes/{node}/services/sshd/state")
    assert state["service"] == "sshd" and state["name"] == "ssh.service"
    # Stopping the daemon that answers is refused, whatever the init system.
    status, _, body = root.post(f"/nodes/{node}/services/pveproxy/stop")
    assert status == 400 and "vireod itself" in body["message"]
    status, _, body = root.post(f"/nodes/{node}/services/nosuch/start")
    assert status == 400 and "service" in body.get("errors", {})
    if not os.path.exists("/run/systemd/system"):
        status, _, body = root.post(f"/nodes/{node}/services/cron/restart")
        assert status == 503 and "systemd does not run this host" in body["message"]


def test_dns_hosts_and_time_change_the_nodes_files_only(daemon, cleanup):
    root, node = daemon.root, daemon.node
    cleanup.add(root.put, f"/nodes/{node}/time", {"timezone": "UTC"})
    real_resolv = Path("/etc/resolv.conf").read_text() if Path("/etc/resolv.conf").exists() else None
    root.ok("PUT", f"/nodes/{node}/dns", {"search": "example.test", "dns1": "192.0.2.53", "dns2": "2001:db8::53"})
    dns = root.ok("GET", f"/nodes/{node}/dns")
    assert dns == {"search": "example.test", "dns1": "192.0.2.53", "dns2": "2001:db8::53"}
    status, _, body = root.put(f"/nodes/{node}/dns", {"search": "x", "dns1": "not-an-ip"})
    assert status == 400 and "dns1" in body["errors"]
    assert root.ok("GET", f"/nodes/{node}/dns")["dns1"] == "192.0.2.53", "a refused change changed something"
    if real_resolv is not None:
        assert Path("/etc/resolv.conf").read_text() == real_resolv, "the machine's resolv.conf was changed"

    hosts = root.ok("GET", f"/nodes/{node}/hosts")
    new = hosts["data"] + "192.0.2.10 vireo-test-host\n"
    root.ok("POST", f"/nodes/{node}/hosts", {"data": new, "digest": hosts["digest"]})
    assert "vireo-test-host" in root.ok("GET", f"/nodes/{node}/hosts")["data"]
    status, _, body = root.post(f"/nodes/{node}/hosts", {"data": "x\n", "digest": hosts["digest"]})
    assert status == 409 and "modified" in body["message"], "a stale digest must be refused"

    root.ok("PUT", f"/nodes/{node}/time", {"timezone": "Europe/Vienna"})
    clock = root.ok("GET", f"/nodes/{node}/time")
    assert clock["timezone"] == "Europe/Vienna"
    assert clock["localtime"] - clock["time"] in (3600, 7200)
    for bad in ("Nowhere/City", "../../etc/passwd", "/etc/localtime"):
        status, _, body = root.put(f"/nodes/{node}/time", {"timezone": bad})
        assert status == 400 and "timezone" in body["errors"], bad
    assert root.ok("GET", f"/nodes/{node}/time")["timezone"] == "Europe/Vienna"


def test_node_config_round_trip(daemon):
    root, node = daemon.root, daemon.node
    root.ok("PUT", f"/nodes/{node}/config", {"description": "rack 4\nrow 2", "startall-onboot-delay": 10,
                                             "wakeonlan": "mac=52:54:00:12:34:56,broadcast-address=192.0.2.255"})
    config = root.ok("GET", f"/nodes/{node}/config")
    assert config["description"] == "rack 4\nrow 2" and config["startall-onboot-delay"] == 10
    assert config["wakeonlan"].startswith("mac=52:54:00:12:34:56")
    assert root.ok("GET", f"/nodes/{node}/config", {"property": "startall-onboot-delay"}).keys() == {
        "startall-onboot-delay", "digest"}
    status, _, body = root.put(f"/nodes/{node}/config", {"wakeonlan": "mac=zz:zz"})
    assert status == 400 and "wakeonlan" in body["errors"]
    root.ok("PUT", f"/nodes/{node}/config", {"delete": "wakeonlan,description"})
    config = root.ok("GET", f"/nodes/{node}/config")
    assert "wakeonlan" not in config and "description" not in config


# ---------------------------------------------------------------------------------------------
# Cluster


def test_datacenter_options_and_next_id(daemon, cleanup):
    root = daemon.root
    cleanup.add(lambda: root.put("/cluster/options", {"delete": "next-id,keyboard,migration,tag-style"}))
    root.ok("PUT", "/cluster/options", {"keyboard": "de", "next-id": "lower=4100,upper=4110",
                                        "migration": "secure,network=192.0.2.0/24",
                                        "tag-style": "shape=circle,ordering=alphabetical"})
    options = root.ok("GET", "/cluster/options")
    assert options["keyboard"] == "de"
    assert options["next-id"] == {"lower": 4100, "upper": 4110}
    assert options["migration"] == {"type": "secure", "network": "192.0.2.0/24"}
    assert options["tag-style"]["shape"] == "circle"
    assert isinstance(options["allowed-tags"], list)
    nextid = root.ok("GET", "/cluster/nextid")
    assert 4100 <= int(nextid) < 4110
    for params, name in [({"next-id": "lower=500,upper=300"}, "next-id"), ({"mac_prefix": "BD:24:11"}, "mac_prefix"),
                         ({"keyboard": "xx"}, "keyboard"), ({"migration": "type=teleport"}, "migration"),
                         ({"tag-style": "colour=red"}, "tag-style")]:
        status, _, body = root.put("/cluster/options", params)
        assert status == 400 and name in body["errors"], (params, body)
    assert root.ok("GET", "/cluster/options")["next-id"] == {"lower": 4100, "upper": 4110}


def test_mac_prefix_is_given_to_new_nics(daemon, cleanup):
    root, node = daemon.root, daemon.node
    cleanup.add(root.put, "/cluster/options", {"delete": "mac_prefix"})
    root.ok("PUT", "/cluster/options", {"mac_prefix": "02:AB:CD"})
    vmid = free_vmid(root)
    create_vm(root, node, vmid, cleanup, net0="virtio,bridge=vmbr0")
    root.ok("PUT", f"/nodes/{node}/qemu/{vmid}/config", {"net1": "e1000,bridge=vmbr0"})
    config = root.ok("GET", f"/nodes/{node}/qemu/{vmid}/config")
    assert config["net0"].startswith("virtio=02:AB:CD:") and config["net1"].startswith("e1000=02:AB:CD:")
    clone = free_vmid(root, {vmid})
    cleanup.add(destroy_vm, root, node, clone)
    upid = root.ok("POST", f"/nodes/{node}/qemu/{vmid}/clone", {"newid": clone, "full": 1})
    assert wait_task(root, node, upid)["exitstatus"] == "OK"
    assert root.ok("GET", f"/nodes/{node}/qemu/{clone}/config")["net0"].startswith("virtio=02:AB:CD:")


def test_schedule_analysis(daemon):
    # Schedules are in the node's time zone.
    daemon.root.ok("PUT", f"/nodes/{daemon.node}/time", {"timezone": "UTC"})
    start = 1796601600  # 2026-12-07 00:00:00 UTC, a Monday
    rows = daemon.root.ok("GET", "/cluster/jobs/schedule-analyze",
                          {"schedule": "mon..fri 02:30", "starttime": start, "iterations": 6})
    assert [r["utc"] for r in rows][:2] == ["2026-12-07 02:30:00", "2026-12-08 02:30:00"]
    assert rows[5]["utc"] == "2026-12-14 02:30:00", "Saturday and Sunday are skipped"
    quarter = daemon.root.ok("GET", "/cluster/jobs/schedule-analyze", {"schedule": "*/15", "starttime": start})
    assert [r["timestamp"] - start for r in quarter[:3]] == [900, 1800, 2700]
    status, _, body = daemon.root.get("/cluster/jobs/schedule-analyze", {"schedule": "every tuesday-ish"})
    assert status == 400


def test_mappings_metrics_replication_and_backup_info(daemon, cleanup):
    root, node = daemon.root, daemon.node
    mapping = unique("map")
    cleanup.add(lambda: root.delete(f"/cluster/mapping/dir/{mapping}"))
    root.ok("POST", "/cluster/mapping/dir", {"id": mapping, "map": [f"node={node},path=/srv/shared"],
                                            "description": "shared files"})
    listed = [m for m in root.ok("GET", "/cluster/mapping/dir", {"check-node": node}) if m["id"] == mapping]
    assert listed and listed[0]["map"] == [f"node={node},path=/srv/shared"]
    assert listed[0]["checks"] and "does not exist" in listed[0]["checks"][0]["message"]
    status, _, body = root.post("/cluster/mapping/dir", {"id": unique("map"), "map": [f"node={node},path=rel"]})
    assert status == 400 and "map" in body["errors"]
    status, _, body = root.post("/cluster/mapping/pci", {"id": unique("map"), "map": [f"node={node},path=zz"]})
    assert status == 400 and "map" in body["errors"]

    server = unique("influx")
    cleanup.add(lambda: root.delete(f"/cluster/metrics/server/{server}"))
    root.ok("POST", f"/cluster/metrics/server/{server}", {"type": "influxdb", "server": "192.0.2.5", "port": 8089,
                                                          "token": "s3cret", "influxdbproto": "http"})
    shown = root.ok("GET", f"/cluster/metrics/server/{server}")
    assert shown["type"] == "influxdb" and shown["port"] == 8089 and "token" not in shown
    status, _, body = root.post(f"/cluster/metrics/server/{unique('g')}",
                                {"type": "graphite", "server": "192.0.2.5", "port": 2003, "bucket": "b"})
    assert status == 400 and "bucket" in body["errors"]
    export = root.ok("GET", "/cluster/metrics/export")
    assert any(s["id"] == f"node/{node}" and s["metric"] == "mem_total" for s in export["data"])

    status, _, body = root.post("/cluster/replication", {"id": "100-0", "type": "local", "target": "other"})
    assert status == 400 and "cannot replicate" in body["message"]
    assert root.ok("GET", "/cluster/replication") == []
    status, _, _ = root.get(f"/nodes/{node}/replication/100-0/status")
    assert status == 404

    vms = {int(v["vmid"]) for v in root.ok("GET", f"/nodes/{node}/qemu")}
    not_backed_up = {entry["vmid"] for entry in root.ok("GET", "/cluster/backup-info/not-backed-up")}
    assert not_backed_up == vms


def test_execute_runs_each_command_with_the_callers_rights(daemon, cleanup):
    root, node = daemon.root, daemon.node
    commands = [
        {"path": "version", "method": "GET"},
        {"path": "time", "method": "PUT", "args": {"timezone": "Nowhere/X"}},
        {"path": "no/such/path", "method": "GET"},
    ]
    results = root.ok("POST", f"/nodes/{node}/execute", {"commands": json.dumps(commands)})
    assert results[0]["status"] == 200 and results[0]["data"]["version"]
    assert results[1]["status"] == 400 and "timezone" in results[1]["errors"]
    assert results[2]["status"] == 501
    status, _, body = root.post(f"/nodes/{node}/execute", {"commands": "not json"})
    assert status == 400 and "commands" in body["errors"]
    # Not for anyone but root, as on Proxmox.
    user = create_user(root, cleanup, role="Administrator", path="/")
    session = ticket_session(daemon, user.userid, user.password)
    response = session.post(daemon.api(f"/nodes/{node}/execute"), data={"commands": json.dumps(commands[:1])})
    assert response.status_code == 403


def test_cluster_log_shows_tasks(daemon):
    root, node = daemon.root, daemon.node
    upid = root.ok("POST", f"/nodes/{node}/suspendall")
    wait_task(root, node, upid)
    log = root.ok("GET", "/cluster/log", {"max": 20})
    assert any(upid in entry["msg"] for entry in log), log[:3]


def test_syslog_and_journal_from_journal_files(tmp_path):
    remote = shutil.which("systemd-journal-remote") or "/lib/systemd/systemd-journal-remote"
    prerequisite(os.access(remote, os.X_OK), "systemd-journal-remote (Debian package systemd-journal-remote)")
    journal_dir = tmp_path / "journal"
    journal_dir.mkdir()
    entries = []
    base = int(time.time()) - 600
    for n in range(1, 8):
        entries.append(
            f"__CURSOR=s=abc;i={n}\n__REALTIME_TIMESTAMP={(base + n) * 1_000_000}\n__MONOTONIC_TIMESTAMP={n}\n"
            f"_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=testnode\nSYSLOG_IDENTIFIER=vireotest\n"
            f"_PID={1000 + n}\nMESSAGE=line number {n}\n\n"
        )
    subprocess.run([remote, f"--output={journal_dir}/remote.journal", "-"], input="".join(entries).encode(),
                   check=True, capture_output=True)
    daemon = start_daemon(["--auth-failure-delay", "0", "--journal-directory", str(journal_dir)])
    try:
        root, node = daemon.root, daemon.node
        status, _, body = root.get(f"/nodes/{node}/syslog", {"start": 2, "limit": 3})
        assert status == 200, body
        assert body["total"] == 7
        assert [line["n"] for line in body["data"]] == [3, 4, 5]
        assert "line number 3" in body["data"][0]["t"]
        journal = root.ok("GET", f"/nodes/{node}/journal", {"lastentries": 3})
        assert len(journal) == 5 and "line number 5" in journal[1] and "line number 7" in journal[3]
        following = root.ok("GET", f"/nodes/{node}/journal", {"startcursor": journal[0]})
        assert [line for line in following if "line number" in line][0].endswith("line number 6")
    finally:
        stop_daemon(daemon)


def test_certificate_info_is_the_served_certificate(daemon):
    import hashlib
    import ssl

    served = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", daemon.port)))
    fingerprint = ":".join(f"{byte:02X}" for byte in hashlib.sha256(served).digest())
    info = daemon.root.ok("GET", f"/nodes/{daemon.node}/certificates/info")
    assert info[0]["fingerprint"] == fingerprint and info[0]["filename"] == "pve-ssl.pem"
    assert daemon.node in info[0]["san"] and info[0]["notafter"] > time.time()
