"""Concurrent read-modify-write with `digest`: no lost updates."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import make_token, token_session

WRITERS = 20


@pytest.fixture
def realm_comment(daemon):
    """Restores the pve realm's comment afterwards."""
    original = daemon.root.ok("GET", "/access/domains/pve").get("comment")
    yield original
    if original is None:
        daemon.root.put("/access/domains/pve", {"delete": "comment"})
    else:
        daemon.root.put("/access/domains/pve", {"comment": original})


@pytest.fixture
def admin_token(daemon, admin, cleanup):
    return make_token(daemon.root, admin.userid, privsep=False, cleanup=cleanup)


def is_digest_conflict(r) -> bool:
    try:
        message = r.json().get("message") or ""
    except ValueError:
        message = ""
    return r.status_code == 409 and "detected modified configuration" in (message + r.reason)


def test_concurrent_digest_writers_lose_no_update(daemon, admin_token, realm_comment):
    url = daemon.api("/access/domains/pve")
    run = uuid.uuid4().hex[:6]
    markers = [f"w{i}-{run}" for i in range(WRITERS)]
    start = threading.Barrier(WRITERS)
    conflicts = [0] * WRITERS

    def writer(i: int):
        s = token_session(*admin_token)
        start.wait(timeout=60)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            r = s.get(url, timeout=30)
            assert r.status_code == 200, (r.status_code, r.text)
            config = r.json()["data"]
            digest = config.get("digest")
            assert digest, f"GET /access/domains/pve has no digest: {config}"
            comment = (config.get("comment") or "") + f" {markers[i]}"
            r = s.put(url, data={"comment": comment, "digest": digest}, timeout=30)
            if r.status_code == 200:
                return
            if is_digest_conflict(r):
                conflicts[i] += 1
                continue
            raise AssertionError(f"writer {i}: unexpected {r.status_code} {r.reason} {r.text}")
        raise AssertionError(f"writer {i} did not get its update in within 120 s")

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for future in [pool.submit(writer, i) for i in range(WRITERS)]:
            future.result()

    final = daemon.root.ok("GET", "/access/domains/pve").get("comment") or ""
    words = final.split()
    missing = [m for m in markers if words.count(m) == 0]
    doubled = [m for m in markers if words.count(m) > 1]
    assert not missing, f"lost updates: {missing} (final comment {final!r})"
    assert not doubled, f"applied twice: {doubled}"
    assert final.startswith(realm_comment or ""), "the original comment was lost"
    assert sum(conflicts) > 0, "20 concurrent writers never conflicted: digest check not exercised"


def test_stale_digest_is_refused(daemon, admin_token, realm_comment):
    url = daemon.api("/access/domains/pve")
    s = token_session(*admin_token)
    stale = s.get(url, timeout=30).json()["data"]["digest"]
    first = f"first {uuid.uuid4().hex[:6]}"
    r = s.put(url, data={"comment": first, "digest": stale}, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text)
    fresh = s.get(url, timeout=30).json()["data"]
    assert fresh["digest"] != stale, "the digest did not change with the content"

    r = s.put(url, data={"comment": "second", "digest": stale}, timeout=30)
    assert r.status_code == 409, (r.status_code, r.reason, r.text)
    assert "detected modified configuration" in r.json().get("message", ""), r.text
    assert s.get(url, timeout=30).json()["data"].get("comment") == first, "a stale write changed the comment"
    # A well-formed digest of no version is refused as well.
    r = s.put(url, data={"comment": "third", "digest": "0" * 40}, timeout=30)
    assert r.status_code == 409
    assert s.get(url, timeout=30).json()["data"].get("comment") == first


def test_many_concurrent_listings_all_answer(daemon, admin_token):
    """More concurrent readers than the store has connections: every listing still answers (a
    blocking store read on the cooperative pool once deadlocked the daemon here)."""
    paths = ["/cluster/resources", f"/nodes/{daemon.node}/qemu", f"/nodes/{daemon.node}/storage"]

    def client(worker: int):
        session = token_session(*admin_token)
        return [session.get(daemon.api(paths[(worker + i) % 3]), timeout=20).status_code for i in range(30)]

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = [status for batch in pool.map(client, range(32)) for status in batch]
    assert statuses == [200] * len(statuses), sorted(set(statuses))
