"""A node's network in the browser: stage a bridge, read the diff, revert it; stage it again and
apply it. The node is a vireod with a network namespace of its own (`--netns`): what it applies
lands there, never on the host."""

from __future__ import annotations

import json
import subprocess

import pytest

from ui_fixtures import browser, ui  # noqa: F401  (pytest fixtures)
from ui_helpers import confirm_dialog, contained_node, set_field, wait_task, wait_toast

BRIDGE = "vmbr7"
CIDR = "10.77.0.1/24"


@pytest.fixture(scope="module")
def node():
    with contained_node() as n:
        yield n


@pytest.fixture
def ui_base_url(node):
    return node.url


def staged(node) -> str:
    status, _, body = node.root.get(f"/nodes/{node.node}/network")
    assert status == 200, body
    return body.get("changes") or ""


def link(node, name: str):
    out = subprocess.run(["ip", "-n", node.netns, "-j", "addr", "show", "dev", name], capture_output=True, text=True)
    return json.loads(out.stdout)[0] if out.returncode == 0 and out.stdout.strip() else None


def remove_bridge(node) -> None:
    node.root.delete(f"/nodes/{node.node}/network/{BRIDGE}")
    status, _, body = node.root.put(f"/nodes/{node.node}/network")
    if status == 200 and body.get("data"):
        wait_task(node.root, node.node, body["data"])


def stage_bridge(ui, node) -> None:
    ui.click("[data-testid=network-create-bridge]")
    ui.wait_for("[data-testid=dialog] [name=iface]")
    set_field(ui, "[data-testid=dialog] [name=iface]", BRIDGE)
    set_field(ui, "[data-testid=dialog] [name=cidr]", CIDR)
    set_field(ui, "[data-testid=dialog] [name=comments]", "made by the UI test")
    ui.wait_text("[data-testid=dialog] [data-testid=cli-preview]",
                 f"pvesh create /nodes/{node.node}/network --iface {BRIDGE} --type bridge --autostart 1 --cidr {CIDR}")
    ui.click("[data-testid=dialog] [data-testid=dialog-submit]")
    ui.wait_gone("[data-testid=dialog]")
    row = ui.wait_for(f'[data-testid=iface-row][data-iface="{BRIDGE}"]')
    ui.wait_until(lambda d: "pending" in row.get_attribute("class"), 5, "the new bridge marked pending")
    diff = ui.wait_text("[data-testid=network-diff]", f"+auto {BRIDGE}").text
    assert f"+iface {BRIDGE} inet static" in diff and f"address {CIDR}" in diff, diff
    assert "vmbr0" not in [line[1:].split()[-1] for line in diff.splitlines() if line.startswith(("+", "-"))
                           and not line.startswith(("+++", "---")) and line[1:].split()], diff


def test_stage_a_bridge_see_the_diff_and_revert_it(ui, node):
    ui.open(f"#/node/{node.node}/network")
    ui.login(node.admin.userid, node.admin.password)
    ui.wait_for('[data-testid=iface-row][data-iface="vmbr0"]')
    assert ui.find("[data-testid=network-apply]").get_attribute("disabled") is not None, "nothing staged yet"
    assert not ui.find_all("[data-testid=network-diff]")

    stage_bridge(ui, node)
    assert f"+auto {BRIDGE}" in staged(node)
    assert link(node, BRIDGE) is None, "staging must not touch the kernel"

    ui.click("[data-testid=network-revert]")
    confirm_dialog(ui, expect_text=f"DELETE /api2/json/nodes/{node.node}/network")
    ui.wait_gone(f'[data-testid=iface-row][data-iface="{BRIDGE}"]')
    ui.wait_gone("[data-testid=network-diff]")
    assert staged(node) == ""
    assert link(node, BRIDGE) is None


def test_stage_a_bridge_and_apply_it(ui, node):
    node.cleanup.add(remove_bridge, node)
    ui.open(f"#/node/{node.node}/network")
    ui.login(node.admin.userid, node.admin.password)
    ui.wait_for('[data-testid=iface-row][data-iface="vmbr0"]')
    stage_bridge(ui, node)

    ui.click("[data-testid=network-apply]")
    text = confirm_dialog(ui, expect_text=f"+auto {BRIDGE}")  # the dialog repeats the diff
    assert f"PUT /api2/json/nodes/{node.node}/network" in text, text
    wait_toast(ui, "Apply network configuration: done")
    ui.wait_gone("[data-testid=network-diff]")
    row = ui.find(f'[data-testid=iface-row][data-iface="{BRIDGE}"]')
    ui.wait_until(lambda d: "pending" not in (ui.find(f'[data-testid=iface-row][data-iface="{BRIDGE}"]')
                                              .get_attribute("class") or ""), 5, "no longer pending")
    row = ui.find(f'[data-testid=iface-row][data-iface="{BRIDGE}"]')
    assert "yes" in row.text and CIDR in row.text, row.text
    assert staged(node) == ""

    kernel = link(node, BRIDGE)
    assert kernel is not None, f"{BRIDGE} not in namespace {node.netns}: {node.links()}"
    assert f"{CIDR.split('/')[0]}" in [a["local"] for a in kernel.get("addr_info", [])], kernel
    assert subprocess.run(["ip", "link", "show", "dev", BRIDGE], capture_output=True).returncode != 0, \
        "the bridge appeared on the host"
