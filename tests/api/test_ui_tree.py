"""The resource tree against what the API holds, its filter, one click to a VM; the keyboard
(`/`, Ctrl-K palette, Esc) and the phone layout (tree as a drawer, no horizontal overflow)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from conftest import Cleanup, ticket_session, unique
from ui_fixtures import browser, ui, ui_base_url  # noqa: F401  (pytest fixtures)
from ui_helpers import create_vm, tree_row


def delete_pool(root, poolid: str, vmids: list[int]) -> None:
    root.put(f"/pools/{poolid}", {"vms": ",".join(map(str, vmids)), "delete": 1})
    status, _, body = root.delete(f"/pools/{poolid}")
    assert status == 200, f"pool {poolid} not deleted: {status} {body}"


@pytest.fixture(scope="module")
def world(daemon):
    """Two stopped VMs (one tagged, in a pool), made through the root socket."""
    root, node = daemon.root, daemon.node
    cleanup = Cleanup()
    try:
        poolid = unique("uipool")
        names = [unique("uitree-a"), unique("uitree-b")]
        root.ok("POST", "/pools", {"poolid": poolid, "comment": "UI tree test"})
        vmids = []
        cleanup.add(lambda: delete_pool(root, poolid, vmids))
        vmids.append(create_vm(root, node, cleanup, daemon.data_dir, name=names[0], tags="uitest;web"))
        vmids.append(create_vm(root, node, cleanup, daemon.data_dir, name=names[1]))
        root.ok("PUT", f"/pools/{poolid}", {"vms": str(vmids[0])})
        yield {"pool": poolid, "vmids": vmids, "names": names}
    finally:
        errors = cleanup.run()
        assert not errors, errors


def visible(ui, css: str) -> bool:
    return any(e.is_displayed() for e in ui.find_all(css))


def test_the_tree_shows_what_the_api_holds(ui, admin, daemon, world):
    ui.open()
    ui.login(admin.userid, admin.password)
    a, b = world["vmids"]
    ui.wait_for(tree_row(b))
    resources = ticket_session(daemon, admin.userid, admin.password).get(
        daemon.api("/cluster/resources"), timeout=30).json()["data"]
    shown = [r for r in resources if r["type"] in ("node", "qemu", "storage")]
    assert {r["type"] for r in shown} == {"node", "qemu", "storage"}, resources
    for r in shown:
        row = ui.wait_for(f'[data-testid=resource-tree] [data-testid=tree-item][data-id="{r["id"]}"]')
        if r["type"] == "qemu":
            assert row.get_attribute("data-status") == r["status"], (r, row.get_attribute("outerHTML"))
            assert str(r["vmid"]) in row.text and (r.get("name") or "") in row.text, (r, row.text)
        elif r["type"] == "storage":
            assert r["storage"] in row.text
        else:
            assert r["node"] in row.text and row.get_attribute("data-status") == r["status"]
    # The tagged VM shows its tags; the pool shows with its member.
    assert "uitest" in ui.find(tree_row(a)).text and "web" in ui.find(tree_row(a)).text
    ui.wait_for(f'[data-testid=tree-item][data-id="pool/{world["pool"]}"]')
    ui.wait_for(f'[data-testid=tree-pool-member][data-id="qemu/{a}"]')
    # No more VM rows than the API lists.
    rows = {e.get_attribute("data-id") for e in ui.find_all("[data-testid=resource-tree] [data-testid=tree-item]")
            if (e.get_attribute("data-id") or "").startswith("qemu/")}
    assert rows == {r["id"] for r in resources if r["type"] == "qemu"}


def test_the_filter_narrows_the_tree_and_a_click_opens_the_vm(ui, admin, daemon, world):
    ui.open()
    ui.login(admin.userid, admin.password)
    a, b = world["vmids"]
    ui.wait_for(tree_row(b))
    ui.type("[data-testid=tree-filter]", world["names"][0])
    ui.wait_until(lambda d: not visible(ui, tree_row(b)), 5, "the other VM filtered out")
    assert visible(ui, tree_row(a))
    assert visible(ui, f'[data-testid=tree-item][data-id="node/{daemon.node}"]'), "the match's node stays"
    assert not visible(ui, f'[data-testid=tree-item][data-id="storage/{daemon.node}/local"]')
    # By tag too.
    ui.type("[data-testid=tree-filter]", "uitest")
    ui.wait_until(lambda d: visible(ui, tree_row(a)) and not visible(ui, tree_row(b)), 5, "filtered by tag")
    # Esc clears the filter.
    ui.find("[data-testid=tree-filter]").send_keys(Keys.ESCAPE)
    ui.wait_until(lambda d: visible(ui, tree_row(b)), 5, "the filter cleared")

    ui.click(tree_row(a))
    ui.wait_until(lambda d: ui.js("return location.hash") == f"#/qemu/{a}/summary", 5, "the VM's summary route")
    ui.wait_text("[data-testid=vm-status]", "stopped")
    assert world["names"][0] in ui.text(".obj-head h1")
    assert "selected" in ui.find(tree_row(a)).get_attribute("class")


def test_keyboard_slash_focuses_the_filter_and_ctrl_k_opens_the_palette(ui, admin, world):
    ui.open()
    ui.login(admin.userid, admin.password)
    a, b = world["vmids"]
    ui.wait_for(tree_row(b))
    keys = ActionChains(ui.driver)
    ui.js("document.activeElement && document.activeElement.blur()")
    keys.send_keys("/").perform()
    ui.wait_until(lambda d: ui.js("return document.activeElement.dataset.testid") == "tree-filter", 3,
                  "the filter focused by /")
    assert ui.find("[data-testid=tree-filter]").get_attribute("value") == "", "the / must not be typed"
    ui.find("[data-testid=tree-filter]").send_keys(Keys.ESCAPE)

    keys.key_down(Keys.CONTROL).send_keys("k").key_up(Keys.CONTROL).perform()
    ui.wait_for("[data-testid=palette]")
    ui.wait_until(lambda d: ui.js("return document.activeElement.dataset.testid") == "palette-input", 3,
                  "the palette input focused")
    keys.send_keys(Keys.ESCAPE).perform()
    ui.wait_gone("[data-testid=palette]")

    # The palette jumps to a VM by name.
    keys.key_down(Keys.CONTROL).send_keys("k").key_up(Keys.CONTROL).perform()
    ui.wait_for("[data-testid=palette-input]").send_keys(world["names"][1])
    ui.wait_text("[data-testid=palette] .palette-list", world["names"][1])
    ui.find("[data-testid=palette-input]").send_keys(Keys.ENTER)
    ui.wait_gone("[data-testid=palette]")
    ui.wait_until(lambda d: ui.js("return location.hash") == f"#/qemu/{b}/summary", 5, "the palette's jump")


@pytest.fixture
def phone(ui):
    ui.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                              {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    try:
        yield
    finally:
        ui.screenshot("phone")
        ui.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_phone_layout_tree_in_a_drawer_and_a_readable_summary(ui, phone, admin, world):
    a, _ = world["vmids"]
    ui.open()
    assert ui.js("return innerWidth") == 390
    ui.login(admin.userid, admin.password, wait=False)
    ui.wait_for("[data-testid=resource-tree]", visible=False)
    sidebar = "return document.querySelector('.sidebar').getBoundingClientRect()"
    ui.wait_until(lambda d: ui.js(sidebar)["right"] <= 0, 3, "the tree hidden in its drawer (off-screen)")

    ui.click(".menu-toggle")
    ui.wait_until(lambda d: ui.js(sidebar)["left"] >= 0 and ui.js(sidebar)["right"] <= 390, 3, "the drawer open")
    ui.click(tree_row(a))
    ui.wait_text("[data-testid=vm-status]", "stopped")
    ui.wait_until(lambda d: ui.js(sidebar)["right"] <= 0, 3, "the drawer closed after the choice")
    status = ui.find("[data-testid=vm-status]")
    assert status.is_displayed()
    overflow = ui.js("return [document.documentElement.scrollWidth, innerWidth]")
    assert overflow[0] <= overflow[1], f"horizontal overflow on a phone: {overflow}"
    # The power buttons are reachable without scrolling sideways.
    for css in ("[data-testid=vm-start]", "[data-testid=vm-stop]", "[data-testid=vm-console]"):
        right = ui.js("return arguments[0].getBoundingClientRect().right", ui.find(css))
        assert 0 < right <= 390, (css, right)
