"""A VM's life in the browser, on a node with a network namespace of its own (bridge vmbr0 there):
the create-VM wizard (ISO, disk, CPU without KVM, memory, bridge) and a start; a memory change
pending on the running VM and a bad value refused; a snapshot with RAM taken, rolled back and
deleted; the VNC and serial consoles of the booted test guest, then a stop; a failing start whose
toast links to its task log.

The test guest is booted once: the wizard's VM is it (the `guest` fixture makes one through the
API only when the wizard test did not run or failed).
"""

from __future__ import annotations

import os
import time
import urllib.parse

import pytest
from selenium.webdriver.common.by import By

from ui_fixtures import browser, ui  # noqa: F401  (pytest fixtures)
from ui_helpers import (READY, contained_node, attr_of, confirm_dialog, create_vm, destroy_vm, goto, put_guest_iso,
                        set_field, start_vm, text_of, tree_row, vm_status, wait_guest_ready, wait_task, wait_toast,
                        wait_tree_status)
from vm_fixtures import ISO_NAME, guest_iso  # noqa: F401

# Pixels of the noVNC canvas that are not black (the guest's VGA text: SeaBIOS, the boot loader).
LIT_PIXELS = """
    const canvas = document.querySelector('[data-testid=vnc-screen] canvas');
    if (!canvas || !canvas.width || !canvas.height) return -1;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 60) lit++;
    return lit;
"""


@pytest.fixture(scope="module")
def node(guest_iso):  # noqa: F811
    with contained_node() as n:
        n.iso = put_guest_iso(n.root, guest_iso, n.cleanup)
        n.guest = None  # VMID of the test guest once made
        n.guest_ready = False  # it printed its ready marker since it last started
        yield n


@pytest.fixture
def ui_base_url(node):
    return node.url


@pytest.fixture
def guest(node):
    """The running, booted test guest (VMID)."""
    root, data_dir = node.root, node.daemon.data_dir
    if node.guest is None:
        node.guest = create_vm(root, node.node, node.cleanup, data_dir, name="ui-guest", memory=256, serial0="socket",
                               vga="std", scsi0="local:1,format=qcow2", ide2=f"{node.iso},media=cdrom",
                               boot="order=scsi0;ide2", net0="virtio,bridge=vmbr0")
    if vm_status(root, node.node, node.guest) != "running":
        node.guest_ready = False
        start_vm(root, node.node, node.guest)
    if not node.guest_ready:
        # QEMU starts its serial log afresh: the marker in it is this boot's.
        wait_guest_ready(data_dir, node.guest)
        node.guest_ready = True
    return node.guest


def login(ui, node, route: str = ""):
    ui.open(route)
    ui.login(node.admin.userid, node.admin.password)


def wizard_next(ui, step: str):
    ui.click("[data-testid=wizard-next]")
    ui.wait_for(f'.wizard-steps li.active[data-step="{step}"]')


def test_create_a_vm_with_the_wizard_and_start_it(ui, node):
    root = node.root
    login(ui, node)
    ui.click("[data-testid=create-vm]")
    ui.wait_until(lambda d: ui.js("return location.hash") == "#/create-vm", 5, "the wizard's route")
    vmid = int(root.ok("GET", "/cluster/nextid"))
    ui.wait_until(lambda d: ui.find("input[name=vmid]").get_attribute("value") == str(vmid), 10,
                  f"VMID {vmid} from /cluster/nextid")
    name = "ui-wizard"
    set_field(ui, "input[name=name]", name)

    wizard_next(ui, "os")
    ui.wait_for(f'select[name=ide2] option[value="{node.iso}"]', visible=False)
    set_field(ui, "select[name=ide2]", node.iso)
    assert ui.find("input[name=serial0]").is_selected(), "serial console on by default"

    wizard_next(ui, "disk")
    ui.wait_for('select[name=storage] option[value="local"]', visible=False)
    set_field(ui, "select[name=storage]", "local")
    set_field(ui, "input[name=scsi0]", 1)

    wizard_next(ui, "cpu")
    assert ui.find("input[name=kvm]").is_selected(), "KVM on by default"
    set_field(ui, "input[name=kvm]", False)  # TCG: KVM guests hang on this machine

    wizard_next(ui, "memory")
    set_field(ui, "input[name=memory]", 256)

    wizard_next(ui, "network")
    ui.wait_for('select[name=net0] option[value="vmbr0"]', visible=False)
    set_field(ui, "select[name=net0]", "vmbr0")

    wizard_next(ui, "confirm")
    summary = ui.wait_for("[data-testid=wizard-summary]").text
    for expected in (str(vmid), name, ISO_NAME, "scsi0 on local, 1 GiB", "no KVM", "256 MiB", "vmbr0"):
        assert expected in summary, f"{expected!r} not in the summary:\n{summary}"
    cli = ui.text("[data-testid=cli-preview]")
    for expected in (f"qm create {vmid}", "--kvm 0", "--memory 256", "--scsi0 local:1,format=qcow2",
                     f"--ide2 {node.iso},media=cdrom", "--net0 virtio,bridge=vmbr0", "--serial0 socket",
                     f"POST /api2/json/nodes/{node.node}/qemu"):
        assert expected in cli, f"{expected!r} not in the command preview:\n{cli}"

    node.guest = vmid
    node.cleanup.add(destroy_vm, root, node.node, node.daemon.data_dir, vmid)
    ui.click("[data-testid=wizard-finish]")
    ui.wait_until(lambda d: ui.js("return location.hash") == f"#/qemu/{vmid}/summary", 60, "the new VM's summary")
    ui.wait_for(tree_row(vmid))
    wait_tree_status(ui, vmid, "stopped")
    assert name in text_of(ui, tree_row(vmid))
    config = root.ok("GET", f"/nodes/{node.node}/qemu/{vmid}/config")
    assert config["name"] == name and str(config["memory"]) == "256" and str(config["kvm"]) == "0", config
    assert config["ide2"].startswith(node.iso) and "bridge=vmbr0" in config["net0"], config
    assert config["scsi0"].startswith(f"local:{vmid}/vm-{vmid}-disk-0.qcow2"), config

    ui.click("[data-testid=vm-start]")
    confirm_dialog(ui, expect_text=f"qm start {vmid}")
    wait_tree_status(ui, vmid, "running", timeout=60)
    ui.wait_text("[data-testid=vm-status]", "running")
    assert vm_status(root, node.node, vmid) == "running"


def test_memory_change_is_pending_on_a_running_vm_and_a_bad_value_changes_nothing(ui, node, guest):
    root = node.root
    node.cleanup.add(lambda: root.put(f"/nodes/{node.node}/qemu/{guest}/config", {"revert": "memory"}))
    before = root.ok("GET", f"/nodes/{node.node}/qemu/{guest}/config")["memory"]
    login(ui, node, f"#/qemu/{guest}/hardware")
    memory_row = '[data-testid=hw-row][data-key="memory"]'
    ui.wait_text(memory_row, "256 MiB")

    ui.click(f"{memory_row} [data-testid=hw-edit]")
    set_field(ui, "[data-testid=dialog] input[name=memory]", 1)
    ui.click("[data-testid=dialog] [data-testid=dialog-submit]")
    ui.wait_text("[data-testid=dialog] [data-testid=field-error-memory]", "at least 16")
    assert ui.find("[data-testid=dialog]").is_displayed(), "the dialog stays open with the error"
    ui.click("[data-testid=dialog] [data-testid=dialog-cancel]")
    ui.wait_gone("[data-testid=dialog]")
    assert root.ok("GET", f"/nodes/{node.node}/qemu/{guest}/config")["memory"] == before
    assert not [e for e in root.ok("GET", f"/nodes/{node.node}/qemu/{guest}/pending") if "pending" in e]
    assert "pending" not in attr_of(ui, memory_row, "class")

    ui.click(f"{memory_row} [data-testid=hw-edit]")
    set_field(ui, "[data-testid=dialog] input[name=memory]", 384)
    ui.wait_text("[data-testid=dialog] [data-testid=cli-preview]", f"qm set {guest} --memory 384")
    ui.click("[data-testid=dialog] [data-testid=dialog-submit]")
    ui.wait_gone("[data-testid=dialog]")
    ui.wait_until(lambda d: "pending" in attr_of(ui, memory_row, "class"), 10, "memory marked pending")
    assert text_of(ui, f"{memory_row} .oldval") == "256 MiB"  # struck through
    assert text_of(ui, f"{memory_row} .newval") == "384 MiB"
    assert text_of(ui, f"{memory_row} .pending-mark").lower() == "pending"
    assert "apply when the VM is next started" in ui.text(".obj-content")
    pending = {e["key"]: e for e in root.ok("GET", f"/nodes/{node.node}/qemu/{guest}/pending")}
    assert str(pending["memory"].get("pending")) == "384" and str(pending["memory"]["value"]) == "256", pending
    # The running VM still has its old memory.
    assert root.ok("GET", f"/nodes/{node.node}/qemu/{guest}/status/current")["maxmem"] == 256 * 1024 * 1024

    # Revert from the row drops the pending change.
    ui.click(f"{memory_row} [data-testid=hw-revert]")
    ui.wait_until(lambda d: "pending" not in attr_of(ui, memory_row, "class"), 10, "pending reverted")
    shown = text_of(ui, memory_row)
    assert shown.count("MiB") == 1 and "256 MiB" in shown, shown
    assert "pending" not in {e["key"]: e for e in root.ok("GET", f"/nodes/{node.node}/qemu/{guest}/pending")}["memory"]


def test_vnc_and_serial_consoles_show_the_guest(ui, node, guest):
    login(ui, node, f"#/qemu/{guest}/console")
    ui.wait_text("[data-testid=console-state]", "connected", timeout=30)
    lit = ui.wait_until(lambda d: (n := ui.js(LIT_PIXELS)) > 300 and n, 20, "the VGA screen drawn on the canvas")
    assert lit > 300, lit
    ui.screenshot("vnc")

    ui.click("[data-testid=console-kind-serial]")
    ui.wait_for("[data-testid=serial-screen]")
    ui.wait_text("[data-testid=console-state]", "connected", timeout=30)
    ui.wait_until(lambda d: READY in ui.js(
        "return document.querySelector('[data-testid=serial-text]').textContent"), 15, "the backlog with the marker")
    assert len(ui.find_all("[data-testid=console-tab]")) == 2, "VNC and serial open side by side"

    # Typed into the terminal (the guest does not echo): its answer comes back.
    word = f"ui{int(time.time() * 1000) % 100000}"
    terminal = ui.find("[data-testid=serial-screen] .xterm-helper-textarea")
    terminal.send_keys(f"echo {word}-reply\n")
    ui.wait_until(lambda d: f"{word}-reply" in ui.js(
        "return document.querySelector('[data-testid=serial-text]').textContent"), 20, "the guest's reply")
    ui.screenshot("serial")



def test_snapshot_with_ram_roll_back_and_delete(ui, node, guest):
    root = node.root
    snap = "uisnap1"
    base = f"/nodes/{node.node}/qemu/{guest}"
    node.cleanup.add(lambda: root.delete(f"{base}/snapshot/{snap}"))
    login(ui, node, f"#/qemu/{guest}/snapshots")
    ui.click("[data-testid=snapshot-take]")
    ui.wait_for("[data-testid=dialog] input[name=snapname]")
    assert ui.find("[data-testid=dialog] input[name=vmstate]").is_selected(), "RAM included for a running VM"
    set_field(ui, "[data-testid=dialog] input[name=snapname]", snap)
    set_field(ui, "[data-testid=dialog] textarea[name=description]", "before the UI test's change")
    ui.wait_text("[data-testid=dialog] [data-testid=cli-preview]", f"qm snapshot {guest} {snap}")
    assert "--vmstate 1" in ui.text("[data-testid=dialog] [data-testid=cli-preview]")
    ui.click("[data-testid=dialog] [data-testid=dialog-submit]")
    wait_toast(ui, f"VM {guest}: snapshot: done", timeout=120)
    row = f'[data-testid=snapshot-row][data-name="{snap}"]'
    ui.wait_text(row, "before the UI test")
    assert text_of(ui, f"{row} td:nth-child(2)") == "yes", text_of(ui, row)  # RAM

    # A change after the snapshot, which the rollback undoes (the description would be kept, as Proxmox does).
    root.ok("PUT", f"{base}/config", {"tags": "after-snapshot"})
    ui.wait_text(tree_row(guest), "after-snapshot")
    ui.click(f'[data-testid=snapshot-row][data-name="{snap}"] [data-testid=snapshot-rollback]')
    confirm_dialog(ui, expect_text=f"qm rollback {guest} {snap}")
    wait_toast(ui, f"VM {guest}: roll back to {snap}: done", timeout=120)
    assert "tags" not in root.ok("GET", f"{base}/config")
    ui.wait_until(lambda d: "after-snapshot" not in text_of(ui, tree_row(guest)), 10, "the tag gone in the tree")
    wait_tree_status(ui, guest, "running")  # resumed from the saved RAM

    ui.click(f'[data-testid=snapshot-row][data-name="{snap}"] [data-testid=snapshot-delete]')
    confirm_dialog(ui, expect_text=f"qm delsnapshot {guest} {snap}")
    wait_toast(ui, f"VM {guest}: delete snapshot {snap}: done", timeout=60)
    ui.wait_gone(f'[data-testid=snapshot-row][data-name="{snap}"]')
    ui.wait_for("[data-testid=snapshots-empty]")
    assert [s["name"] for s in root.ok("GET", f"{base}/snapshot")] == ["current"]


def test_stop_the_guest_from_the_ui(ui, node, guest):
    login(ui, node, f"#/qemu/{guest}/console")
    ui.wait_text("[data-testid=console-state]", "connected", timeout=30)
    ui.click("[data-testid=vm-stop]")
    confirm_dialog(ui, expect_text=f"qm stop {guest}")
    wait_tree_status(ui, guest, "stopped", timeout=60)
    ui.wait_text("[data-testid=vm-header-status]", "stopped")
    ui.wait_until(lambda d: text_of(ui, "[data-testid=console-state]") != "connected", 15, "the console closed")
    # Reconnecting, the console says why it cannot, and offers to start the VM.
    ui.click(".console-area [data-testid=console-reconnect]")
    ui.wait_for("[data-testid=console-start]", timeout=15)
    assert f"VM {guest} is not running" in text_of(ui, ".console-area")
    goto(ui, f"#/qemu/{guest}/summary")
    ui.wait_text("[data-testid=vm-status]", "stopped")
    assert vm_status(node.root, node.node, guest) == "stopped"


def test_a_failing_start_links_to_its_task_log(ui, node):
    root = node.root
    vmid = create_vm(root, node.node, node.cleanup, node.daemon.data_dir, name="ui-broken", scsi0="local:1")
    volume = root.ok("GET", f"/nodes/{node.node}/qemu/{vmid}/config")["scsi0"].split(",")[0]
    path = root.ok("GET", f"/nodes/{node.node}/storage/local/content/{urllib.parse.quote(volume, safe='')}")["path"]
    os.remove(path)  # the disk is gone: QEMU cannot start

    login(ui, node, f"#/qemu/{vmid}/summary")
    ui.wait_text("[data-testid=vm-status]", "stopped")
    ui.click("[data-testid=vm-start]")
    confirm_dialog(ui)
    toast = wait_toast(ui, f"VM {vmid}: Start failed", timeout=60)
    assert "No such file or directory" in toast.text, toast.text
    link = toast.find_element(By.CSS_SELECTOR, "[data-testid=toast-task-link]")
    upid = urllib.parse.unquote(link.get_attribute("href").split(f"#/task/{node.node}/", 1)[1])
    assert f":qmstart:{vmid}:" in upid
    link.click()

    ui.wait_for("[data-testid=task-log]")
    ui.wait_until(lambda d: ui.find("[data-testid=task-status]").get_attribute("data-status") == "error", 10,
                  "the task's status: error")
    log = ui.wait_text("[data-testid=task-log]", "TASK ERROR").text
    assert "No such file or directory" in log, log
    assert ui.find_all("[data-testid=task-log] .ln.err"), "the error line is not marked"
    ui.screenshot("task-log")
    ui.click("[data-testid=dialog] [data-testid=dialog-cancel]")
    ui.wait_gone("[data-testid=task-log]")
    assert ui.js("return location.hash") == f"#/qemu/{vmid}/summary"

    row = f'[data-testid=task-panel] [data-testid=task-row][data-upid="{upid}"]'
    ui.wait_for(row)
    assert attr_of(ui, row, "data-status") == "error"
    assert "start failed" in text_of(ui, row), text_of(ui, row)
    assert vm_status(root, node.node, vmid) == "stopped"
    wait_task(root, node.node, upid)
