"""The `vireo` CLI (and `pvesh` via a symlink) against the daemon's local socket."""

import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import VIREO, prerequisite, pve, unique


def run_cli(args, data_dir, argv0=None, timeout=60):
    prerequisite(os.access(VIREO, os.X_OK), f"CLI binary {VIREO} (build it, or set VIREO)")
    env = {k: v for k, v in os.environ.items() if k not in ("VIREO_RUN_DIR",)}
    env["VIREO_DATA_DIR"] = data_dir
    return subprocess.run([argv0 or VIREO, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def ok(result):
    assert result.returncode == 0, (
        f"{' '.join(result.args)} exited {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    )
    return result.stdout


def parse_json(text):
    try:
        return json.loads(text)
    except ValueError:
        raise AssertionError(f"not JSON: {text!r}")


@pytest.fixture
def cli_user(daemon, cleanup):
    userid = f"{unique('cliadmin')}@pve"
    cleanup.add(daemon.root.delete, f"/access/users/{userid}")
    return userid


def test_pveum_user_acl_and_password_login(daemon, cli_user):
    ok(run_cli(["pveum", "user", "add", cli_user, "--password", "Secret123"], daemon.data_dir))
    ok(run_cli(["pveum", "acl", "modify", "/", "--users", cli_user, "--roles", "Administrator"], daemon.data_dir))
    acl = daemon.root.ok("GET", "/access/acl")
    assert {"path": "/", "type": "user", "ugid": cli_user, "roleid": "Administrator", "propagate": 1} in acl

    api = pve(daemon, cli_user, "Secret123")
    assert api.version.get()["version"]
    assert api.nodes(daemon.node).status.get()["memory"]["total"] > 0


def test_pveum_token_add_json_and_token_login(daemon, cli_user):
    ok(run_cli(["pveum", "user", "add", cli_user, "--password", "Secret123"], daemon.data_dir))
    ok(run_cli(["pveum", "acl", "modify", "/", "--users", cli_user, "--roles", "Administrator"], daemon.data_dir))
    out = ok(run_cli(["pveum", "user", "token", "add", cli_user, "clitok", "--privsep", "0", "--output-format", "json"],
                     daemon.data_dir))
    data = parse_json(out)
    assert re.match(r"^[0-9a-f-]{36}$", data.get("value", "")), data
    assert data.get("full-tokenid") == f"{cli_user}!clitok", data
    token = daemon.root.ok("GET", f"/access/users/{cli_user}/token/clitok")
    assert int(token["privsep"]) == 0

    api = pve(daemon, cli_user, token_name="clitok", token_value=data["value"])
    assert [n["node"] for n in api.nodes.get()] == [daemon.node]


def test_pveum_token_add_prints_the_secret(daemon, cli_user):
    ok(run_cli(["pveum", "user", "add", cli_user], daemon.data_dir))
    out = ok(run_cli(["pveum", "user", "token", "add", cli_user, "plain"], daemon.data_dir))
    assert re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", out), out


def test_api_get_version_json(daemon):
    data = parse_json(ok(run_cli(["api", "get", "/version", "--output-format", "json"], daemon.data_dir)))
    assert isinstance(data.get("version"), str) and data["version"], data
    assert data.get("release")


def test_api_create_user(daemon, cli_user):
    ok(run_cli(["api", "create", "/access/users", "--userid", cli_user, "--comment", "made by cli"], daemon.data_dir))
    assert daemon.root.ok("GET", f"/access/users/{cli_user}")["comment"] == "made by cli"


def test_api_error_exit_code(daemon):
    result = run_cli(["api", "get", "/access/users/nosuchuser@pve"], daemon.data_dir)
    assert result.returncode != 0
    assert "nosuchuser@pve" in result.stderr + result.stdout
    result = run_cli(["api", "create", "/access/users", "--userid", "bad"], daemon.data_dir)
    assert result.returncode != 0
    assert "userid" in result.stderr + result.stdout


def test_pvesh_symlink(daemon):
    prerequisite(os.access(VIREO, os.X_OK), f"CLI binary {VIREO} (build it, or set VIREO)")
    tmp = tempfile.mkdtemp(prefix="vireo-pvesh-")
    try:
        link = os.path.join(tmp, "pvesh")
        os.symlink(VIREO, link)
        data = parse_json(ok(run_cli(["get", "/version", "--output-format", "json"], daemon.data_dir, argv0=link)))
        assert isinstance(data.get("version"), str) and data["version"], data
        direct = parse_json(ok(run_cli(["api", "get", "/version", "--output-format", "json"], daemon.data_dir)))
        assert data == direct
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_no_daemon_running():
    prerequisite(os.access(VIREO, os.X_OK), f"CLI binary {VIREO} (build it, or set VIREO)")
    empty = tempfile.mkdtemp(prefix="vireo-nodaemon-")
    try:
        result = run_cli(["api", "get", "/version"], empty, timeout=30)
        assert result.returncode != 0
        output = result.stderr + result.stdout
        assert re.search(r"\brunning\b", output, re.I) and re.search(r"vireod|daemon", output, re.I), output
    finally:
        shutil.rmtree(empty, ignore_errors=True)
