"""Snapshots, templates and clones of real VMs, judged by what the guest reports on its console."""

from __future__ import annotations

import re

from test_vm import NODE, boot_and_write_marker, create_vm, expect_on_console, node, power, wait_task  # noqa: F401
from vm_fixtures import guest_iso  # noqa: F401


def task_ok(root, method, path, params=None, timeout=180):
    upid = root.ok(method, path, params or {})
    status = wait_task(root, upid, timeout=timeout)
    assert status["exitstatus"] == "OK", (path, status, root.ok("GET", f"/nodes/{NODE}/tasks/{upid}/log"))
    return status


def tick(console) -> int:
    line = console.command("tick", "VIREO-TICK", timeout=20)
    return int(re.search(r"VIREO-TICK (\d+)", line[line.rfind("VIREO-TICK"):]).group(1))


def test_snapshot_with_ram_state_and_rollback_returns_the_guest_to_that_moment(node):
    root = node.root
    create_vm(root, 110)
    assert power(root, 110, "start")["exitstatus"] == "OK"
    console = node.serial(110)
    try:
        console.wait_for("VIREO-GUEST-READY", timeout=90)
        console.wait_for("VIREO-TICK 1", timeout=20)
        before = tick(console)
        task_ok(root, "POST", f"/nodes/{NODE}/qemu/110/snapshot",
                {"snapname": "ready", "vmstate": 1, "description": "booted"})
        # The guest runs on after the snapshot; then it is changed: disk marker and ticks move on.
        assert root.ok("GET", f"/nodes/{NODE}/qemu/110/status/current")["qmpstatus"] == "running"
        mark = console.mark()
        console.command("write-disk after-snapshot", "VIREO-DISK-WROTE after-snapshot")
        console.wait_for(f"VIREO-TICK {before + 2}", since=mark, timeout=30)
    finally:
        console.close()

    snapshots = {s["name"]: s for s in root.ok("GET", f"/nodes/{NODE}/qemu/110/snapshot")}
    assert snapshots["ready"]["vmstate"] == 1 and snapshots["ready"]["description"] == "booted"
    assert snapshots["current"]["parent"] == "ready"
    config = root.ok("GET", f"/nodes/{NODE}/qemu/110/snapshot/ready/config")
    assert config["vmstate"].startswith("local:110/vm-110-state-ready")

    task_ok(root, "POST", f"/nodes/{NODE}/qemu/110/snapshot/ready/rollback")
    status = root.ok("GET", f"/nodes/{NODE}/qemu/110/status/current")
    assert status["status"] == "running" and status["qmpstatus"] == "running"
    console = node.serial(110)
    try:
        # Same guest memory as at the snapshot: the tick counter is back, no new boot happened.
        after = tick(console)
        assert before <= after < before + 2, (before, after)
        line = console.command("read-disk", "VIREO-DISK-")
        assert "after-snapshot" not in line and "VIREO-DISK-FOUND boot-" in line, line
    finally:
        console.close()

    task_ok(root, "DELETE", f"/nodes/{NODE}/qemu/110/snapshot/ready")
    names = [s["name"] for s in root.ok("GET", f"/nodes/{NODE}/qemu/110/snapshot")]
    assert names == ["current"]
    assert "parent" not in root.ok("GET", f"/nodes/{NODE}/qemu/110/config")
    volumes = [v["volid"] for v in root.ok("GET", f"/nodes/{NODE}/storage/local/content", {"vmid": 110})]
    assert not any("state" in v for v in volumes), volumes
    assert power(root, 110, "stop")["exitstatus"] == "OK"


def test_snapshot_of_a_stopped_vm_without_ram_rolls_back_the_disk(node):
    root = node.root
    create_vm(root, 111)
    boot_and_write_marker(node, 111, "first")
    assert power(root, 111, "stop")["exitstatus"] == "OK"
    task_ok(root, "POST", f"/nodes/{NODE}/qemu/111/snapshot", {"snapname": "disk1"})
    status, _, body = root.post(f"/nodes/{NODE}/qemu/111/snapshot", {"snapname": "disk1"})
    assert status == 400 and "snapname" in body["errors"], body

    assert power(root, 111, "start")["exitstatus"] == "OK"
    console = node.serial(111)
    try:
        console.wait_for("VIREO-DISK-FOUND first", timeout=90)
        console.wait_for("VIREO-GUEST-READY", timeout=30)
        console.command("write-disk second", "VIREO-DISK-WROTE second")
    finally:
        console.close()
    task_ok(root, "POST", f"/nodes/{NODE}/qemu/111/snapshot/disk1/rollback", {"start": 1})
    expect_on_console(node, 111, "VIREO-DISK-FOUND first")
    assert power(root, 111, "stop")["exitstatus"] == "OK"


def test_linked_clone_of_a_template_boots_and_a_full_clone_is_independent(node):
    root = node.root
    create_vm(root, 120)
    boot_and_write_marker(node, 120, "golden-image")
    assert power(root, 120, "stop")["exitstatus"] == "OK"

    task_ok(root, "POST", f"/nodes/{NODE}/qemu/120/template")
    template = root.ok("GET", f"/nodes/{NODE}/qemu/120/config")
    assert template["template"] == 1 and template["virtio0"].startswith("local:120/base-120-disk-0.qcow2")
    status, reason, _ = root.post(f"/nodes/{NODE}/qemu/120/status/start", {})
    assert status == 409 and "template" in reason, (status, reason)

    # Linked clone (the default from a template): shares the base image, boots, sees its data.
    task_ok(root, "POST", f"/nodes/{NODE}/qemu/120/clone", {"newid": 121, "name": "linked"})
    linked = root.ok("GET", f"/nodes/{NODE}/qemu/121/config")
    assert linked["name"] == "linked" and "template" not in linked
    assert linked["virtio0"].startswith("local:120/base-120-disk-0.qcow2/121/vm-121-disk-0.qcow2")
    assert linked["smbios1"] != template["smbios1"] and linked["vmgenid"] != template["vmgenid"]
    assert power(root, 121, "start")["exitstatus"] == "OK"
    console = node.serial(121)
    try:
        console.wait_for("VIREO-DISK-FOUND golden-image", timeout=90)
        console.wait_for("VIREO-GUEST-READY", timeout=30)
    finally:
        console.close()
    assert power(root, 121, "stop")["exitstatus"] == "OK"
    # The base is in use: the template cannot be destroyed under its linked clone.
    status, reason, _ = root.delete(f"/nodes/{NODE}/qemu/120")
    assert status == 409 and "121" in reason, (status, reason)
    assert root.get(f"/nodes/{NODE}/qemu/120/config")[0] == 200

    # Full clone of a plain VM: survives the destruction of its source.
    create_vm(root, 130)
    boot_and_write_marker(node, 130, "source-130")
    assert power(root, 130, "stop")["exitstatus"] == "OK"
    status, _, body = root.post(f"/nodes/{NODE}/qemu/130/clone", {"newid": 131, "full": 0})
    assert status == 400 and "full" in body["errors"], body
    task_ok(root, "POST", f"/nodes/{NODE}/qemu/130/clone", {"newid": 131, "full": 1, "format": "raw"})
    full = root.ok("GET", f"/nodes/{NODE}/qemu/131/config")
    assert full["virtio0"].startswith("local:131/vm-131-disk-0.raw"), full
    task_ok(root, "DELETE", f"/nodes/{NODE}/qemu/130", {"purge": 1})
    assert power(root, 131, "start")["exitstatus"] == "OK"
    expect_on_console(node, 131, "VIREO-DISK-FOUND source-130")
    assert power(root, 131, "stop")["exitstatus"] == "OK"
