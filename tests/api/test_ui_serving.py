"""The web UI as the daemon serves it (the page, its hashed assets, the vendored consoles) and the
`/cluster/events` Server-Sent Events stream the UI lives on."""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser

import pytest
import requests

from conftest import REPO, Cleanup, anon_session, prerequisite, ticket_session, unique

HASHED = re.compile(r"^/ui/([0-9a-f]{16})/(.+)$")
CONTENT_TYPES = {"js": "text/javascript", "mjs": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}


class _References(HTMLParser):
    """The URLs a page loads: stylesheets, icons, scripts."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.found.append(("script", attrs["src"]))
        if tag == "link" and attrs.get("href"):
            self.found.append((attrs.get("rel") or "link", attrs["href"]))


def media_type(response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip()


@pytest.fixture(scope="module")
def page(daemon):
    response = anon_session().get(daemon.url + "/", timeout=30)
    parser = _References()
    parser.feed(response.text)
    return response, parser.found


def page_hash(found) -> str:
    hashes = {m.group(1) for _, url in found if (m := HASHED.match(url))}
    assert len(hashes) == 1, found
    return hashes.pop()


# ---------------------------------------------------------------------------------------------
# The page and its assets


def test_page_is_served_uncached_with_a_strict_policy(page):
    response, found = page
    assert response.status_code == 200, response.text
    assert media_type(response) == "text/html"
    assert response.headers.get("Cache-Control") == "no-cache"
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {d.strip().split()[0]: d.strip().split()[1:] for d in policy.split(";") if d.strip()}
    assert directives.get("default-src") == ["'self'"], policy
    assert directives.get("script-src") == ["'self'"], policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, policy
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert "%BASE%" not in response.text
    kinds = {kind for kind, _ in found}
    assert {"script", "stylesheet"} <= kinds, found
    assert all(HASHED.match(url) for _, url in found), found
    page_hash(found)


def test_every_referenced_asset_is_cached_for_a_year(daemon, page):
    _, found = page
    session = anon_session()
    for _, url in found:
        response = session.get(daemon.url + url, timeout=30)
        assert response.status_code == 200, (url, response.status_code, response.text[:200])
        cache = response.headers.get("Cache-Control", "")
        assert "max-age=31536000" in cache and "immutable" in cache, (url, cache)
        extension = url.rsplit(".", 1)[-1]
        assert media_type(response) == CONTENT_TYPES[extension], (url, response.headers.get("Content-Type"))
        assert response.content, url
        assert response.headers.get("X-Content-Type-Options") == "nosniff", url


def test_an_asset_under_another_hash_is_served_uncached(daemon, page):
    _, found = page
    current = page_hash(found)
    session = anon_session()
    fresh = session.get(f"{daemon.url}/ui/{current}/app/main.js", timeout=30)
    assert fresh.status_code == 200
    stale = session.get(f"{daemon.url}/ui/0000000000000000/app/main.js", timeout=30)
    assert stale.status_code == 200, stale.text[:200]
    assert stale.headers.get("Cache-Control") == "no-cache"
    assert media_type(stale) == "text/javascript"
    assert stale.content == fresh.content


def test_a_missing_asset_is_404(daemon, page):
    current = page_hash(page[1])
    session = anon_session()
    for path in (f"/ui/{current}/app/no-such-module.js", f"/ui/{current}/", f"/ui/{current}"):
        response = session.get(daemon.url + path, timeout=30)
        assert response.status_code == 404, (path, response.status_code)


def test_favicon(daemon):
    shipped = [name for name in ("favicon.ico", "favicon.svg") if (REPO / "ui" / "img" / name).exists()]
    if not shipped:
        pytest.skip("the UI ships no favicon yet (ui/img/favicon.ico or .svg)")
    response = anon_session().get(daemon.url + "/favicon.ico", timeout=30)
    assert response.status_code == 200 and response.content
    assert media_type(response) in ("image/x-icon", "image/svg+xml")


def test_only_get_and_head_are_served(daemon):
    session = anon_session()
    assert session.post(daemon.url + "/", timeout=30).status_code == 405
    head = session.head(daemon.url + "/", timeout=30)
    assert head.status_code == 200 and media_type(head) == "text/html"


def test_vendored_consoles_are_served(daemon, page):
    prerequisite((REPO / "ui" / "vendor").is_dir(), "ui/vendor (scripts/ui-vendor.sh)")
    current = page_hash(page[1])
    session = anon_session()
    for path, needle in (("vendor/novnc/core/rfb.js", b"class RFB"), ("vendor/xterm/xterm.mjs", b"export")):
        response = session.get(f"{daemon.url}/ui/{current}/{path}", timeout=30)
        assert response.status_code == 200, (path, response.status_code)
        assert media_type(response) == "text/javascript", (path, response.headers.get("Content-Type"))
        assert "immutable" in response.headers.get("Cache-Control", "")
        assert needle in response.content, path


# ---------------------------------------------------------------------------------------------
# /cluster/events


class EventStream:
    """A `GET /cluster/events` response read event by event, every wait bounded."""

    def __init__(self, session: requests.Session, url: str):
        # The read timeout outlasts the stream's 15 s keep-alive: a live stream never trips it.
        self.response = session.get(url, stream=True, timeout=(10, 25))
        self._chunks = self.response.iter_content(chunk_size=None)
        self._buffer = b""
        self.seen: list[tuple[str, object]] = []
        self.raw = ""

    def next(self, deadline: float) -> tuple[str, object]:
        while True:
            while b"\n\n" not in self._buffer:
                assert time.monotonic() < deadline, f"no event in time; seen: {[e for e, _ in self.seen]}"
                try:
                    self._buffer += next(self._chunks)
                except StopIteration:
                    raise AssertionError("the event stream ended") from None
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            text = block.decode()
            self.raw += text + "\n\n"
            event, data = None, []
            for line in text.split("\n"):
                if line.startswith("event:"):
                    event = line[len("event:"):].strip()
                elif line.startswith("data:"):
                    data.append(line[len("data:"):].lstrip())
            if event:  # not a comment (keep-alive) nor `retry:`
                parsed = json.loads("\n".join(data))
                self.seen.append((event, parsed))
                return event, parsed

    def wait_for(self, what: str, predicate, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                event, data = self.next(deadline)
            except AssertionError as error:
                raise AssertionError(f"waiting for {what}: {error}") from None
            if predicate(event, data):
                return data

    def close(self):
        self.response.close()


def wait_task(root, node: str, upid: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = root.ok("GET", f"/nodes/{node}/tasks/{upid}/status")
        if status["status"] == "stopped":
            return status
        assert time.monotonic() < deadline, f"task {upid} did not end"
        time.sleep(0.1)


def destroy_vm(root, node: str, vmid: int):
    status, _, body = root.get(f"/nodes/{node}/qemu/{vmid}/status/current")
    if status == 200 and body["data"]["status"] == "running":
        wait_task(root, node, root.ok("POST", f"/nodes/{node}/qemu/{vmid}/status/stop"))
    status, _, body = root.delete(f"/nodes/{node}/qemu/{vmid}")
    if status == 200:
        wait_task(root, node, body["data"])


@pytest.fixture
def vms(daemon):
    """Factory: a small VM without disks (kvm 0), destroyed at teardown."""
    cleanup = Cleanup()

    def make(**params) -> int:
        vmid = int(daemon.root.ok("GET", "/cluster/nextid"))
        cleanup.add(destroy_vm, daemon.root, daemon.node, vmid)
        upid = daemon.root.ok("POST", f"/nodes/{daemon.node}/qemu",
                              {"vmid": vmid, "memory": 64, "kvm": 0, "name": unique("ev"), **params})
        assert wait_task(daemon.root, daemon.node, upid)["exitstatus"] == "OK"
        return vmid

    yield make
    errors = cleanup.run()
    assert not errors, errors


def entries_for(data, resource_id: str) -> list[dict]:
    return [entry for entry in data.get("data", []) if entry.get("id") == resource_id]


def test_events_follow_resources_and_tasks(daemon, admin, make_user, vms):
    node = daemon.node
    x, y = vms(), vms()
    session = ticket_session(daemon, admin.userid, admin.password)
    watcher = make_user(role="PVEAuditor", path=f"/vms/{y}")  # sees Y only
    watcher_session = ticket_session(daemon, watcher.userid, watcher.password)

    stream = EventStream(session, daemon.api("/cluster/events"))
    restricted = EventStream(watcher_session, daemon.api("/cluster/events"))
    try:
        assert stream.response.status_code == 200, stream.response.text
        assert media_type(stream.response) == "text/event-stream"
        event, first = stream.next(time.monotonic() + 20)
        assert event == "resources" and first["full"] is True, (event, first)
        expected = {r["id"] for r in session.get(daemon.api("/cluster/resources"), timeout=30).json()["data"]}
        assert {r["id"] for r in first["data"]} == expected
        assert {f"qemu/{x}", f"qemu/{y}", f"node/{node}"} <= expected

        # The watcher's first view: Y, never X.
        assert restricted.response.status_code == 200
        event, view = restricted.next(time.monotonic() + 20)
        assert event == "resources" and view["full"] is True
        ids = {r["id"] for r in view["data"]}
        assert f"qemu/{y}" in ids and f"qemu/{x}" not in ids, ids
        visible = watcher_session.get(daemon.api("/cluster/resources"), timeout=30).json()["data"]
        assert ids == {r["id"] for r in visible}

        started = session.post(daemon.api(f"/nodes/{node}/qemu/{x}/status/start"), timeout=60)
        assert started.status_code == 200, started.text
        upid = started.json()["data"]
        stream.wait_for("the qmstart task", lambda e, d: e == "tasks" and any(
            t.get("upid") == upid and t.get("type") == "qmstart" for t in d["data"]))
        running = stream.wait_for(f"qemu/{x} running", lambda e, d: e == "resources" and not d["full"] and any(
            r.get("status") == "running" for r in entries_for(d, f"qemu/{x}")))
        assert entries_for(running, f"qemu/{x}")[0]["vmid"] == x
        assert wait_task(daemon.root, node, upid)["exitstatus"] == "OK"

        stopped = session.post(daemon.api(f"/nodes/{node}/qemu/{x}/status/stop"), timeout=60)
        assert stopped.status_code == 200, stopped.text
        stream.wait_for(f"qemu/{x} stopped", lambda e, d: e == "resources" and not d["full"] and any(
            r.get("status") == "stopped" for r in entries_for(d, f"qemu/{x}")))
        wait_task(daemon.root, node, stopped.json()["data"])

        # Then Y changes: once the watcher sees that, it has been sent everything that came before.
        name = unique("renamed")
        daemon.root.ok("PUT", f"/nodes/{node}/qemu/{y}/config", {"name": name})
        restricted.wait_for(f"qemu/{y} renamed", lambda e, d: e == "resources" and any(
            r.get("name") == name for r in entries_for(d, f"qemu/{y}")))
        assert f"qemu/{x}" not in restricted.raw, restricted.raw[-3000:]
        for event, data in restricted.seen:
            if event == "tasks":
                assert all(t.get("id") != str(x) for t in data["data"]), data
            else:
                assert all(r.get("vmid") != x for r in data["data"]), data
    finally:
        stream.close()
        restricted.close()


def test_events_need_credentials(daemon):
    response = anon_session().get(daemon.api("/cluster/events"), stream=True, timeout=(10, 10))
    try:
        assert response.status_code == 401
    finally:
        response.close()
