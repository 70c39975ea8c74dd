"""Storage content in the browser: upload an ISO through the file input with its progress bar, see
it listed, delete it."""

from __future__ import annotations

import os
import tempfile
import urllib.parse

from conftest import Cleanup, unique
from ui_fixtures import browser, ui, ui_base_url  # noqa: F401  (pytest fixtures)
from ui_helpers import confirm_dialog, wait_toast

# Records what the upload dialog's progress bar shows while it runs (the upload of 1 MiB over
# loopback is over before a poll from the test would see it).
WATCH_PROGRESS = """
    const bar = document.querySelector('[data-testid=dialog] [data-testid=upload-progress]');
    window.__progress = [];
    new MutationObserver(() => window.__progress.push({hidden: bar.hidden, now: bar.getAttribute('aria-valuenow'),
        text: bar.textContent, width: bar.querySelector('.progress i').style.width}))
        .observe(bar, {attributes: true, childList: true, subtree: true, characterData: true});
"""


def test_upload_an_iso_with_progress_then_delete_it(ui, admin, daemon):
    root, node = daemon.root, daemon.node
    cleanup = Cleanup()
    name = f"ui-{unique('')}.iso"
    volid = f"local:iso/{name}"
    try:
        local = tempfile.mkdtemp(prefix="vireo-ui-upload-")
        cleanup.add(os.rmdir, local)
        path = os.path.join(local, name)
        with open(path, "wb") as f:
            f.write(os.urandom(1024 * 1024))
        cleanup.add(os.remove, path)
        cleanup.add(lambda: root.delete(f"/nodes/{node}/storage/local/content/{urllib.parse.quote(volid, safe='')}"))

        ui.open(f"#/storage/{node}/local/content")
        ui.login(admin.userid, admin.password)
        ui.wait_for("[data-testid=upload-iso]")
        assert not ui.find_all(f'[data-testid=content-row][data-volid="{volid}"]')
        ui.click("[data-testid=upload-iso]")
        ui.wait_for("[data-testid=dialog]")
        assert not ui.find("[data-testid=upload-progress]").is_displayed(), "progress before any upload"
        ui.find("[data-testid=dialog] input[type=file][name=filename]").send_keys(path)
        ui.js(WATCH_PROGRESS)
        ui.click("[data-testid=dialog] [data-testid=dialog-submit]")

        wait_toast(ui, f"Upload {name}: done")
        ui.wait_gone("[data-testid=dialog]")
        progress = ui.js("return window.__progress")
        assert any(not p["hidden"] for p in progress), f"the progress bar never showed: {progress}"
        assert any(p["now"] == "100" and p["width"].startswith("100") for p in progress), progress
        assert any(p["text"].startswith("100") and "MiB of 1" in p["text"] for p in progress), progress
        assert any("storing" in p["text"] for p in progress), progress

        row = ui.wait_for(f'[data-testid=content-row][data-volid="{volid}"]')
        assert name in row.text and "MiB" in row.text, row.text
        listed = root.ok("GET", f"/nodes/{node}/storage/local/content", {"content": "iso"})
        entry = next(e for e in listed if e["volid"] == volid)
        assert entry["size"] == 1024 * 1024

        # A wrong file type is refused in the dialog before anything is sent.
        ui.click("[data-testid=upload-iso]")
        ui.find("[data-testid=dialog] input[type=file][name=filename]").send_keys(
            os.path.join(os.path.dirname(__file__), "pytest.ini"))
        ui.click("[data-testid=dialog] [data-testid=dialog-submit]")
        ui.wait_text("[data-testid=field-error-filename]", ".iso")
        ui.click("[data-testid=dialog] [data-testid=dialog-cancel]")
        ui.wait_gone("[data-testid=dialog]")

        ui.click(f'[data-testid=content-row][data-volid="{volid}"] [data-testid=content-delete]')
        confirm_dialog(ui, expect_text=f"pvesm free {volid}")
        ui.wait_gone(f'[data-testid=content-row][data-volid="{volid}"]', timeout=20)
        listed = root.ok("GET", f"/nodes/{node}/storage/local/content", {"content": "iso"})
        assert volid not in [e["volid"] for e in listed]
    finally:
        errors = cleanup.run()
        assert not errors, errors
