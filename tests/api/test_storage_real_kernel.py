"""LVM, LVM-thin and ZFS storages on a real kernel.

These need kernel features this development machine lacks (device-mapper for LVM, the zfs module
for ZFS). Where the kernel has them the tests run for real on loop devices; where it does not they
are reported as not run, with the reason (a kernel feature cannot be installed by the project's
scripts, so this is a skip even under CI=true). The plugins' command lines are unit-tested on
captured output either way (Tests/VireoStorageTests).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

from conftest import prerequisite

HAS_DEVICE_MAPPER = os.path.exists("/dev/mapper/control") and os.path.isdir("/sys/module/dm_mod")
HAS_ZFS = os.path.isdir("/sys/module/zfs")


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def loop_device():
    """A 1 GiB sparse loop device, detached and removed afterwards."""
    directory = tempfile.mkdtemp(prefix="vireo-realkernel-")
    image = os.path.join(directory, "disk.img")
    device = None
    try:
        with open(image, "wb") as f:
            f.truncate(1 << 30)
        device = run("losetup", "--find", "--show", image).strip()
        yield device
    finally:
        if device:
            subprocess.run(["losetup", "-d", device], check=False)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.skipif(not HAS_DEVICE_MAPPER, reason="not run here: this kernel has no device-mapper (LVM needs it)")
def test_lvmthin_storage_on_a_loop_device(daemon, loop_device):
    prerequisite(shutil.which("lvcreate") is not None, "lvm2 tools (lvcreate)")
    vg = f"vireo{uuid.uuid4().hex[:8]}"
    storage = f"thin{uuid.uuid4().hex[:6]}"
    run("pvcreate", "-q", loop_device)
    try:
        run("vgcreate", "-q", vg, loop_device)
        run("lvcreate", "-q", "-L", "512M", "-T", f"{vg}/data")
        status, reason, _ = daemon.root.post("/storage", {"storage": storage, "type": "lvmthin", "vgname": vg, "thinpool": "data"})
        assert status == 200, reason
        volid = daemon.root.ok("POST", f"/nodes/{daemon.node}/storage/{storage}/content",
                               {"vmid": 100, "filename": "vm-100-disk-0", "size": "64M"})
        listed = daemon.root.ok("GET", f"/nodes/{daemon.node}/storage/{storage}/content")
        assert any(v["volid"] == volid and v["size"] == 64 << 20 for v in listed)
        assert f"vm-100-disk-0" in run("lvs", "--noheadings", "-o", "lv_name", vg)
        daemon.root.ok("POST", f"/nodes/{daemon.node}/storage/{storage}/content/{volid}/snapshot", {"snapname": "s1"})
        daemon.root.ok("DELETE", f"/nodes/{daemon.node}/storage/{storage}/content/{volid}", {"delay": 30})
        assert "vm-100-disk-0" not in run("lvs", "--noheadings", "-o", "lv_name", vg)
    finally:
        daemon.root.delete(f"/storage/{storage}")
        subprocess.run(["vgremove", "-f", "-y", vg], check=False, capture_output=True)
        subprocess.run(["pvremove", "-f", "-y", loop_device], check=False, capture_output=True)


@pytest.mark.skipif(not HAS_ZFS, reason="not run here: this kernel has no zfs module")
def test_zfspool_storage_on_a_loop_device(daemon, loop_device):
    prerequisite(shutil.which("zpool") is not None, "zfsutils (zpool)")
    pool = f"vireo{uuid.uuid4().hex[:8]}"
    storage = f"zfs{uuid.uuid4().hex[:6]}"
    run("zpool", "create", "-f", pool, loop_device)
    try:
        status, reason, _ = daemon.root.post("/storage", {"storage": storage, "type": "zfspool", "pool": pool})
        assert status == 200, reason
        volid = daemon.root.ok("POST", f"/nodes/{daemon.node}/storage/{storage}/content",
                               {"vmid": 100, "filename": "vm-100-disk-0", "size": "64M"})
        assert f"{pool}/vm-100-disk-0" in run("zfs", "list", "-H", "-o", "name")
        daemon.root.ok("DELETE", f"/nodes/{daemon.node}/storage/{storage}/content/{volid}", {"delay": 30})
    finally:
        daemon.root.delete(f"/storage/{storage}")
        subprocess.run(["zpool", "destroy", "-f", pool], check=False, capture_output=True)
