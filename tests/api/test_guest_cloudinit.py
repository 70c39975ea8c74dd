"""Cloud-init and the guest agent on a real Debian guest (scripts/build-debian-guest.sh, built from
Debian packages and cached), the way Terraform and Ansible users work: a template with cloud-init
keys, a clone with its own name and address, booted under TCG; reached over SSH from the LAN
namespace with the key given, and asked through the QEMU guest agent.

The guest boots once for the whole module (slow under TCG); the checks then run against it.
Namespaces `LAN` (client, 10.66.0.1/24) and `NODE` (vireod --netns, vmbr0) as in the network
tests; nothing is created in the root namespace.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse

import pytest

from conftest import REPO, VIREOD, prerequisite
from test_network_e2e import Namespaces, sh
from test_vm import NODE, Node, wait_task

TEMPLATE_IP, CLONE_IP = "10.66.0.30", "10.66.0.31"
BOOT_TIMEOUT = 300  # a Debian boot with cloud-init under TCG on two shared cores


@pytest.fixture(scope="module")
def debian_image() -> str:
    prerequisite(os.geteuid() == 0, "root (mmdebstrap, loop devices)")
    script = REPO / "scripts" / "build-debian-guest.sh"
    env = dict(os.environ, VIREO_INSTALL_MISSING="1")
    result = subprocess.run([str(script)], capture_output=True, text=True, env=env, timeout=1800)
    prerequisite(result.returncode == 0, f"the Debian test guest ({script}): {result.stderr[-2000:]}")
    image = result.stdout.strip().splitlines()[-1]
    prerequisite(os.path.exists(image), f"the Debian test guest image {image}")
    return image


@pytest.fixture(scope="module")
def ssh_key():
    prerequisite(shutil.which("ssh") is not None and shutil.which("ssh-keygen") is not None, "openssh-client")
    directory = tempfile.mkdtemp(prefix="vireo-ssh-")
    key = os.path.join(directory, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vireo-test", "-f", key], check=True)
    try:
        yield key, open(key + ".pub").read().strip()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def agent(root, vmid, command, method="GET", params=None):
    return root.request(method, f"/nodes/{NODE}/qemu/{vmid}/agent/{command}", params)


@pytest.fixture(scope="module")
def booted_clone(debian_image, ssh_key):
    prerequisite(os.access(VIREOD, os.X_OK), f"daemon binary {VIREOD}")
    prerequisite(shutil.which("xorriso") is not None, "xorriso (cloud-init ISOs)")
    namespaces = Namespaces()
    node = None
    try:
        namespaces.create()
        node = Node(extra_args=["--netns", namespaces.node])
        node.start()
        root = node.root
        _key, public = ssh_key
        template, clone = 9100, 9101
        upid = root.ok("POST", f"/nodes/{NODE}/qemu", {
            "vmid": template, "name": "debian-template", "memory": 768, "kvm": 0, "cores": 1,
            "scsihw": "virtio-scsi-pci", "scsi0": f"local:0,import-from={debian_image},format=qcow2",
            "ide2": "local:cloudinit", "net0": "virtio,bridge=vmbr0", "boot": "order=scsi0", "agent": 1,
            "serial0": "socket", "ciuser": "tester", "cipassword": "not-used-Pw1",
            "sshkeys": urllib.parse.quote(public + "\n", safe=""), "ipconfig0": f"ip={TEMPLATE_IP}/24",
            "nameserver": "10.66.0.1", "searchdomain": "lan.test", "ciupgrade": 0,
        })
        assert wait_task(root, upid, timeout=600)["exitstatus"] == "OK"
        upid = root.ok("POST", f"/nodes/{NODE}/qemu/{template}/template")
        assert wait_task(root, upid)["exitstatus"] == "OK"
        upid = root.ok("POST", f"/nodes/{NODE}/qemu/{template}/clone", {"newid": clone, "name": "web01"})
        assert wait_task(root, upid, timeout=600)["exitstatus"] == "OK"
        root.ok("PUT", f"/nodes/{NODE}/qemu/{clone}/config", {"ipconfig0": f"ip={CLONE_IP}/24"})
        start = root.ok("POST", f"/nodes/{NODE}/qemu/{clone}/status/start")
        assert wait_task(root, start)["exitstatus"] == "OK"
        deadline = time.monotonic() + BOOT_TIMEOUT
        answer = None
        while time.monotonic() < deadline:
            answer = agent(root, clone, "ping", "POST")
            if answer[0] == 200:
                break
            time.sleep(3)
        assert answer and answer[0] == 200, f"the guest agent did not answer within {BOOT_TIMEOUT} s: {answer}"
        yield node, namespaces, template, clone
    finally:
        if node:
            node.cleanup()
        namespaces.delete()


def ssh(namespaces, key, command, ip=CLONE_IP, attempts=40):
    result = None
    for _ in range(attempts):
        result = sh("ip", "netns", "exec", namespaces.lan, "ssh", "-i", key, "-o", "StrictHostKeyChecking=no",
                    "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", "-o", "BatchMode=yes",
                    f"tester@{ip}", command, check=False)
        if result.returncode == 0:
            return result.stdout.strip()
        time.sleep(3)
    raise AssertionError(f"ssh tester@{ip} {command!r} failed: {result.stderr if result else ''}")


def test_clone_boots_with_its_user_key_and_address(booted_clone, ssh_key):
    node, namespaces, _template, clone = booted_clone
    key, _public = ssh_key
    assert ssh(namespaces, key, "hostname") == "web01"
    assert ssh(namespaces, key, "hostname --fqdn") == "web01.lan.test"
    addresses = ssh(namespaces, key, "ip -4 -o addr show dev eth0")
    assert f"{CLONE_IP}/24" in addresses
    assert "tester" in ssh(namespaces, key, "id -un")
    # The clone has a cloud-init drive of its own, and nothing is pending for it.
    config = node.root.ok("GET", f"/nodes/{NODE}/qemu/{clone}/config")
    assert f"vm-{clone}-cloudinit" in config["ide2"] and config["cipassword"] == "**********"
    pending = node.root.ok("GET", f"/nodes/{NODE}/qemu/{clone}/cloudinit")
    assert not [item for item in pending if "pending" in item or "delete" in item], pending


def test_the_agent_reports_and_acts_in_the_guest(booted_clone):
    node, _namespaces, _template, clone = booted_clone
    root = node.root
    status, _, body = agent(root, clone, "network-get-interfaces")
    assert status == 200, body
    addresses = [a["ip-address"] for i in body["data"]["result"] for a in i.get("ip-addresses", [])]
    assert CLONE_IP in addresses
    status, _, body = agent(root, clone, "get-osinfo")
    assert status == 200 and body["data"]["result"]["id"] == "debian"
    status, _, body = agent(root, clone, "get-host-name")
    assert body["data"]["result"]["host-name"] == "web01"

    status, _, body = agent(root, clone, "exec", "POST", {"command": ["cat", "/etc/hostname"]})
    assert status == 200, body
    pid = body["data"]["pid"]
    for _ in range(50):
        result = root.ok("GET", f"/nodes/{NODE}/qemu/{clone}/agent/exec-status", {"pid": pid})
        if result["exited"]:
            break
        time.sleep(0.2)
    assert result["exited"] == 1 and result["exitcode"] == 0 and result["out-data"].strip() == "web01"

    root.ok("POST", f"/nodes/{NODE}/qemu/{clone}/agent/file-write",
            {"file": "/tmp/vireo-test.txt", "content": "line one\nline two\n"})
    read = root.ok("GET", f"/nodes/{NODE}/qemu/{clone}/agent/file-read", {"file": "/tmp/vireo-test.txt"})
    assert read["content"] == "line one\nline two\n" and read["bytes-read"] == 18
    status, _, body = agent(root, clone, "file-read", "GET", {"file": "/no/such/file"})
    assert status == 400 and "Agent error" in body["message"]


def test_dump_and_pending_cloudinit_changes(booted_clone):
    node, _namespaces, _template, clone = booted_clone
    root = node.root
    user = root.ok("GET", f"/nodes/{NODE}/qemu/{clone}/cloudinit/dump", {"type": "user"})
    assert user.startswith("#cloud-config\n") and "hostname: web01\n" in user and "user: tester\n" in user
    assert "password: $5$" in user, "the password is stored hashed"
    network = root.ok("GET", f"/nodes/{NODE}/qemu/{clone}/cloudinit/dump", {"type": "network"})
    assert f"address: '{CLONE_IP}'" in network and "netmask: '255.255.255.0'" in network
    root.ok("PUT", f"/nodes/{NODE}/qemu/{clone}/config", {"ipconfig0": "ip=10.66.0.32/24"})
    pending = {item["key"]: item for item in root.ok("GET", f"/nodes/{NODE}/qemu/{clone}/cloudinit")}
    assert pending["ipconfig0"] == {"key": "ipconfig0", "value": f"ip={CLONE_IP}/24", "pending": "ip=10.66.0.32/24"}
    root.ok("PUT", f"/nodes/{NODE}/qemu/{clone}/cloudinit")
    pending = {item["key"]: item for item in root.ok("GET", f"/nodes/{NODE}/qemu/{clone}/cloudinit")}
    assert "pending" not in pending["ipconfig0"]
    root.ok("PUT", f"/nodes/{NODE}/qemu/{clone}/config", {"ipconfig0": f"ip={CLONE_IP}/24"})
    root.ok("PUT", f"/nodes/{NODE}/qemu/{clone}/cloudinit")


def test_shutdown_goes_through_the_agent(booted_clone):
    node, _namespaces, _template, clone = booted_clone
    root = node.root
    upid = root.ok("POST", f"/nodes/{NODE}/qemu/{clone}/status/shutdown", {"timeout": 240})
    status = wait_task(root, upid, timeout=300)
    assert status["exitstatus"] == "OK", status
    log = root.ok("GET", f"/nodes/{NODE}/tasks/{upid}/log", {"limit": 100})
    assert any("guest agent" in line["t"] for line in log), log
    assert root.ok("GET", f"/nodes/{NODE}/qemu/{clone}/status/current")["status"] == "stopped"
    status, _, body = agent(root, clone, "ping", "POST")
    assert status == 409 and "not running" in body["message"]
