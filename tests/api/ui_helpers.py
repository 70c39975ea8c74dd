"""Shared pieces of the browser tests (tests/api/test_ui_*.py): VMs made and removed through the
root socket, a contained node (vireod in a throwaway network namespace, for the tests that apply
network changes or put VMs on a bridge), and small page helpers on top of ui_fixtures.UI.

    from ui_helpers import ContainedNode, create_vm, destroy_vm, goto, confirm_dialog, ...
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from contextlib import contextmanager

from conftest import Cleanup, LocalRoot, User, create_user, prerequisite, start_daemon, stop_daemon
from vm_fixtures import ISO_NAME, kill_vm_processes

READY = "VIREO-GUEST-READY"


# ---------------------------------------------------------------------------------------------
# Tasks and VMs through the root socket (setup and cleanup only: what the tests check goes
# through the browser)


def wait_task(root: LocalRoot, node: str, upid: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = root.ok("GET", f"/nodes/{node}/tasks/{upid}/status")
        if status["status"] == "stopped":
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"task {upid} still running after {timeout} s")
        time.sleep(0.1)


def task_log(root: LocalRoot, node: str, upid: str) -> str:
    return "\n".join(line["t"] for line in root.ok("GET", f"/nodes/{node}/tasks/{upid}/log"))


def vm_status(root: LocalRoot, node: str, vmid: int) -> str | None:
    status, _, body = root.get(f"/nodes/{node}/qemu/{vmid}/status/current")
    return body["data"]["status"] if status == 200 else None


def destroy_vm(root: LocalRoot, node: str, data_dir: str, vmid: int) -> None:
    """Stops (then kills, as a backstop) and destroys a VM; quiet when it is gone already."""
    if vm_status(root, node, vmid) == "running":
        status, _, body = root.post(f"/nodes/{node}/qemu/{vmid}/status/stop")
        if status == 200:
            wait_task(root, node, body["data"], timeout=60)
    pidfile = os.path.join(data_dir, "run", "qemu", f"{vmid}.pid")
    try:
        pid = int(open(pidfile).read().strip())
        if pidfile.encode() in open(f"/proc/{pid}/cmdline", "rb").read():
            os.kill(pid, 9)
    except (OSError, ValueError):
        pass
    status, _, body = root.delete(f"/nodes/{node}/qemu/{vmid}", {"purge": 1})
    if status == 200 and body and body.get("data"):
        wait_task(root, node, body["data"], timeout=60)
    assert vm_status(root, node, vmid) is None, f"VM {vmid} is still there: {status} {body}"


def create_vm(root: LocalRoot, node: str, cleanup: Cleanup, data_dir: str, **params) -> int:
    """A VM (kvm 0, 128 MiB unless given) at the next free VMID, destroyed by `cleanup`."""
    vmid = int(root.ok("GET", "/cluster/nextid"))
    cleanup.add(destroy_vm, root, node, data_dir, vmid)
    upid = root.ok("POST", f"/nodes/{node}/qemu", {"vmid": vmid, "memory": 128, "kvm": 0, **params})
    status = wait_task(root, node, upid)
    assert status["exitstatus"] == "OK", task_log(root, node, upid)
    return vmid


def start_vm(root: LocalRoot, node: str, vmid: int) -> None:
    upid = root.ok("POST", f"/nodes/{node}/qemu/{vmid}/status/start")
    status = wait_task(root, node, upid)
    assert status["exitstatus"] == "OK", task_log(root, node, upid)


def serial_log(data_dir: str, vmid: int) -> str:
    """What the guest printed on serial0 so far (QEMU's chardev log, read without attaching)."""
    try:
        return open(os.path.join(data_dir, "run", "qemu", f"{vmid}.serial0.log"), errors="replace").read()
    except OSError:
        return ""


def wait_guest_ready(data_dir: str, vmid: int, since: int = 0, timeout: float = 150) -> None:
    """Waits for the ready marker in the serial log after offset `since` (the log grows across boots)."""
    deadline = time.monotonic() + timeout
    while READY not in serial_log(data_dir, vmid)[since:]:
        assert time.monotonic() < deadline, \
            f"the test guest (VM {vmid}) did not boot in {timeout} s; serial log:\n{serial_log(data_dir, vmid)[-3000:]}"
        time.sleep(0.3)


def put_guest_iso(root: LocalRoot, guest_iso: str, cleanup: Cleanup) -> str:
    """The test guest ISO in storage `local` (copied into its directory); returns its volid. A copy
    that was there before stays; ours is removed by `cleanup`."""
    path = root.ok("GET", "/storage/local")["path"]
    iso = os.path.join(path, "template", "iso", ISO_NAME)
    if not os.path.exists(iso):
        os.makedirs(os.path.dirname(iso), exist_ok=True)
        cleanup.add(_remove, iso)
        shutil.copy(guest_iso, iso)
    return f"local:iso/{ISO_NAME}"


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


# ---------------------------------------------------------------------------------------------
# A contained node: vireod with --netns, so bridges it applies and taps of its VMs live in a
# namespace of their own, never in the host's


@contextmanager
def contained_node(bridge: str | None = "vmbr0"):
    """A `ContainedNode` for a module's tests; stopped (and checked clean) afterwards."""
    n = ContainedNode(bridge=bridge)
    try:
        yield n
    finally:
        errors = n.stop()
        assert not errors, errors


class ContainedNode:
    """vireod (`--netns vn-ui-…`) with an Administrator user and, with `bridge`, that bridge
    staged and applied. `stop()` kills its QEMUs, stops it and deletes the namespace."""

    def __init__(self, bridge: str | None = "vmbr0"):
        prerequisite(os.geteuid() == 0, "root (network namespaces)")
        prerequisite(shutil.which("ip") is not None, "ip (iproute2)")
        self.netns = f"vn-ui-{uuid.uuid4().hex[:6]}"
        self.daemon = None
        self.bridge = bridge
        self.cleanup = Cleanup()
        subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True)
        try:
            self.daemon = start_daemon(["--auth-failure-delay", "0", "--netns", self.netns])
            self.admin: User = create_user(self.root, None, prefix="uiadmin")
            if bridge:
                self.root.ok("POST", f"/nodes/{self.node}/network", {"iface": bridge, "type": "bridge", "autostart": 1})
                upid = self.root.ok("PUT", f"/nodes/{self.node}/network")
                assert wait_task(self.root, self.node, upid)["exitstatus"] == "OK", task_log(self.root, self.node, upid)
        except BaseException:
            self.stop()
            raise

    @property
    def root(self) -> LocalRoot:
        return self.daemon.root

    @property
    def node(self) -> str:
        return self.daemon.node

    @property
    def url(self) -> str:
        return self.daemon.url + "/"

    def links(self) -> list[str]:
        out = subprocess.run(["ip", "-n", self.netns, "-o", "link", "show"], capture_output=True, text=True).stdout
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]

    def stop(self) -> list[str]:
        errors = self.cleanup.run()
        if self.daemon is not None:
            kill_vm_processes(self.daemon.data_dir)
            stop_daemon(self.daemon)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        return errors


# ---------------------------------------------------------------------------------------------
# Page helpers


def goto(ui, route: str, ready_css: str | None = None, timeout: float = 10) -> None:
    """Navigates inside the running app (a hash change, no reload) and waits for `ready_css`."""
    ui.js("location.hash = arguments[0]", route if route.startswith("#") else "#" + route)
    if ready_css:
        ui.wait_for(ready_css, timeout=timeout)


def confirm_dialog(ui, expect_text: str | None = None) -> str:
    """Confirms the open confirmation dialog; returns its text (message and command preview)."""
    dialog = ui.wait_for("[data-testid=dialog]")
    ui.wait_for("[data-testid=dialog] [data-testid=confirm-ok]")
    text = dialog.text
    if expect_text is not None:
        assert expect_text in text, f"the confirmation does not mention {expect_text!r}: {text!r}"
    ui.click("[data-testid=dialog] [data-testid=confirm-ok]")
    ui.wait_gone("[data-testid=dialog]")
    return text


def text_of(ui, css: str) -> str | None:
    """The visible text (innerText) of the first element matching `css`, read in one go in the page:
    no stale element when a list re-renders meanwhile. None when there is no such element."""
    return ui.js("const e = document.querySelector(arguments[0]); return e ? e.innerText : null", css)


def attr_of(ui, css: str, name: str) -> str | None:
    return ui.js("const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null",
                 css, name)


def tree_row(vmid) -> str:
    return f'[data-testid=resource-tree] [data-testid=tree-item][data-id="qemu/{vmid}"]'


def wait_tree_status(ui, vmid, status: str, timeout: float = 30) -> None:
    ui.wait_until(lambda d: attr_of(ui, tree_row(vmid), "data-status") == status, timeout,
                  f"VM {vmid} {status} in the tree")


def wait_toast(ui, text: str, timeout: float = 30):
    """The first toast whose text contains `text`."""
    def find(_driver):
        for toast in ui.find_all("[data-testid=toast]"):
            try:
                if text in toast.text:
                    return toast
            except Exception:  # re-rendered meanwhile
                pass
        return None
    return ui.wait_until(find, timeout, f"a toast containing {text!r}")


def set_field(ui, css: str, value) -> None:
    """Sets an input, select or checkbox by its CSS selector as a user would."""
    from selenium.webdriver.support.ui import Select

    el = ui.wait_for(css)
    tag = el.tag_name.lower()
    if tag == "select":
        Select(el).select_by_value(str(value))
    elif el.get_attribute("type") == "checkbox":
        if el.is_selected() != bool(value):
            el.click()
    else:
        el.clear()
        el.send_keys(str(value))


__all__ = [
    "READY", "ContainedNode", "attr_of", "confirm_dialog", "create_vm", "destroy_vm", "goto", "put_guest_iso",
    "serial_log", "set_field", "start_vm", "task_log", "text_of", "tree_row", "vm_status", "wait_guest_ready",
    "wait_task", "wait_toast", "wait_tree_status",
]
