"""kill -9 of vireod in the middle of config writes: the store stays readable, no file is torn,
and every write the daemon acknowledged is still there after a restart."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import VIREOD, LocalRoot, free_port, prerequisite, requests, unique

USER_LINE_KINDS = ("user:", "token:", "group:", "pool:", "role:", "acl:")


def launch(data_dir: str, log_path: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [VIREOD, "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}", "--node", "crashtest",
         "--auth-failure-delay", "0"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    socket_path = os.path.join(data_dir, "run", "vireod.sock")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"vireod exited: {open(log_path, errors='replace').read()[-2000:]}"
        if os.path.exists(socket_path):
            try:
                if LocalRoot(socket_path).get("/version")[0] == 200:
                    return proc, port
            except OSError:
                pass
        time.sleep(0.1)
    pytest.fail("vireod did not come up")


def kill9(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def assert_store_sound(db_path: str) -> None:
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        row = db.execute("SELECT content FROM files WHERE path = 'user.cfg'").fetchone()
    assert row is not None, "user.cfg vanished"
    for line in row[0].splitlines():
        if line.strip():
            assert line.startswith(USER_LINE_KINDS) and line.endswith(":"), f"torn line in user.cfg: {line!r}"


def test_kill9_during_writes_loses_no_acknowledged_write():
    prerequisite(requests is not None, "python package 'requests'")
    prerequisite(os.access(VIREOD, os.X_OK), f"daemon binary {VIREOD}")
    base = tempfile.mkdtemp(prefix="vireo-crash-test-")
    data_dir = os.path.join(base, "data")
    log_path = os.path.join(base, "vireod.log")
    proc = None
    try:
        acknowledged: list[str] = []
        lock = threading.Lock()
        for round_ in range(3):
            proc, _port = launch(data_dir, log_path)
            root = LocalRoot(os.path.join(data_dir, "run", "vireod.sock"))
            # Everything acknowledged in earlier rounds survived the kill.
            status, _, body = root.get("/access/users")
            assert status == 200
            present = {u["userid"] for u in body["data"]}
            missing = [u for u in acknowledged if u not in present]
            assert not missing, f"round {round_}: acknowledged users lost after kill -9: {missing[:5]}"

            stop = threading.Event()

            def writer(n: int) -> None:
                while not stop.is_set():
                    userid = f"{unique(f'c{n}x')}@pve"
                    try:
                        status, _, _ = root.post("/access/users", {"userid": userid, "comment": "x" * 200})
                    except OSError:
                        return  # the daemon is gone
                    if status == 200:
                        with lock:
                            acknowledged.append(userid)

            threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            kill9(proc)
            stop.set()
            for t in threads:
                t.join(timeout=30)
            assert_store_sound(os.path.join(data_dir, "config.db"))
        assert len(acknowledged) > 10, "the writers did not get going"
        proc, _port = launch(data_dir, log_path)
        root = LocalRoot(os.path.join(data_dir, "run", "vireod.sock"))
        present = {u["userid"] for u in root.get("/access/users")[2]["data"]}
        assert not [u for u in acknowledged if u not in present]
    finally:
        if proc is not None and proc.poll() is None:
            kill9(proc)
        shutil.rmtree(base, ignore_errors=True)
