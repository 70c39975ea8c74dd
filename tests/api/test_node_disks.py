"""Disks and downloads on real components: loop devices made into a GPT disk, wiped, turned into
a directory storage (partition, ext4, mount, storage definition) and taken apart again; and
ISOs fetched by URL from an HTTP server inside a network namespace, with checksums.

The loop devices, mounts, namespaces and servers are the test's own and are removed also when a
test fails. The daemon keeps its host files (mount units, /mnt/pve) under its own host root.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import free_port, prerequisite, start_daemon, stop_daemon, unique
from schema_values import create_vm, destroy_vm, free_vmid, wait_task


def sh(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, check=check)


def task_status(root, node, upid, timeout=120) -> dict:
    return wait_task(root, node, upid, timeout=timeout)


@pytest.fixture
def loop_disk(tmp_path):
    """A 96 MiB loop device with partition scanning; detached (and unmounted) at teardown."""
    prerequisite(os.geteuid() == 0, "root (loop devices)")
    for tool in ("losetup", "sgdisk", "mkfs.ext4", "wipefs", "lsblk"):
        prerequisite(shutil.which(tool) is not None, f"{tool} (gdisk, e2fsprogs, util-linux)")
    devices = []

    def make():
        image = tmp_path / f"{unique('disk')}.img"
        with open(image, "wb") as handle:
            handle.truncate(96 * 1024 * 1024)
        device = sh("losetup", "--find", "--show", "--partscan", str(image)).stdout.strip()
        devices.append(device)
        return device

    yield make
    mounts = sh("findmnt", "-rn", "-o", "SOURCE,TARGET", check=False).stdout.splitlines()
    for device in devices:
        for line in mounts:
            source, _, target = line.partition(" ")
            if source.startswith(device):
                sh("umount", "-l", target, check=False)
        sh("losetup", "-d", device, check=False)


def disk_entry(root, node, device):
    disks = root.ok("GET", f"/nodes/{node}/disks/list", {"include-partitions": 1})
    return next((d for d in disks if d["devpath"] == device), None), disks


def test_gpt_wipe_and_refusals_on_a_loop_disk(daemon, loop_disk, cleanup):
    root, node = daemon.root, daemon.node
    device = loop_disk()
    entry, _ = disk_entry(root, node, device)
    assert entry is not None and "used" not in entry and entry["gpt"] == 0
    assert entry["size"] == 96 * 1024 * 1024

    upid = root.ok("POST", f"/nodes/{node}/disks/initgpt", {"disk": device})
    assert task_status(root, node, upid)["exitstatus"] == "OK"
    entry, _ = disk_entry(root, node, device)
    assert entry["gpt"] == 1

    # A disk a VM uses by path is not the node's to wipe.
    vmid = free_vmid(root)
    cleanup.add(destroy_vm, root, node, vmid)
    create_vm(root, node, vmid, cleanup, scsi1=device)
    status, _, body = root.put(f"/nodes/{node}/disks/wipedisk", {"disk": device})
    assert status == 409 and f"VM {vmid}" in body["message"], body
    destroy_vm(root, node, vmid)

    upid = root.ok("PUT", f"/nodes/{node}/disks/wipedisk", {"disk": device})
    assert task_status(root, node, upid)["exitstatus"] == "OK"
    entry, _ = disk_entry(root, node, device)
    assert entry["gpt"] == 0 and "used" not in entry

    for bad in ("/etc/passwd", "/dev/../etc/shadow", "/dev/nosuchdisk0"):
        status, _, body = root.put(f"/nodes/{node}/disks/wipedisk", {"disk": bad})
        assert status == 400 and "disk" in body.get("errors", {}), (bad, body)
    status, _, body = root.post(f"/nodes/{node}/disks/initgpt", {"disk": device, "uuid": "not-a-uuid"})
    assert status == 400 and "uuid" in body["errors"]


def test_directory_storage_on_a_loop_disk(daemon, loop_disk, cleanup):
    root, node = daemon.root, daemon.node
    device = loop_disk()
    name = unique("dirst")
    cleanup.add(root.delete, f"/storage/{name}")
    cleanup.add(root.delete, f"/nodes/{node}/disks/directory/{name}")
    upid = root.ok("POST", f"/nodes/{node}/disks/directory",
                   {"name": name, "device": device, "filesystem": "ext4", "add_storage": 1})
    status = task_status(root, node, upid)
    assert status["exitstatus"] == "OK", status

    units = [u for u in root.ok("GET", f"/nodes/{node}/disks/directory") if u["path"].endswith(f"/mnt/pve/{name}")]
    assert units and units[0]["type"] == "ext4" and units[0]["unitfile"].endswith(f"mnt-pve-{name}.mount")
    mount_path = units[0]["path"]
    assert mount_path.startswith(daemon.base_dir), "the mount must stay under the test daemon's host root"
    assert os.path.ismount(mount_path)

    storage = root.ok("GET", f"/storage/{name}")
    assert storage["type"] == "dir" and storage["path"] == mount_path
    state = root.ok("GET", f"/nodes/{node}/storage/{name}/status")
    assert state["active"] == 1 and 0 < state["total"] <= 96 * 1024 * 1024

    entry, disks = disk_entry(root, node, device)
    assert entry["used"] in ("partitions", "mounted") or entry["used"].startswith("storage"), entry
    assert any(d.get("parent") == device and d["type"] == "partition" for d in disks)

    # In use now: every change to the disk is refused, and nothing changes.
    status, _, body = root.put(f"/nodes/{node}/disks/wipedisk", {"disk": device})
    assert status == 409, body
    status, _, body = root.post(f"/nodes/{node}/disks/initgpt", {"disk": device})
    assert status == 409, body
    status, _, body = root.post(f"/nodes/{node}/disks/directory", {"name": unique("dirst"), "device": device})
    assert status == 409, body
    assert os.path.ismount(mount_path)

    upid = root.ok("DELETE", f"/nodes/{node}/disks/directory/{name}", {"cleanup-config": 1, "cleanup-disks": 1})
    status = task_status(root, node, upid)
    assert status["exitstatus"] == "OK", status
    assert not os.path.ismount(mount_path)
    assert root.get(f"/storage/{name}")[0] == 404
    assert not [u for u in root.ok("GET", f"/nodes/{node}/disks/directory") if u["path"] == mount_path]


# ---------------------------------------------------------------------------------------------
# download-url from an HTTP server in the node's namespace


@pytest.fixture
def download_node(tmp_path):
    """A daemon in its own network namespace with an HTTP server there (127.0.0.1 of that namespace)."""
    prerequisite(os.geteuid() == 0, "root (network namespaces)")
    prerequisite(shutil.which("curl") is not None, "curl")
    namespace = unique("vdl")
    sh("ip", "netns", "add", namespace)
    server = None
    daemon = None
    try:
        sh("ip", "-n", namespace, "link", "set", "lo", "up")
        served = tmp_path / "served"
        served.mkdir()
        port = 18080
        server = subprocess.Popen(
            ["ip", "netns", "exec", namespace, "python3", "-m", "http.server", "--bind", "127.0.0.1",
             "--directory", str(served), str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = sh("ip", "netns", "exec", namespace, "curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/",
                       check=False)
            if probe.returncode == 0:
                break
            time.sleep(0.1)
        daemon = start_daemon(["--auth-failure-delay", "0", "--netns", namespace])
        yield daemon, served, f"http://127.0.0.1:{port}"
    finally:
        if daemon is not None:
            stop_daemon(daemon)
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=10)
        sh("ip", "netns", "del", namespace, check=False)


def test_download_url_with_checksum(download_node):
    daemon, served, base = download_node
    root, node = daemon.root, daemon.node
    payload = os.urandom(300_000)
    (served / "tiny.iso").write_bytes(payload)
    (served / "packed.iso.gz").write_bytes(gzip.compress(payload))
    digest = hashlib.sha256(payload).hexdigest()

    meta = root.ok("GET", f"/nodes/{node}/query-url-metadata", {"url": f"{base}/tiny.iso"})
    assert meta["filename"] == "tiny.iso" and meta["size"] == len(payload)

    upid = root.ok("POST", f"/nodes/{node}/storage/local/download-url",
                   {"url": f"{base}/tiny.iso", "content": "iso", "filename": "tiny.iso",
                    "checksum": digest, "checksum-algorithm": "sha256"})
    status = wait_task(root, node, upid)
    assert status["exitstatus"] == "OK", status
    assert upid.split(":")[5] == "download"
    content = root.ok("GET", f"/nodes/{node}/storage/local/content", {"content": "iso"})
    entry = next(c for c in content if c["volid"] == "local:iso/tiny.iso")
    assert entry["size"] == len(payload)

    # The same name again: refused before anything is fetched.
    status, _, body = root.post(f"/nodes/{node}/storage/local/download-url",
                                {"url": f"{base}/tiny.iso", "content": "iso", "filename": "tiny.iso"})
    assert status == 409 and "refusing to override" in body["message"]

    # A wrong checksum fails the task and leaves no file.
    upid = root.ok("POST", f"/nodes/{node}/storage/local/download-url",
                   {"url": f"{base}/tiny.iso", "content": "iso", "filename": "bad.iso",
                    "checksum": "0" * 64, "checksum-algorithm": "sha256"})
    status = wait_task(root, node, upid)
    assert "checksum mismatch" in status["exitstatus"]
    names = {c["volid"] for c in root.ok("GET", f"/nodes/{node}/storage/local/content", {"content": "iso"})}
    assert "local:iso/bad.iso" not in names

    # Compressed: stored unpacked.
    upid = root.ok("POST", f"/nodes/{node}/storage/local/download-url",
                   {"url": f"{base}/packed.iso.gz", "content": "iso", "filename": "packed.iso", "compression": "gz"})
    assert wait_task(root, node, upid)["exitstatus"] == "OK"
    content = root.ok("GET", f"/nodes/{node}/storage/local/content", {"content": "iso"})
    assert next(c for c in content if c["volid"] == "local:iso/packed.iso")["size"] == len(payload)

    # A missing file is the task's error; bad URLs and names are refused at once.
    upid = root.ok("POST", f"/nodes/{node}/storage/local/download-url",
                   {"url": f"{base}/missing.iso", "content": "iso", "filename": "missing.iso"})
    assert "404" in wait_task(root, node, upid)["exitstatus"]
    for params, name in [({"url": "file:///etc/shadow"}, "url"), ({"url": "gopher://x/"}, "url"),
                         ({"filename": "../escape.iso"}, "filename"), ({"checksum": "abc"}, "checksum")]:
        base_params = {"url": f"{base}/tiny.iso", "content": "iso", "filename": unique("f") + ".iso"}
        status, _, body = root.post(f"/nodes/{node}/storage/local/download-url", {**base_params, **params})
        assert status == 400 and name in body.get("errors", {}), (params, body)
