"""Fixtures for the Vireo API integration tests.

A real `vireod` is started in a temp dir on a free port; setup is done as root@pam through the
daemon's root-only unix socket (`LocalRoot`), and the tests then talk HTTPS to it like real
clients (proxmoxer, requests) do.

Environment:
  VIREOD  path of the daemon binary (default: <repo>/.build/debug/vireod)
  VIREO   path of the CLI binary    (default: <repo>/.build/debug/vireo)
  CI=true a missing prerequisite fails instead of skipping
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

try:
    import requests
    import urllib3

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
except ImportError:  # pragma: no cover - reported by the fixtures below
    requests = None

try:
    import proxmoxer  # noqa: F401
    from proxmoxer import ProxmoxAPI
except ImportError:  # pragma: no cover - reported by the fixtures below
    proxmoxer = None
    ProxmoxAPI = None

REPO = Path(__file__).resolve().parents[2]
VIREOD = os.path.abspath(os.environ.get("VIREOD") or str(REPO / ".build" / "debug" / "vireod"))
VIREO = os.path.abspath(os.environ.get("VIREO") or str(REPO / ".build" / "debug" / "vireo"))
NODE = "vireotest"
STARTUP_TIMEOUT = 30.0


def prerequisite(ok: bool, message: str) -> None:
    """Skip the test when `ok` is false (fail instead under CI=true)."""
    if ok:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"prerequisite missing: {message}", pytrace=False)
    pytest.skip(f"prerequisite missing: {message}", allow_module_level=True)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# The root-only unix socket


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60.0):
        super().__init__("localhost", timeout=timeout)
        self._socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


class LocalRoot:
    """root@pam through `<data-dir>/run/vireod.sock`, no credentials (as `pvesh` on a node).

    Each method takes an API path relative to `/api2/json` and a dict of parameters (lists are
    sent as repeated keys) and returns `(status, reason, json_or_None)`.
    """

    def __init__(self, socket_path: str):
        self.socket_path = socket_path

    def request(self, method: str, path: str, params: dict | None = None):
        params = {k: v for k, v in (params or {}).items() if v is not None}
        encoded = urllib.parse.urlencode(params, doseq=True)
        url = "/api2/json" + path
        body = None
        headers = {}
        if method in ("GET", "DELETE"):
            if encoded:
                url += "?" + encoded
        else:
            body = encoded.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = _UnixHTTPConnection(self.socket_path)
        try:
            conn.request(method, url, body=body, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                data = None
            return resp.status, resp.reason, data
        finally:
            conn.close()

    def get(self, path, params=None):
        return self.request("GET", path, params)

    def post(self, path, params=None):
        return self.request("POST", path, params)

    def put(self, path, params=None):
        return self.request("PUT", path, params)

    def delete(self, path, params=None):
        return self.request("DELETE", path, params)

    def ok(self, method: str, path: str, params: dict | None = None):
        """Like request(), but asserts success and returns `data`."""
        status, reason, body = self.request(method, path, params)
        assert status == 200, f"setup {method} {path} {params} failed: {status} {reason} {body}"
        return body.get("data") if isinstance(body, dict) else None


# ---------------------------------------------------------------------------------------------
# The daemon


@dataclass
class Daemon:
    proc: subprocess.Popen
    port: int
    node: str
    base_dir: str
    data_dir: str
    log_path: str
    url: str = ""
    socket: str = ""
    root: LocalRoot = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.url = f"https://127.0.0.1:{self.port}"
        self.socket = os.path.join(self.data_dir, "run", "vireod.sock")
        self.root = LocalRoot(self.socket)

    def api(self, path: str) -> str:
        """Full URL of an API path (`/version` -> https://127.0.0.1:P/api2/json/version)."""
        return f"{self.url}/api2/json{path}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


_running_daemons: list[Daemon] = []


def start_daemon(extra_args: list[str] | None = None, node: str = NODE, data_mode: int | None = None) -> Daemon:
    """Starts vireod in a fresh temp dir and waits until it answers HTTPS. Caller stops it.
    With `data_mode`, the data dir exists before the start, with that mode."""
    prerequisite(requests is not None, "python package 'requests' (pip install -r tests/api/requirements.txt)")
    prerequisite(os.access(VIREOD, os.X_OK), f"daemon binary {VIREOD} (build it, or set VIREOD)")
    last_error = ""
    for _attempt in range(3):
        base = tempfile.mkdtemp(prefix="vireo-api-test-")
        data_dir = os.path.join(base, "data")  # does not exist yet: the daemon creates it
        if data_mode is not None:
            os.mkdir(data_dir)
            os.chmod(data_dir, data_mode)
        log_path = os.path.join(base, "vireod.log")
        port = free_port()
        args = [VIREOD, "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}", "--node", node]
        args += extra_args if extra_args is not None else ["--auth-failure-delay", "0"]
        if "--interfaces-file" not in args and "--netns" not in args:
            # Never the host's /etc/network/interfaces: staged changes stay in the temp dir.
            args += ["--interfaces-file", os.path.join(base, "interfaces")]
        if "--host-root" not in args and "--netns" not in args:
            # Nor its resolv.conf, hosts, time zone or mount units.
            args += ["--host-root", os.path.join(base, "host")]
        env = {k: v for k, v in os.environ.items() if k not in ("VIREO_DATA_DIR", "VIREO_RUN_DIR")}
        env["VIREO_UI_DIR"] = str(REPO / "ui")  # the web UI of this checkout (ui/vendor: scripts/ui-vendor.sh)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
            )
        daemon = Daemon(proc=proc, port=port, node=node, base_dir=base, data_dir=data_dir, log_path=log_path)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        status = None
        while time.monotonic() < deadline and daemon.alive():
            try:
                status = requests.get(daemon.api("/version"), verify=False, timeout=10).status_code
                if status == 401 and os.path.exists(daemon.socket):
                    _running_daemons.append(daemon)
                    return daemon
            except requests.RequestException as error:
                status = repr(error)
            time.sleep(0.1)
        last_error = f"last probe: {status}; exit code: {proc.poll()}\n--- vireod output ---\n{daemon.log_tail(80)}"
        _stop(daemon)
        if "Address already in use" not in last_error:
            break
    pytest.fail(f"vireod did not come up within {STARTUP_TIMEOUT:.0f} s ({' '.join(args)}); {last_error}", pytrace=False)


def _stop(daemon: Daemon) -> None:
    try:
        if daemon.alive():
            try:
                os.killpg(daemon.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                daemon.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(daemon.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                daemon.proc.wait(timeout=10)
    finally:
        if daemon in _running_daemons:
            _running_daemons.remove(daemon)
        shutil.rmtree(daemon.base_dir, ignore_errors=True)


def stop_daemon(daemon: Daemon) -> int | None:
    """SIGTERM (then SIGKILL after 10 s), remove the temp dir; returns the exit code."""
    _stop(daemon)
    return daemon.proc.returncode


@pytest.fixture(scope="session")
def daemon():
    d = start_daemon()
    try:
        yield d
    finally:
        stop_daemon(d)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of each running daemon's log to the report. Each phase's report
    stays on the item (`item.rep_setup`, `item.rep_call`) for fixtures to see at teardown whether
    the test failed (the UI fixtures' screenshot on failure)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    if report.failed and report.when in ("setup", "call"):
        for d in list(_running_daemons):
            report.sections.append((f"vireod log (port {d.port}, last lines)", d.log_tail(40)))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Runs the checks fixtures put in `item.after_call_checks` right after a test body that passed,
    so that a failing check fails the test itself rather than its teardown (the UI fixtures: no
    SEVERE browser console message)."""
    result = yield
    for check in getattr(item, "after_call_checks", []):
        check()
    return result


# ---------------------------------------------------------------------------------------------
# Users, cleanup, clients


class Cleanup:
    """Callables run in reverse order at teardown, also when the test failed."""

    def __init__(self):
        self._actions = []

    def add(self, fn, *args, **kwargs):
        self._actions.append((fn, args, kwargs))

    def run(self):
        errors = []
        while self._actions:
            fn, args, kwargs = self._actions.pop()
            try:
                fn(*args, **kwargs)
            except Exception as error:  # teardown must go on
                errors.append(repr(error))
        return errors


@pytest.fixture
def cleanup():
    c = Cleanup()
    yield c
    c.run()


@dataclass
class User:
    userid: str
    password: str


def create_user(root: LocalRoot, cleanup: Cleanup | None, *, role: str | None = "Administrator", path: str = "/",
                password: str | None = None, prefix: str = "u", groups: list[str] | None = None, **fields) -> User:
    """Creates `<prefix><uuid>@pve` with a password and (unless role is None) an ACL entry."""
    userid = f"{unique(prefix)}@pve"
    password = password or f"Pw-{uuid.uuid4().hex[:12]}"
    params = {"userid": userid, "password": password, **fields}
    if groups:
        params["groups"] = ",".join(groups)
    if cleanup is not None:
        cleanup.add(root.delete, f"/access/users/{userid}")
    root.ok("POST", "/access/users", params)
    if role:
        root.ok("PUT", "/access/acl", {"path": path, "users": userid, "roles": role})
    return User(userid, password)


@pytest.fixture
def make_user(daemon, cleanup):
    """Factory: make_user(role='Administrator', path='/', ...) -> User; deleted at teardown."""

    def make(**kwargs):
        return create_user(daemon.root, cleanup, **kwargs)

    return make


@pytest.fixture(scope="session")
def admin(daemon):
    """A session-wide admin@pve-like user with Administrator on `/`."""
    session_cleanup = Cleanup()
    user = create_user(daemon.root, session_cleanup, prefix="admin")
    try:
        yield user
    finally:
        session_cleanup.run()


def require_proxmoxer():
    prerequisite(ProxmoxAPI is not None, "python package 'proxmoxer' (pip install -r tests/api/requirements.txt)")


def pve(daemon: Daemon, user: str, password: str | None = None, **kwargs):
    """A proxmoxer client for this daemon (password or token_name/token_value)."""
    require_proxmoxer()
    if password is not None:
        kwargs["password"] = password
    return ProxmoxAPI("127.0.0.1", port=daemon.port, user=user, verify_ssl=False, timeout=30, **kwargs)


@pytest.fixture
def admin_api(daemon, admin):
    return pve(daemon, admin.userid, admin.password)


def login(daemon: Daemon, userid: str, password: str) -> dict:
    """POST /access/ticket; returns `data` (ticket, CSRFPreventionToken, ...)."""
    r = requests.post(daemon.api("/access/ticket"), data={"username": userid, "password": password},
                      verify=False, timeout=30)
    assert r.status_code == 200, f"login of {userid} failed: {r.status_code} {r.reason} {r.text}"
    return r.json()["data"]


def ticket_session(daemon: Daemon, userid: str, password: str, csrf: bool = True) -> requests.Session:
    """A requests.Session authenticated by ticket cookie (and the CSRF header unless csrf=False)."""
    data = login(daemon, userid, password)
    s = new_session()
    s.cookies.set("PVEAuthCookie", data["ticket"])
    if csrf:
        s.headers["CSRFPreventionToken"] = data["CSRFPreventionToken"]
    return s


def make_token(root: LocalRoot, userid: str, privsep: bool, cleanup: Cleanup | None = None, name: str | None = None):
    """Creates an API token; returns (full token id, secret)."""
    name = name or unique("t")
    if cleanup is not None:
        cleanup.add(root.delete, f"/access/users/{userid}/token/{name}")
    data = root.ok("POST", f"/access/users/{userid}/token/{name}", {"privsep": int(privsep)})
    return data["full-tokenid"], data["value"]


def token_session(full_tokenid: str, secret: str) -> requests.Session:
    s = new_session()
    s.headers["Authorization"] = f"PVEAPIToken={full_tokenid}={secret}"
    return s


def new_session() -> requests.Session:
    """A session for the self-signed daemon. trust_env is off: REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE
    in the environment would otherwise override `verify = False` (and proxies would apply)."""
    s = requests.Session()
    s.trust_env = False
    s.verify = False
    return s


def anon_session() -> requests.Session:
    return new_session()


def registered_endpoints(root: LocalRoot, streams: bool = True) -> list[tuple[str, str]]:
    """(method, path) of every endpoint the daemon serves, from its OpenAPI document (which the
    daemon derives from its endpoint registry). `streams=False` leaves out the endless answers
    (the event stream, `x-vireo-stream`), which a client reading whole answers would wait out."""
    conn = _UnixHTTPConnection(root.socket_path)
    try:
        conn.request("GET", "/api2/openapi.json")
        resp = conn.getresponse()
        document = json.loads(resp.read())
    finally:
        conn.close()
    found = [
        (method.upper(), path[len("/api2/json"):])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if streams or not operation.get("x-vireo-stream")
    ]
    assert found, "the daemon's OpenAPI document lists no endpoints"
    return sorted(set(found))


def fill_path(path: str, node: str, other: str = "x") -> str:
    def sub(m):
        name = m.group(1)
        if name == "node":
            return node
        if name == "userid":
            return "root@pam"
        return other

    return re.sub(r"\{([^}]+)\}", sub, path)


def _leftovers() -> list[str]:
    """Namespaces, QEMU processes and temp dirs the tests make, still there."""
    found = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"network namespace {line.split()[0]}" for line in netns.splitlines()
              if line.startswith(("vn-", "vbench-"))]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if "qemu-system" in cmdline and "/vireo-vm-test-" in cmdline and state not in ("Z", "X"):
            found.append(f"QEMU process {pid}")
    found += [f"temp dir {path}" for path in os.listdir(tempfile.gettempdir()) if path.startswith("vireo-vm-test-")]
    return found


def pytest_sessionfinish(session, exitstatus):
    """The suite fails when anything it created is left behind, even after failing tests."""
    left = _leftovers()
    if left:
        print("\nleft behind by the tests:\n  " + "\n  ".join(left))
        session.exitstatus = 1
