"""Shared helpers of the schema-driven tests (test_permission_matrix.py, test_hostile_input.py):
the daemon's OpenAPI document as a list of operations, valid parameter values generated from the
schema, requests with percent-encoded path captures, VM and task helpers for root."""

from __future__ import annotations

import json
import random
import re
import time
import urllib.parse
from dataclasses import dataclass, field

from conftest import Cleanup, LocalRoot, _UnixHTTPConnection


# ---------------------------------------------------------------------------------------------
# The OpenAPI document


@dataclass
class Param:
    name: str
    location: str  # "path", "query" or "body"
    required: bool
    schema: dict

    @property
    def type(self) -> str:
        return self.schema.get("type", "string")

    @property
    def is_boolean(self) -> bool:
        return self.type == "integer" and self.schema.get("enum") == [0, 1]

    @property
    def format(self) -> str | None:
        return self.schema.get("x-pve-format")


@dataclass
class Operation:
    method: str
    path: str  # relative to /api2/json, with {captures}
    params: dict[str, Param]
    permission: object  # x-pve-permissions, or None when the document has none
    allow_token: bool
    root_only: str | None
    raw: dict = field(repr=False, default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    @property
    def streams(self) -> bool:
        """The answer is an endless stream (the event stream), not the JSON envelope."""
        return bool(self.raw.get("x-vireo-stream"))

    @property
    def captures(self) -> list[str]:
        return re.findall(r"\{([^}]+)\}", self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def openapi_document(root: LocalRoot) -> dict:
    conn = _UnixHTTPConnection(root.socket_path)
    try:
        conn.request("GET", "/api2/openapi.json")
        resp = conn.getresponse()
        raw = resp.read()
        assert resp.status == 200, f"GET /api2/openapi.json: {resp.status} {raw[:200]!r}"
        return json.loads(raw)
    finally:
        conn.close()


def operations(root: LocalRoot) -> list[Operation]:
    """Every registered endpoint with its parameters, declared permission and flags."""
    document = openapi_document(root)
    found = []
    for full_path, methods in document["paths"].items():
        assert full_path.startswith("/api2/json"), full_path
        path = full_path[len("/api2/json"):]
        for method, op in methods.items():
            params: dict[str, Param] = {}
            for p in op.get("parameters", []):
                params[p["name"]] = Param(p["name"], p["in"], bool(p.get("required")), p.get("schema", {}))
            body = (op.get("requestBody") or {}).get("content", {}).get("application/x-www-form-urlencoded")
            if body:
                schema = body.get("schema", {})
                required = set(schema.get("required", []))
                for name, s in schema.get("properties", {}).items():
                    params[name] = Param(name, "body", name in required, s)
            allow = op.get("x-pve-allowtoken", 1)
            found.append(Operation(
                method=method.upper(), path=path, params=params, permission=op.get("x-pve-permissions"),
                allow_token=allow not in (0, False, "0"), root_only=op.get("x-vireo-root-only"), raw=op,
            ))
    assert found, "the daemon's OpenAPI document lists no endpoints"
    return sorted(found, key=lambda o: (o.path, o.method))


# ---------------------------------------------------------------------------------------------
# Valid values


# Values for string formats (x-pve-format). Entries naming a context key are looked up there.
FORMAT_VALUES = {
    "pve-node": "@node",
    "pve-calendar-event": "*/15",
    # Firewall rule and ipset syntax (issue 12), checked by the registry.
    "IPorCIDR": "192.0.2.0/24",
    "IPorCIDRorAlias": "192.0.2.1",
    "pve-fw-addr-spec": "192.0.2.1",
    "pve-fw-dport-spec": "80",
    "pve-fw-sport-spec": "1024",
    "pve-fw-protocol-spec": "tcp",
    "pve-fw-conntrack-helper": "ftp",
    "pve-vmid": "@vmid",
    "pve-userid": "@userid",
    "pve-userid-list": "@userid",
    "pve-tokenid": "@full_tokenid",
    "pve-tokenid-list": "@full_tokenid",
    "pve-groupid": "@groupid",
    "pve-groupid-list": "@groupid",
    "pve-roleid": "@roleid",
    "pve-roleid-list": "@roleid",
    "pve-realm": "@realm",
    "pve-storage-id": "@storage",
    "pve-storage-id-list": "@storage",
    "pve-poolid": "@poolid",
    "pve-configid": "@snapname",
    "pve-configid-list": "unused0",
    "pve-vmid-list": "@vmid",
    "pve-priv-list": "VM.Audit",
    "pve-priv": "VM.Audit",
    "pve-storage-content": "iso",
    "pve-storage-content-list": "iso",
    "pve-iface": "@iface",
    "pve-iface-list": "@iface",
    "email": "vireo@example.com",
    "email-opt": "vireo@example.com",
    "ipv4": "192.0.2.10",
    "ipv6": "2001:db8::10",
    "ipv4mask": "255.255.255.0",
    "CIDRv4": "192.0.2.10/24",
    "CIDRv6": "2001:db8::10/64",
    "address": "192.0.2.10",
    "dns-name": "vireo",
}

# Values for string parameters by name, where the schema has a pattern (not in the document) or
# the handler needs something specific.
NAME_VALUES = {
    "node": "@node",
    "userid": "@userid",
    "username": "@userid",
    "password": "@password",
    "tokenid": "@tokenid",
    "groupid": "@groupid",
    "roleid": "@roleid",
    "poolid": "@poolid",
    "storage": "@storage",
    "realm": "@realm",
    "snapname": "@snapname",
    "upid": "@upid",
    "volume": "@volume",
    "iface": "@iface",
    "path": "@acl_path",
    "roles": "@roleid",
    "command": "@command",
    "id": "vireo-tfa-none",
    "idlist": "unused0",
    "size": "1M",
    "filename": "@filename",
    "target": "@copy_target",
    "content": "iso",
    "fingerprint": ":".join(["AB"] * 32),
}


# Values tried, in order, when the usual one does not match a parameter's schema pattern.
PATTERN_CANDIDATES = [
    "100-0", "/dev/vireonone", "http://vireo.invalid/x.iso", "pve1c-0123456789", "vireo", "vireo.example",
    "00:00:00:00:00:01", "0000:00:00.0", "1",
]


def matching(value: str, pattern: str | None) -> str:
    """`value`, or the first candidate that matches `pattern` (Proxmox's schema regex)."""
    if not pattern:
        return value
    try:
        regex = re.compile(pattern)
    except re.error:
        return value
    if regex.fullmatch(value):
        return value
    return next((c for c in PATTERN_CANDIDATES if regex.fullmatch(c)), value)


def valid_value(param: Param, ctx: dict):
    """A value for `param` that passes the daemon's parameter validation."""
    if param.name in ctx.get("overrides", {}):
        value = ctx["overrides"][param.name]
        return value(ctx) if callable(value) else value
    s = param.schema
    if param.is_boolean:
        return 0
    if "enum" in s:
        return s["enum"][0]
    if param.type in ("integer", "number"):
        if param.format == "pve-vmid" or param.name in ("vmid", "newid"):
            return ctx["newid"] if param.name == "newid" else ctx["vmid"]
        lo, hi = s.get("minimum"), s.get("maximum")
        value = 1
        if lo is not None and value < lo:
            value = lo
        if hi is not None and value > hi:
            value = hi
        return int(value) if param.type == "integer" else value
    if param.type == "array":
        return ["vireo"]
    # A node is a node whatever the parameter's name (`target` of a migration).
    spec = FORMAT_VALUES.get("pve-node") if param.format == "pve-node" else None
    spec = spec or NAME_VALUES.get(param.name) or FORMAT_VALUES.get(param.format or "")
    value = "vireo"
    if spec is not None:
        value = ctx[spec[1:]] if spec.startswith("@") else spec
        if callable(value):
            value = value(ctx)
    value = matching(str(value), s.get("pattern"))
    if s.get("minLength") and len(value) < s["minLength"]:
        value = value + "x" * (s["minLength"] - len(value))
    if s.get("maxLength") and len(value) > s["maxLength"]:
        value = value[: s["maxLength"]]
    return value


def required_values(op: Operation, ctx: dict) -> dict:
    """Path captures and required parameters, all valid."""
    values = {}
    for name, param in op.params.items():
        if param.required or param.location == "path" or name in op.captures:
            values[name] = valid_value(param, ctx)
    return values


# ---------------------------------------------------------------------------------------------
# Requests


def build_request(op: Operation, values: dict):
    """(url path below /api2/json, query params, form body) with every capture percent-encoded
    (also `/` and `.`, so no value can change the route or be normalised by the client)."""

    def sub(m):
        return urllib.parse.quote(str(values[m.group(1)]), safe="").replace(".", "%2E")

    path = re.sub(r"\{([^}]+)\}", sub, op.path)
    rest = {k: v for k, v in values.items() if k not in op.captures}
    if op.method in ("GET", "DELETE"):
        return path, rest, None
    return path, None, rest


def call(session, daemon, op: Operation, values: dict, timeout: float = 60):
    path, query, body = build_request(op, values)
    url = daemon.api(path)
    if query:
        url += "?" + urllib.parse.urlencode(query, doseq=True)
    if op.streams:
        # Only the head is read: the stream itself does not end.
        response = session.request(op.method, url, data=body, timeout=timeout, stream=True)
        response.close()
        return response
    return session.request(op.method, url, data=body, timeout=timeout)


def error_names(response) -> set[str]:
    try:
        return set((response.json() or {}).get("errors") or {})
    except ValueError:
        return set()


# ---------------------------------------------------------------------------------------------
# Root-side helpers


def wait_task(root: LocalRoot, node: str, upid: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = root.ok("GET", f"/nodes/{node}/tasks/{urllib.parse.quote(upid, safe='')}/status")
        if status.get("status") == "stopped":
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"task {upid} did not finish within {timeout} s")
        time.sleep(0.05)


def free_vmid(root: LocalRoot, taken: set[int] = frozenset()) -> int:
    """A VM ID nobody uses (random, high, so parallel test files do not collide)."""
    rng = random.Random()
    for _ in range(100):
        vmid = rng.randrange(700000, 999999)
        if vmid in taken:
            continue
        status, _, _ = root.get("/cluster/nextid", {"vmid": vmid})
        if status == 200:
            return vmid
    raise AssertionError("no free VM ID found")


def destroy_vm(root: LocalRoot, node: str, vmid: int) -> None:
    """Deletes the VM if it exists (also when locked); waits for the destroy task."""
    status, _, _ = root.get(f"/nodes/{node}/qemu/{vmid}/config")
    if status != 200:
        return
    status, _, body = root.get(f"/nodes/{node}/qemu/{vmid}/status/current")
    if status == 200 and (body.get("data") or {}).get("status") == "running":
        status, _, body = root.post(f"/nodes/{node}/qemu/{vmid}/status/stop", {"skiplock": 1})
        if status == 200:
            wait_task(root, node, body["data"])
    for _ in range(50):
        status, reason, body = root.delete(f"/nodes/{node}/qemu/{vmid}", {"purge": 1})
        if status == 200:
            wait_task(root, node, body["data"])
            return
        if "locked" in str(reason) or "locked" in json.dumps(body):
            root.put(f"/nodes/{node}/qemu/{vmid}/config", {"delete": "lock", "skiplock": 1})
        time.sleep(0.2)
    raise AssertionError(f"could not destroy VM {vmid}: {status} {reason} {body}")


def create_vm(root: LocalRoot, node: str, vmid: int, cleanup: Cleanup, **extra) -> str:
    """A disk-less VM (memory 64, kvm 0); returns the UPID of its create task (owned by root@pam)."""
    cleanup.add(destroy_vm, root, node, vmid)
    upid = root.ok("POST", f"/nodes/{node}/qemu", {"vmid": vmid, "memory": 64, "kvm": 0, **extra})
    status = wait_task(root, node, upid)
    assert status.get("exitstatus") == "OK", f"creating VM {vmid}: {status}"
    return upid


def create_pool(root: LocalRoot, cleanup: Cleanup, prefix: str = "pool") -> str:
    from conftest import unique

    poolid = unique(prefix)
    cleanup.add(root.delete, f"/pools/{poolid}")
    root.ok("POST", "/pools", {"poolid": poolid})
    return poolid


def create_group(root: LocalRoot, cleanup: Cleanup, prefix: str = "grp") -> str:
    from conftest import unique

    groupid = unique(prefix)
    cleanup.add(root.delete, f"/access/groups/{groupid}")
    root.ok("POST", "/access/groups", {"groupid": groupid})
    return groupid


class FastClient:
    """A keep-alive HTTPS client for bulk requests: far less client CPU per request than requests
    (the sweep's thousands of calls would otherwise be bound by the client on a small machine).
    Answers are (status, reason, body bytes)."""

    def __init__(self, daemon, headers: dict):
        import ssl

        self.daemon = daemon
        self.headers = headers
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE
        self.conn = None

    def _connect(self):
        import http.client

        self.conn = http.client.HTTPSConnection("127.0.0.1", self.daemon.port, context=self.context, timeout=60)

    def request(self, method: str, target: str, form: dict | None = None):
        import http.client

        headers = dict(self.headers)
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, target, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, resp.reason, data
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise

    def call(self, op: Operation, values: dict):
        path, query, body = build_request(op, values)
        target = "/api2/json" + path
        if query:
            target += "?" + urllib.parse.urlencode(query, doseq=True)
        return self.request(op.method, target, body if body is not None else ({} if op.method in ("POST", "PUT")
                                                                               else None))

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def ticket_headers(ticket: dict) -> dict:
    return {"Cookie": f"PVEAuthCookie={ticket['ticket']}", "CSRFPreventionToken": ticket["CSRFPreventionToken"]}


def error_names_of(body: bytes) -> set[str]:
    try:
        return set((json.loads(body) or {}).get("errors") or {})
    except ValueError:
        return set()
