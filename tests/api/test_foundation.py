"""The API boundary and the daemon's lifecycle as a client sees them: parameters Vireo does not act
on are refused (never silently ignored), `{node}` and `{vmid}` are checked before anything is read,
a revoked permission is gone on the next request, and SIGTERM with a task running ends cleanly
while the guest keeps running."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse

import pytest

from conftest import NODE, VIREOD, LocalRoot, free_port, login, prerequisite, ticket_session, unique
from schema_values import openapi_document, wait_task


def create_diskless_vm(root: LocalRoot, node: str, vmid: int) -> None:
    """A VM with nothing to boot: QEMU runs the firmware, which ignores the ACPI power button."""
    upid = root.ok("POST", f"/nodes/{node}/qemu", {"vmid": vmid, "memory": 64, "kvm": 0, "vga": "none"})
    assert wait_task(root, node, upid)["exitstatus"] == "OK"


def test_a_parameter_vireo_does_not_act_on_is_refused_and_changes_nothing(daemon, cleanup):
    root = daemon.root
    vmid = 8101
    create_diskless_vm(root, NODE, vmid)
    cleanup.add(lambda: root.delete(f"/nodes/{NODE}/qemu/{vmid}"))
    # `machine` on start would pick another machine type for this boot: not implemented, so refused.
    status, reason, body = root.post(f"/nodes/{NODE}/qemu/{vmid}/status/start", {"machine": "q35"})
    assert status == 501, (status, reason, body)
    assert "machine" in (body.get("errors") or {}), body
    assert root.ok("GET", f"/nodes/{NODE}/qemu/{vmid}/status/current")["status"] == "stopped"
    # Reading a snapshot's config through `snapshot` is refused, not answered with the current config.
    status, _, body = root.get(f"/nodes/{NODE}/qemu/{vmid}/config", {"snapshot": "before"})
    assert status == 501 and "snapshot" in body["errors"], body
    # The OpenAPI document lists what is refused, so schema-driven tools do not send it.
    start = openapi_document(root)["paths"]["/api2/json/nodes/{node}/qemu/{vmid}/status/start"]["post"]
    assert "machine" in start["x-vireo-not-implemented"], start.get("x-vireo-not-implemented")
    assert "skiplock" not in start["x-vireo-not-implemented"]
    # A parameter Vireo acts on still works: `timeout` is the wait for the VM's lock.
    upid = root.ok("POST", f"/nodes/{NODE}/qemu/{vmid}/status/start", {"timeout": 5})
    assert wait_task(root, NODE, upid)["exitstatus"] == "OK"
    upid = root.ok("POST", f"/nodes/{NODE}/qemu/{vmid}/status/stop")
    assert wait_task(root, NODE, upid)["exitstatus"] == "OK"


def test_the_registry_checks_node_and_vmid_before_reading_anything(daemon):
    root = daemon.root
    status, reason, _ = root.get("/nodes/no-such-node/qemu/100/config")
    assert status == 404 and "no such node 'no-such-node'" in reason, (status, reason)
    status, reason, _ = root.post("/nodes/no-such-node/qemu/100/status/start")
    assert status == 404 and "no such node" in reason, (status, reason)
    # `localhost` is the node that answers, as on Proxmox.
    assert isinstance(root.ok("GET", "/nodes/localhost/qemu"), list)
    # A VMID out of Proxmox's range is a parameter error on the path as in the body.
    status, _, body = root.get(f"/nodes/{NODE}/qemu/99/config")
    assert status == 400 and "vmid" in body["errors"], body
    status, _, body = root.post(f"/nodes/{NODE}/startall", {"vms": "100,abc"})
    assert status == 400 and "vms" in body["errors"], body


def test_a_revoked_permission_is_gone_on_the_next_request(daemon, cleanup):
    root = daemon.root
    vmid = 8102
    create_diskless_vm(root, NODE, vmid)
    cleanup.add(lambda: root.delete(f"/nodes/{NODE}/qemu/{vmid}"))
    userid, password = f"{unique('revoke')}@pve", "Pw-" + unique("x")
    root.ok("POST", "/access/users", {"userid": userid, "password": password})
    cleanup.add(lambda: root.delete(f"/access/users/{userid}"))
    root.ok("PUT", "/access/acl", {"path": f"/vms/{vmid}", "users": userid, "roles": "PVEVMAdmin"})
    session = ticket_session(daemon, userid, password)
    config = daemon.api(f"/nodes/{NODE}/qemu/{vmid}/config")
    assert session.get(config).status_code == 200
    root.ok("PUT", "/access/acl", {"path": f"/vms/{vmid}", "users": userid, "roles": "PVEVMAdmin", "delete": 1})
    assert session.get(config).status_code == 403
    # And back: a grant is in force at once too.
    root.ok("PUT", "/access/acl", {"path": f"/vms/{vmid}", "users": userid, "roles": "PVEVMUser"})
    assert session.get(config).status_code == 200


def launch(data_dir: str, log_path: str, node: str) -> tuple[subprocess.Popen, LocalRoot]:
    port = free_port()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [VIREOD, "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}", "--node", node,
             "--auth-failure-delay", "0", "--task-grace", "2",
             "--interfaces-file", os.path.join(os.path.dirname(data_dir), "interfaces")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    root = LocalRoot(os.path.join(data_dir, "run", "vireod.sock"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"vireod exited: {open(log_path, errors='replace').read()[-2000:]}"
        try:
            if root.get("/version")[0] == 200:
                return proc, root
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail("vireod did not come up")


def qemu_pid(data_dir: str, vmid: int) -> int | None:
    try:
        pid = int(open(os.path.join(data_dir, "run", "qemu", f"{vmid}.pid")).read())
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        return pid if state not in ("Z", "X") else None
    except (OSError, ValueError):
        return None


def test_sigterm_with_a_running_task_ends_cleanly_and_the_guest_runs_on():
    prerequisite(os.path.exists("/usr/bin/qemu-system-x86_64"), "qemu-system-x86_64 (Debian qemu-system-x86)")
    base = tempfile.mkdtemp(prefix="vireo-term-test-")
    data_dir, log_path, node = os.path.join(base, "data"), os.path.join(base, "vireod.log"), "termnode"
    proc = None
    vmid = 8103
    try:
        proc, root = launch(data_dir, log_path, node)
        create_diskless_vm(root, node, vmid)
        assert wait_task(root, node, root.ok("POST", f"/nodes/{node}/qemu/{vmid}/status/start"))["exitstatus"] == "OK"
        # The firmware ignores the power button: this shutdown waits for its whole timeout.
        upid = root.ok("POST", f"/nodes/{node}/qemu/{vmid}/status/shutdown", {"timeout": 600})
        time.sleep(1)
        assert root.ok("GET", f"/nodes/{node}/tasks/{urllib.parse.quote(upid, safe='')}/status")["status"] == "running"

        started = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=30)
        took = time.monotonic() - started
        assert code == 0, f"vireod exited with {code} after SIGTERM:\n{open(log_path, errors='replace').read()[-3000:]}"
        assert took < 20, f"vireod took {took:.1f} s to stop"
        # The data plane does not depend on the daemon.
        assert qemu_pid(data_dir, vmid) is not None, "the guest died with the daemon"

        proc, root = launch(data_dir, log_path, node)
        status = root.ok("GET", f"/nodes/{node}/tasks/{urllib.parse.quote(upid, safe='')}/status")
        assert status["status"] == "stopped" and status["exitstatus"] == "interrupted by signal", status
        log = root.ok("GET", f"/nodes/{node}/tasks/{urllib.parse.quote(upid, safe='')}/log", {"limit": 1000})
        assert any("interrupted by signal" in line["t"] for line in log), log
        assert root.ok("GET", f"/nodes/{node}/qemu/{vmid}/status/current")["status"] == "running"
        assert wait_task(root, node, root.ok("POST", f"/nodes/{node}/qemu/{vmid}/status/stop"))["exitstatus"] == "OK"
    finally:
        pid = qemu_pid(data_dir, vmid)
        if pid:
            os.kill(pid, signal.SIGKILL)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)


def test_two_daemons_cannot_share_a_data_directory(daemon):
    proc = subprocess.run(
        [VIREOD, "--data-dir", daemon.data_dir, "--listen", f"127.0.0.1:{free_port()}", "--node", "second",
         "--interfaces-file", os.path.join(daemon.base_dir, "interfaces2")],
        capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "another vireod is using the data directory" in proc.stderr + proc.stdout, proc.stderr[-2000:]
    assert daemon.root.get("/version")[0] == 200
