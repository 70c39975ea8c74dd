"""Proxmox's everyday client tools against a Vireo node, unchanged: the Prometheus exporter
(prometheus-pve-exporter from PyPI, every collector on) and proxmoxer calls that Terraform- and
Ansible-style tools make first. A missing endpoint would stop them at their first call.
"""

from __future__ import annotations

import os

import pytest

from conftest import create_user, prerequisite, unique
from schema_values import create_vm, free_vmid

try:
    from pve_exporter.collector import CollectorsOptions, collect_pve
except ImportError:  # pragma: no cover - reported by the test
    collect_pve = None


def test_prometheus_exporter_scrapes_every_collector(daemon, admin, cleanup):
    prerequisite(collect_pve is not None, "python package 'prometheus-pve-exporter' (tests/api/requirements.txt)")
    root, node = daemon.root, daemon.node
    vmid = free_vmid(root)
    create_vm(root, node, vmid, cleanup, name=unique("exported"), tags="web", onboot=1)
    # The exporter's requests must trust the self-signed daemon, whatever the environment says.
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if variable in os.environ:
            cleanup.add(os.environ.__setitem__, variable, os.environ[variable])
            del os.environ[variable]
    options = CollectorsOptions(status=True, version=True, subscription=True, node=True, cluster=True,
                                resources=True, backup_info=True, config=True, replication=True, qdevice=True)
    config = {"user": admin.userid, "password": admin.password, "verify_ssl": False, "port": daemon.port}
    text = collect_pve(config, "127.0.0.1", True, True, options).decode()
    for metric in ("pve_up{", "pve_version_info{", "pve_node_info{", "pve_subscription_status{",
                   "pve_not_backed_up_total{", "pve_onboot_status{", "pve_guest_info{", "pve_storage_info{"):
        assert metric in text, f"{metric} missing from the exporter's output:\n{text[:3000]}"
    assert f'id="qemu/{vmid}"' in text
    assert f'pve_not_backed_up_info{{id="qemu/{vmid}"}} 1.0' in text


def test_first_calls_of_provisioning_tools(daemon, cleanup):
    """What Terraform's and Ansible's Proxmox modules ask before they change anything."""
    from conftest import pve

    user = create_user(daemon.root, cleanup, role="PVEAuditor", path="/")
    api = pve(daemon, user.userid, user.password)
    node = daemon.node
    assert api.version.get()["version"]
    assert api.nodes(node).version.get()["release"]
    assert api.cluster.nextid.get()
    assert isinstance(api.cluster.options.get().get("allowed-tags"), list)
    assert api.nodes(node).lxc.get() == []
    assert api.nodes(node).subscription.get()["status"] == "notfound"
    assert api.nodes(node).capabilities.qemu.cpu.get()
    assert any(m["type"] == "q35" for m in api.nodes(node).capabilities.qemu.machines.get())
    assert api.nodes(node).dns.get() is not None
    assert api.nodes(node).time.get()["timezone"]
    assert api.nodes(node).replication.get() == []
    assert isinstance(api.cluster("backup-info/not-backed-up").get(), list)
    # An auditor may read the node's services but not change them.
    assert api.nodes(node).services.get()
    with pytest.raises(Exception) as refused:
        api.nodes(node).services("cron").restart.post()
    assert "403" in str(refused.value)
