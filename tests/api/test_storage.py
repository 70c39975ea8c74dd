"""The storage layer through the API as users see it: dir and btrfs storages on real (loop-device)
file systems, volume allocation, resize, snapshots, templates and clones, path safety, space checks,
ISO upload, `vireo pvesm` and storage.cfg validation."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import uuid

import pytest

from conftest import VIREO, prerequisite
from storage_fixtures import (  # noqa: F401  (fixtures are used by name)
    Api,
    api,
    root_api,
    loop_fs,
    statvfs_bytes,
    storages,
    tmp_dirs,
    tree,
)

try:
    from proxmoxer.core import ResourceException
except ImportError:  # pragma: no cover - conftest reports the missing package
    ResourceException = Exception

MiB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Helpers


def images(api: Api, sid: str, vmid: int) -> dict:
    """volid -> listing item for content=images of one VMID."""
    items = api.ok("GET", api.storage_path(sid, "/content"), {"content": "images", "vmid": vmid})
    return {item["volid"]: item for item in items}


def alloc(api: Api, sid: str, vmid: int, filename: str, size: str = "64M") -> str:
    return api.ok("POST", api.storage_path(sid, "/content"), {"vmid": vmid, "filename": filename, "size": size})


def volume_info(api: Api, sid: str, volid: str, raw: bool = False) -> dict:
    return api.ok("GET", api.volume_path(sid, volid, raw=raw))


def free(api: Api, sid: str, volid: str, raw: bool = False) -> None:
    reply = api.delete(api.volume_path(sid, volid, raw=raw))
    assert reply.status == 200, f"DELETE {volid} -> {reply!r}"
    if reply.data is not None:
        status = api.wait_task(reply.data)
        assert status.get("exitstatus") == "OK", f"freeing {volid}: {status} {api.task_log(reply.data)}"


def qemu_img_info(path: str) -> dict:
    out = subprocess.run(["qemu-img", "info", "-U", "--output=json", path], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    return json.loads(out)


def read_at(path: str, offset: int, length: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)


def write_at(path: str, offset: int, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        assert os.pwrite(fd, data, offset) == len(data)
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(4 * MiB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run_cli(args, data_dir, timeout=60):
    prerequisite(os.access(VIREO, os.X_OK), f"CLI binary {VIREO} (build it, or set VIREO)")
    env = {k: v for k, v in os.environ.items() if k != "VIREO_RUN_DIR"}
    env["VIREO_DATA_DIR"] = data_dir
    result = subprocess.run([VIREO, *args], env=env, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, (
        f"vireo {' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    )
    return result.stdout


def require_qemu_img():
    prerequisite(subprocess.run(["which", "qemu-img"], capture_output=True).returncode == 0, "qemu-img")


# ---------------------------------------------------------------------------------------------
# 1. Storages on real file systems


def test_dir_and_btrfs_storages_are_listed_with_real_usage(daemon, admin_api, loop_fs, storages):
    ext4 = loop_fs("ext4", 256)
    btrfs = loop_fs("btrfs", 1024)
    dir_id, btrfs_id = storages.new("dir"), storages.new("btr")
    daemon.root.ok("POST", "/storage", {"storage": dir_id, "type": "dir", "path": ext4, "content": "images,iso"})
    daemon.root.ok("POST", "/storage", {"storage": btrfs_id, "type": "btrfs", "path": btrfs, "content": "images,iso"})

    config = {item["storage"]: item for item in admin_api.storage.get()}
    for sid, type_, path in ((dir_id, "dir", ext4), (btrfs_id, "btrfs", btrfs)):
        assert sid in config, f"{sid} missing from GET /storage: {sorted(config)}"
        assert config[sid]["type"] == type_
        assert config[sid]["path"] == path
        assert set(config[sid]["content"].split(",")) == {"images", "iso"}

    listed = {item["storage"]: item for item in admin_api.nodes(daemon.node).storage.get()}
    for sid, type_, path in ((dir_id, "dir", ext4), (btrfs_id, "btrfs", btrfs)):
        assert sid in listed, f"{sid} missing from GET /nodes/{daemon.node}/storage: {sorted(listed)}"
        item = listed[sid]
        assert item["type"] == type_
        assert item["active"] == 1 and item["enabled"] == 1, item
        fs = statvfs_bytes(path)
        for key in ("total", "used", "avail"):
            assert isinstance(item[key], int), item
            assert abs(item[key] - fs[key]) <= fs["total"] * 0.01, f"{sid} {key}: API {item[key]}, statvfs {fs[key]}"
        status = admin_api.nodes(daemon.node).storage(sid).status.get()
        assert status["active"] == 1 and abs(status["total"] - fs["total"]) <= fs["total"] * 0.01, status
        # The content directories exist on the new file system.
        assert os.path.isdir(os.path.join(path, "images")) and os.path.isdir(os.path.join(path, "template/iso"))


# ---------------------------------------------------------------------------------------------
# 2. Volume lifecycle


def test_dir_volume_lifecycle(daemon, api, admin_api, loop_fs, storages):
    require_qemu_img()
    mnt = loop_fs("ext4", 512)
    sid = storages.add("dir", mnt, content="images,iso")
    a, b, c = 100, 101, 102

    qcow = alloc(api, sid, a, f"vm-{a}-disk-0.qcow2")
    raw = alloc(api, sid, a, f"vm-{a}-disk-1.raw")
    assert qcow == f"{sid}:{a}/vm-{a}-disk-0.qcow2"
    assert raw == f"{sid}:{a}/vm-{a}-disk-1.raw"

    listing = images(api, sid, a)
    assert set(listing) == {qcow, raw}, listing
    for volid, fmt in ((qcow, "qcow2"), (raw, "raw")):
        item = listing[volid]
        assert (item["size"], item["format"], item["vmid"], item["content"]) == (64 * MiB, fmt, a, "images"), item
        name = volid.split("/")[-1]
        info = volume_info(api, sid, volid)
        assert info["path"] == f"{mnt}/images/{a}/{name}", info
        assert os.path.isfile(info["path"])
        assert info["size"] == 64 * MiB and info["format"] == fmt, info
    # Raw volid in the URL (proxmoxer splits it at `/`) names the same volume.
    assert admin_api.nodes(daemon.node).storage(sid).content(qcow).get()["path"] == f"{mnt}/images/{a}/vm-{a}-disk-0.qcow2"

    for volid in (qcow, raw):
        api.ok("PUT", api.volume_path(sid, volid, "/resize"), {"size": "+64M"})
    listing = images(api, sid, a)
    assert listing[qcow]["size"] == 128 * MiB and listing[raw]["size"] == 128 * MiB, listing
    assert os.path.getsize(f"{mnt}/images/{a}/vm-{a}-disk-1.raw") == 128 * MiB

    # Snapshots: qcow2 internal snapshots; raw files have none.
    qcow_path = f"{mnt}/images/{a}/vm-{a}-disk-0.qcow2"
    api.ok("POST", api.volume_path(sid, qcow, "/snapshot"), {"snapname": "s1"})
    assert [s["name"] for s in qemu_img_info(qcow_path).get("snapshots", [])] == ["s1"]
    reply = api.post(api.volume_path(sid, raw, "/snapshot"), {"snapname": "s1"})
    assert reply.status == 400 and "not supported" in reply.message, reply
    api.ok("POST", api.volume_path(sid, qcow, "/snapshot/s1/rollback"))
    api.ok("DELETE", api.volume_path(sid, qcow, "/snapshot/s1"))
    assert not qemu_img_info(qcow_path).get("snapshots")

    # Template, linked clone, full clone.
    base = api.ok("POST", api.volume_path(sid, qcow, "/template"))
    assert base == f"{sid}:{a}/base-{a}-disk-0.qcow2"
    assert os.path.isfile(f"{mnt}/images/{a}/base-{a}-disk-0.qcow2") and not os.path.exists(qcow_path)
    assert set(images(api, sid, a)) == {base, raw}

    linked = api.ok("POST", api.volume_path(sid, base, "/clone"), {"vmid": b})
    assert linked == f"{sid}:{a}/base-{a}-disk-0.qcow2/{b}/vm-{b}-disk-0.qcow2"
    clones = images(api, sid, b)
    assert set(clones) == {linked}, clones
    assert clones[linked]["parent"] and f"base-{a}-disk-0.qcow2" in clones[linked]["parent"], clones[linked]
    assert clones[linked]["size"] == 128 * MiB and clones[linked]["format"] == "qcow2"
    assert qemu_img_info(f"{mnt}/images/{b}/vm-{b}-disk-0.qcow2")["backing-filename"] == f"../{a}/base-{a}-disk-0.qcow2"
    # The 4-part volid works raw in the path as well.
    assert volume_info(api, sid, linked, raw=True)["path"] == f"{mnt}/images/{b}/vm-{b}-disk-0.qcow2"

    full = api.ok("POST", api.volume_path(sid, base, "/clone"), {"vmid": c, "full": 1})
    assert full == f"{sid}:{c}/vm-{c}-disk-0.qcow2"
    full_item = images(api, sid, c)[full]
    assert not full_item.get("parent") and full_item["size"] == 128 * MiB, full_item
    assert "backing-filename" not in qemu_img_info(f"{mnt}/images/{c}/vm-{c}-disk-0.qcow2")

    # A base with linked clones cannot go.
    reply = api.delete(api.volume_path(sid, base))
    if reply.status == 200:
        assert reply.data, f"DELETE of a base with a linked clone reported success: {reply!r}"
        status = api.wait_task(reply.data)
        failure = f"{status.get('exitstatus')} {api.task_log(reply.data)}"
        assert status.get("exitstatus") != "OK" and "linked clone" in failure, status
    else:
        assert reply.status in (400, 409) and "linked clone" in reply.message, reply
    assert os.path.isfile(f"{mnt}/images/{a}/base-{a}-disk-0.qcow2")
    assert base in images(api, sid, a)

    # Once the linked clone is gone the base can go; the full clone stays intact.
    free(api, sid, linked, raw=True)
    free(api, sid, base)
    assert images(api, sid, c)[full]["size"] == 128 * MiB
    qemu_img_info(f"{mnt}/images/{c}/vm-{c}-disk-0.qcow2")

    for volid in (full, raw):
        free(api, sid, volid)
    for vmid in (a, b, c):
        assert images(api, sid, vmid) == {}
    assert os.listdir(f"{mnt}/images") == [], os.listdir(f"{mnt}/images")


def test_btrfs_volume_lifecycle(daemon, api, loop_fs, storages):
    mnt = loop_fs("btrfs", 1024)
    sid = storages.add("btrfs", mnt, content="images,iso")
    a, b, c = 100, 101, 102
    subvol = f"{mnt}/images/{a}/vm-{a}-disk-0"

    reply = api.post(api.storage_path(sid, "/content"), {"vmid": a, "filename": f"vm-{a}-disk-0.qcow2", "size": "64M"})
    assert reply.status == 400, f"qcow2 on btrfs: {reply!r}"
    assert not os.path.exists(f"{mnt}/images/{a}")

    raw = alloc(api, sid, a, f"vm-{a}-disk-0.raw")
    assert raw == f"{sid}:{a}/vm-{a}-disk-0.raw"
    item = images(api, sid, a)[raw]
    assert (item["size"], item["format"], item["vmid"]) == (64 * MiB, "raw", a), item
    path = volume_info(api, sid, raw)["path"]
    assert path == f"{subvol}/disk.raw"
    assert os.path.isfile(path) and os.stat(subvol).st_ino == 256, "the disk must be in its own subvolume"

    api.ok("PUT", api.volume_path(sid, raw, "/resize"), {"size": "+64M"})
    assert images(api, sid, a)[raw]["size"] == 128 * MiB
    assert os.path.getsize(path) == 128 * MiB

    # Snapshot, change, roll back: the data before the snapshot is back.
    marker, other = b"VIREO-MARKER-" + uuid.uuid4().hex.encode(), b"overwritten!!" + b"x" * 32
    for offset in (0, 100 * MiB):
        write_at(path, offset, marker)
    api.ok("POST", api.volume_path(sid, raw, "/snapshot"), {"snapname": "before"})
    assert os.path.isdir(f"{subvol}@before")
    for offset in (0, 100 * MiB):
        write_at(path, offset, other)
    assert read_at(path, 0, len(other)) == other
    api.ok("POST", api.volume_path(sid, raw, "/snapshot/before/rollback"))
    path = volume_info(api, sid, raw)["path"]
    for offset in (0, 100 * MiB):
        assert read_at(path, offset, len(marker)) == marker, f"marker at {offset} not restored by the rollback"
    assert os.access(path, os.W_OK) and images(api, sid, a)[raw]["size"] == 128 * MiB
    api.ok("DELETE", api.volume_path(sid, raw, "/snapshot/before"))
    assert not os.path.exists(f"{subvol}@before")

    base = api.ok("POST", api.volume_path(sid, raw, "/template"))
    assert base == f"{sid}:{a}/base-{a}-disk-0.raw"
    assert set(images(api, sid, a)) == {base}

    linked = api.ok("POST", api.volume_path(sid, base, "/clone"), {"vmid": b})
    assert linked == f"{sid}:{b}/vm-{b}-disk-0.raw"
    full = api.ok("POST", api.volume_path(sid, base, "/clone"), {"vmid": c, "full": 1})
    assert full == f"{sid}:{c}/vm-{c}-disk-0.raw"
    for vmid, volid in ((b, linked), (c, full)):
        listed = images(api, sid, vmid)
        assert set(listed) == {volid} and listed[volid]["size"] == 128 * MiB, listed
        assert read_at(volume_info(api, sid, volid)["path"], 0, len(marker)) == marker

    # btrfs clones are independent copies: the base can go, the clones keep their data.
    free(api, sid, base)
    assert images(api, sid, a) == {}
    for volid in (linked, full):
        assert read_at(volume_info(api, sid, volid)["path"], 100 * MiB, len(marker)) == marker
        free(api, sid, volid)
    for vmid in (a, b, c):
        assert images(api, sid, vmid) == {}
    assert os.listdir(f"{mnt}/images") == [], os.listdir(f"{mnt}/images")


# ---------------------------------------------------------------------------------------------
# 3. Path traversal


BAD_FILENAMES = ["../x.raw", "../../etc/passwd.raw", "a/b.raw", ".hidden.raw", "..", "../100/x.raw", "/tmp/x.raw"]


def _bad_volumes(sid: str) -> list[str]:
    return [
        f"{sid}:100/../../x.raw",
        f"{sid}:100/../../../x.raw",
        f"{sid}:iso/../../etc/passwd",
        f"{sid}:iso/../../../etc/passwd",
        f"{sid}:../x.raw",
        f"{sid}:100/..",
        f"{sid}:/etc/passwd",
        "local:100/../../x.raw",
        "local:iso/../../etc/passwd",
    ]


def test_path_traversal_is_refused(daemon, api, storages, tmp_dirs):
    root = tmp_dirs("vireo-traversal-")
    store = os.path.join(root, "a", "store")
    os.makedirs(store)
    sid = storages.add("dir", store, content="images,iso")
    # Canaries where a traversal would land.
    for rel in ("x.raw", "a/x.raw", "a/store/x.raw", "a/store/etc/passwd", "a/etc/passwd", "etc/passwd"):
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        with open(os.path.join(root, rel), "w") as f:
            f.write("canary\n")
    before = tree(root)

    for name in BAD_FILENAMES:
        reply = api.post(api.storage_path(sid, "/content"), {"vmid": 100, "filename": name, "size": "1M"})
        assert reply.status == 400, f"POST content filename={name!r} -> {reply!r}"

    failures = []
    for volume in _bad_volumes(sid):
        for method in ("GET", "DELETE"):
            # Percent-encoded as one segment over HTTPS, and raw (unnormalised) over the root socket.
            encoded = api.request(method, api.volume_path(sid, volume))
            status, reason, body = daemon.root.request(method, api.volume_path(sid, volume, raw=True))
            for how, got, text in (("encoded", encoded.status, encoded.message), ("raw", status, f"{reason} {body}")):
                if got != 400:
                    failures.append(f"{method} {how} {volume!r}: {got} {text}")
    assert not failures, "expected 400 for malformed volume names:\n" + "\n".join(failures)

    # A well-formed name that does not exist is a 404.
    reply = api.get(api.volume_path(sid, f"{sid}:100/vm-100-disk-7.raw"))
    assert reply.status == 404, reply
    reply = api.delete(api.volume_path(sid, f"{sid}:iso/nothing.iso"))
    assert reply.status == 404, reply

    assert tree(root) == before, f"created/removed: {tree(root) ^ before}"
    for rel in ("x.raw", "a/x.raw", "a/store/x.raw", "a/store/etc/passwd"):
        assert open(os.path.join(root, rel)).read() == "canary\n"


def test_symlinked_vmid_dir_is_not_followed(daemon, api, storages, tmp_dirs):
    store = tmp_dirs("vireo-symlink-store-")
    outside = tmp_dirs("vireo-symlink-outside-")
    sid = storages.add("dir", store, content="images,iso")
    os.symlink(outside, os.path.join(store, "images", "555"))

    for name in ("vm-555-disk-0.raw", "vm-555-disk-1.qcow2"):
        reply = api.post(api.storage_path(sid, "/content"), {"vmid": 555, "filename": name, "size": "1M"})
        assert 400 <= reply.status < 500, f"allocation through a symlinked images/555: {reply!r}"
    assert os.listdir(outside) == []


def test_symlinked_vmid_dir_does_not_break_the_listing(daemon, api, storages, tmp_dirs):
    """One planted symlink must not take the whole storage's content view down (nor be deleted through)."""
    require_qemu_img()
    store = tmp_dirs("vireo-symlink-store-")
    outside = tmp_dirs("vireo-symlink-outside-")
    sid = storages.add("dir", store, content="images,iso")
    good = alloc(api, sid, 100, "vm-100-disk-0.raw", "1M")
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", os.path.join(outside, "vm-555-disk-0.raw"), "1M"],
                   check=True, capture_output=True)
    os.symlink(outside, os.path.join(store, "images", "555"))

    reply = api.get(api.storage_path(sid, "/content"))
    assert reply.status == 200, f"GET content with a symlinked images/555 -> {reply!r}"
    assert good in {item["volid"] for item in reply.data}
    reply = api.delete(api.volume_path(sid, f"{sid}:555/vm-555-disk-0.raw"))
    if reply.status == 200 and reply.data:
        api.wait_task(reply.data)
    assert os.listdir(outside) == ["vm-555-disk-0.raw"]


# ---------------------------------------------------------------------------------------------
# 4. Space


def test_allocation_beyond_free_space_needs_overcommit(daemon, api, loop_fs, storages):
    require_qemu_img()
    mnt = loop_fs("ext4", 64)
    sid = storages.add("dir", mnt, content="images")
    names = ["vm-100-disk-0.raw", "vm-100-disk-1.qcow2"]
    for name in names:
        reply = api.post(api.storage_path(sid, "/content"), {"vmid": 100, "filename": name, "size": "1G"})
        assert reply.status == 400, f"1G {name} on a 64 MB storage: {reply!r}"
        assert "not enough space" in reply.message and sid in reply.message, reply
    assert os.listdir(os.path.join(mnt, "images")) == []

    api.ok("PUT", f"/storage/{sid}", {"overcommit": 1})
    assert int(api.ok("GET", f"/storage/{sid}").get("overcommit", 0)) == 1
    made = [alloc(api, sid, 100, name, "1G") for name in names]
    assert made == [f"{sid}:100/{name}" for name in names]
    listing = images(api, sid, 100)
    assert all(listing[volid]["size"] == 1024 * MiB for volid in made), listing
    for volid in made:
        free(api, sid, volid)


# ---------------------------------------------------------------------------------------------
# 5. Upload


def test_iso_upload(daemon, api, admin_api, storages, tmp_dirs):
    root = tmp_dirs("vireo-upload-")
    store = os.path.join(root, "a", "store")
    os.makedirs(store)
    sid = storages.add("dir", store, content="iso")
    iso_dir = os.path.join(store, "template", "iso")
    work = tmp_dirs("vireo-upload-src-")

    name = f"test-{uuid.uuid4()}.iso"
    source = os.path.join(work, name)
    with open(source, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(MiB))
    expected = sha256_of(source)

    with open(source, "rb") as f:
        try:
            upid = admin_api.nodes(daemon.node).storage(sid).upload.post(content="iso", filename=f)
        except ResourceException as error:
            pytest.fail(f"POST /nodes/{{node}}/storage/{{storage}}/upload (100 MiB ISO) -> "
                        f"{error.status_code} {error.content}", pytrace=False)
    if upid:
        status = api.wait_task(upid, timeout=60)
        assert status.get("exitstatus") == "OK", f"{status} {api.task_log(upid)}"
    listing = {i["volid"]: i for i in api.ok("GET", api.storage_path(sid, "/content"), {"content": "iso"})}
    volid = f"{sid}:iso/{name}"
    assert volid in listing, listing
    assert listing[volid]["size"] == 104857600 and listing[volid]["format"] == "iso", listing[volid]
    on_disk = os.path.join(iso_dir, name)
    assert volume_info(api, sid, volid)["path"] == on_disk
    assert sha256_of(on_disk) == expected

    # A wrong checksum: the upload fails and leaves nothing.
    bad_name = f"test-{uuid.uuid4()}.iso"
    bad_source = os.path.join(work, bad_name)
    with open(bad_source, "wb") as f:
        f.write(os.urandom(MiB))
    with open(bad_source, "rb") as f:
        reply = api.post(api.storage_path(sid, "/upload"),
                         {"content": "iso", "checksum": "0" * 64, "checksum-algorithm": "sha256"},
                         files={"filename": (bad_name, f)})
    if reply.status == 200 and reply.data:
        status = api.wait_task(reply.data, timeout=60)
        assert status.get("exitstatus") != "OK", f"upload with a wrong checksum succeeded: {status}"
    else:
        assert 400 <= reply.status < 500, f"upload with a wrong checksum: {reply!r}"
    assert sorted(os.listdir(iso_dir)) == [name], os.listdir(iso_dir)
    assert f"{sid}:iso/{bad_name}" not in {
        i["volid"] for i in api.ok("GET", api.storage_path(sid, "/content"), {"content": "iso"})
    }

    # A file name with a path: refused, or normalised into the ISO directory.
    with open(bad_source, "rb") as f:
        reply = api.post(api.storage_path(sid, "/upload"), {"content": "iso"},
                         files={"filename": ("../../evil.iso", f)})
    if reply.status == 200 and reply.data:
        status = api.wait_task(reply.data, timeout=60)
        if status.get("exitstatus") == "OK":
            assert "evil.iso" in os.listdir(iso_dir), f"accepted, but not normalised to evil.iso: {os.listdir(iso_dir)}"
    else:
        assert reply.status == 400, f"upload named ../../evil.iso: {reply!r}"
    stray = [p for p in tree(root) if "evil" in p and os.path.dirname(os.path.join(root, p)) != iso_dir]
    assert not stray, f"upload escaped the ISO directory: {stray}"
    # No spool or partial files are left anywhere in the storage.
    leftovers = [p for p in tree(store) if os.path.isfile(os.path.join(store, p))
                 and os.path.dirname(os.path.join(store, p)) != iso_dir]
    assert not leftovers, leftovers


# ---------------------------------------------------------------------------------------------
# 6. pvesm


def test_pvesm_status_list_alloc_path_free(daemon, storages, tmp_dirs):
    require_qemu_img()
    store = tmp_dirs("vireo-pvesm-")
    sid = storages.add("dir", store, content="images,iso")

    lines = run_cli(["pvesm", "status"], daemon.data_dir).splitlines()
    header = lines[0].split()
    assert header[0] == "Name", lines[0]
    for column in ("Type", "Status", "Total", "Used", "Available", "%"):
        assert column in header, lines[0]
    rows = {line.split()[0]: line.split() for line in lines[1:] if line.strip()}
    assert "local" in rows and rows["local"][header.index("Status")] == "active", lines
    assert sid in rows and rows[sid][1] == "dir" and rows[sid][2] == "active", lines

    lines = run_cli(["pvesm", "list", "local"], daemon.data_dir).splitlines()
    assert lines[0].split() == ["Volid", "Format", "Type", "Size", "VMID"], lines

    out = run_cli(["pvesm", "alloc", sid, "100", "vm-100-disk-9.raw", "1M"], daemon.data_dir)
    volid = f"{sid}:100/vm-100-disk-9.raw"
    assert volid in out, out
    path = run_cli(["pvesm", "path", volid], daemon.data_dir).strip()
    assert path == os.path.join(store, "images", "100", "vm-100-disk-9.raw") and os.path.isfile(path), path
    listed = run_cli(["pvesm", "list", sid], daemon.data_dir).splitlines()
    assert any(line.split()[:2] == [volid, "raw"] and line.split()[-1] == "100" for line in listed[1:]), listed

    run_cli(["pvesm", "free", volid], daemon.data_dir)
    # pvesm waits for the removal (as Proxmox's does): the file is gone when it returns.
    assert not os.path.exists(path), f"{path} still exists after `pvesm free` returned"
    listed = run_cli(["pvesm", "list", sid], daemon.data_dir)
    assert volid not in listed, listed


# ---------------------------------------------------------------------------------------------
# 7. Cluster resources


def test_cluster_resources_lists_storages(daemon, api, storages, tmp_dirs):
    store = tmp_dirs("vireo-resources-")
    sid = storages.add("dir", store, content="images")
    items = api.ok("GET", "/cluster/resources", {"type": "storage"})
    assert all(item["type"] == "storage" for item in items), items
    by_id = {item["storage"]: item for item in items}
    for name in ("local", sid):
        item = by_id.get(name)
        assert item, f"{name} missing from /cluster/resources?type=storage: {items}"
        assert item["id"] == f"storage/{daemon.node}/{name}" and item["node"] == daemon.node, item
        assert isinstance(item["disk"], int) and isinstance(item["maxdisk"], int), item
        assert 0 <= item["disk"] <= item["maxdisk"] and item["maxdisk"] > 0, item
        assert item["status"] == "available", item
    fs = statvfs_bytes(store)
    assert abs(by_id[sid]["maxdisk"] - fs["total"]) <= fs["total"] * 0.01
    assert by_id[sid]["plugintype"] == "dir"


# ---------------------------------------------------------------------------------------------
# 8. storage.cfg validation


def test_storage_config_validation(daemon, root_api, storages, tmp_dirs):
    api = root_api
    path = tmp_dirs("vireo-validate-")

    reply = api.post("/storage", {"storage": storages.new(), "type": "dir", "path": path, "vgname": "x"})
    assert reply.status == 400 and "vgname" in reply.message, reply

    missing = os.path.join(path, "nothing-here")
    for bad in ("relative/dir", "tmp", "/a/../b"):
        reply = api.post("/storage", {"storage": storages.new(), "type": "dir", "path": bad})
        assert reply.status == 400 and "path" in reply.message, f"path={bad!r}: {reply!r}"

    reply = api.post("/storage", {"storage": storages.new(), "type": "dir", "path": path, "content": "rootdir,foo"})
    assert reply.status == 400 and "content" in reply.message, reply

    reply = api.post("/storage", {"storage": "Bad_ID", "type": "dir", "path": path})
    assert reply.status == 400, reply

    sid = storages.add("dir", path, content="images")
    reply = api.post("/storage", {"storage": sid, "type": "dir", "path": path})
    assert reply.status == 409, f"duplicate storage ID: {reply!r}"

    reply = api.put(f"/storage/{sid}", {"path": missing})
    assert reply.status == 400 and "path" in reply.message, f"changing the fixed option path: {reply!r}"
    assert not os.path.exists(missing)

    config = api.ok("GET", f"/storage/{sid}")
    assert config["path"] == path and config["type"] == "dir"
    stale = config.get("digest")
    assert isinstance(stale, str) and re.fullmatch(r"[0-9a-f]{40,64}", stale), config
    api.ok("PUT", f"/storage/{sid}", {"content": "images,iso", "digest": stale})
    reply = api.put(f"/storage/{sid}", {"content": "iso", "digest": stale})
    assert reply.status == 409, f"PUT with a stale digest: {reply!r}"
    config = api.ok("GET", f"/storage/{sid}")
    assert set(config["content"].split(",")) == {"images", "iso"} and config["digest"] != stale, config
