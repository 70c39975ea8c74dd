"""VM consoles as a client sees them on the wire: `vncproxy`/`termproxy` grants, the
`vncwebsocket` upgrade with its refusals, the RFB handshake with the one-time password, the
termproxy protocol over a real guest's serial port (backlog, live output, input), and the grants'
`vncproxy` tasks.

One test guest is booted for the whole module (serial0: socket, vga: std, kvm 0); a second VM runs
only its BIOS (no serial port), a third is never started.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import threading
import time
import urllib.parse

import pytest

from conftest import VIREO, Cleanup, prerequisite, ticket_session, unique
from vm_fixtures import ISO_NAME, guest_iso  # noqa: F401

try:
    import websocket
except ImportError:  # pragma: no cover - reported by the fixture below
    websocket = None

# The self-signed daemon: no verification; nothing from the environment (WEBSOCKET_CLIENT_CA_BUNDLE,
# proxies) applies either, as `new_session()` does for requests.
SSLOPT = {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
RFB_VERSION = b"RFB 003.008\n"
GRANT_WINDOW = 30  # seconds a grant waits for its connection
WEBSOCKET = {"vncproxy": {"websocket": 1}, "termproxy": {}}  # what noVNC / xterm.js post


# ---------------------------------------------------------------------------------------------
# DES (VNC authentication), the single-block encryption of FIPS 46-3.

_IP = [58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6,
       64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
       61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7]
_FP = [_IP.index(i) + 1 for i in range(1, 65)]  # the inverse of IP
_E = [32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
      16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1]
_P = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22,
      11, 4, 25]
_PC1 = [57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
        63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4]
_PC2 = [14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
        41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32]
_SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1]
_SBOX = [[[int(c, 16) for c in row] for row in box.split()] for box in [
    "e4d12fb83a6c5907 0f74e2d1a6cb9538 41e8d62bfc973a50 fc8249175b3ea06d",
    "f18e6b34972dc05a 3d47f28ec01a69b5 0e7ba4d158c6932f d8a13f42b67c05e9",
    "a09e63f51dc7b428 d709346a285ecbf1 d6498f30b12c5ae7 1ad069874fe3b52c",
    "7de3069a1285bc4f d8b56f03472c1ae9 a690cb7df13e5284 3f06a1d8945bc72e",
    "2c417ab6853fd0e9 eb2c47d150fa3986 421bad78f9c5630e b8c71e2d6f09a453",
    "c1af92680d34e75b af427c9561de0b38 9ef528c3704a1db6 432c95fabe17608d",
    "4b2ef08d3c975a61 d0b7491ae35c2f86 14bdc37eaf680592 6bd814a7950fe23c",
    "d2846fb1a93e50c7 1fd8a374c56b0e92 7b419ce206adf358 21e74a8dfc90356b",
]]


def _permute(value: int, table: list[int], width: int) -> int:
    out = 0
    for position in table:
        out = (out << 1) | ((value >> (width - position)) & 1)
    return out


def des_encrypt(key: bytes, block: bytes) -> bytes:
    k = _permute(int.from_bytes(key, "big"), _PC1, 64)
    c, d = k >> 28, k & 0xFFFFFFF
    value = _permute(int.from_bytes(block, "big"), _IP, 64)
    left, right = value >> 32, value & 0xFFFFFFFF
    for shift in _SHIFTS:
        c = ((c << shift) | (c >> (28 - shift))) & 0xFFFFFFF
        d = ((d << shift) | (d >> (28 - shift))) & 0xFFFFFFF
        x = _permute(right, _E, 32) ^ _permute((c << 28) | d, _PC2, 56)
        s = 0
        for i in range(8):
            six = (x >> (42 - 6 * i)) & 0x3F
            s = (s << 4) | _SBOX[i][((six >> 4) & 2) | (six & 1)][(six >> 1) & 0xF]
        left, right = right, left ^ _permute(s, _P, 32)
    return _permute((right << 32) | left, _FP, 64).to_bytes(8, "big")


# Known answers (FIPS 81 / the classic worked example), so a refused password is never our DES.
assert des_encrypt(bytes.fromhex("133457799BBCDFF1"), bytes.fromhex("0123456789ABCDEF")).hex() == "85e813540f0ab405"
assert des_encrypt(bytes.fromhex("0E329232EA6D0D73"), bytes.fromhex("8787878787878787")).hex() == "0000000000000000"


def vnc_auth_response(password: str, challenge: bytes) -> bytes:
    """VNC authentication: the challenge DES-encrypted with the password (8 bytes, zero padded) as
    key, each key byte's bits reversed."""
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in password.encode()[:8].ljust(8, b"\0"))
    return des_encrypt(key, challenge[:8]) + des_encrypt(key, challenge[8:16])


# ---------------------------------------------------------------------------------------------
# Helpers


def wait_task(root, node: str, upid: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = root.ok("GET", f"/nodes/{node}/tasks/{upid}/status")
        if status["status"] == "stopped" or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def task_log(root, node: str, upid: str) -> str:
    return "\n".join(line["t"] for line in root.ok("GET", f"/nodes/{node}/tasks/{upid}/log"))


class WireStream:
    """The server's messages on an open console WebSocket, as one byte stream."""

    def __init__(self, ws):
        self.ws = ws
        self.buffer = b""
        self.messages: list[bytes] = []
        self.closed = False
        self.close_payload = b""

    def _receive(self, timeout: float) -> bool:
        """One frame (up to `timeout`); False when none came or the connection closed."""
        if self.closed:
            return False
        self.ws.settimeout(max(timeout, 0.01))
        try:
            opcode, data = self.ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            return False
        except (websocket.WebSocketConnectionClosedException, ConnectionError, ssl.SSLError):
            self.closed = True
            return False
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.closed, self.close_payload = True, data
            return False
        if opcode in (websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_TEXT):
            self.messages.append(data)
            self.buffer += data
        return True

    def read(self, count: int, timeout: float = 20) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buffer) < count:
            if not self._receive(deadline - time.monotonic()) and (self.closed or time.monotonic() > deadline):
                raise AssertionError(f"wanted {count} bytes, got {self.buffer!r} (closed: {self.closed})")
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def line_with(self, marker: str, timeout: float = 30) -> str:
        """Consumes output up to and including the first complete line containing `marker`; the
        line as a terminal shows it (from the last carriage return or newline before `marker`)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.buffer.decode(errors="replace")
            position = text.find(marker)
            if position >= 0 and "\n" in text[position:]:
                start = max(text.rfind("\n", 0, position), text.rfind("\r", 0, position)) + 1
                end = text.index("\n", position)
                self.buffer = text[end + 1:].encode()
                return text[start:end].strip("\r")
            if not self._receive(deadline - time.monotonic()) and (self.closed or time.monotonic() > deadline):
                raise AssertionError(f"no line with {marker!r} (closed: {self.closed}); got:\n{text[-3000:]}")

    def wait_closed(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._receive(deadline - time.monotonic())
        return self.closed


class Consoles:
    """The module's VMs and the calls a console client makes."""

    def __init__(self, daemon, admin_session, admin_userid, guest, plain, stopped):
        self.daemon = daemon
        self.node = daemon.node
        self.root = daemon.root
        self.admin = admin_session
        self.admin_userid = admin_userid
        self.guest, self.plain, self.stopped = guest, plain, stopped

    def proxy(self, session, vmid: int, kind: str, **params):
        """POST …/vncproxy or …/termproxy; the response."""
        return session.post(self.daemon.api(f"/nodes/{self.node}/qemu/{vmid}/{kind}"), data=params, timeout=30)

    def grant(self, kind: str, session=None, vmid: int | None = None, **params) -> dict:
        response = self.proxy(session or self.admin, vmid or self.guest, kind, **params)
        assert response.status_code == 200, (kind, response.status_code, response.reason, response.text)
        return response.json()["data"]

    def url(self, vmid: int, port, ticket: str) -> str:
        query = urllib.parse.urlencode({"port": port, "vncticket": ticket})
        return f"wss://127.0.0.1:{self.daemon.port}/api2/json/nodes/{self.node}/qemu/{vmid}/vncwebsocket?{query}"

    def connect(self, grant: dict, cookie: str | None = "admin", vmid: int | None = None, port=None,
                ticket: str | None = None):
        """The WebSocket upgrade as noVNC/xterm.js make it (ticket cookie, `binary` subprotocol)."""
        if cookie == "admin":
            cookie = self.admin.cookies["PVEAuthCookie"]
        return websocket.create_connection(
            self.url(vmid or self.guest, grant["port"] if port is None else port,
                     grant["ticket"] if ticket is None else ticket),
            sslopt=SSLOPT, cookie=f"PVEAuthCookie={cookie}" if cookie else None, subprotocols=["binary"],
            timeout=20, http_no_proxy=["127.0.0.1"])

    def refused(self, grant: dict, **kwargs) -> tuple[int, str]:
        """An upgrade that must be answered as an ordinary HTTP error: (status, message)."""
        try:
            ws = self.connect(grant, **kwargs)
        except websocket.WebSocketBadStatusException as error:
            body = error.resp_body or b""
            try:
                message = json.loads(body).get("message") or ""
            except ValueError:
                message = body.decode(errors="replace")
            return error.status_code, f"{error.status_message or ''} | {message}"
        ws.close()
        raise AssertionError(f"the upgrade was accepted ({kwargs}) where a refusal was expected")


def rfb_security(stream: WireStream, password: str) -> int:
    """RFB 3.8 up to the SecurityResult with VNC authentication; returns the result (0 = OK)."""
    assert stream.read(12) == RFB_VERSION
    stream.ws.send_binary(RFB_VERSION)
    count = stream.read(1)[0]
    assert count > 0, f"no security types offered: {stream.read(4)!r}"
    types = stream.read(count)
    assert 2 in types, f"VNC authentication (2) not offered: {list(types)}"
    stream.ws.send_binary(b"\x02")
    challenge = stream.read(16)
    stream.ws.send_binary(vnc_auth_response(password, challenge))
    return int.from_bytes(stream.read(4), "big")


def termproxy_frame(data: str) -> str:
    return f"0:{len(data.encode())}:{data}"


def start_termproxy(consoles: Consoles, grant: dict, **connect) -> WireStream:
    """Connects and authenticates a termproxy session; the stream right after `OK`."""
    ws = consoles.connect(grant, **connect)
    stream = WireStream(ws)
    ws.send(f"{grant['user']}:{grant['ticket']}\n")
    assert stream.read(2, timeout=10) == b"OK", stream.messages
    return stream


# ---------------------------------------------------------------------------------------------
# Fixtures


def destroy_vm(root, node: str, data_dir: str, vmid: int):
    status, _, body = root.get(f"/nodes/{node}/qemu/{vmid}/status/current")
    if status == 200 and body["data"]["status"] == "running":
        status, _, body = root.post(f"/nodes/{node}/qemu/{vmid}/status/stop")
        if status == 200:
            wait_task(root, node, body["data"])
    pidfile = os.path.join(data_dir, "run", "qemu", f"{vmid}.pid")
    try:  # the backstop: QEMU must not outlive the test
        pid = int(open(pidfile).read().strip())
        if pidfile.encode() in open(f"/proc/{pid}/cmdline", "rb").read():
            os.kill(pid, 9)
    except (OSError, ValueError):
        pass
    status, _, body = root.delete(f"/nodes/{node}/qemu/{vmid}")
    if status == 200:
        wait_task(root, node, body["data"])


def create_vm(root, node: str, cleanup: Cleanup, data_dir: str, **params) -> int:
    vmid = int(root.ok("GET", "/cluster/nextid"))
    cleanup.add(destroy_vm, root, node, data_dir, vmid)
    upid = root.ok("POST", f"/nodes/{node}/qemu", {"vmid": vmid, "memory": 128, "kvm": 0, **params})
    assert wait_task(root, node, upid)["exitstatus"] == "OK", task_log(root, node, upid)
    return vmid


def start_vm(root, node: str, vmid: int):
    upid = root.ok("POST", f"/nodes/{node}/qemu/{vmid}/status/start")
    status = wait_task(root, node, upid, timeout=120)
    assert status["exitstatus"] == "OK", task_log(root, node, upid)


@pytest.fixture(scope="module")
def consoles(daemon, admin, guest_iso):  # noqa: F811
    prerequisite(websocket is not None, "python package 'websocket-client' (pip install -r tests/api/requirements.txt)")
    root, node = daemon.root, daemon.node
    cleanup = Cleanup()
    try:
        storage = root.ok("GET", "/storage/local")["path"]
        iso_dir = os.path.join(storage, "template", "iso")
        iso = os.path.join(iso_dir, ISO_NAME)
        if not os.path.exists(iso):
            os.makedirs(iso_dir, exist_ok=True)
            cleanup.add(os.remove, iso)
            shutil.copy(guest_iso, iso)
        guest = create_vm(root, node, cleanup, daemon.data_dir, name="console-guest", memory=256, serial0="socket",
                          vga="std", ide2=f"local:iso/{ISO_NAME},media=cdrom", boot="order=ide2")
        plain = create_vm(root, node, cleanup, daemon.data_dir, name="bios-only", vga="std")
        stopped = create_vm(root, node, cleanup, daemon.data_dir, name="stopped", serial0="socket", vga="std")
        start_vm(root, node, guest)
        start_vm(root, node, plain)
        # The guest is ready once it printed VIREO-GUEST-READY on serial0. That is read from QEMU's
        # log of the port, not by attaching to it: nobody is attached while the guest prints it, so
        # the backlog test sees what a late viewer gets.
        log = os.path.join(daemon.data_dir, "run", "qemu", f"{guest}.serial0.log")
        deadline = time.monotonic() + 150
        text = ""
        while "VIREO-GUEST-READY" not in text:
            assert time.monotonic() < deadline, f"the guest did not boot; serial log:\n{text[-3000:]}"
            time.sleep(0.5)
            try:
                text = open(log, errors="replace").read()
            except OSError:
                pass
        session = ticket_session(daemon, admin.userid, admin.password)
        yield Consoles(daemon, session, admin.userid, guest, plain, stopped)
    finally:
        errors = cleanup.run()
        assert not errors, errors


@pytest.fixture(scope="module")
def unused_grants(consoles):
    """A VNC and a serial grant nobody connects to, made early and checked last (expiry)."""
    made = time.monotonic()
    return made, consoles.grant("vncproxy", websocket=1), consoles.grant("termproxy")


# ---------------------------------------------------------------------------------------------
# Grants


def test_grants_answer_as_proxmox_and_hold_the_lowest_free_port(consoles, unused_grants):
    _, early_vnc, early_serial = unused_grants
    vnc = consoles.grant("vncproxy", websocket=1, **{"generate-password": 1})
    assert set(vnc) == {"user", "ticket", "password", "port", "upid", "cert"}, vnc
    assert vnc["user"] == consoles.admin_userid
    assert len(vnc["password"]) == 8 and ":" not in vnc["password"], vnc["password"]
    assert vnc["ticket"].startswith(vnc["password"] + ":PVEVNC:"), vnc["ticket"]
    serial = consoles.grant("termproxy")
    assert {"user", "ticket", "port", "upid"} <= set(serial), serial
    assert serial["user"] == consoles.admin_userid and serial["ticket"].startswith("PVEVNC:"), serial

    ports = [early_vnc["port"], early_serial["port"], vnc["port"], serial["port"]]
    assert all(isinstance(p, int) and 5900 <= p <= 5999 for p in ports), ports
    assert len(set(ports)) == 4, f"pending grants share a port: {ports}"
    assert ports == sorted(ports), f"each grant takes the lowest free port: {ports}"

    # Each grant is a running `vncproxy` task of its user on the VM.
    for grant in (vnc, serial):
        fields = grant["upid"].split(":")
        assert fields[5:8] == ["vncproxy", str(consoles.guest), consoles.admin_userid], grant["upid"]
        assert consoles.root.ok("GET", f"/nodes/{consoles.node}/tasks/{grant['upid']}/status")["status"] == "running"

    # A session that ended gives its port back: the next grant takes it again.
    consoles.connect(vnc).close()
    assert wait_task(consoles.root, consoles.node, vnc["upid"])["exitstatus"] == "OK"
    again = consoles.grant("vncproxy", websocket=1)
    assert again["port"] == vnc["port"], (again["port"], ports)
    consoles.connect(again).close()
    consoles.connect(serial).close()


def test_a_stopped_vm_has_no_console(consoles):
    for kind in ("vncproxy", "termproxy"):
        response = consoles.proxy(consoles.admin, consoles.stopped, kind, **WEBSOCKET[kind])
        assert 400 <= response.status_code < 500, (kind, response.status_code, response.text)
        assert response.json()["message"].strip() == f"VM {consoles.stopped} not running", (kind, response.text)


def test_termproxy_needs_a_serial_socket(consoles):
    response = consoles.proxy(consoles.admin, consoles.plain, "termproxy")
    assert response.status_code == 400, (response.status_code, response.text)
    assert f"qm set {consoles.plain} --serial0 socket" in response.json()["message"], response.text
    response = consoles.proxy(consoles.admin, consoles.guest, "termproxy", serial="serial1")
    assert response.status_code == 400, (response.status_code, response.text)
    assert f"qm set {consoles.guest} --serial1 socket" in response.text, response.text


def test_console_needs_vm_console_privilege(consoles, make_user):
    auditor = make_user(role="PVEAuditor", path=f"/vms/{consoles.guest}")
    session = ticket_session(consoles.daemon, auditor.userid, auditor.password)
    for kind in ("vncproxy", "termproxy"):
        response = consoles.proxy(session, consoles.guest, kind, **WEBSOCKET[kind])
        assert response.status_code == 403, (kind, response.status_code, response.text)
    # The same user with VM.Console (PVEVMUser) on that VM gets its console, bound to its name.
    vm_user = make_user(role="PVEVMUser", path=f"/vms/{consoles.guest}")
    session = ticket_session(consoles.daemon, vm_user.userid, vm_user.password)
    grant = consoles.grant("termproxy", session=session)
    assert grant["user"] == vm_user.userid
    stream = start_termproxy(consoles, grant, cookie=session.cookies["PVEAuthCookie"])
    stream.ws.close()
    assert wait_task(consoles.root, consoles.node, grant["upid"])["exitstatus"] == "OK"


# ---------------------------------------------------------------------------------------------
# VNC


def test_vnc_websocket_speaks_rfb_and_takes_the_one_time_password(consoles):
    grant = consoles.grant("vncproxy", websocket=1, **{"generate-password": 1})
    ws = consoles.connect(grant)
    try:
        assert ws.getstatus() == 101
        assert ws.getsubprotocol() == "binary", ws.getheaders()
        stream = WireStream(ws)
        first = stream.read(12)
        assert stream.messages[0].startswith(RFB_VERSION), stream.messages[0]
        stream.buffer = first + stream.buffer
        assert rfb_security(stream, grant["password"]) == 0
        stream.ws.send_binary(b"\x01")  # ClientInit, shared
        init = stream.read(24)
        width, height = int.from_bytes(init[0:2], "big"), int.from_bytes(init[2:4], "big")
        name = stream.read(int.from_bytes(init[20:24], "big")).decode(errors="replace")
        assert width > 0 and height > 0, (width, height)
        assert "console-guest" in name, name
        # A framebuffer update request is answered with pixels (the guest's VGA screen).
        stream.ws.send_binary(b"\x03\x00" + bytes(4) + width.to_bytes(2, "big") + height.to_bytes(2, "big"))
        assert stream.read(1)[0] == 0, "FramebufferUpdate"
    finally:
        ws.close()
    status = wait_task(consoles.root, consoles.node, grant["upid"])
    assert status["status"] == "stopped" and status["exitstatus"] == "OK", status


def test_vnc_refuses_a_wrong_password(consoles):
    grant = consoles.grant("vncproxy", websocket=1, **{"generate-password": 1})
    wrong = "x" * 8 if grant["password"] != "x" * 8 else "y" * 8
    ws = consoles.connect(grant)
    try:
        stream = WireStream(ws)
        result = rfb_security(stream, wrong)
        assert result != 0, "VNC authentication accepted a wrong password"
        reason = stream.read(int.from_bytes(stream.read(4), "big")).decode(errors="replace")
        assert reason, "RFB 3.8 sends a reason with a failed SecurityResult"
    finally:
        ws.close()
    wait_task(consoles.root, consoles.node, grant["upid"])


# ---------------------------------------------------------------------------------------------
# Refusals of the upgrade


def test_upgrade_refusals_are_ordinary_http_errors(consoles, make_user):
    grant = consoles.grant("vncproxy", websocket=1)
    other = consoles.grant("vncproxy", websocket=1)
    assert other["port"] != grant["port"]

    status, message = consoles.refused(grant, cookie=None)
    assert status == 401, message
    ticket = grant["ticket"]
    garbled = ticket[:-12] + ("A" if ticket[-12] != "A" else "B") + ticket[-11:]
    for bad in (garbled, "PVEVNC:00000000::AAAA", "nonsense"):
        status, message = consoles.refused(grant, ticket=bad)
        assert status == 403, (bad, status, message)
    # Bound to its port: this grant's ticket does not open the other grant's port, nor the reverse.
    status, message = consoles.refused(grant, port=other["port"])
    assert status == 403, message
    status, message = consoles.refused(other, port=grant["port"])
    assert status == 403, message
    # Bound to the VM: the same port and ticket on another VM's path.
    status, message = consoles.refused(grant, vmid=consoles.plain)
    assert status == 403, message
    # Bound to the user: another administrator's cookie with this ticket.
    someone = make_user()
    status, message = consoles.refused(grant, cookie=ticket_session(
        consoles.daemon, someone.userid, someone.password).cookies["PVEAuthCookie"])
    assert status == 403, message

    # None of the refusals used the grants up: their owner connects to both.
    for g in (grant, other):
        ws = consoles.connect(g)
        try:
            assert WireStream(ws).read(12) == RFB_VERSION
            # Used: a second connection is refused, while the first is open and after it closed.
            status, message = consoles.refused(g)
            assert status == 403 and "used already or has expired" in message, (status, message)
        finally:
            ws.close()
        assert wait_task(consoles.root, consoles.node, g["upid"])["exitstatus"] == "OK"
        status, message = consoles.refused(g)
        assert status == 403 and "used already or has expired" in message, (status, message)


# ---------------------------------------------------------------------------------------------
# Serial console (termproxy)


def test_termproxy_sends_the_backlog_then_live_output_and_takes_input(consoles):
    grant = consoles.grant("termproxy")
    ws = consoles.connect(grant)
    try:
        assert ws.getstatus() == 101 and ws.getsubprotocol() == "binary"
        stream = WireStream(ws)
        ws.send(f"{grant['user']}:{grant['ticket']}\n")
        assert stream.read(2, timeout=10) == b"OK" and stream.messages[0] == b"OK", stream.messages[:3]
        # What the guest printed while nobody was attached, before anything is typed.
        stream.line_with("VIREO-GUEST-READY", timeout=10)

        ws.send(termproxy_frame("uptime\n"))
        assert stream.line_with("VIREO-UPTIME").startswith("VIREO-UPTIME ")
        # Resize and ping (alone, and in one message with input, split anywhere) keep the stream going.
        ws.send("1:80:24:")
        ws.send("2")
        marker = unique("CONSOLE-")
        frame = "1:132:40:" + "2" + termproxy_frame(f"echo {marker}\n")
        ws.send_binary(frame[:14].encode())
        ws.send_binary(frame[14:].encode())
        # The guest does not echo input: a line that is only the marker is the command's output.
        line = stream.line_with(marker)
        assert line == marker, repr(line)
        ws.send(termproxy_frame("tick\n"))
        assert stream.line_with("VIREO-TICK").startswith("VIREO-TICK ")
        assert not stream.closed
    finally:
        ws.close()
    status = wait_task(consoles.root, consoles.node, grant["upid"])
    assert status["exitstatus"] == "OK", status


def test_output_during_the_handshake_arrives_once(consoles):
    """What the guest prints between the upgrade and the `user:ticket` line is in the backlog; it
    must not come a second time as live output."""
    log = os.path.join(consoles.daemon.data_dir, "run", "qemu", f"{consoles.guest}.serial0.log")
    grant = consoles.grant("termproxy")
    ws = consoles.connect(grant)
    try:
        stream = WireStream(ws)
        # The guest prints VIREO-TICK <n> every 5 s by itself: wait for one while the handshake is pending.
        before = open(log, "rb").read().count(b"VIREO-TICK")
        deadline = time.monotonic() + 12
        while open(log, "rb").read().count(b"VIREO-TICK") == before:
            assert time.monotonic() < deadline, "the guest printed no VIREO-TICK"
            time.sleep(0.1)
        ws.send(f"{grant['user']}:{grant['ticket']}\n")
        assert stream.read(2, timeout=10) == b"OK"
        marker = unique("AFTER-")
        ws.send(termproxy_frame(f"echo {marker}\n"))
        stream.line_with(marker)
        text = b"".join(stream.messages[1:]).decode(errors="replace")
        lines = [line.strip() for line in text.split("\n") if line.strip().startswith("VIREO-TICK ")]
        assert len(lines) == len(set(lines)), f"output came twice: {lines}"
    finally:
        ws.close()


def test_termproxy_default_and_explicit_serial_port_are_the_same(consoles):
    for params in ({}, {"serial": "serial0"}):
        grant = consoles.grant("termproxy", **params)
        stream = start_termproxy(consoles, grant)
        try:
            marker = unique("PORT-")
            stream.ws.send(termproxy_frame(f"echo {marker}\n"))
            line = stream.line_with(marker)
            assert line == marker, repr(line)
        finally:
            stream.ws.close()
        assert wait_task(consoles.root, consoles.node, grant["upid"])["exitstatus"] == "OK"


@pytest.mark.parametrize("line", ["{user}:garbage", "{user}:{other_ticket}", "root@pam:{ticket}", "{ticket}"])
def test_termproxy_closes_on_a_wrong_handshake_line(consoles, line):
    grant = consoles.grant("termproxy")
    other = consoles.grant("termproxy")
    ws = consoles.connect(grant)
    try:
        stream = WireStream(ws)
        ws.send(line.format(user=grant["user"], ticket=grant["ticket"], other_ticket=other["ticket"]) + "\n")
        started = time.monotonic()
        assert stream.wait_closed(timeout=8), "the server kept the connection open"
        assert time.monotonic() - started < 5, "closed only by the handshake timeout, not for the wrong line"
        assert stream.messages == [], f"the server sent {stream.messages!r} before closing"
    finally:
        ws.close()
    # The other grant is still good.
    start_termproxy(consoles, other).ws.close()


# ---------------------------------------------------------------------------------------------
# The CLI


def test_qm_terminal_attaches_to_the_serial_port(consoles):
    prerequisite(os.access(VIREO, os.X_OK), f"CLI binary {VIREO} (build it, or set VIREO)")
    env = {k: v for k, v in os.environ.items() if k != "VIREO_RUN_DIR"}
    env["VIREO_DATA_DIR"] = consoles.daemon.data_dir
    proc = subprocess.Popen([VIREO, "qm", "terminal", str(consoles.guest)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    output = bytearray()

    def read():
        while chunk := proc.stdout.read1(4096):
            output.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        marker = unique("QM-TERMINAL-")
        deadline = time.monotonic() + 30
        # The port serves one client at a time; the last console session may still be letting go.
        while marker not in output.decode(errors="replace"):
            assert time.monotonic() < deadline and proc.poll() is None, (proc.poll(), bytes(output[-2000:]))
            proc.stdin.write(f"echo {marker}\n".encode())
            proc.stdin.flush()
            time.sleep(2)
        proc.stdin.write(b"\x0f")  # Ctrl-O ends it, as in Proxmox
        proc.stdin.flush()
        assert proc.wait(timeout=10) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert b"starting serial terminal" in proc.stderr.read()


# ---------------------------------------------------------------------------------------------
# Expiry (last: it waits out the grants' 30 s)


def test_an_unused_grant_expires_and_its_task_fails(consoles, unused_grants):
    made, vnc, serial = unused_grants
    for grant in (vnc, serial):
        # Nobody connected: the proxy task ends with an error once the grant's time is over.
        task = wait_task(consoles.root, consoles.node, grant["upid"], timeout=max(5.0, made + 40 - time.monotonic()))
        assert task["status"] == "stopped" and task["exitstatus"] != "OK", task
        assert "timed out" in task["exitstatus"] + task_log(consoles.root, consoles.node, grant["upid"]), task
    # The refusal must come from the grant's 30 s, not from the ticket's own lifetime (40 s): when
    # the early grants are too old for that, fresh ones are waited out.
    if time.monotonic() - made > GRANT_WINDOW + 6:
        made, vnc, serial = time.monotonic(), consoles.grant("vncproxy", websocket=1), consoles.grant("termproxy")
    time.sleep(max(0.0, made + GRANT_WINDOW + 1.5 - time.monotonic()))
    for grant in (vnc, serial):
        status, message = consoles.refused(grant)
        assert status == 403 and "used already or has expired" in message, (status, message)


def test_qm_vncproxy_pipes_the_vnc_display(consoles):
    """`qm vncproxy` is what a proxy runs: the VM's VNC stream on stdin/stdout. With a password in
    LC_PVE_TICKET (as Proxmox's proxy passes it), that password opens the display."""
    prerequisite(os.access(VIREO, os.X_OK), f"CLI binary {VIREO} (build it, or set VIREO)")
    env = {k: v for k, v in os.environ.items() if k != "VIREO_RUN_DIR"}
    env["VIREO_DATA_DIR"] = consoles.daemon.data_dir
    env["LC_PVE_TICKET"] = "qmvnc123"
    proc = subprocess.Popen([VIREO, "qm", "vncproxy", str(consoles.guest)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.read(12) == b"RFB 003.008\n", proc.stderr.read1(2000)
        proc.stdin.write(b"RFB 003.008\n")
        proc.stdin.flush()
        count = proc.stdout.read(1)[0]
        types = proc.stdout.read(count)
        assert 2 in types, types  # VNC authentication
        proc.stdin.write(bytes([2]))
        proc.stdin.flush()
        challenge = proc.stdout.read(16)
        proc.stdin.write(vnc_auth_response("qmvnc123", challenge))
        proc.stdin.flush()
        assert proc.stdout.read(4) == b"\x00\x00\x00\x00"  # SecurityResult OK
    finally:
        proc.kill()
        proc.wait()
