"""Wire-protocol details that Proxmox clients depend on."""

import http.client
import ssl
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import anon_session, fill_path, make_token, registered_endpoints, ticket_session, token_session, unique

# The login calls, and the VNC ticket check (the signed ticket is its credential).
NO_AUTH = {("GET", "/access/ticket"), ("POST", "/access/ticket"), ("GET", "/access/domains"),
           ("POST", "/access/vncticket")}


@pytest.fixture
def admin_token(daemon, admin, cleanup):
    return make_token(daemon.root, admin.userid, privsep=False, cleanup=cleanup)


@pytest.fixture
def admin_session(admin_token):
    return token_session(*admin_token)


def raw_request(daemon, method, target, body=None, headers=None):
    """One request over a fresh TLS connection, bypassing requests' URL handling."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", daemon.port, context=ctx, timeout=30)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, resp.reason, resp.read(), dict(resp.getheaders())
    finally:
        conn.close()


def test_every_endpoint_needs_credentials(daemon):
    endpoints = registered_endpoints(daemon.root)
    assert len(endpoints) > 20

    def call(endpoint):
        method, path = endpoint
        r = anon_session().request(method, daemon.api(fill_path(path, daemon.node)), timeout=60)
        return endpoint, r.status_code, r.reason, r.content

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(call, endpoints))
    wrong, reasons = [], []
    for (method, path), status, reason, content in results:
        if (method, path) in NO_AUTH:
            if status == 401 and method == "GET":
                wrong.append(f"{method} {path}: {status} (needs no credentials)")
            continue
        if status != 401 or content != b"":
            wrong.append(f"{method} {path}: {status} {reason!r} body={content[:80]!r}")
        elif reason != "No ticket":
            reasons.append(f"{method} {path}: reason {reason!r}")
    assert not wrong, "expected 401 with an empty body:\n" + "\n".join(wrong)
    assert not reasons, "expected reason phrase 'No ticket':\n" + "\n".join(reasons)


def test_calls_without_credentials(daemon):
    r = anon_session().get(daemon.api("/access/domains"), timeout=30)
    assert r.status_code == 200
    realms = {d["realm"]: d for d in r.json()["data"]}
    assert realms["pam"]["type"] == "pam" and realms["pve"]["type"] == "pve"
    r = anon_session().get(daemon.api("/access/ticket"), timeout=30)
    assert r.status_code == 200 and r.json() == {"data": None}


def test_bad_credentials_are_401_with_empty_body(daemon):
    s = anon_session()
    for headers in (
        {"Cookie": "PVEAuthCookie=PVE:root@pam:66F1A2B3::bogus"},
        {"Authorization": "PVEAuthCookie=garbage"},
        {"Authorization": "PVEAPIToken=root@pam!nope=00000000-0000-0000-0000-000000000000"},
        {"Authorization": "PVEAPIToken=garbage"},
    ):
        r = s.get(daemon.api("/version"), headers=headers, timeout=30)
        assert r.status_code == 401, headers
        assert r.content == b"", headers


def test_csrf_token_required_for_ticket_writes(daemon, admin, cleanup):
    group = unique("g")
    cleanup.add(daemon.root.delete, f"/access/groups/{group}")
    without = ticket_session(daemon, admin.userid, admin.password, csrf=False)
    r = without.get(daemon.api("/version"), timeout=30)
    assert r.status_code == 200, "GET needs no CSRF token"
    r = without.post(daemon.api("/access/groups"), data={"groupid": group}, timeout=30)
    assert r.status_code == 401
    assert r.content == b""
    status, _, body = daemon.root.get(f"/access/groups/{group}")
    assert status != 200, "the group was created without a CSRF token"
    r2 = without.post(daemon.api("/access/groups"), data={"groupid": group}, headers={"CSRFPreventionToken": "bogus"},
                      timeout=30)
    assert r2.status_code == 401

    with_csrf = ticket_session(daemon, admin.userid, admin.password)
    r3 = with_csrf.post(daemon.api("/access/groups"), data={"groupid": group}, timeout=30)
    assert r3.status_code == 200, (r3.status_code, r3.reason, r3.text)
    assert daemon.root.get(f"/access/groups/{group}")[0] == 200
    assert r.reason == "Permission denied - invalid csrf token", f"reason phrase {r.reason!r}"


def test_unknown_path_is_501(daemon, admin_session):
    for path in ("/nosuchthing", "/access/nosuch", f"/nodes/{daemon.node}/nosuch/deeper"):
        r = admin_session.get(daemon.api(path), timeout=30)
        assert r.status_code == 501, (path, r.status_code)
        assert "not implemented" in r.json().get("message", ""), r.text
        assert r.reason == f"Method 'GET {path}' not implemented", f"reason phrase {r.reason!r}"
    # A known path with a method it does not have.
    r = admin_session.delete(daemon.api("/version"), timeout=30)
    assert r.status_code == 501


def test_head_and_other_methods_are_501(daemon, admin_session):
    r = admin_session.head(daemon.api("/version"), timeout=30)
    assert r.status_code == 501, r.status_code
    for method in ("OPTIONS", "PATCH"):
        r = admin_session.request(method, daemon.api("/version"), timeout=30)
        assert r.status_code == 501, (method, r.status_code)
        assert r.reason == f"method '{method}' not available", f"reason phrase {r.reason!r}"


def test_parameter_verification(daemon, admin_session):
    users_before = {u["userid"] for u in daemon.root.ok("GET", "/access/users")}
    r = admin_session.post(daemon.api("/access/users"), data={"userid": "bad", "enable": "yes"}, timeout=30)
    assert r.status_code == 400, (r.status_code, r.text)
    body = r.json()
    assert body.get("data") is None
    assert body.get("message", "").startswith("Parameter verification failed."), body
    errors = body.get("errors") or {}
    assert set(errors) == {"userid", "enable"}, errors
    assert "boolean" in errors["enable"] and "yes" in errors["enable"], errors
    assert "missing" not in errors["userid"], f"userid was given; the error must say why it is invalid: {errors}"
    assert {u["userid"] for u in daemon.root.ok("GET", "/access/users")} == users_before, "something was created"
    assert r.reason == "Parameter verification failed.", f"reason phrase {r.reason!r}"


def test_type_checks(daemon, admin_session):
    url = daemon.api("/access/users")
    for params, name in (({"enable": "true"}, "enable"), ({"expire": "abc"}, "expire"), ({"expire": ""}, "expire")):
        userid = f"{unique('u')}@pve"
        r = admin_session.post(url, data={"userid": userid, **params}, timeout=30)
        daemon.root.delete(f"/access/users/{userid}")
        assert r.status_code == 400, (params, r.status_code)
        assert name in (r.json().get("errors") or {}), r.text
    r = admin_session.post(url, data={}, timeout=30)
    assert r.status_code == 400
    assert "userid" in r.json()["errors"] and "missing" in r.json()["errors"]["userid"]


def test_unknown_parameter_is_400(daemon, admin_session):
    group = unique("g")
    r = admin_session.post(daemon.api("/access/groups"), data={"groupid": group, "bogus": "1"}, timeout=30)
    daemon.root.delete(f"/access/groups/{group}")
    assert r.status_code == 400
    errors = r.json().get("errors") or {}
    assert list(errors) == ["bogus"], errors
    assert "not defined in schema" in errors["bogus"]
    r = admin_session.get(daemon.api("/version"), params={"bogus": "1"}, timeout=30)
    assert r.status_code == 400 and "bogus" in r.json().get("errors", {})


def test_json_body(daemon, admin_session, cleanup):
    for enable, expected in ((True, 1), (False, 0)):
        userid = f"{unique('u')}@pve"
        cleanup.add(daemon.root.delete, f"/access/users/{userid}")
        r = admin_session.post(daemon.api("/access/users"), json={"userid": userid, "enable": enable, "expire": 0,
                                                                  "comment": "from json"}, timeout=30)
        assert r.status_code == 200, (r.status_code, r.text)
        user = daemon.root.ok("GET", f"/access/users/{userid}")
        assert user["enable"] == expected and user["comment"] == "from json", user
    r = admin_session.post(daemon.api("/access/groups"), data=b'{"groupid": ', timeout=30,
                           headers={"Content-Type": "application/json"})
    assert r.status_code == 400, f"bad JSON: {r.status_code}"
    r = admin_session.post(daemon.api("/access/groups"), data=b'["groupid"]', timeout=30,
                           headers={"Content-Type": "application/json"})
    assert r.status_code == 400, f"JSON array instead of object: {r.status_code}"


def test_form_body_without_content_type(daemon, admin_session, cleanup):
    group = unique("g")
    cleanup.add(daemon.root.delete, f"/access/groups/{group}")
    req = requests.Request("POST", daemon.api("/access/groups"), data=f"groupid={group}&comment=a+b%21".encode())
    prepared = admin_session.prepare_request(req)
    prepared.headers.pop("Content-Type", None)
    r = admin_session.send(prepared, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text)
    assert daemon.root.ok("GET", f"/access/groups/{group}").get("comment") == "a b!"


def test_get_with_body_is_501(daemon, admin_session):
    r = admin_session.request("GET", daemon.api("/version"), data="x=1", timeout=30,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 501, r.status_code
    r = admin_session.request("DELETE", daemon.api("/access/groups/nosuch"), data="x=1", timeout=30)
    assert r.status_code == 501, r.status_code


def test_unsupported_content_type_is_refused(daemon, admin_session):
    group = unique("g")
    r = admin_session.post(daemon.api("/access/groups"), data=f"groupid={group}", timeout=30,
                           headers={"Content-Type": "text/xml"})
    daemon.root.delete(f"/access/groups/{group}")
    assert 400 <= r.status_code < 600 and r.status_code != 500, r.status_code
    assert daemon.root.get(f"/access/groups/{group}")[0] != 200


def test_query_overrides_body_and_path_parameter_repeated(daemon, admin_session, make_user):
    user = make_user(role=None)
    url = daemon.api(f"/access/users/{user.userid}")
    r = admin_session.put(url, data={"userid": user.userid, "comment": "same value ok"}, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text)
    assert daemon.root.ok("GET", f"/access/users/{user.userid}")["comment"] == "same value ok"

    r = admin_session.put(url, data={"userid": "other@pve", "comment": "conflict"}, timeout=30)
    assert r.status_code == 400, r.status_code
    assert "userid" in r.json().get("errors", {})
    assert daemon.root.ok("GET", f"/access/users/{user.userid}")["comment"] == "same value ok"

    r = admin_session.put(url, params={"comment": "from query"}, data={"comment": "from body"}, timeout=30)
    assert r.status_code == 200
    assert daemon.root.ok("GET", f"/access/users/{user.userid}")["comment"] == "from query"


def test_nextid_is_a_string(daemon, admin_session):
    data = admin_session.get(daemon.api("/cluster/nextid"), timeout=30).json()["data"]
    assert isinstance(data, str) and int(data) >= 100, data


def test_task_list(daemon, admin_session):
    r = admin_session.get(daemon.api(f"/nodes/{daemon.node}/tasks"), timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body["data"], list)
    assert isinstance(body.get("total"), int) and body["total"] >= len(body["data"]), body
    r = admin_session.get(daemon.api("/nodes/nosuchnode/tasks"), timeout=30)
    assert r.status_code >= 400


def test_cluster_resources(daemon, admin_session):
    body = admin_session.get(daemon.api("/cluster/resources"), timeout=30).json()
    nodes = [r for r in body["data"] if r.get("type") == "node"]
    assert len(nodes) == 1, body
    node = nodes[0]
    assert node["node"] == daemon.node and node["id"] == f"node/{daemon.node}"
    for key in ("mem", "maxmem", "disk", "maxdisk", "uptime"):
        assert type(node.get(key)) is int, f"{key} must be an integral JSON number: {node.get(key)!r}"
    assert node["maxmem"] > 0 and node["maxdisk"] > 0
    assert type(node.get("cpu")) in (int, float) and 0 <= node["cpu"] <= 1, node.get("cpu")
    assert type(node.get("maxcpu")) is int and node["maxcpu"] >= 1


def test_version(daemon, admin_session):
    r = admin_session.get(daemon.api("/version"), timeout=30)
    data = r.json()["data"]
    assert float(data["release"]) >= 8.0
    assert data["version"].startswith(data["release"])
    assert r.headers.get("Server") == "pve-api-daemon/3.0"
    assert r.headers.get("Content-Type", "").startswith("application/json")


def test_server_header_on_errors(daemon, admin_session):
    for r in (anon_session().get(daemon.api("/version"), timeout=30),
              admin_session.get(daemon.api("/nosuch"), timeout=30),
              admin_session.post(daemon.api("/access/users"), data={}, timeout=30)):
        assert r.headers.get("Server") == "pve-api-daemon/3.0", (r.status_code, r.headers)


def test_percent_encoded_path_parameters(daemon, admin_session, make_user):
    user = make_user(role=None)
    encoded = user.userid.replace("@", "%40")
    r = admin_session.get(daemon.api(f"/access/users/{encoded}"), timeout=30)
    assert r.status_code == 200, r.status_code


def test_error_reason_phrase_carries_the_message(daemon, admin, admin_session, make_user):
    """Proxmox puts the message in the HTTP reason phrase; proxmoxer shows only that."""
    auditor = make_user(role="PVEAuditor")
    auditor_session = ticket_session(daemon, auditor.userid, auditor.password)
    cases = [
        (anon_session().get(daemon.api("/version"), timeout=30), 401, "No ticket"),
        (anon_session().get(daemon.api("/version"), cookies={"PVEAuthCookie": "PVE:x@pve:00000000::AAAA"}, timeout=30),
         401, "Authentication failed!"),
        (anon_session().post(daemon.api("/access/ticket"), data={"username": admin.userid, "password": "wrong"},
                             timeout=30), 401, "authentication failure"),
        (admin_session.post(daemon.api("/access/users"), data={}, timeout=30), 400, "Parameter verification failed."),
        (auditor_session.post(daemon.api("/access/groups"), data={"groupid": unique("g")}, timeout=30), 403,
         "Permission check failed (/access/groups, Group.Allocate)"),
        (admin_session.get(daemon.api("/nosuch"), timeout=30), 501, "Method 'GET /nosuch' not implemented"),
    ]
    wrong = [f"{status}: got {r.status_code} {r.reason!r}, want {reason!r}"
             for r, status, reason in cases if (r.status_code, r.reason) != (status, reason)]
    assert not wrong, "\n".join(wrong)


def test_error_body_message(daemon, admin_session):
    group = unique("nosuch")
    r = admin_session.get(daemon.api(f"/access/groups/{group}"), timeout=30)
    assert r.status_code >= 400
    body = r.json()
    assert body["data"] is None
    assert body["message"].endswith("\n") and group in body["message"], body


def test_error_body_names_the_plane_and_layer(daemon, admin_session, make_user):
    """Beside Proxmox's message and errors, a Vireo error body says where the failure lives."""
    auditor = make_user(role="PVEAuditor")
    auditor_session = ticket_session(daemon, auditor.userid, auditor.password)
    cases = [
        (admin_session.post(daemon.api("/access/users"), data={}, timeout=30), "control", "api"),
        (admin_session.get(daemon.api(f"/access/groups/{unique('nosuch')}"), timeout=30), "control", "api"),
        (auditor_session.post(daemon.api("/access/groups"), data={"groupid": unique("g")}, timeout=30),
         "control", "auth"),
    ]
    for r, plane, layer in cases:
        assert r.status_code >= 400
        body = r.json()
        assert body["vireo-fault"] == {"plane": plane, "layer": layer}, (r.request.method, r.url, body)
        assert body["message"] and body["data"] is None, body


def test_missing_user_is_reported_as_missing_to_an_admin(daemon, admin_session):
    """An administrator asking for a user that does not exist must learn that, not get a 403."""
    r = admin_session.get(daemon.api("/access/users/nosuch@pve"), timeout=30)
    assert r.status_code >= 400
    assert r.status_code != 403, f"got {r.status_code}: {r.json().get('message')!r}"
    assert "nosuch@pve" in r.json()["message"], r.json()


def test_raw_percent_garbage_in_path(daemon, admin_token):
    headers = {"Authorization": f"PVEAPIToken={admin_token[0]}={admin_token[1]}"}
    for target in ("/api2/json/access/users/%zz", "/api2/json/access/users/%", "/api2/json/%00",
                   "/api2/json/access/users/%ff%fe", "/api2//json//version", "/api2/json/version?%%=%"):
        status, reason, body, _ = raw_request(daemon, "GET", target, headers=headers)
        assert status < 500 or status == 501, (target, status, reason, body[:200])
