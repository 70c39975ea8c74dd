"""The web UI's login and session in a real browser: bad and good passwords, realms, logout, a 401
that sends the user back to the login form and back to the same place after it, and a console
WebSocket without a valid ticket refused."""

from __future__ import annotations

from selenium.webdriver.support.ui import Select

from ui_fixtures import browser, ui, ui_base_url  # noqa: F401  (pytest fixtures)
from ui_helpers import goto


def hash_of(ui) -> str:
    return ui.js("return decodeURIComponent(location.hash)")


def test_bad_password_shows_the_error_and_stays_on_the_login_form(ui, admin):
    ui.expect_console_error("access/ticket")  # the refused login's 401
    ui.open()
    ui.login(admin.userid, "not-" + admin.password, wait=False)
    error = ui.wait_text("[data-testid=login-error]", "wrong user name or password")
    assert error.is_displayed()
    assert hash_of(ui).startswith("#/login")
    assert ui.find("#login-password").is_displayed() and not ui.find_all("[data-testid=resource-tree]")
    assert "PVEAuthCookie" not in ui.js("return document.cookie")

    # The right password on the same form logs in.
    ui.login(admin.userid, admin.password)
    assert not [e for e in ui.find_all("[data-testid=login-error]") if e.is_displayed()]
    assert not hash_of(ui).startswith("#/login")


def test_realm_choice_pam_and_pve(ui, admin):
    ui.expect_console_error("access/ticket")  # the pam attempt's 401
    ui.open()
    realm = Select(ui.wait_for("#login-realm"))
    ui.wait_until(lambda d: {"pam", "pve"} <= {o.get_attribute("value") for o in realm.options}, 10,
                  "the realms pam and pve offered")
    # The user exists in the pve realm only: the same name and password in pam are refused.
    name = admin.userid.split("@")[0]
    ui.login(name, admin.password, realm="pam", wait=False)
    ui.wait_text("[data-testid=login-error]", "wrong user name or password")
    ui.login(name, admin.password, realm="pve")
    ui.wait_text("[data-testid=user-menu]", admin.userid)


def test_good_password_shows_the_tree_and_logout_returns_to_the_login_form(ui, admin, daemon):
    ui.open()
    ui.login(admin.userid, admin.password)
    ui.wait_for(f'[data-testid=tree-item][data-id="node/{daemon.node}"]')
    assert "PVEAuthCookie=" in ui.js("return document.cookie")

    ui.click("[data-testid=user-menu]")
    ui.click("[data-testid=logout]")
    ui.wait_for("#login-username")
    assert hash_of(ui) == "#/login"
    assert not ui.find_all("[data-testid=resource-tree]")
    assert "PVEAuthCookie=" not in ui.js("return document.cookie")
    assert ui.js("return localStorage.getItem('vireo.session')") is None
    # Logged out means logged out: a deep link leads to the login form.
    ui.open("#/access/users")
    ui.wait_for("#login-username")
    assert hash_of(ui) == "#/login?next=/access/users"


def test_a_401_returns_to_the_login_form_and_login_returns_to_the_same_place(ui, admin):
    ui.expect_console_error("401")  # the API call with the dead ticket
    ui.open()
    ui.login(admin.userid, admin.password)
    goto(ui, "#/access/users", f'[data-testid=user-row][data-userid="{admin.userid}"]')

    # The ticket dies (expired, revoked, the node's key rotated): the next API call gets a 401.
    ui.js("document.cookie = 'PVEAuthCookie=' + encodeURIComponent('PVE:' + arguments[0] + ':00000000::bogus')"
          " + '; path=/; secure; samesite=strict'", admin.userid)
    goto(ui, "#/access/tokens")
    ui.wait_for("#login-username")
    assert hash_of(ui) == "#/login?next=/access/tokens"
    assert not ui.find_all("[data-testid=resource-tree]")

    ui.login(admin.userid, admin.password)
    ui.wait_until(lambda d: hash_of(ui) == "#/access/tokens", 10, "back on #/access/tokens")
    ui.wait_for("[data-testid=token-create]")

    # Without any cookie (deleted), navigating also lands on the login form, the place kept.
    ui.driver.delete_all_cookies()
    goto(ui, "#/access/users")
    ui.wait_for("#login-username")
    assert hash_of(ui) == "#/login?next=/access/users"
    ui.login(admin.userid, admin.password)
    ui.wait_for(f'[data-testid=user-row][data-userid="{admin.userid}"]')
    assert hash_of(ui) == "#/access/users"


def test_a_console_websocket_without_a_valid_ticket_is_refused(ui, admin, daemon):
    ui.expect_console_error("vncwebsocket")  # Chromium logs the failed handshake
    ui.open()
    ui.login(admin.userid, admin.password)
    events = ui.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const events = [];
        const url = 'wss://' + location.host + '/api2/json/nodes/' + arguments[0]
            + '/qemu/100/vncwebsocket?port=5900&vncticket=' + encodeURIComponent('PVEVNC:00000000::bad');
        const ws = new WebSocket(url, 'binary');
        ws.onopen = () => events.push('open');
        ws.onerror = () => events.push('error');
        ws.onclose = (ev) => { events.push('close ' + ev.code); done(events); };
        setTimeout(() => done(events.concat(['timeout'])), 8000);
    """, daemon.node)
    assert "open" not in events, events
    assert "error" in events and any(e.startswith("close") for e in events), events
    # The session itself is fine afterwards.
    ui.wait_for(f'[data-testid=tree-item][data-id="node/{daemon.node}"]')
