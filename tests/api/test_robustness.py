"""Ten thousand randomized bad requests: the daemon must answer each without a server error (status
>= 500 other than 501, Proxmox's answer for unknown routes and methods) and survive.

Uses its own daemon, so whatever the junk manages to change cannot disturb the other tests.
Set VIREO_FUZZ_SEED to replay a run, VIREO_FUZZ_REQUESTS to change the count.
"""

import http.client
import json
import os
import random
import re
import ssl
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import new_session, create_user, fill_path, login, make_token, registered_endpoints, start_daemon, stop_daemon

TOTAL = int(os.environ.get("VIREO_FUZZ_REQUESTS", "10000"))
SEED = int(os.environ.get("VIREO_FUZZ_SEED", str(int(time.time()))))
THREADS = 8
TIME_BUDGET = 120.0  # hard stop; the run normally takes well under a minute

METHODS = ["GET"] * 6 + ["POST"] * 4 + ["PUT"] * 3 + ["DELETE"] * 2 + [
    "HEAD", "OPTIONS", "PATCH", "TRACE", "PROPFIND", "FOO", "get", "CONNECTX", "M-SEARCH",
]
CONTENT_TYPES = [
    None, None, "application/x-www-form-urlencoded", "application/x-www-form-urlencoded", "application/json",
    "application/json", "application/json; charset=utf-8", "multipart/form-data; boundary=xyz", "text/plain",
    "application/xml", "*/*", "", "application/x-www-form-urlencoded; charset=latin1", "application/jsonx",
]
PARAM_NAMES = [
    "userid", "groupid", "roleid", "poolid", "realm", "path", "roles", "users", "groups", "tokens", "privs",
    "propagate", "delete", "enable", "expire", "comment", "email", "password", "digest", "privsep", "append",
    "full", "enabled", "limit", "start", "vmid", "type", "node", "upid", "username", "otp", "tfa-challenge",
    "vms", "storage", "allow-move", "userfilter", "statusfilter", "since", "until", "source", "errors", "_dc",
    "bogus", "", "a[]", "x.y", "%zz",
]


def junk(rng: random.Random) -> str:
    kind = rng.randrange(16)
    if kind == 0:
        return ""
    if kind == 1:
        return str(rng.choice([-1, 0, 1, 2, 99, 100, 2**31, 2**63, -(2**63) - 1, 10**30]))
    if kind == 2:
        return rng.choice(["true", "false", "yes", "on", "null", "NaN", "inf", "-0", "1e309", "0x10", "1.5"])
    if kind == 3:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(1, 40)))
    if kind == 4:
        return "A" * rng.choice([300, 5000, 70000])
    if kind == 5:
        return "".join(chr(rng.randrange(0x80, 0x3000)) for _ in range(rng.randrange(1, 20)))
    if kind == 6:
        return rng.choice(["root@pam", "x@pve", "a@nosuchrealm", "@", "@@", "user@", "a!b@pve", "root@pam!tok"])
    if kind == 7:
        return rng.choice(["/", "//", "/vms/100", "/vms/abc", "/access/../..", "/pool/a/b/c/d", "/storage/" + "x" * 300])
    if kind == 8:
        return rng.choice(["Administrator", "NoAccess", "PVEAuditor", "VM.Audit,Sys.Audit", "VM.Monitor", ",,,", ";"])
    if kind == 9:
        return "%" + "".join(rng.choice("0123456789abcdefgzZ%") for _ in range(rng.randrange(1, 8)))
    if kind == 10:
        return "\x00\x01\x7f\r\n\t"
    if kind == 11:
        return "UPID:node:0000000A:0000000B:0000000C:type:id:user@pam:"
    if kind == 12:
        return rng.choice(["PVE:root@pam:66F1A2B3::abc", "'; DROP TABLE files; --", "${jndi:x}", "../../etc/passwd"])
    if kind == 13:
        return str(rng.random() * 10 ** rng.randrange(0, 40))
    if kind == 14:
        return "a" * rng.randrange(60, 70) + "@pve"
    return rng.choice(["0", "1", "abc", "100", "local", "pve", "pam"])


def junk_path(rng: random.Random, method_path: str, node: str) -> str:
    kind = rng.randrange(10)
    if kind < 4:
        path = fill_path(method_path, node)
    elif kind < 7:
        path = fill_path(method_path, rng.choice([node, "nosuch", "%2e%2e"]),
                         other=junk(rng).replace("/", "%2F").replace("?", "%3F").replace("#", "%23")[:300] or "x")
    elif kind == 7:
        path = method_path + "/" + rng.choice(["x", "..", ".", "%", "%00", "~", "a" * 500])
    elif kind == 8:
        path = rng.choice(["", "/", "//", "/../..", "/api2/json", "/nodes//status", "/%2e%2e/%2e%2e/etc/passwd"])
    else:
        path = method_path  # literal placeholders like {node}
    fmt = rng.choice(["json"] * 60 + ["extjs", "html", "JSON", "", "j", "json/"])
    return f"/api2/{fmt}{path}"


def junk_params(rng: random.Random) -> dict:
    return {rng.choice(PARAM_NAMES): junk(rng) for _ in range(rng.randrange(0, 6))}


def junk_body(rng: random.Random, params: dict, content_type):
    kind = rng.randrange(12)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([b"{", b"[]", b"null", b"1", b'"s"', b'{"a":', b'{"a":{"b":[1,2,{"c":null}]}}', b"\xff\xfe",
                           b'{"enable": true, "expire": 1.5, "comment": {"x": 1}}', b'{"' + b"a" * 1000 + b'": 1}'])
    if kind == 2:
        return os.urandom(rng.randrange(1, 2000))
    if kind == 3:
        return b"x" * rng.choice([600 * 1024, 2 * 1024 * 1024])  # over the 512 KiB limit
    if kind == 4:
        return b"&".join([b"=", b"a", b"==", b"%zz=%", b"a=1;b=2", b"a=1&a=2&a=3"])
    if kind == 5:
        return b"[" * 5000 + b"]" * 5000
    if kind == 6:
        values = dict(params)
        for key in list(values)[:2]:
            values[key] = rng.choice([True, False, None, 1.5, [1, "a"], {"n": 1}, 10**20])
        return json.dumps(values).encode()
    from urllib.parse import urlencode

    encoded = urlencode(params, doseq=True).encode()
    return encoded if content_type != "application/json" or rng.random() < 0.3 else json.dumps(params).encode()


def junk_auth(rng: random.Random, good_token: str, good_ticket: str, csrf: str) -> dict:
    kind = rng.randrange(14)
    if kind < 6:
        return {"Authorization": good_token}
    if kind < 8:
        return {"Cookie": f"PVEAuthCookie={good_ticket}", "CSRFPreventionToken": csrf}
    if kind == 8:
        return {"Cookie": f"PVEAuthCookie={good_ticket}"}  # no CSRF token
    if kind == 9:
        return {"Authorization": f"PVEAuthCookie={good_ticket}", "CSRFPreventionToken": junk(rng)[:200]}
    if kind == 10:
        return {}
    bogus = rng.choice([
        "PVEAPIToken=", "PVEAPIToken=root@pam!x=", "PVEAPIToken ==", "PVEAPIToken=a!b!c=d=e", "Basic Zm9vOmJhcg==",
        "PVEAuthCookie=PVE:root@pam:00000000::" + "A" * 344, "PVEAuthCookie=PVE:::", "PVEAuthCookie=%zz%",
        "PVEAPIToken=" + "x" * 4000, good_token[:-3], good_token.replace("=", " ", 1),
    ])
    return {"Authorization": bogus}


class Result:
    def __init__(self):
        self.lock = threading.Lock()
        self.failures = []
        self.statuses = {}
        self.sent = 0
        self.kinds = {}  # failure kind -> request descriptions
        self.not_implemented = {}  # 501 message shape -> count


def test_randomized_bad_requests(admin_fuzz_target):
    d, token_header, ticket, csrf = admin_fuzz_target
    # The event stream never ends; its own tests are in test_ui_serving.py.
    endpoints = registered_endpoints(d.root, streams=False)
    result = Result()
    deadline = time.monotonic() + TIME_BUDGET
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def record(desc, status, reason, text):
        with result.lock:
            result.sent += 1
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status == 501:
                key = re.sub(r"'.*'|/api2/\S*", "…", text[:80].decode("utf-8", "replace"))
                result.not_implemented[key] = result.not_implemented.get(key, 0) + 1
            if status is not None and status >= 500 and status != 501:
                result.kinds.setdefault(f"{status} {reason} {text[:120]!r}", []).append(desc)
            # 501 is Proxmox's deliberate answer for an unknown route, format or method; any other
            # 5xx is a server error.
            if status is None or (status >= 500 and status != 501):
                result.failures.append(f"{desc}\n    -> {status} {reason!r} {text[:300]!r}")

    def worker(index: int):
        rng = random.Random(SEED * 1000 + index)
        session = new_session()
        count = TOTAL // THREADS + (1 if index < TOTAL % THREADS else 0)
        for n in range(count):
            if time.monotonic() > deadline:
                break
            endpoint_method, endpoint_path = rng.choice(endpoints)
            method = endpoint_method if rng.random() < 0.85 else rng.choice(METHODS)
            target = junk_path(rng, endpoint_path, d.node)
            params = junk_params(rng)
            content_type = rng.choice(CONTENT_TYPES)
            headers = junk_auth(rng, token_header, ticket, csrf)
            if content_type is not None:
                headers["Content-Type"] = content_type
            body = junk_body(rng, params, content_type) if method not in ("GET", "DELETE") or rng.random() < 0.1 else None
            query = params if body is None or rng.random() < 0.3 else {}
            desc = (f"[seed {SEED} thread {index} #{n}] {method} {target} query={str(query)[:200]} "
                    f"headers={str(headers)[:200]} body[{len(body or b'')} bytes]={(body or b'')[:120]!r}"
                    f"{'…' if body and len(body) > 120 else ''}")
            try:
                if rng.random() < 0.15:
                    # Raw: the path exactly as generated (requests would re-quote percent garbage).
                    from urllib.parse import urlencode

                    raw_target = target + ("?" + urlencode(query) if query else "")
                    if rng.random() < 0.5:
                        raw_target += rng.choice(["?%zz", "?&&&", "?a=%", "?=", "?" + "%41" * 300, "#frag"])
                    conn = http.client.HTTPSConnection("127.0.0.1", d.port, context=ctx, timeout=30)
                    try:
                        conn.putrequest(method, raw_target.encode("utf-8", "replace").decode("latin-1"),
                                        skip_accept_encoding=True)
                        for k, v in headers.items():
                            conn.putheader(k, v.encode("utf-8", "replace").decode("latin-1"))
                        if body is not None:
                            conn.putheader("Content-Length", str(len(body)))
                        conn.endheaders(body)
                        resp = conn.getresponse()
                        text = resp.read(400)
                        record(desc, resp.status, resp.reason, text)
                    finally:
                        conn.close()
                else:
                    url = f"{d.url}{target}"
                    r = session.request(method, url, params=query or None, data=body, timeout=30,
                                        headers={k: v.encode("utf-8", "replace").decode("latin-1") for k, v in headers.items()})
                    record(desc, r.status_code, r.reason, r.content)
            except (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader, http.client.InvalidURL,
                    UnicodeError, ValueError):
                with result.lock:  # refused by the client library: never sent
                    result.statuses["unsent"] = result.statuses.get("unsent", 0) + 1
                continue
            except (requests.RequestException, OSError, http.client.HTTPException) as error:
                # The server may close a connection after an error answer; a request it drops
                # without any answer counts as a failure only if a fresh retry also gets none.
                session.close()
                session = new_session()
                try:
                    r = session.request("GET", d.api("/version"), headers={"Authorization": token_header}, timeout=30)
                    alive = r.status_code == 200
                except requests.RequestException:
                    alive = False
                with result.lock:
                    result.statuses["no-answer"] = result.statuses.get("no-answer", 0) + 1
                    if not alive or body is None or len(body) <= 512 * 1024:
                        result.failures.append(f"{desc}\n    -> no answer: {error!r} (server alive after: {alive})")
                        result.kinds.setdefault(f"no answer: {type(error).__name__}", []).append(desc)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(worker, range(THREADS)))
    elapsed = time.monotonic() - started
    print(f"fuzz: seed {SEED}, {result.sent} answered in {elapsed:.1f} s, statuses {result.statuses}; "
          f"501s: {sorted(result.not_implemented.items(), key=lambda i: -i[1])[:6]}")

    assert d.alive(), f"vireod died (exit {d.proc.poll()}) during the run (seed {SEED})"
    r = requests.get(d.api("/version"), headers={"Authorization": token_header}, verify=False, timeout=30)
    assert r.status_code == 200 and r.json()["data"]["version"], "vireod no longer serves /version"
    assert result.sent >= TOTAL * 0.9, f"only {result.sent} of {TOTAL} requests got an answer in {elapsed:.0f} s"
    failures = result.failures
    summary = "\n".join(
        f"  {len(descs)} x {kind}\n" + "\n".join(f"      e.g. {desc}" for desc in descs[:3])
        for kind, descs in sorted(result.kinds.items(), key=lambda item: -len(item[1])))
    assert not failures, (f"{len(failures)} requests got a server error (5xx other than 501) or no answer "
                          f"(seed {SEED}). By kind:\n{summary}\nFirst 10 in full:\n" + "\n".join(failures[:10]))


@pytest.fixture(scope="module")
def admin_fuzz_target():
    d = start_daemon()
    try:
        user = create_user(d.root, None, prefix="fuzzadmin")
        token_id, secret = make_token(d.root, user.userid, privsep=False)
        data = login(d, user.userid, user.password)
        yield d, f"PVEAPIToken={token_id}={secret}", data["ticket"], data["CSRFPreventionToken"]
    finally:
        stop_daemon(d)
