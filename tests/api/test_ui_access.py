"""Access in the browser: create a user (a bad confirmation refused beside its field), create an API
token whose secret is shown once and works against the API, delete the user again."""

from __future__ import annotations

import urllib.parse

from conftest import Cleanup, new_session, token_session, unique
from ui_fixtures import browser, ui, ui_base_url  # noqa: F401  (pytest fixtures)
from ui_helpers import confirm_dialog, goto, set_field, wait_toast


def test_create_a_user_and_a_token_whose_secret_is_shown_once_and_works(ui, admin, daemon):
    root = daemon.root
    cleanup = Cleanup()
    name = unique("uiuser")
    userid = f"{name}@pve"
    password = f"Pw-{unique('')}"
    cleanup.add(lambda: root.delete(f"/access/users/{urllib.parse.quote(userid)}"))
    try:
        ui.open("#/access/users")
        ui.login(admin.userid, admin.password)
        ui.click("[data-testid=user-create]")
        ui.wait_for("[data-testid=dialog]")
        set_field(ui, "[data-testid=dialog] [name=userid]", name)
        set_field(ui, "[data-testid=dialog] [name=realm]", "pve")
        set_field(ui, "[data-testid=dialog] [name=password]", password)
        set_field(ui, "[data-testid=dialog] [name=confirm]", password + "x")
        set_field(ui, "[data-testid=dialog] [name=firstname]", "Ada")
        cli = ui.text("[data-testid=dialog] [data-testid=cli-preview]")
        assert f"pveum user add {userid}" in cli and "--firstname Ada" in cli, cli
        assert password not in cli, "the preview shows the password"

        # The confirmation differs: refused beside the field, nothing created.
        ui.click("[data-testid=dialog] [data-testid=dialog-submit]")
        ui.wait_text("[data-testid=field-error-confirm]", "differ")
        assert root.get(f"/access/users/{urllib.parse.quote(userid)}")[0] != 200

        set_field(ui, "[data-testid=dialog] [name=confirm]", password)
        ui.click("[data-testid=dialog] [data-testid=dialog-submit]")
        ui.wait_gone("[data-testid=dialog]")
        row = ui.wait_for(f'[data-testid=user-row][data-userid="{userid}"]')
        assert "Ada" in row.text and "pve" in row.text
        assert root.ok("GET", f"/access/users/{urllib.parse.quote(userid)}")["firstname"] == "Ada"

        # A token for the new user, without privilege separation.
        goto(ui, "#/access/tokens", "[data-testid=token-create]")
        ui.click("[data-testid=token-create]")
        ui.wait_for("[data-testid=dialog] [name=tokenid]")
        set_field(ui, "[data-testid=dialog] [name=userid]", userid)
        set_field(ui, "[data-testid=dialog] [name=tokenid]", "ci")
        set_field(ui, "[data-testid=dialog] [name=privsep]", False)
        ui.wait_text("[data-testid=dialog] [data-testid=cli-preview]", f"pveum user token add {userid} ci --privsep 0")
        ui.click("[data-testid=dialog] [data-testid=dialog-submit]")
        secret = ui.wait_for("[data-testid=dialog] [data-testid=token-secret]").text.strip()
        dialog = ui.text("[data-testid=dialog]")
        assert f"{userid}!ci" in dialog and "only once" in dialog, dialog
        assert len(secret) >= 32, secret

        # The secret works, a wrong one does not.
        ok = token_session(f"{userid}!ci", secret).get(daemon.api("/version"), timeout=30)
        assert ok.status_code == 200 and "version" in ok.json()["data"], (ok.status_code, ok.text)
        bad = token_session(f"{userid}!ci", secret[:-4] + "0000").get(daemon.api("/version"), timeout=30)
        assert bad.status_code == 401

        # Shown once: closed, it is nowhere on the page.
        ui.click("[data-testid=dialog] [data-testid=dialog-submit]")
        ui.wait_gone("[data-testid=dialog]")
        ui.wait_for(f'[data-testid=token-row][data-tokenid="{userid}!ci"]')
        assert secret not in ui.js("return document.documentElement.outerHTML")

        # Deleting the user (confirmed) takes its token along.
        goto(ui, "#/access/users", f'[data-testid=user-row][data-userid="{userid}"]')
        ui.click(f'[data-testid=user-row][data-userid="{userid}"] [data-testid=user-delete]')
        confirm_dialog(ui, expect_text=f"pveum user delete {userid}")
        wait_toast(ui, f"Delete {userid}: done")
        ui.wait_gone(f'[data-testid=user-row][data-userid="{userid}"]')
        assert root.get(f"/access/users/{urllib.parse.quote(userid)}")[0] != 200
        gone = new_session()
        gone.headers["Authorization"] = f"PVEAPIToken={userid}!ci={secret}"
        assert gone.get(daemon.api("/version"), timeout=30).status_code == 401
    finally:
        errors = cleanup.run()
        assert not errors, errors
