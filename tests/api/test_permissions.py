"""What a restricted user or token can and cannot do."""

import pytest
import requests

from conftest import make_token, pve, require_proxmoxer, token_session, unique

require_proxmoxer()
from proxmoxer import ResourceException  # noqa: E402


def test_auditor_reads_nodes_and_status(daemon, make_user):
    user = make_user(role="PVEAuditor", path="/")
    api = pve(daemon, user.userid, user.password)

    nodes = api.nodes.get()
    assert [n["node"] for n in nodes] == [daemon.node]
    node = nodes[0]
    assert node["status"] == "online"
    # With Sys.Audit the list carries the figures.
    assert node.get("maxmem", 0) > 0 and node.get("maxcpu", 0) >= 1, node

    status = api.nodes(daemon.node).status.get()
    assert status["memory"]["total"] > 0, status["memory"]
    assert 0 < status["memory"]["used"] <= status["memory"]["total"], status["memory"]
    loadavg = status["loadavg"]
    assert isinstance(loadavg, list) and len(loadavg) == 3, loadavg
    assert all(isinstance(x, str) for x in loadavg), f"loadavg must be strings: {loadavg}"
    [float(x) for x in loadavg]
    assert status["uptime"] > 0
    assert status["rootfs"]["total"] > 0, status["rootfs"]
    assert status.get("cpuinfo", {}).get("cpus", 0) >= 1, status.get("cpuinfo")


def test_auditor_cannot_create_users(daemon, make_user, admin_api):
    user = make_user(role="PVEAuditor", path="/")
    api = pve(daemon, user.userid, user.password)
    victim = f"x{user.userid}"
    try:
        with pytest.raises(ResourceException) as info:
            api.access.users.post(userid=victim)
        assert info.value.status_code == 403
        assert victim not in [u["userid"] for u in admin_api.access.users.get()]
        # proxmoxer shows the HTTP reason phrase as the message.
        assert str(info.value.content).startswith("Permission check failed"), (
            f"reason phrase {info.value.content!r}, expected 'Permission check failed …'"
        )
    finally:
        daemon.root.delete(f"/access/users/{victim}")


def test_user_without_acl_sees_nothing(daemon, make_user):
    user = make_user(role=None)
    api = pve(daemon, user.userid, user.password)
    assert api.version.get()["version"], "any authenticated user may read /version"
    with pytest.raises(ResourceException) as info:
        api.nodes(daemon.node).status.get()
    assert info.value.status_code == 403
    assert api.pools.get() == []
    assert api.access.acl.get() == []
    # The user sees itself only.
    assert [u["userid"] for u in api.access.users.get()] == [user.userid]


def test_privsep_token_without_acl_has_no_privileges(daemon, make_user, cleanup):
    owner = make_user(role="PVEAuditor", path="/")
    sep_id, sep_secret = make_token(daemon.root, owner.userid, privsep=True, cleanup=cleanup)
    full_id, full_secret = make_token(daemon.root, owner.userid, privsep=False, cleanup=cleanup)
    status_path = daemon.api(f"/nodes/{daemon.node}/status")

    r = token_session(sep_id, sep_secret).get(status_path, timeout=30)
    assert r.status_code == 403, f"privsep=1 token without ACL: {r.status_code} {r.text[:200]}"
    r = token_session(full_id, full_secret).get(status_path, timeout=30)
    assert r.status_code == 200, f"privsep=0 token of an auditor: {r.status_code} {r.reason}"
    assert r.json()["data"]["memory"]["total"] > 0

    # A token's own ACL is intersected with its owner's privileges.
    daemon.root.ok("PUT", "/access/acl", {"path": "/", "tokens": sep_id, "roles": "Administrator"})
    s = token_session(sep_id, sep_secret)
    r = s.get(status_path, timeout=30)
    assert r.status_code == 200, f"privsep=1 token with an ACL: {r.status_code} {r.reason}"
    group = unique("g")
    r = s.post(daemon.api("/access/groups"), data={"groupid": group}, timeout=30)
    daemon.root.delete(f"/access/groups/{group}")
    assert r.status_code == 403, "a privsep token must not exceed its owner's privileges"


def test_token_cannot_obtain_a_ticket(daemon, make_user, cleanup):
    owner = make_user(role="Administrator", path="/")
    token_id, secret = make_token(daemon.root, owner.userid, privsep=False, cleanup=cleanup)
    s = token_session(token_id, secret)
    url = daemon.api("/access/ticket")
    attempts = [
        {"username": owner.userid, "password": secret},
        {"username": token_id, "password": secret},
        {"username": token_id.split("!")[0], "realm": "pve", "password": secret},
    ]
    for form in attempts:
        r = s.post(url, data=form, timeout=30)
        assert r.status_code in (401, 403), f"POST /access/ticket {form} with a token: {r.status_code} {r.text[:200]}"
        assert "ticket" not in ((r.json() or {}).get("data") or {})
    r = s.post(url, data={"username": owner.userid}, timeout=30)
    assert r.status_code in (400, 401, 403)
    # The token alone cannot change a password either (allowtoken: 0).
    r = s.put(daemon.api("/access/password"), data={"userid": owner.userid, "password": "NewPassw0rd"}, timeout=30)
    assert r.status_code == 403, f"PUT /access/password with a token: {r.status_code} {r.text[:200]}"
    assert pve(daemon, owner.userid, owner.password).version.get()


def test_user_admin_role_is_limited(daemon, make_user, admin_api):
    """PVEUserAdmin may manage users but not grant itself more privileges."""
    user = make_user(role="PVEUserAdmin", path="/access")
    api = pve(daemon, user.userid, user.password)
    victim = f"v{user.userid}"
    try:
        api.access.users.post(userid=victim)
        assert victim in [u["userid"] for u in admin_api.access.users.get()]
        with pytest.raises(ResourceException) as info:
            api.access.acl.put(path="/", users=user.userid, roles="Administrator")
        assert info.value.status_code == 403
        assert not [e for e in admin_api.access.acl.get() if e["ugid"] == user.userid and e["path"] == "/"]
    finally:
        daemon.root.delete(f"/access/users/{victim}")


def test_disabled_user_loses_access(daemon, make_user, admin_api):
    user = make_user(role="PVEAuditor")
    session_ticket = requests.post(daemon.api("/access/ticket"), data={"username": user.userid, "password": user.password},
                                   verify=False, timeout=30).json()["data"]["ticket"]
    admin_api.access.users(user.userid).put(enable=0)
    r = requests.get(daemon.api("/version"), cookies={"PVEAuthCookie": session_ticket}, verify=False, timeout=30)
    assert r.status_code == 401, "a disabled user's ticket must stop working"
    r = requests.post(daemon.api("/access/ticket"), data={"username": user.userid, "password": user.password},
                      verify=False, timeout=30)
    assert r.status_code == 401
