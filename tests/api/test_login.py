"""Logging in: proxmoxer with password and API token, the ticket answer, renewal, failures."""

import base64
import re
import time

import pytest
import requests

from conftest import login, pve, require_proxmoxer, start_daemon, stop_daemon

TICKET_RE = re.compile(r"^PVE:(?P<user>[^:\s]+):(?P<time>[0-9A-F]{8})::(?P<sig>[A-Za-z0-9+/]+={0,2})$")
CSRF_RE = re.compile(r"^(?P<time>[0-9A-F]{8}):[A-Za-z0-9+/]{43}$")
CAP_KEYS = {"vms", "storage", "access", "nodes", "sdn", "dc", "mapping"}


def test_proxmoxer_password_login_reads_version(daemon, admin):
    api = pve(daemon, admin.userid, admin.password)
    version = api.version.get()
    for key in ("version", "release", "repoid"):
        assert isinstance(version.get(key), str) and version[key], f"{key} missing or not a string: {version}"
    assert re.match(r"^\d+\.\d+", version["version"]), version


def test_proxmoxer_wrong_password_raises_authentication_error(daemon, admin):
    require_proxmoxer()
    from proxmoxer import AuthenticationError

    with pytest.raises(AuthenticationError):
        pve(daemon, admin.userid, admin.password + "-wrong")
    with pytest.raises(AuthenticationError):
        pve(daemon, "nosuchuser-x@pve", "whatever123")


def test_wrong_login_answers_401_authentication_failure(daemon, admin):
    r = requests.post(daemon.api("/access/ticket"), data={"username": admin.userid, "password": "wrong-password"},
                      verify=False, timeout=30)
    assert r.status_code == 401
    assert "ticket" not in (r.json().get("data") or {})
    assert r.json().get("message", "").startswith("authentication failure"), r.text
    assert r.reason == "authentication failure", f"reason phrase {r.reason!r}"


def test_proxmoxer_token_login_reads_nodes(daemon, admin, cleanup):
    api = pve(daemon, admin.userid, admin.password)
    name = "t1"
    cleanup.add(daemon.root.delete, f"/access/users/{admin.userid}/token/{name}")
    created = api.access.users(admin.userid).token(name).post(privsep=0)
    assert created["full-tokenid"] == f"{admin.userid}!{name}"
    secret = created["value"]
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", secret), secret

    token_api = pve(daemon, admin.userid, token_name=name, token_value=secret)
    nodes = token_api.nodes.get()
    assert [n["node"] for n in nodes] == [daemon.node]
    assert nodes[0]["status"] == "online"

    bad = pve(daemon, admin.userid, token_name=name, token_value=secret[:-1] + ("0" if secret[-1] != "0" else "1"))
    from proxmoxer import ResourceException

    with pytest.raises(ResourceException) as info:
        bad.nodes.get()
    assert info.value.status_code == 401


def test_ticket_answer_shape(daemon, admin):
    before = int(time.time())
    data = login(daemon, admin.userid, admin.password)
    assert data["username"] == admin.userid

    m = TICKET_RE.match(data["ticket"])
    assert m, f"ticket {data['ticket']!r} is not PVE:<userid>:<8 upper-case hex>::<base64>"
    assert m["user"] == admin.userid
    assert abs(int(m["time"], 16) - before) < 300, "ticket time is not now"
    assert len(base64.b64decode(m["sig"])) >= 64, "signature too short"

    csrf = data.get("CSRFPreventionToken")
    assert csrf, data
    mc = CSRF_RE.match(csrf)
    assert mc, f"CSRFPreventionToken {csrf!r} is not <8 hex>:<43 base64 chars>"
    assert abs(int(mc["time"], 16) - before) < 300

    assert "NeedTFA" not in data, "NeedTFA must be absent unless TFA is required (proxmoxer starts TFA on the key)"
    cap = data.get("cap")
    assert isinstance(cap, dict) and CAP_KEYS <= set(cap), f"cap {cap}"
    # An Administrator has every privilege: spot-check categories, and values are 1 (not true).
    assert cap["vms"].get("VM.Allocate") == 1 and type(cap["vms"]["VM.Allocate"]) is int, cap["vms"]
    assert cap["access"].get("User.Modify") == 1, cap["access"]
    assert cap["nodes"].get("Sys.Audit") == 1, cap["nodes"]
    assert cap["dc"].get("Sys.Audit") == 1, cap["dc"]


def test_ticket_renewal(daemon, admin):
    first = login(daemon, admin.userid, admin.password)
    renewed = login(daemon, admin.userid, first["ticket"])
    assert renewed["username"] == admin.userid
    assert TICKET_RE.match(renewed["ticket"])
    assert renewed.get("CSRFPreventionToken")
    r = requests.get(daemon.api("/version"), cookies={"PVEAuthCookie": renewed["ticket"]}, verify=False, timeout=30)
    assert r.status_code == 200, (r.status_code, r.reason)
    # A ticket of one user cannot be renewed as another user.
    r = requests.post(daemon.api("/access/ticket"), data={"username": "root@pam", "password": first["ticket"]},
                      verify=False, timeout=30)
    assert r.status_code == 401


def test_tampered_ticket_is_rejected(daemon, admin):
    ticket = login(daemon, admin.userid, admin.password)["ticket"]
    m = TICKET_RE.match(ticket)
    # The same signature over another user name, and another time stamp.
    forged_user = ticket.replace(f"PVE:{admin.userid}:", "PVE:root@pam:")
    forged_time = f"PVE:{admin.userid}:{int(m['time'], 16) + 1:08X}::{m['sig']}"
    for forged in (forged_user, forged_time, ticket[:-8] + "AAAAAAA="):
        r = requests.get(daemon.api("/version"), cookies={"PVEAuthCookie": forged}, verify=False, timeout=30)
        assert r.status_code == 401, f"forged ticket {forged[:40]}… accepted: {r.status_code}"
        assert r.content == b""


def test_root_cannot_log_in_with_wrong_password(daemon):
    r = requests.post(daemon.api("/access/ticket"), data={"username": "root@pam", "password": "definitely-wrong"},
                      verify=False, timeout=60)
    assert r.status_code == 401
    assert "ticket" not in (r.json().get("data") or {})


def test_default_auth_failure_delay():
    """Without --auth-failure-delay, a 401 is delayed (Proxmox waits about 3 s)."""
    d = start_daemon(extra_args=[])
    try:
        started = time.monotonic()
        r = requests.get(d.api("/version"), verify=False, timeout=30)
        elapsed = time.monotonic() - started
        assert r.status_code == 401
        assert elapsed >= 2.0, f"401 answered after {elapsed:.2f} s"
    finally:
        stop_daemon(d)
