"""Fixtures and helpers for the storage tests: loop-device file systems, per-test storages, a
status-returning API client and task polling.

Everything a fixture creates on the host lives below one fresh temp dir per file system (image
file, mount point); teardown always runs (also after a failed setup step) and touches only what
this module made: the mount point it mounted, the loop device(s) attached to its own image file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass

import pytest

from conftest import Cleanup, prerequisite, ticket_session, unique

# ---------------------------------------------------------------------------------------------
# Loop-device file systems

_MKFS = {"btrfs": ["mkfs.btrfs", "-q"], "ext4": ["mkfs.ext4", "-q", "-F"]}


def _run(args, timeout=60, check=True):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=check,
                          stdin=subprocess.DEVNULL)


def _is_mounted(path: str) -> bool:
    real = os.path.realpath(path)
    try:
        with open("/proc/self/mounts") as mounts:
            return any(line.split()[1] == real for line in mounts if len(line.split()) > 1)
    except OSError:
        return os.path.ismount(path)


def _loops_of(image: str) -> list[str]:
    """Loop devices backed by this very image file (`losetup -j`)."""
    try:
        out = _run(["losetup", "-j", image], check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.split(":", 1)[0] for line in out.splitlines() if line.startswith("/dev/")]


def loop_tools_available(fstype: str) -> tuple[bool, str]:
    tools = ["losetup", "mount", "umount", _MKFS[fstype][0]]
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        return False, f"tools {', '.join(missing)}"
    if os.geteuid() != 0:
        return False, "root (loop devices and mounts)"
    if not os.path.exists("/dev/loop-control"):
        return False, "/dev/loop-control (loop device support)"
    return True, ""


@contextlib.contextmanager
def loop_filesystem(fstype: str, size_mb: int):
    """A fresh `fstype` file system of `size_mb` MiB on a sparse image behind a loop device,
    mounted on a temp dir; yields the mount point. Torn down in all cases."""
    ok, missing = loop_tools_available(fstype)
    prerequisite(ok, f"{missing} for a {fstype} loop file system")
    base = tempfile.mkdtemp(prefix=f"vireo-loop-{fstype}-{unique('')}-")
    image = os.path.join(base, "disk.img")
    mnt = os.path.join(base, "mnt")
    devices: list[str] = []

    def teardown():
        errors = []
        if _is_mounted(mnt):
            for attempt in range(5):
                if _run(["umount", mnt], check=False).returncode == 0 or not _is_mounted(mnt):
                    break
                time.sleep(0.2 * (attempt + 1))
            if _is_mounted(mnt):
                lazy = _run(["umount", "-l", mnt], check=False)
                if lazy.returncode != 0:
                    errors.append(f"umount -l {mnt}: {lazy.stderr.strip()}")
        # Every loop device on our image, also one whose `--show` output we never got.
        for device in dict.fromkeys(devices + _loops_of(image)):
            for attempt in range(5):
                if _run(["losetup", "-d", device], check=False).returncode == 0:
                    break
                time.sleep(0.2 * (attempt + 1))
            else:
                errors.append(f"losetup -d {device} failed")
        if not _is_mounted(mnt):
            shutil.rmtree(base, ignore_errors=True)
        else:
            errors.append(f"{mnt} still mounted; left {base} in place")
        return errors

    failed = False
    try:
        try:
            with open(image, "wb") as f:
                f.truncate(size_mb * 1024 * 1024)
            os.mkdir(mnt)
            result = _run(["losetup", "--find", "--show", image])
            device = result.stdout.strip()
            assert device.startswith("/dev/loop"), f"losetup printed {result.stdout!r}"
            devices.append(device)
            _run([*_MKFS[fstype], device], timeout=120)
            _run(["mount", device, mnt])
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"{' '.join(error.cmd)} failed ({error.returncode}): {error.stderr}") from error
        yield mnt
    except BaseException:
        failed = True
        raise
    finally:
        errors = teardown()
        if errors and not failed:
            raise RuntimeError("loop fs teardown: " + "; ".join(errors))


@pytest.fixture
def loop_fs():
    """Factory: loop_fs('btrfs'|'ext4', size_mb) -> mount point; all torn down after the test."""
    with contextlib.ExitStack() as stack:
        def make(fstype: str, size_mb: int) -> str:
            return stack.enter_context(loop_filesystem(fstype, size_mb))

        yield make


@pytest.fixture
def tmp_dirs():
    """Factory: tmp_dirs(prefix) -> a fresh temp dir, removed after the test."""
    made = []

    def make(prefix="vireo-st-"):
        path = tempfile.mkdtemp(prefix=prefix)
        made.append(path)
        return path

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Storages


def storage_id(prefix: str = "st") -> str:
    return unique(prefix).lower()


@pytest.fixture
def storages(daemon, loop_fs, tmp_dirs):
    """Factory for unique storage IDs that are removed (as root) at teardown.

    `storages.new(prefix)` -> id (registered for deletion before it exists);
    `storages.add(type, path, **options)` -> id, created through the root socket.
    Depends on loop_fs/tmp_dirs so storages are deleted before their file systems go away."""
    cleanup = Cleanup()

    class Factory:
        @staticmethod
        def new(prefix: str = "st") -> str:
            sid = storage_id(prefix)
            cleanup.add(daemon.root.delete, f"/storage/{sid}")
            return sid

        @staticmethod
        def add(type_: str, path: str, prefix: str = "st", **options) -> str:
            sid = Factory.new(prefix)
            daemon.root.ok("POST", "/storage", {"storage": sid, "type": type_, "path": path, **options})
            return sid

    yield Factory
    cleanup.run()


# ---------------------------------------------------------------------------------------------
# HTTP client with status codes


@dataclass
class Reply:
    status: int
    reason: str
    body: object

    @property
    def data(self):
        return self.body.get("data") if isinstance(self.body, dict) else None

    @property
    def message(self) -> str:
        """Reason, message and parameter errors in one string (for `in` checks)."""
        parts = [self.reason or ""]
        if isinstance(self.body, dict):
            parts.append(str(self.body.get("message") or ""))
            errors = self.body.get("errors")
            if isinstance(errors, dict):
                parts += [f"{k}: {v}" for k, v in errors.items()]
        return " | ".join(p for p in parts if p)

    def __repr__(self):
        return f"<{self.status} {self.reason!r} {self.body!r}>"


class Api:
    """requests with a ticket cookie + CSRF token; never raises on HTTP errors."""

    def __init__(self, daemon, userid: str, password: str):
        self.daemon = daemon
        self.node = daemon.node
        self.session = ticket_session(daemon, userid, password)

    def request(self, method: str, path: str, params=None, files=None, timeout=120) -> Reply:
        url = self.daemon.api(path)
        kwargs = {"timeout": timeout}
        if method in ("GET", "DELETE"):
            kwargs["params"] = params
        elif files is not None:
            kwargs["data"] = params
            kwargs["files"] = files
        else:
            kwargs["data"] = params or {}
        r = self.session.request(method, url, **kwargs)
        try:
            body = r.json()
        except ValueError:
            body = r.text
        return Reply(r.status_code, r.reason, body)

    def get(self, path, params=None):
        return self.request("GET", path, params)

    def post(self, path, params=None, files=None):
        return self.request("POST", path, params, files)

    def put(self, path, params=None):
        return self.request("PUT", path, params)

    def delete(self, path, params=None):
        return self.request("DELETE", path, params)

    def ok(self, method, path, params=None):
        reply = self.request(method, path, params)
        assert reply.status == 200, f"{method} {path} {params} -> {reply!r}"
        return reply.data

    # Paths

    def storage_path(self, storage: str, rest: str = "") -> str:
        return f"/nodes/{self.node}/storage/{storage}{rest}"

    def volume_path(self, storage: str, volid: str, rest: str = "", raw: bool = False) -> str:
        """`…/content/<volid>[rest]`, the volid percent-encoded as one segment (or raw with its `/`)."""
        encoded = volid if raw else urllib.parse.quote(volid, safe="")
        return self.storage_path(storage, f"/content/{encoded}{rest}")

    # Tasks

    def wait_task(self, upid: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        path = f"/nodes/{self.node}/tasks/{urllib.parse.quote(upid, safe='')}/status"
        while True:
            status = self.ok("GET", path)
            if status.get("status") == "stopped":
                return status
            assert time.monotonic() < deadline, f"task {upid} still running after {timeout} s: {status}"
            time.sleep(0.1)

    def task_log(self, upid: str) -> str:
        path = f"/nodes/{self.node}/tasks/{urllib.parse.quote(upid, safe='')}/log"
        return "\n".join(line.get("t", "") for line in self.ok("GET", path, {"limit": 1000}) or [])


@pytest.fixture
def api(daemon, admin):
    return Api(daemon, admin.userid, admin.password)


class RootApi(Api):
    """The same calls as root@pam over the local socket: a storage's host path is root's to set."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.node = daemon.node

    def request(self, method: str, path: str, params=None, files=None, timeout=120) -> Reply:
        assert files is None, "uploads go through Api"
        status, reason, body = self.daemon.root.request(method, path, params)
        return Reply(status, reason, body)


@pytest.fixture
def root_api(daemon):
    return RootApi(daemon)


# ---------------------------------------------------------------------------------------------
# Host-side helpers


def statvfs_bytes(path: str) -> dict:
    st = os.statvfs(path)
    total = st.f_blocks * st.f_frsize
    return {"total": total, "avail": st.f_bavail * st.f_frsize, "used": total - st.f_bfree * st.f_frsize}


def tree(path: str) -> set[str]:
    """Every entry below `path` (relative), without following symlinks."""
    found = set()
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(root, name), path))
    return found
