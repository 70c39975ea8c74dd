"""Helpers for tests that build networks in throwaway namespaces: running host commands, joining a
namespace from a thread, and the SMBIOS serial that gives the test guest its address."""

from __future__ import annotations

import base64
import ctypes
import os
import subprocess
import threading

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def sh(*args, check=True, timeout=60):
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def join_netns(ns: str):
    """Moves the calling thread (only it) into network namespace `ns`."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns({ns}): {os.strerror(error)}")
    finally:
        os.close(fd)


def in_netns(ns: str, fn):
    """Runs `fn` in a thread that joined `ns`; returns its result (or raises its error). Sockets it
    makes stay in that namespace for good, whichever thread uses them later."""
    box = {}

    def run():
        try:
            join_netns(ns)
            box["value"] = fn()
        except BaseException as error:  # handed to the caller
            box["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(30)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def guest_ip(cidr: str) -> str:
    """`smbios1` telling the test guest its address: the SMBIOS serial `vireo.ip=CIDR`, sent in
    base64 as Proxmox's pattern for SMBIOS text fields requires."""
    return f"serial={base64.b64encode(f'vireo.ip={cidr}'.encode()).decode()},base64=1"
