"""The security findings of the probe, each tried the way an attacker would: file modes of the
secrets, connections that never finish, node-wide power actions, the network listing, hook scripts,
SMBIOS and interface-name values, login timing, and what an unauthenticated caller can learn."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import statistics
import subprocess
import time

import pytest

from conftest import (
    VIREOD,
    anon_session,
    make_token,
    new_session,
    start_daemon,
    stop_daemon,
    token_session,
    unique,
)
from test_crash_safety import kill9, launch


def mode(path: str) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# ---------------------------------------------------------------------------------------------
# Secrets on disk


def test_data_dir_and_store_are_private_even_in_an_existing_open_directory():
    daemon = start_daemon(data_mode=0o755)
    try:
        data = daemon.data_dir
        assert mode(data) == 0o700, f"data dir is {oct(mode(data))}"
        store = os.path.join(data, "config.db")
        for path in (store, store + "-wal", store + "-shm"):
            if os.path.exists(path):
                assert mode(path) == 0o600, f"{path} is {oct(mode(path))}"
        assert mode(os.path.join(data, "run")) == 0o700
    finally:
        stop_daemon(daemon)


def test_modes_are_checked_at_every_start(tmp_path):
    data = str(tmp_path / "data")
    log = str(tmp_path / "vireod.log")
    proc, _ = launch(data, log)
    kill9(proc)
    # Someone loosens them while the daemon is down.
    os.chmod(data, 0o755)
    os.chmod(os.path.join(data, "config.db"), 0o644)
    proc, _ = launch(data, log)
    try:
        assert mode(data) == 0o700
        assert mode(os.path.join(data, "config.db")) == 0o600
        assert "restricted" in open(log, errors="replace").read(), "the tightening is not reported"
    finally:
        kill9(proc)


def test_a_data_dir_owned_by_another_user_stops_the_start(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    os.chown(data, 65534, 65534)
    result = subprocess.run([VIREOD, "--data-dir", str(data), "--listen", "127.0.0.1:0", "--node", "owned"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0, "vireod started with a data dir owned by another user"
    assert "owned by uid 65534" in result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------
# Connections that never finish


@pytest.fixture(scope="module")
def strict_daemon():
    d = start_daemon(["--auth-failure-delay", "0", "--header-timeout", "2", "--idle-timeout", "2",
                      "--max-connections-per-client", "20"])
    try:
        yield d
    finally:
        stop_daemon(d)


def tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(daemon, source: str = "127.0.0.2", tls: bool = True):
    raw = socket.create_connection(("127.0.0.1", daemon.port), timeout=10, source_address=(source, 0))
    return tls_context().wrap_socket(raw, server_hostname="localhost") if tls else raw


def closed_by_server(sock, within: float = 10.0) -> bool:
    """True when the server closes the connection before `within` seconds pass."""
    sock.settimeout(within)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return True
    except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
        return True
    except (socket.timeout, TimeoutError):
        return False
    finally:
        sock.close()


def served(daemon) -> int:
    r = new_session().get(daemon.api("/version"), timeout=10)
    return r.status_code


def test_a_connection_that_never_starts_tls_is_closed(strict_daemon):
    sock = connect(strict_daemon, tls=False)
    assert closed_by_server(sock), "an idle TCP connection stayed open past the header timeout"


def test_slowloris_headers_are_cut_off_while_others_are_served(strict_daemon):
    sock = connect(strict_daemon)
    sock.sendall(b"GET /api2/json/version HTTP/1.1\r\nHost: x\r\n")
    deadline = time.monotonic() + 10
    closed = False
    while time.monotonic() < deadline:
        try:
            sock.sendall(b"X-a: b\r\n")  # one header line every half second, never the blank line
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            closed = True
            break
        assert served(strict_daemon) == 401, "a new client was not served during the slow request"
        time.sleep(0.5)
    if not closed:
        closed = closed_by_server(sock, within=1)
    else:
        sock.close()
    assert closed, "a request head trickling in forever kept its connection"


def test_idle_keep_alive_is_closed_and_http10_closes_after_the_response(strict_daemon):
    sock = connect(strict_daemon)
    sock.sendall(b"GET /api2/json/version HTTP/1.1\r\nHost: x\r\n\r\n")
    first = sock.recv(4096)
    assert first.startswith(b"HTTP/1.1 401"), first[:80]
    assert closed_by_server(sock), "an idle kept-alive connection stayed open"

    sock = connect(strict_daemon)
    sock.sendall(b"GET /api2/json/version HTTP/1.0\r\n\r\n")
    head = sock.recv(4096)
    assert b" 401 " in head.split(b"\r\n")[0], head[:80]
    assert b"connection: close" in head.lower(), head
    assert closed_by_server(sock, within=3), "an HTTP/1.0 connection stayed open after its response"


def test_one_client_cannot_take_every_connection():
    capped = start_daemon(["--auth-failure-delay", "0", "--max-connections-per-client", "20"])
    held = []
    refused = 0
    try:
        for _ in range(30):
            try:
                sock = connect(capped)
                sock.sendall(b"GET /api2/json/version HTTP/1.1\r\nHost: x\r\n\r\n")
                if sock.recv(4096):
                    held.append(sock)
                else:
                    refused += 1
                    sock.close()
            except (ConnectionResetError, ssl.SSLError, OSError):
                refused += 1
        assert len(held) == 20 and refused == 10, f"{len(held)} connections held from one address, {refused} refused"
        assert served(capped) == 401, "a client from another address was not served"
    finally:
        for sock in held:
            sock.close()
        stop_daemon(capped)


# ---------------------------------------------------------------------------------------------
# Node-wide power actions, the network listing


@pytest.fixture
def vm_pair(daemon):
    """Two stopped VMs the tests may name."""
    vmids = []
    for _ in range(2):
        vmid = int(daemon.root.ok("GET", "/cluster/nextid"))
        daemon.root.ok("POST", f"/nodes/{daemon.node}/qemu", {"vmid": vmid, "memory": 64, "kvm": 0})
        vmids.append(vmid)
        deadline = time.monotonic() + 30  # the config is written by the qmcreate task
        while daemon.root.get(f"/nodes/{daemon.node}/qemu/{vmid}/config")[0] != 200:
            assert time.monotonic() < deadline, f"VM {vmid} was not created"
            time.sleep(0.1)
    yield vmids
    for vmid in vmids:
        daemon.root.delete(f"/nodes/{daemon.node}/qemu/{vmid}")


def test_startall_and_stopall_need_power_rights(daemon, make_user, cleanup, vm_pair):
    a, b = vm_pair
    owner = make_user(role=None)
    token_id, secret = make_token(daemon.root, owner.userid, privsep=True, cleanup=cleanup)
    no_acl = token_session(token_id, secret)
    for action in ("startall", "stopall"):
        r = no_acl.post(daemon.api(f"/nodes/{daemon.node}/{action}"), timeout=30)
        assert r.status_code == 403, f"{action} by a token without ACL: {r.status_code} {r.reason}"

    operator = make_user(role="PVEVMUser", path=f"/vms/{a}")
    s = token_session(*make_token(daemon.root, operator.userid, privsep=False, cleanup=cleanup))
    r = s.post(daemon.api(f"/nodes/{daemon.node}/stopall"), timeout=30)
    assert r.status_code == 403 and "/, VM.PowerMgmt" in r.reason, (r.status_code, r.reason)
    r = s.post(daemon.api(f"/nodes/{daemon.node}/stopall"), data={"vms": f"{a},{b}"}, timeout=30)
    assert r.status_code == 403 and f"/vms/{b}" in r.reason, (r.status_code, r.reason)
    r = s.post(daemon.api(f"/nodes/{daemon.node}/stopall"), data={"vms": str(a)}, timeout=30)
    assert r.status_code == 200 and r.json()["data"].startswith("UPID:"), (r.status_code, r.text)


def test_network_list_needs_sys_audit_on_the_node(daemon, make_user, cleanup):
    nobody = make_user(role="PVEVMAdmin", path="/vms")
    s = token_session(*make_token(daemon.root, nobody.userid, privsep=False, cleanup=cleanup))
    r = s.get(daemon.api(f"/nodes/{daemon.node}/network"), timeout=30)
    assert r.status_code == 403, (r.status_code, r.text[:200])
    auditor = make_user(role="PVEAuditor", path=f"/nodes/{daemon.node}")
    s = token_session(*make_token(daemon.root, auditor.userid, privsep=False, cleanup=cleanup))
    r = s.get(daemon.api(f"/nodes/{daemon.node}/network"), timeout=30)
    assert r.status_code == 200, (r.status_code, r.text[:200])


# ---------------------------------------------------------------------------------------------
# Values Proxmox refuses


def test_interface_lists_take_only_interface_names(tmp_path):
    interfaces = tmp_path / "interfaces"
    interfaces.write_text("auto lo\niface lo inet loopback\n")
    # Its own interfaces file: a test never stages changes to the host's /etc/network.
    daemon = start_daemon(["--auth-failure-delay", "0", "--interfaces-file", str(interfaces)])
    try:
        for field, type_, value in (("bridge_ports", "bridge", "eth1 ../x"), ("bridge_ports", "bridge", "x-y"),
                                    ("bridge_ports", "bridge", "eth1,/dev/sda"), ("slaves", "bond", "eth1 -x")):
            status, _, body = daemon.root.post(f"/nodes/{daemon.node}/network",
                                               {"iface": "vmbr7" if type_ == "bridge" else "bond7", "type": type_,
                                                field: value})
            assert status == 400 and field in (body.get("errors") or {}), (field, value, status, body)
        assert not (tmp_path / "interfaces.new").exists(), "a refused change was staged"
    finally:
        stop_daemon(daemon)


def test_smbios_text_fields_take_base64s_alphabet(daemon):
    vmid = int(daemon.root.ok("GET", "/cluster/nextid"))
    for value in ("serial=a b", "manufacturer=x.y", "uuid=not-a-uuid"):
        status, _, body = daemon.root.post(f"/nodes/{daemon.node}/qemu",
                                           {"vmid": vmid, "memory": 64, "smbios1": value})
        assert status == 400 and "smbios1" in (body.get("errors") or {}), (value, status, body)
    assert daemon.root.get(f"/nodes/{daemon.node}/qemu/{vmid}/config")[0] == 404


def test_hookscript_is_refused_as_it_would_never_run(daemon, make_user, cleanup, vm_pair):
    a, _ = vm_pair
    status, _, body = daemon.root.put(f"/nodes/{daemon.node}/qemu/{a}/config", {"hookscript": "local:snippets/x.sh"})
    assert status == 400 and "hookscript" in (body.get("errors") or {}), (status, body)
    admin = make_user(role="PVEVMAdmin", path=f"/vms/{a}")
    s = token_session(*make_token(daemon.root, admin.userid, privsep=False, cleanup=cleanup))
    r = s.put(daemon.api(f"/nodes/{daemon.node}/qemu/{a}/config"), data={"hookscript": "local:snippets/x.sh"},
              timeout=30)
    assert r.status_code == 403, (r.status_code, r.reason)
    assert "hookscript" not in daemon.root.ok("GET", f"/nodes/{daemon.node}/qemu/{a}/config")


def test_storage_paths_are_roots(daemon, make_user, cleanup, tmp_path):
    admin = make_user(role="Administrator", path="/")
    s = token_session(*make_token(daemon.root, admin.userid, privsep=False, cleanup=cleanup))
    sid = unique("st")
    for params in ({"type": "dir", "path": str(tmp_path)}, {"type": "dir", "path": "/etc"}):
        r = s.post(daemon.api("/storage"), data={"storage": sid, **params}, timeout=30)
        assert r.status_code == 403 and "path" in r.reason, (params, r.status_code, r.reason)
    r = s.put(daemon.api("/storage/local"), data={"content-dirs": "snippets=../../etc"}, timeout=30)
    assert r.status_code in (400, 403), (r.status_code, r.reason)
    assert sid not in [x["storage"] for x in daemon.root.ok("GET", "/storage")]


# ---------------------------------------------------------------------------------------------
# What an unauthenticated caller learns


def test_unauthenticated_callers_cannot_tell_routes_apart(daemon):
    s = anon_session()
    for method, path in (("GET", "/api2/json/nosuchthing"), ("GET", "/api2/json/version"),
                         ("PATCH", "/api2/json/version"), ("GET", "/nosuch"), ("GET", "/api2/extjs/version"),
                         ("POST", "/api2/json/nodes/x/qemu/100/monitor")):
        r = s.request(method, daemon.url + path, timeout=30)
        assert r.status_code == 401 and r.content == b"", (method, path, r.status_code, r.content[:80])


def test_login_takes_as_long_for_an_unknown_user_as_for_a_wrong_password(daemon, make_user):
    user = make_user(role=None)
    s = anon_session()

    def attempt(username):
        started = time.perf_counter()
        r = s.post(daemon.api("/access/ticket"), data={"username": username, "password": "wrong-password"},
                   timeout=30)
        assert r.status_code == 401
        return time.perf_counter() - started

    known, unknown = [], []
    for i in range(24):
        known.append(attempt(user.userid))
        unknown.append(attempt(f"nobody{i}{unique('x')}@pve"))
    ratio = statistics.median(unknown) / statistics.median(known)
    print(f"login failure median: existing user {statistics.median(known) * 1000:.1f} ms, "
          f"unknown user {statistics.median(unknown) * 1000:.1f} ms (ratio {ratio:.2f})")
    # Without the dummy hash an unknown user failed in about half the time; a hash makes them alike.
    assert ratio > 0.75, f"an unknown user fails measurably faster (ratio {ratio:.2f}): user names can be probed"
