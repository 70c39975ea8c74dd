"""Disk operations and the pending model of VM configs, through the API."""

from __future__ import annotations

import os
import re

from test_vm import NODE, create_vm, node, power, wait_task  # noqa: F401
from vm_fixtures import guest_iso  # noqa: F401


def run_task(root, method, path, params=None):
    upid = root.ok(method, path, params or {})
    status = wait_task(root, upid)
    log = "\n".join(line["t"] for line in root.ok("GET", f"/nodes/{NODE}/tasks/{upid}/log"))
    return status["exitstatus"], log


def volumes(root, storage, vmid):
    return {v["volid"]: v for v in root.ok("GET", f"/nodes/{NODE}/storage/{storage}/content", {"vmid": vmid})}


def test_resize_move_and_unlink_of_a_stopped_vm(node):
    root = node.root
    create_vm(root, 140)
    exit, log = run_task(root, "PUT", f"/nodes/{NODE}/qemu/140/resize", {"disk": "virtio0", "size": "+1G"})
    assert exit == "OK", log
    config = root.ok("GET", f"/nodes/{NODE}/qemu/140/config")
    assert "size=2G" in config["virtio0"], config
    disk = config["virtio0"].split(",")[0]
    assert volumes(root, "local", 140)[disk]["size"] == 2 * 1024**3

    exit, log = run_task(root, "PUT", f"/nodes/{NODE}/qemu/140/resize", {"disk": "virtio0", "size": "1G"})
    assert exit != "OK" and "shrinking" in exit, (exit, log)
    status, _, body = root.put(f"/nodes/{NODE}/qemu/140/resize", {"disk": "virtio0", "size": "lots"})
    assert status == 400 and "size" in body["errors"], body

    other = os.path.join(node.base, "other")
    root.ok("POST", "/storage", {"storage": "other", "type": "dir", "path": other, "content": "images"})
    exit, log = run_task(root, "POST", f"/nodes/{NODE}/qemu/140/move_disk",
                         {"disk": "virtio0", "storage": "other", "format": "raw"})
    assert exit == "OK", log
    config = root.ok("GET", f"/nodes/{NODE}/qemu/140/config")
    assert config["virtio0"].startswith("other:140/vm-140-disk-0.raw") and "size=2G" in config["virtio0"], config
    assert config["unused0"] == disk
    assert volumes(root, "other", 140)["other:140/vm-140-disk-0.raw"]["size"] == 2 * 1024**3

    # Unlinking an unused disk deletes it; an attached disk becomes unused unless forced.
    root.ok("PUT", f"/nodes/{NODE}/qemu/140/unlink", {"idlist": "unused0"})
    config = root.ok("GET", f"/nodes/{NODE}/qemu/140/config")
    assert "unused0" not in config and disk not in volumes(root, "local", 140)
    root.ok("PUT", f"/nodes/{NODE}/qemu/140/unlink", {"idlist": "virtio0"})
    config = root.ok("GET", f"/nodes/{NODE}/qemu/140/config")
    assert "virtio0" not in config and config["unused0"] == "other:140/vm-140-disk-0.raw"
    assert "other:140/vm-140-disk-0.raw" in volumes(root, "other", 140)
    root.ok("PUT", f"/nodes/{NODE}/qemu/140/unlink", {"idlist": "unused0", "force": 1})
    assert volumes(root, "other", 140) == {}


def test_changes_to_a_running_vm_wait_in_pending_until_the_next_start(node):
    root = node.root
    create_vm(root, 141)
    assert power(root, 141, "start")["exitstatus"] == "OK"
    try:
        root.ok("PUT", f"/nodes/{NODE}/qemu/141/config", {"memory": 384, "name": "renamed", "cores": 2})
        config = root.ok("GET", f"/nodes/{NODE}/qemu/141/config", {"current": 1})
        assert config["memory"] == "256" and config["name"] == "renamed" and "cores" not in config
        pending = {item["key"]: item for item in root.ok("GET", f"/nodes/{NODE}/qemu/141/pending")}
        assert pending["memory"] == {"key": "memory", "value": "256", "pending": "384"}
        assert pending["cores"]["pending"] == 2 or pending["cores"]["pending"] == "2"
        # A reverted change leaves pending; QEMU still has what it was started with.
        root.ok("PUT", f"/nodes/{NODE}/qemu/141/config", {"revert": "cores"})
        assert "cores" not in {i["key"] for i in root.ok("GET", f"/nodes/{NODE}/qemu/141/pending")}
        status = root.ok("GET", f"/nodes/{NODE}/qemu/141/status/current")
        assert status["maxmem"] == 256 * 1024**2
    finally:
        assert power(root, 141, "stop")["exitstatus"] == "OK"
    assert power(root, 141, "start")["exitstatus"] == "OK"
    try:
        config = root.ok("GET", f"/nodes/{NODE}/qemu/141/config", {"current": 1})
        assert config["memory"] == "384"
        assert all("pending" not in item for item in root.ok("GET", f"/nodes/{NODE}/qemu/141/pending"))
        status = root.ok("GET", f"/nodes/{NODE}/qemu/141/status/current")
        assert status["maxmem"] == 384 * 1024**2 and status["mem"] > 0
    finally:
        assert power(root, 141, "stop")["exitstatus"] == "OK"


def test_qm_cli_snapshots_templates_clones_and_resize(node):
    from test_cli import ok, parse_json, run_cli

    def qm(*args):
        return ok(run_cli(["qm", *args], node.data_dir, timeout=120))

    qm("create", "160", "--memory", "128", "--kvm", "0", "--virtio0", "local:1,format=qcow2", "--name", "cli")
    out = qm("snapshot", "160", "first", "--description", "before changes")
    assert "TASK OK" in out, out
    qm("set", "160", "--memory", "192")
    qm("snapshot", "160", "second")
    tree = qm("listsnapshot", "160")
    lines = tree.splitlines()
    assert lines[0].startswith("`-> first") and "before changes" in lines[0], tree
    assert lines[1].strip().startswith("`-> second") and lines[2].strip().startswith("`-> current"), tree
    qm("rollback", "160", "first")
    assert parse_json(qm("config", "160", "--output-format", "json"))["memory"] == "128"
    qm("delsnapshot", "160", "second")
    qm("delsnapshot", "160", "first")
    assert [s["name"] for s in parse_json(qm("listsnapshot", "160", "--output-format", "json"))] == ["current"]

    qm("resize", "160", "virtio0", "+512M")
    assert "size=1536M" in parse_json(qm("config", "160", "--output-format", "json"))["virtio0"]
    qm("template", "160")
    qm("clone", "160", "161", "--name", "from-cli")
    clone = parse_json(qm("config", "161", "--output-format", "json"))
    assert clone["name"] == "from-cli" and "base-160-disk-0.qcow2/161/" in clone["virtio0"], clone
    listing = qm("list")
    assert re.search(r"^\s*161\s+from-cli\s+stopped", listing, re.M), listing

    bad = run_cli(["qm", "resize", "160"], node.data_dir)
    assert bad.returncode != 0 and "usage: vireo qm resize VMID DISK SIZE" in bad.stderr, bad.stderr
    qm("destroy", "161")
    qm("destroy", "160")
    assert parse_json(qm("list", "--output-format", "json")) == []


def test_vm_permissions_follow_the_schema(node):
    """PVEVMUser on one VM: see and power it, but no snapshots, config changes or other VMs."""
    from proxmoxer.core import ResourceException

    from conftest import pve
    from test_vm import node_daemon

    root = node.root
    create_vm(root, 170)
    create_vm(root, 171)
    root.ok("POST", "/access/users", {"userid": "vmuser@pve", "password": "vm-user-pass"})
    root.ok("PUT", "/access/acl", {"path": "/vms/170", "users": "vmuser@pve", "roles": "PVEVMUser"})
    api = pve(node_daemon(node), "vmuser@pve", "vm-user-pass")

    assert [vm["vmid"] for vm in api.nodes(NODE).qemu.get()] == [170]
    assert api.nodes(NODE).qemu(170).status.current.get()["status"] == "stopped"
    assert api.nodes(NODE).qemu(170).snapshot.get()[-1]["name"] == "current"

    def denied(call):
        try:
            call()
        except ResourceException as error:
            assert error.status_code == 403, error
            return
        raise AssertionError("allowed")

    denied(lambda: api.nodes(NODE).qemu(171).status.current.get())
    denied(lambda: api.nodes(NODE).qemu(170).snapshot.post(snapname="nope"))
    denied(lambda: api.nodes(NODE).qemu(170).config.put(memory=512))
    denied(lambda: api.nodes(NODE).qemu(170).clone.post(newid=172))
    denied(lambda: api.nodes(NODE).qemu(170).resize.put(disk="virtio0", size="+1G"))
    denied(lambda: api.nodes(NODE).qemu(170).template.post())
    denied(lambda: api.nodes(NODE).qemu(170).delete())
    # A CD-ROM is the one config change PVEVMUser may make (VM.Config.CDROM).
    api.nodes(NODE).qemu(170).config.put(ide2="none,media=cdrom")
    assert root.ok("GET", f"/nodes/{NODE}/qemu/170/config")["ide2"] == "none,media=cdrom"
    # Nothing else happened on the way.
    assert root.ok("GET", f"/nodes/{NODE}/qemu/170/config")["memory"] == "256"
    assert root.get(f"/nodes/{NODE}/qemu/172/config")[0] == 404


def test_live_disk_move_and_full_clone_of_a_running_vm(node):
    from test_vm import boot_and_write_marker, expect_on_console

    root = node.root
    other = os.path.join(node.base, "other")
    root.ok("POST", "/storage", {"storage": "other", "type": "dir", "path": other, "content": "images"})
    create_vm(root, 142)
    boot_and_write_marker(node, 142, "before-move")
    old = root.ok("GET", f"/nodes/{NODE}/qemu/142/config")["virtio0"].split(",")[0]
    pid = node.pidfile_pid(142)

    # The guest keeps running while its disk moves; afterwards it writes to the new volume.
    exit, log = run_task(root, "POST", f"/nodes/{NODE}/qemu/142/move_disk",
                         {"disk": "virtio0", "storage": "other", "format": "raw"})
    assert exit == "OK", log
    assert "mirror completed" in log, log
    config = root.ok("GET", f"/nodes/{NODE}/qemu/142/config")
    assert config["virtio0"].startswith("other:142/vm-142-disk-0.raw") and config["unused0"] == old, config
    assert node.pidfile_pid(142) == pid
    console = node.serial(142)
    try:
        console.command("write-disk after-move", "VIREO-DISK-WROTE after-move")
    finally:
        console.close()

    # A full clone of the running VM is the disk as it was when the copy caught up.
    exit, log = run_task(root, "POST", f"/nodes/{NODE}/qemu/142/clone", {"newid": 143, "full": 1})
    assert exit == "OK", log
    assert power(root, 142, "stop")["exitstatus"] == "OK"
    assert power(root, 143, "start")["exitstatus"] == "OK"
    expect_on_console(node, 143, "VIREO-DISK-FOUND after-move")
    assert power(root, 143, "stop")["exitstatus"] == "OK"
    # The moved disk is the one the VM boots from now.
    assert power(root, 142, "start")["exitstatus"] == "OK"
    expect_on_console(node, 142, "VIREO-DISK-FOUND after-move")
    assert power(root, 142, "stop")["exitstatus"] == "OK"


def test_disk_hotplug_on_a_running_vm(node):
    root = node.root
    create_vm(root, 144)
    assert power(root, 144, "start")["exitstatus"] == "OK"
    try:
        root.ok("PUT", f"/nodes/{NODE}/qemu/144/config", {"virtio1": "local:1,format=qcow2"})
        config = root.ok("GET", f"/nodes/{NODE}/qemu/144/config", {"current": 1})
        assert config["virtio1"].startswith("local:144/vm-144-disk-1.qcow2"), config
        assert all(item["key"] != "virtio1" or "pending" not in item
                   for item in root.ok("GET", f"/nodes/{NODE}/qemu/144/pending"))
        blocks = root.ok("POST", f"/nodes/{NODE}/qemu/144/monitor", {"command": "info block"})
        assert "drive-virtio1" in blocks and "vm-144-disk-1.qcow2" in blocks, blocks

        root.ok("PUT", f"/nodes/{NODE}/qemu/144/config", {"delete": "virtio1"})
        config = root.ok("GET", f"/nodes/{NODE}/qemu/144/config", {"current": 1})
        assert "virtio1" not in config and config["unused0"] == "local:144/vm-144-disk-1.qcow2", config
        blocks = root.ok("POST", f"/nodes/{NODE}/qemu/144/monitor", {"command": "info block"})
        assert "drive-virtio1" not in blocks, blocks
    finally:
        assert power(root, 144, "stop")["exitstatus"] == "OK"
