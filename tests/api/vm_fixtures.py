"""Fixtures for VM tests: the test guest ISO, a serial console reader, VM cleanup."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time

import pytest

from conftest import REPO, prerequisite

GUEST_DIR = REPO / ".cache" / "test-guest"
ISO_NAME = "vireo-test-guest.iso"


@pytest.fixture(scope="session")
def guest_iso() -> str:
    """Builds (or reuses) the test guest ISO from Debian packages; returns its path."""
    prerequisite(os.path.exists("/usr/bin/qemu-system-x86_64"), "qemu-system-x86_64 (Debian qemu-system-x86)")
    result = subprocess.run(
        [str(REPO / "scripts" / "build-test-guest.sh"), str(GUEST_DIR)], capture_output=True, text=True, timeout=600)
    iso = GUEST_DIR / ISO_NAME
    prerequisite(result.returncode == 0 and iso.exists(), f"test guest build: {result.stderr[-2000:]}")
    return str(iso)


class SerialConsole:
    """Reads a VM's serial socket (`serial0: socket`) in the background; sends console commands."""

    def __init__(self, path: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.text = ""
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.text += data.decode(errors="replace")

    def mark(self) -> int:
        with self.lock:
            return len(self.text)

    def wait_for(self, marker: str, since: int = 0, timeout: float = 60) -> str:
        """The first complete line containing `marker` after position `since`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                tail = self.text[since:]
            for line in tail.splitlines(keepends=True):
                if marker in line and line.endswith("\n"):
                    return line.strip()
            time.sleep(0.1)
        raise AssertionError(f"no '{marker}' on the serial console within {timeout} s; got:\n{self.text[-2000:]}")

    def send(self, command: str):
        self.sock.sendall(command.encode() + b"\n")

    def command(self, command: str, reply: str, timeout: float = 60) -> str:
        """Sends a console command and returns the first reply line containing `reply`."""
        mark = self.mark()
        self.send(command)
        return self.wait_for(reply, since=mark, timeout=timeout)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def kill_vm_processes(data_dir: str):
    """Kills every QEMU whose pidfile lives under `data_dir` (teardown, also after failures)."""
    qemu_dir = os.path.join(data_dir, "run", "qemu")
    if not os.path.isdir(qemu_dir):
        return
    for name in os.listdir(qemu_dir):
        if not name.endswith(".pid"):
            continue
        try:
            pid = int(open(os.path.join(qemu_dir, name)).read().strip())
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
            if os.path.join(qemu_dir, name).encode() in cmdline:
                os.kill(pid, 9)
        except (OSError, ValueError):
            pass
