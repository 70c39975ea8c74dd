"""Every registered endpoint against three callers, with the expected answer computed from the
endpoint's declared permission (`x-pve-permissions` in the OpenAPI document):

  (a) no credentials                    -> 401 (except GET/POST /access/ticket, GET /access/domains, POST /access/vncticket)
  (b) a privsep API token without ACL   -> 403 for checks and root-only endpoints; `user: all`/world
                                           allowed, and lists hold nothing the token may not see
  (c) a user with PVEAuditor on /vms/A  -> the declared permission evaluated in Python for that ACL;
                                           lists hold only what the auditor may audit (VM A, not B)

Parameters are valid (generated from the schema), so each request reaches the permission check.
Allowed callers do not call endpoints that change state (see ALLOWED_WRITES / the skip list).
"""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest

from conftest import (Cleanup, anon_session, create_user, make_token, ticket_session, token_session, unique)
from schema_values import (Operation, call, create_group, create_pool, create_vm, destroy_vm, free_vmid, operations,
                           required_values)

VERBOSE = bool(os.environ.get("VIREO_MATRIX_VERBOSE"))  # print every call and its answer

# The login calls, and the VNC ticket check (the signed ticket is its credential).
NO_AUTH = {("GET", "/access/ticket"), ("POST", "/access/ticket"), ("GET", "/access/domains"),
           ("POST", "/access/vncticket")}

# What the brief says PVEAuditor holds; the daemon's role is read and must contain these and only
# `*.Audit` privileges.
AUDITOR_PRIVILEGES = {"Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit", "VM.Audit"}

# Writes an allowed caller may make in this test, and why they are harmless.
ALLOWED_WRITES = {
    ("POST", "/access/ticket"): "logs in with the caller's own password; changes nothing",
    ("POST", "/nodes/{node}/qemu/{vmid}/monitor"): "command 'info version' (read-only tier)",
    ("POST", "/access/users/{userid}/token/{tokenid}"): "a token of the caller itself with a unique name, "
                                                       "removed at teardown",
    ("PUT", "/access/users/{userid}/token/{tokenid}"): "no field changed (only the IDs are sent)",
    ("DELETE", "/access/users/{userid}/token/{tokenid}"): "the caller's own test token (or none)",
}

# Writes that are not called when the caller is allowed, with the reason. Any other allowed write
# is skipped too (reason: "state-changing call"), and listed in the summary.
HARMFUL_WHEN_ALLOWED = {
    ("PUT", "/access/password"): "would change the caller's own password",
    ("DELETE", "/nodes/{node}/qemu/{vmid}"): "destroys the VM",
    ("POST", "/nodes/{node}/startall"): "starts VMs",
    ("POST", "/nodes/{node}/stopall"): "stops VMs",
    ("POST", "/nodes/{node}/status"): "reboots or shuts down the node",
    ("PUT", "/nodes/{node}/network"): "applies the host's network configuration",
    ("DELETE", "/nodes/{node}/network"): "reverts staged host network changes",
    ("DELETE", "/access/users/{userid}"): "deletes the caller",
    ("PUT", "/access/acl"): "changes ACLs",
}


def _task_readable(caller, p, ctx):
    return caller.authid == ctx["upid_owner"] or caller.holds(f"/nodes/{p['node']}", ["Sys.Audit"])


# Endpoints whose declared permission is `user: all` (or world) but whose handler checks privileges
# (as Proxmox's code does): (predicate(caller, params, ctx) -> allowed, explanation).
HANDLER_CHECKS = {
    ("POST", "/nodes/{node}/qemu"): (
        lambda c, p, ctx: c.holds(f"/vms/{p['vmid']}", ["VM.Allocate"])
        or ("pool" in p and c.holds(f"/pool/{p['pool']}", ["VM.Allocate"])),
        "VM.Allocate on /vms/{vmid} or on /pool/{pool}",
    ),
    ("GET", "/nodes/{node}/tasks/{upid}"): (_task_readable, "task owner or Sys.Audit on /nodes/{node}"),
    ("GET", "/nodes/{node}/tasks/{upid}/log"): (_task_readable, "task owner or Sys.Audit on /nodes/{node}"),
    ("GET", "/nodes/{node}/tasks/{upid}/status"): (_task_readable, "task owner or Sys.Audit on /nodes/{node}"),
    ("DELETE", "/nodes/{node}/tasks/{upid}"): (
        lambda c, p, ctx: _task_readable(c, p, ctx)
        and (c.authid == ctx["upid_owner"] or c.holds(f"/nodes/{p['node']}", ["Sys.Modify"])),
        "task readable, and owner or Sys.Modify on /nodes/{node}",
    ),
    ("GET", "/nodes/{node}/storage/{storage}/content/{volume}"): (
        lambda c, p, ctx: c.holds(f"/storage/{p['storage']}",
                                  ["Datastore.Audit", "Datastore.AllocateSpace", "Datastore.Allocate"], any_=True),
        "Datastore.Audit|AllocateSpace|Allocate on /storage/{storage}",
    ),
    ("PUT", "/nodes/{node}/storage/{storage}/content/{volume}"): (
        lambda c, p, ctx: c.holds(f"/storage/{p['storage']}", ["Datastore.Allocate", "Datastore.AllocateSpace"],
                                  any_=True),
        "Datastore.Allocate|AllocateSpace on /storage/{storage}",
    ),
    ("DELETE", "/nodes/{node}/storage/{storage}/content/{volume}"): (
        lambda c, p, ctx: c.holds(f"/storage/{p['storage']}", ["Datastore.Allocate", "Datastore.AllocateSpace"],
                                  any_=True),
        "Datastore.Allocate|AllocateSpace on /storage/{storage}",
    ),
}


# ---------------------------------------------------------------------------------------------
# The caller model and the evaluator of Proxmox's permission notation


ACL_PATH_RE = re.compile(r"[A-Za-z0-9._/-]+")


def normalize(path: str) -> str:
    return "/" + "/".join(s for s in path.split("/") if s)


class Caller:
    """A caller whose privileges come from (path, privileges, propagate) entries of its own."""

    def __init__(self, name, session, authid, userid, acl, password=None, is_token=False):
        self.name = name
        self.session = session
        self.authid = authid
        self.userid = userid
        self.acl = acl
        self.password = password
        self.is_token = is_token

    def privileges(self, path: str) -> set[str]:
        """Walk from `/` to the path: entries that apply at a level (the target itself, or
        propagating) replace what was inherited."""
        path = normalize(path)
        parts = [s for s in path.split("/") if s]
        levels = ["/"] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
        current: set[str] = set()
        for level in levels:
            entries = [e for e in self.acl if normalize(e[0]) == level and (level == path or e[2])]
            if entries:
                current = set().union(*(set(e[1]) for e in entries))
        return current

    def holds(self, path: str, privs, any_: bool = False) -> bool:
        held = self.privileges(path)
        return any(p in held for p in privs) if any_ else all(p in held for p in privs)


def _options(items) -> dict:
    return {items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)}


def _fill(template: str, params: dict) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: str(params.get(m.group(1), "")), template)


def evaluate(permission, caller: Caller, params: dict, ctx: dict) -> str:
    """'allow', 'deny' or 'missing' (the object the check is about does not exist)."""
    if not isinstance(permission, dict):
        raise AssertionError(f"no declared permission: {permission!r}")
    if "check" in permission:
        return _check(permission["check"], caller, params, ctx)
    user = permission.get("user")
    if user in ("all", "world"):
        return "allow"
    if user == "root@pam":
        return "deny"
    raise AssertionError(f"unknown permission notation {permission!r}")


def _check(expr, caller: Caller, params: dict, ctx: dict) -> str:
    if not isinstance(expr, list) or not expr:
        raise AssertionError(f"malformed permission check {expr!r}")
    op = expr[0]
    if op == "perm":
        opts = _options(expr[3:])
        if opts.get("require_param") and opts["require_param"] not in params:
            return "deny"
        path = _fill(expr[1], params)
        if not ACL_PATH_RE.fullmatch(path):
            return "deny"
        return "allow" if caller.holds(path, expr[2], any_=opts.get("any") == 1) else "deny"
    if op == "and":
        for sub in expr[1:]:
            outcome = _check(sub, caller, params, ctx)
            if outcome != "allow":
                return outcome
        return "allow"
    if op == "or":
        outcomes = [_check(sub, caller, params, ctx) for sub in expr[1:]]
        if "allow" in outcomes:
            return "allow"
        return "missing" if "missing" in outcomes else "deny"
    if op == "userid-param":
        userid = str(params.get("userid", ""))
        if expr[1] == "self":
            return "allow" if userid == caller.authid else "deny"
        if "@" not in userid:
            return "deny"
        return "allow" if caller.holds(f"/access/realm/{userid.rsplit('@', 1)[1]}", [expr[1]]) else "deny"
    if op == "userid-group":
        privs = expr[1]
        mode = _options(expr[2:]).get("groups_param")
        userid = params.get("userid")
        if userid is None:
            return "deny"
        if mode != "create" and userid not in ctx["users"]:
            return "missing"
        if caller.holds("/access/groups", privs, any_=True):
            return "allow"
        allowed = {g for g in ctx["groups"] if caller.holds(f"/access/groups/{g}", privs, any_=True)}
        if mode is not None:
            requested = [g for g in str(params.get("groups", "")).split(",") if g]
            if mode == "create" and not requested:
                return "deny"
            if not set(requested) <= allowed:
                return "deny"
        if mode != "create" and not (set(ctx["groups_of"].get(userid, ())) & allowed):
            return "deny"
        return "allow"
    if op == "perm-modify":
        path = _fill(expr[1], params)
        if not ACL_PATH_RE.fullmatch(path):
            return "deny"
        path = normalize(path)
        candidates = ["Permissions.Modify"]
        if path.startswith("/storage/"):
            candidates.append("Datastore.Allocate")
        if path.startswith("/vms/"):
            candidates.append("VM.Allocate")
        if path.startswith("/pool/"):
            candidates.append("Pool.Allocate")
        target = "/access" if path == "/" else path
        ok = caller.holds(target, candidates, any_=True) or caller.holds(path, candidates, any_=True)
        return "allow" if ok else "deny"
    if op == "perm-each":
        _, list_param, template, privs = expr[:4]
        items = [i for i in re.split(r"[,;\s]+", str(params.get(list_param, ""))) if i]
        if not items:
            return "deny"
        ok = all(caller.holds(template.replace("{item}", item), privs) for item in items)
        return "allow" if ok else "deny"
    raise AssertionError(f"unknown permission check {op!r} in {expr!r}")


# ---------------------------------------------------------------------------------------------
# What lists may show


def _list_problems(op: Operation, data, caller: Caller, ctx: dict) -> list[str]:
    """Items of a list answer the caller may not see (empty when all is well)."""
    key = op.key
    vm_ok = lambda v: caller.holds(f"/vms/{v}", ["VM.Audit"])  # noqa: E731
    storage_ok = lambda s: caller.holds(f"/storage/{s}", ["Datastore.Audit", "Datastore.AllocateSpace"],  # noqa: E731
                                        any_=True)
    problems = []
    if key in LIST_FIELDS:
        field, visible = LIST_FIELDS[key]
        if not isinstance(data, list):
            return [f"expected a list, got {type(data).__name__}"]
        for item in data:
            value = item.get(field) if isinstance(item, dict) else None
            if not visible(caller, value, ctx):
                problems.append(f"shows {field}={value!r}")
    elif key == ("GET", "/cluster/resources"):
        for item in data:
            kind = item.get("type")
            if kind == "qemu":
                ok = vm_ok(item.get("vmid"))
            elif kind == "storage":
                ok = storage_ok(item.get("storage"))
            elif kind == "node":
                ok = caller.holds(f"/nodes/{item.get('node')}", ["Sys.Audit"])
            elif kind == "pool":
                ok = caller.holds(f"/pool/{item.get('pool')}", ["Pool.Audit"])
            else:
                ok = False
            if not ok:
                problems.append(f"shows {item.get('id')!r}")
    elif key == ("GET", "/access/permissions"):
        if not isinstance(data, dict):
            return [f"expected an object, got {type(data).__name__}"]
        for path, privs in data.items():
            held = caller.privileges(path)
            shown = {p for p, v in (privs or {}).items()}
            if shown - held:
                problems.append(f"{path}: shows {sorted(shown - held)} the caller does not hold")
    elif key == ("GET", "/nodes"):
        for item in data:
            if not caller.holds(f"/nodes/{item.get('node')}", ["Sys.Audit"]):
                extra = set(item) - {"node", "status", "type", "id"}
                if extra:
                    problems.append(f"node {item.get('node')}: figures {sorted(extra)} without Sys.Audit")
    # The auditor must see VM A (a list that hides everything passes the checks above).
    if caller.holds(f"/vms/{ctx['A']}", ["VM.Audit"]):
        if key == ("GET", "/nodes/{node}/qemu") and ctx["A"] not in [i.get("vmid") for i in data]:
            problems.append(f"VM {ctx['A']} is missing")
        if key == ("GET", "/cluster/resources") and f"qemu/{ctx['A']}" not in [i.get("id") for i in data]:
            problems.append(f"qemu/{ctx['A']} is missing")
    return problems


LIST_FIELDS = {
    ("GET", "/nodes/{node}/qemu"): ("vmid", lambda c, v, ctx: c.holds(f"/vms/{v}", ["VM.Audit"])),
    ("GET", "/storage"): ("storage", lambda c, v, ctx: c.holds(
        f"/storage/{v}", ["Datastore.Audit", "Datastore.AllocateSpace"], any_=True)),
    ("GET", "/nodes/{node}/storage"): ("storage", lambda c, v, ctx: c.holds(
        f"/storage/{v}", ["Datastore.Audit", "Datastore.AllocateSpace"], any_=True)),
    ("GET", "/pools"): ("poolid", lambda c, v, ctx: c.holds(f"/pool/{v}", ["Pool.Audit"])),
    ("GET", "/access/users"): ("userid", lambda c, v, ctx: v == c.userid or c.holds(
        "/access/groups", ["User.Modify", "Sys.Audit"], any_=True)),
    ("GET", "/access/groups"): ("groupid", lambda c, v, ctx: c.holds(
        f"/access/groups/{v}", ["User.Modify", "Sys.Audit", "Group.Allocate"], any_=True)),
    # Entries on paths the caller may modify, or all with Sys.Audit on /access.
    ("GET", "/access/acl"): ("path", lambda c, v, ctx: c.holds("/access", ["Sys.Audit"])
                             or evaluate({"check": ["perm-modify", v or ""]}, c, {}, ctx) == "allow"),
    ("GET", "/access/tfa"): ("userid", lambda c, v, ctx: v == c.userid),
    ("GET", "/nodes/{node}/tasks"): ("user", lambda c, v, ctx: v in (c.authid, c.userid) or c.holds(
        f"/nodes/{ctx['node']}", ["Sys.Audit"])),
    ("GET", "/cluster/tasks"): ("user", lambda c, v, ctx: v in (c.authid, c.userid) or c.holds(
        f"/nodes/{ctx['node']}", ["Sys.Audit"])),
}


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def env(daemon):
    root = daemon.root
    cleanup = Cleanup()
    try:
        vm_a = free_vmid(root)
        upid_a = create_vm(root, daemon.node, vm_a, cleanup, name="matrix-a")
        vm_b = free_vmid(root, {vm_a})
        create_vm(root, daemon.node, vm_b, cleanup, name="matrix-b")
        vm_c = free_vmid(root, {vm_a, vm_b})  # never created: the target of clone/create calls
        cleanup.add(destroy_vm, root, daemon.node, vm_c)
        pool = create_pool(root, cleanup, "mxpool")
        group = create_group(root, cleanup, "mxgrp")

        auditor_user = create_user(root, cleanup, role="PVEAuditor", path=f"/vms/{vm_a}", prefix="mxaud")
        owner = create_user(root, cleanup, role=None, prefix="mxtok")
        token_id, secret = make_token(root, owner.userid, privsep=True, cleanup=cleanup)
        auditor_privs = set(root.ok("GET", "/access/roles/PVEAuditor"))

        auditor = Caller("auditor", ticket_session(daemon, auditor_user.userid, auditor_user.password),
                         auditor_user.userid, auditor_user.userid, [(f"/vms/{vm_a}", auditor_privs, True)],
                         password=auditor_user.password)
        token = Caller("token", token_session(token_id, secret), token_id, owner.userid, [], is_token=True)
        yield {
            "daemon": daemon, "root": root, "cleanup": cleanup, "A": vm_a, "B": vm_b, "C": vm_c,
            "upid": upid_a, "pool": pool, "group": group, "auditor": auditor, "token": token,
            "auditor_privs": auditor_privs, "ops": operations(root),
        }
    finally:
        errors = cleanup.run()
        assert not errors, f"cleanup failed: {errors}"
        made = locals()
        left = [f"VM {made[k]}" for k in ("vm_a", "vm_b", "vm_c")
                if k in made and root.get(f"/nodes/{daemon.node}/qemu/{made[k]}/config")[0] == 200]
        left += [p for k, p in (("pool", "/pools/{}"), ("group", "/access/groups/{}")) if k in made
                 and root.get(p.format(made[k]))[0] == 200]
        left += [u.userid for k in ("auditor_user", "owner") if (u := made.get(k))
                 and root.get(f"/access/users/{u.userid}")[0] == 200]
        assert not left, f"left behind: {left}"


def _context(env, caller: Caller, vmid: int) -> dict:
    """Valid values for every parameter the endpoints need, for this caller."""
    root = env["root"]
    users = {u["userid"] for u in root.ok("GET", "/access/users")}
    groups = {g["groupid"]: g for g in root.ok("GET", "/access/groups")}
    groups_of: dict[str, list[str]] = {}
    for gid, g in groups.items():
        for member in filter(None, str(g.get("users", "")).split(",")):
            groups_of.setdefault(member, []).append(gid)
    # A token name of the caller's user: created if the caller may create it, removed at teardown.
    test_token = env.setdefault("test_tokens", {}).get(caller.userid)
    if test_token is None:
        test_token = env["test_tokens"][caller.userid] = unique("mxt")
        env["cleanup"].add(root.delete, f"/access/users/{caller.userid}/token/{test_token}")
    return {
        "node": env["daemon"].node, "vmid": vmid, "newid": env["C"], "A": env["A"], "B": env["B"],
        "userid": caller.userid, "password": caller.password or "Vireo-not-the-password",
        "tokenid": test_token, "full_tokenid": caller.authid if caller.is_token else f"{caller.userid}!{test_token}",
        "groupid": env["group"], "roleid": "PVEAuditor", "realm": "pve", "storage": "local",
        "poolid": env["pool"], "snapname": "mxsnapnone", "upid": env["upid"], "upid_owner": "root@pam",
        "volume": "iso/vireo-matrix-none.iso", "iface": "vmbr77", "acl_path": f"/vms/{env['A']}",
        "command": "info version", "filename": f"vm-{env['C']}-disk-9.raw",
        "copy_target": "local:iso/vireo-matrix-copy.iso",
        "users": users, "groups": set(groups), "groups_of": groups_of,
    }


# ---------------------------------------------------------------------------------------------
# The walk


def _expectation(op: Operation, caller: Caller, params: dict, ctx: dict) -> tuple[str, str]:
    """(expected outcome, why): 'deny' (403) or 'allow' (not 401/403)."""
    if op.permission is None:
        raise AssertionError(f"{op}: no declared permission (x-pve-permissions)")
    if op.key == ("POST", "/access/ticket"):
        # Needs no credentials, so the caller's are not looked at (a token's neither): the login
        # itself decides. The token has no password; the user logs in with its own.
        return ("login", "valid password") if caller.password else ("bad-login", "no password")
    if caller.is_token and not op.allow_token:
        return "deny", "x-pve-allowtoken 0"
    outcome = evaluate(op.permission, caller, params, ctx)
    if outcome == "deny":
        return "deny", f"declared {op.permission}"
    if op.key in HANDLER_CHECKS:
        predicate, explanation = HANDLER_CHECKS[op.key]
        if not predicate(caller, params, ctx):
            return "deny", f"handler: {explanation}"
    return "allow", f"declared {op.permission}" + (" (object missing)" if outcome == "missing" else "")


def _walk(env, caller: Caller, capsys) -> None:
    daemon = env["daemon"]
    ops: list[Operation] = env["ops"]
    wrong, skipped, counts = [], [], Counter()
    runs = [(op, env["A"]) for op in ops] + [(op, env["B"]) for op in ops if "{vmid}" in op.path]
    contexts = {vmid: _context(env, caller, vmid) for vmid in (env["A"], env["B"])}
    for op, vmid in runs:
        label = f"{op}" + (f" [vmid={vmid}]" if "{vmid}" in op.path or "vmid" in op.params else "")
        if op.permission is None:
            wrong.append(f"{label}: the OpenAPI document declares no permission")
            counts["no permission declared"] += 1
            continue
        ctx = contexts[vmid]
        params = required_values(op, ctx)
        expected, why = _expectation(op, caller, params, ctx)
        if expected == "allow" and op.method != "GET" and op.key not in ALLOWED_WRITES:
            reason = HARMFUL_WHEN_ALLOWED.get(op.key, "state-changing call the caller is allowed to make")
            skipped.append(f"{label}: {reason}")
            counts["skipped (allowed write)"] += 1
            continue
        r = call(caller.session, daemon, op, params)
        status, reason = r.status_code, r.reason
        if VERBOSE:
            with capsys.disabled():
                print(f"  {caller.name}: {label}: expected {expected} ({why}); got {status} {reason!r} "
                      f"{r.text[:120] if status == 200 else ''}")
        if expected in ("login", "bad-login"):
            ticket = (r.json() or {}).get("data") or {} if r.content else {}
            ok = (status == 200 and "ticket" in ticket) if expected == "login" else (
                status == 401 and "ticket" not in ticket)
            counts["login as expected" if ok else "wrong"] += 1
            if not ok:
                wrong.append(f"{label}: expected {'a ticket' if expected == 'login' else '401'}, got {status} "
                             f"{reason!r}")
            continue
        if expected == "deny":
            if status != 403:
                wrong.append(f"{label}: expected 403 ({why}), got {status} {reason!r}")
                counts["wrong"] += 1
            elif why.startswith("declared") and not reason.startswith("Permission check failed"):
                wrong.append(f"{label}: 403 reason {reason!r} does not start with 'Permission check failed'")
                counts["wrong"] += 1
            else:
                counts["denied as expected"] += 1
            continue
        if status in (401, 403):
            wrong.append(f"{label}: expected to be allowed ({why}), got {status} {reason!r}")
            counts["wrong"] += 1
            continue
        if status >= 500 and status != 501:
            wrong.append(f"{label}: allowed call failed with {status} {reason!r}: {r.text[:200]}")
            counts["wrong"] += 1
            continue
        if status == 400 and reason == "Parameter verification failed.":
            wrong.append(f"{label}: generated parameters {params} refused: {r.text[:300]}")
            counts["wrong"] += 1
            continue
        if status == 200 and op.streams:
            if not r.headers.get("content-type", "").startswith(op.raw["x-vireo-stream"]):
                wrong.append(f"{label}: a stream answered {r.headers.get('content-type')!r}")
                counts["wrong"] += 1
            else:
                counts["allowed as expected"] += 1
            continue
        if status == 200 and op.method == "GET":
            problems = _list_problems(op, r.json().get("data"), caller, {**ctx, "node": daemon.node})
            if problems:
                wrong.append(f"{label}: shows what {caller.name} may not see: " + "; ".join(problems))
                counts["wrong"] += 1
                continue
        counts["allowed as expected" + (f" ({status})" if status != 200 else "")] += 1
    with capsys.disabled():
        print(f"\npermission matrix, caller {caller.name} ({caller.authid}): {len(runs)} calls")
        for outcome, n in sorted(counts.items()):
            print(f"  {n:4d}  {outcome}")
        for line in skipped:
            print(f"  skipped: {line}")
    assert not wrong, f"{len(wrong)} wrong answers for {caller.name}:\n" + "\n".join(wrong)


# ---------------------------------------------------------------------------------------------
# Tests


def test_every_endpoint_declares_a_permission(env):
    missing, malformed = [], []
    probe = Caller("probe", None, "probe@pve", "probe@pve", [])
    ctx = {"users": set(), "groups": set(), "groups_of": {}}
    for op in env["ops"]:
        if op.permission is None:
            missing.append(str(op))
            continue
        try:
            evaluate(op.permission, probe, {}, ctx)
        except AssertionError as error:
            malformed.append(f"{op}: {error}")
    assert not missing, "endpoints without x-pve-permissions:\n" + "\n".join(missing)
    assert not malformed, "permissions in an unknown notation:\n" + "\n".join(malformed)
    assert len(env["ops"]) > 50, f"only {len(env['ops'])} endpoints registered"


def test_auditor_role_holds_audit_privileges_only(env):
    privs = env["auditor_privs"]
    assert AUDITOR_PRIVILEGES <= privs, f"PVEAuditor lacks {sorted(AUDITOR_PRIVILEGES - privs)}"
    assert all(p.endswith(".Audit") for p in privs), f"PVEAuditor holds non-audit privileges: {sorted(privs)}"


def test_without_credentials(env, capsys):
    daemon = env["daemon"]
    session = anon_session()
    wrong, counts = [], Counter()
    ctx = _context(env, Caller("anon", session, "", "nobody@pve", []), env["A"])
    for op in env["ops"]:
        params = required_values(op, ctx)
        r = call(session, daemon, op, params)
        if op.key in NO_AUTH:
            ok = r.status_code < 500 and (op.method == "POST" or r.status_code == 200)
            counts["open endpoint" if ok else "wrong"] += 1
            if not ok:
                wrong.append(f"{op}: {r.status_code} {r.reason!r} (needs no credentials)")
            continue
        if r.status_code != 401 or r.content != b"":
            wrong.append(f"{op}: {r.status_code} {r.reason!r} body={r.content[:80]!r}, expected 401 with empty body")
            counts["wrong"] += 1
        else:
            counts["401"] += 1
    with capsys.disabled():
        print(f"\npermission matrix, no credentials: {len(env['ops'])} calls: {dict(counts)}")
    assert not wrong, "\n".join(wrong)


def test_privsep_token_without_acl(env, capsys):
    _walk(env, env["token"], capsys)


def test_auditor_on_one_vm(env, capsys):
    _walk(env, env["auditor"], capsys)
