"""The smaller VM calls of issue 11 on the real daemon: storage features, sendkey, the VNC ticket
check, bulk power actions on real (disk-less, TCG) QEMU processes, and the guest agent's and
cloud-init's refusals when the VM cannot answer.
"""

from __future__ import annotations

import json

from conftest import anon_session, unique
from schema_values import create_vm, free_vmid, wait_task


def test_feature_follows_the_storage_and_format(daemon, cleanup):
    root, node = daemon.root, daemon.node
    qcow, raw = free_vmid(root), None
    create_vm(root, node, qcow, cleanup, scsi0="local:0.01,format=qcow2")
    raw = free_vmid(root, {qcow})
    create_vm(root, node, raw, cleanup, scsi0="local:0.01,format=raw")
    feature = lambda vmid, name: root.ok("GET", f"/nodes/{node}/qemu/{vmid}/feature", {"feature": name})
    assert feature(qcow, "snapshot") == {"hasFeature": 1, "nodes": [node]}
    assert feature(raw, "snapshot")["hasFeature"] == 0
    assert feature(qcow, "copy")["hasFeature"] == 1
    assert feature(qcow, "clone")["hasFeature"] == 0, "linked clones come from templates only"
    upid = root.ok("POST", f"/nodes/{node}/qemu/{qcow}/template")
    assert wait_task(root, node, upid)["exitstatus"] == "OK"
    assert feature(qcow, "clone")["hasFeature"] == 1
    status, _, body = root.get(f"/nodes/{node}/qemu/{raw}/feature", {"feature": "snapshot", "snapname": "nope"})
    assert status == 404 and "snapshot 'nope' does not exist" in body["message"]
    status, _, body = root.get(f"/nodes/{node}/qemu/{raw}/feature", {"feature": "teleport"})
    assert status == 400 and "feature" in body["errors"]


def test_sendkey_agent_and_cloudinit_refusals_on_a_stopped_vm(daemon, cleanup):
    root, node = daemon.root, daemon.node
    vmid = free_vmid(root)
    create_vm(root, node, vmid, cleanup, net0="virtio,bridge=vmbr0")
    status, _, body = root.put(f"/nodes/{node}/qemu/{vmid}/sendkey", {"key": "ctrl-alt-delete"})
    assert status == 409 and "not running" in body["message"]
    for bad in ("ctrl alt", "a;reboot", "-x"):
        status, _, body = root.put(f"/nodes/{node}/qemu/{vmid}/sendkey", {"key": bad})
        assert status == 400 and "key" in body["errors"], bad

    # No `agent` key: Proxmox's first check.
    status, _, body = root.post(f"/nodes/{node}/qemu/{vmid}/agent/ping")
    assert status == 400 and "No QEMU guest agent configured" in body["message"]
    root.ok("PUT", f"/nodes/{node}/qemu/{vmid}/config", {"agent": "1"})
    status, _, body = root.get(f"/nodes/{node}/qemu/{vmid}/agent/get-osinfo")
    assert status == 409 and f"VM {vmid} is not running" in body["message"]
    status, _, body = root.post(f"/nodes/{node}/qemu/{vmid}/agent/exec", {})
    assert status == 400 and "command" in body["errors"]
    names = {entry["name"] for entry in root.ok("GET", f"/nodes/{node}/qemu/{vmid}/agent")}
    assert {"ping", "exec", "file-read", "network-get-interfaces", "shutdown"} <= names

    # Cloud-init without a drive: nothing to generate, nothing pending; a bad ipconfig is refused.
    root.ok("PUT", f"/nodes/{node}/qemu/{vmid}/config", {"ciuser": "alice", "cipassword": "s3cret-Pw"})
    config = root.ok("GET", f"/nodes/{node}/qemu/{vmid}/config")
    assert config["cipassword"] == "**********"
    assert root.ok("PUT", f"/nodes/{node}/qemu/{vmid}/cloudinit") is None
    user = root.ok("GET", f"/nodes/{node}/qemu/{vmid}/cloudinit/dump", {"type": "user"})
    assert "user: alice\n" in user and "password: $5$" in user and "s3cret" not in user
    root.ok("PUT", f"/nodes/{node}/qemu/{vmid}/config", {"ipconfig0": "ip=10.0.0.5"})
    status, _, body = root.get(f"/nodes/{node}/qemu/{vmid}/cloudinit/dump", {"type": "network"})
    assert status == 400 and "not a CIDR" in json.dumps(body)
    # A second cloud-init drive is refused, the first one is made.
    root.ok("PUT", f"/nodes/{node}/qemu/{vmid}/config", {"ipconfig0": "ip=10.0.0.5/24", "ide2": "local:cloudinit"})
    status, _, body = root.put(f"/nodes/{node}/qemu/{vmid}/config", {"ide3": "local:cloudinit"})
    assert status == 400 and "already attached at 'ide2'" in json.dumps(body)
    assert f"vm-{vmid}-cloudinit" in root.ok("GET", f"/nodes/{node}/qemu/{vmid}/config")["ide2"]


def test_vnc_ticket_check_refuses_forgeries(daemon, admin):
    session = anon_session()
    forged = "PVEVNC:6B160000::" + "A" * 344
    response = session.post(daemon.api("/access/vncticket"), data={
        "authid": admin.userid, "vncticket": forged, "path": "/vms/100", "privs": "VM.Console", "port": 5900})
    assert response.status_code == 401 and response.content == b""


def test_bulk_start_and_shutdown(daemon, cleanup):
    root, node = daemon.root, daemon.node
    first = free_vmid(root)
    second = free_vmid(root, {first})
    for vmid in (first, second):
        create_vm(root, node, vmid, cleanup, name=unique("bulk"))
    upid = root.ok("POST", "/cluster/bulk-action/guest/start", {"vms": [first, second], "max-workers": 2})
    assert wait_task(root, node, upid, timeout=180)["exitstatus"] == "OK"
    for vmid in (first, second):
        assert root.ok("GET", f"/nodes/{node}/qemu/{vmid}/status/current")["status"] == "running"
    upid = root.ok("POST", f"/nodes/{node}/suspendall", {"vms": f"{first}"})
    assert wait_task(root, node, upid)["exitstatus"] == "OK"
    assert root.ok("GET", f"/nodes/{node}/qemu/{first}/status/current")["qmpstatus"] == "paused"
    # Nothing answers ACPI in a disk-less guest: the timeout ends them hard (force-stop).
    upid = root.ok("POST", "/cluster/bulk-action/guest/shutdown",
                   {"vms": [first, second], "timeout": 2, "force-stop": 1})
    assert wait_task(root, node, upid, timeout=180)["exitstatus"] == "OK"
    for vmid in (first, second):
        assert root.ok("GET", f"/nodes/{node}/qemu/{vmid}/status/current")["status"] == "stopped"
    status, _, body = root.post("/cluster/bulk-action/guest/migrate", {"target": "elsewhere", "vms": [first]})
    assert status == 400 and "target" in body["errors"]
