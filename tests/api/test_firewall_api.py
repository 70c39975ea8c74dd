"""The firewall API (/cluster/firewall, /nodes/{node}/firewall, /nodes/{node}/qemu/{vmid}/firewall) as
Proxmox's tools use it: through proxmoxer, and through plain HTTPS where the status code matters.

Semantics are Proxmox's (pve-firewall's API2/Firewall/*.pm): a POSTed rule goes to the top whatever
`pos` says, and is stored disabled unless `enable` is given; `moveto=n` removes the rule and inserts
it before the element originally at index n (n >= count appends); `delete=` clears fields; a stale
`digest` is refused and changes nothing; bad input is a 400 naming the field and writes nothing;
renaming a security group rewrites the GROUP rules that use it (cluster, host and guests).

Vireo's additions checked here: every rule in a listing carries integer `packets` and `bytes` (the
nft counters; 0 while the firewall is off), a missing rule position is a 404 and a stale digest a
409 (Proxmox answers both with a plain 500), and newlines in comments are refused (they cannot be
stored in a `.fw` line).

The cluster firewall stays disabled (`enable: 0`) throughout this module, so nothing is loaded into
the host's kernel here; the traffic tests are elsewhere. Every test removes what it made, also when
it fails (the `cleanup` fixture: rules are found again by a unique marker in their comment).
"""

from __future__ import annotations

import uuid

import pytest

from conftest import pve, require_proxmoxer, ticket_session, unique
from schema_values import create_vm, free_vmid

require_proxmoxer()

CLUSTER = "/cluster/firewall"
COUNTERS = ("packets", "bytes")


# ---------------------------------------------------------------------------------------------
# Helpers


class Raw:
    """HTTPS with a ticket (as the web UI), for the answers whose status code matters."""

    def __init__(self, daemon, session):
        self.daemon = daemon
        self.session = session

    def call(self, method: str, path: str, params: dict | None = None):
        params = {k: v for k, v in (params or {}).items() if v is not None}
        where = {"params": params} if method in ("GET", "DELETE") else {"data": params}
        response = self.session.request(method, self.daemon.api(path), timeout=60, **where)
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body

    def ok(self, method: str, path: str, params: dict | None = None):
        status, body = self.call(method, path, params)
        assert status == 200, f"{method} {path} {params}: {status} {body}"
        return (body or {}).get("data")

    def refused(self, method: str, path: str, params: dict | None, status, fields=None) -> dict:
        """Asserts the call is answered with `status` (one or a tuple); with `fields`, that the
        400's `errors` name at least one of them."""
        expected = status if isinstance(status, tuple) else (status,)
        code, body = self.call(method, path, params)
        assert code in expected, f"{method} {path} {params}: expected {expected}, got {code} {body}"
        body = body or {}
        if fields:
            errors = body.get("errors") or {}
            assert set(errors) & set(fields), f"{method} {path} {params}: errors {errors} name none of {fields}"
        return body


@pytest.fixture
def raw(daemon, admin):
    return Raw(daemon, ticket_session(daemon, admin.userid, admin.password))


@pytest.fixture
def node(daemon):
    return daemon.node


@pytest.fixture
def vm(daemon, cleanup):
    """A disk-less VM of this test; its firewall config is emptied and the VM destroyed at teardown."""
    root = daemon.root
    vmid = free_vmid(root)
    create_vm(root, daemon.node, vmid, cleanup, name=f"fw{vmid}")
    cleanup.add(clear_guest_firewall, root, daemon.node, vmid)
    return vmid


@pytest.fixture(autouse=True)
def firewall_stays_off(daemon):
    """Nothing in this module may switch the cluster firewall on."""
    yield
    status, _, body = daemon.root.get(f"{CLUSTER}/options")
    if status == 200 and ((body or {}).get("data") or {}).get("enable") not in (None, 0):
        daemon.root.put(f"{CLUSTER}/options", {"enable": 0})
        pytest.fail("the cluster firewall was left enabled")


def without_counters(rules: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in COUNTERS} for r in rules]


def content(rules: list[dict]) -> list[dict]:
    """What a rule says, without its position, the list digest and the counters."""
    return [{k: v for k, v in r.items() if k not in COUNTERS + ("pos", "digest")} for r in rules]


def comments(rules: list[dict]) -> list[str | None]:
    return [r.get("comment") for r in rules]


def marked(rules: list[dict], marker: str) -> list[dict]:
    return [r for r in rules if marker in (r.get("comment") or "")]


def assert_counters(rules: list[dict], where: str) -> None:
    """Vireo: each listed rule has integer nft counters, 0 while the firewall is off."""
    for rule in rules:
        for key in COUNTERS:
            value = rule.get(key)
            assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {key} of {rule}"
            assert value == 0, f"{where}: {key} {value} while the cluster firewall is off: {rule}"


def delete_rules_where(root, path: str, predicate) -> None:
    """Deletes (as root) every rule of the collection at `path` for which `predicate` holds."""
    for _ in range(200):
        status, _, body = root.get(path)
        if status != 200 or not isinstance(body, dict):
            return
        hits = [r["pos"] for r in body.get("data") or [] if predicate(r)]
        if not hits:
            return
        status, _, _ = root.delete(f"{path}/{hits[0]}")
        if status != 200:
            return


def delete_marked_rules(root, path: str, marker: str) -> None:
    delete_rules_where(root, path, lambda r: marker in (r.get("comment") or ""))


def delete_group(root, name: str) -> None:
    """Empties the security group and deletes it (no-op when it does not exist)."""
    path = f"{CLUSTER}/groups/{name}"
    for _ in range(200):
        status, _, body = root.get(path)
        if status != 200 or not (body or {}).get("data"):
            break
        if root.delete(f"{path}/0")[0] != 200:
            break
    root.delete(path)


def delete_ipset(root, base: str, name: str) -> None:
    root.delete(f"{base}/ipset/{name}", {"force": 1})


def delete_alias(root, base: str, name: str) -> None:
    root.delete(f"{base}/aliases/{name}")


def clear_guest_firewall(root, node: str, vmid: int) -> None:
    """Removes a guest's rules, ipsets, aliases and options."""
    base = f"/nodes/{node}/qemu/{vmid}/firewall"
    delete_rules_where(root, f"{base}/rules", lambda r: True)
    for kind, key, remove in (("ipset", "name", delete_ipset), ("aliases", "name", delete_alias)):
        status, _, body = root.get(f"{base}/{kind}")
        if status == 200 and isinstance(body, dict):
            for entry in body.get("data") or []:
                remove(root, base, entry[key])
    status, _, body = root.get(f"{base}/options")
    if status == 200 and isinstance(body, dict):
        keys = [k for k in (body.get("data") or {}) if k != "digest"]
        if keys:
            root.put(f"{base}/options", {"delete": ",".join(keys)})


def restore_options(root, path: str, before: dict, keys) -> None:
    """Puts the options `keys` back as they were in `before` (removing those that were unset)."""
    params = {k: int(before[k]) if isinstance(before[k], bool) else before[k] for k in keys if k in before}
    dropped = [k for k in keys if k not in before]
    if dropped:
        params["delete"] = ",".join(dropped)
    root.put(path, params)


def property_string(value) -> dict:
    """`enable=1,rate=10/minute,burst=20` (or the same as an object) as a dict of strings."""
    if isinstance(value, dict):
        return {k: str(int(v) if isinstance(v, bool) else v) for k, v in value.items()}
    parsed = {}
    for part in str(value).split(","):
        key, sep, val = part.partition("=")
        if sep:
            parsed[key] = val
        else:
            parsed["enable"] = key
    return parsed


def make_role(root, cleanup, privs: str) -> str:
    role = unique("Fw")
    cleanup.add(root.delete, f"/access/roles/{role}")
    root.ok("POST", "/access/roles", {"roleid": role, "privs": privs})
    return role


# ---------------------------------------------------------------------------------------------
# Indexes, macros, refs


def test_firewall_indexes_list_their_collections(admin_api, node, vm):
    cluster = {e["name"] for e in admin_api.cluster.firewall.get()}
    assert {"rules", "groups", "ipset", "aliases", "options", "macros", "refs"} <= cluster, cluster
    host = {e["name"] for e in admin_api.nodes(node).firewall.get()}
    assert {"rules", "options", "log"} <= host, host
    guest = {e["name"] for e in admin_api.nodes(node).qemu(vm).firewall.get()}
    assert {"rules", "aliases", "ipset", "options", "refs", "log"} <= guest, guest


def test_macros_list_names_and_descriptions(admin_api):
    macros = admin_api.cluster.firewall.macros.get()
    names = [m["macro"] for m in macros]
    assert {"HTTP", "HTTPS", "SSH", "Ping", "DNS"} <= set(names), names
    assert len(names) == len(set(names)) and len(names) >= 80, f"{len(names)} macros: {names}"
    assert all(isinstance(m.get("descr"), str) for m in macros)
    assert next(m for m in macros if m["macro"] == "HTTP")["descr"]


def test_cluster_refs_list_aliases_and_ipsets(admin_api, daemon, cleanup):
    root = daemon.root
    alias, ipset = unique("refal"), unique("refset")
    cleanup.add(delete_alias, root, CLUSTER, alias)
    cleanup.add(delete_ipset, root, CLUSTER, ipset)
    fw = admin_api.cluster.firewall
    fw.aliases.post(name=alias, cidr="192.0.2.0/24", comment="an alias")
    fw.ipset.post(name=ipset, comment="a set")

    aliases = fw.refs.get(type="alias")
    assert all(r["type"] == "alias" for r in aliases), aliases
    entry = next(r for r in aliases if r["name"] == alias)
    assert entry["ref"] == alias and entry["scope"] == "dc" and entry.get("comment") == "an alias", entry

    ipsets = fw.refs.get(type="ipset")
    assert all(r["type"] == "ipset" for r in ipsets), ipsets
    entry = next(r for r in ipsets if r["name"] == ipset)
    assert entry["ref"] == f"+{ipset}" and entry["scope"] == "dc" and entry.get("comment") == "a set", entry

    both = {(r["type"], r["name"]) for r in fw.refs.get()}
    assert {("alias", alias), ("ipset", ipset)} <= both


# ---------------------------------------------------------------------------------------------
# Cluster rules


def test_cluster_rules_are_inserted_at_the_top_and_disabled_without_enable(admin_api, daemon, cleanup):
    marker = unique("fwtop-")
    cleanup.add(delete_marked_rules, daemon.root, f"{CLUSTER}/rules", marker)
    rules = admin_api.cluster.firewall.rules
    before = rules.get()

    rules.post(type="in", action="ACCEPT", proto="tcp", dport="22", comment=f"{marker} first", enable=1)
    # `pos` is ignored on create: the rule goes to the top. The macro name is made canonical.
    rules.post(type="out", action="DROP", macro="http", comment=f"{marker} second", pos=len(before) + 1)

    after = rules.get()
    assert [r["pos"] for r in after] == list(range(len(before) + 2))
    assert comments(after[:2]) == [f"{marker} second", f"{marker} first"], after[:3]
    assert content(after[2:]) == content(before), "the rules below moved down unchanged"
    second, first = after[0], after[1]
    assert (second["type"], second["action"], second["macro"]) == ("out", "DROP", "HTTP"), second
    assert second.get("enable", 0) == 0, f"a rule posted without enable is stored disabled: {second}"
    assert (first["type"], first["action"], first["proto"], first["dport"], first["enable"]) == (
        "in", "ACCEPT", "tcp", "22", 1), first
    assert len({r["digest"] for r in after}) == 1, "every entry carries the list's digest"
    if before:
        assert after[0]["digest"] != before[0]["digest"]
    assert_counters(after, "cluster rules")

    single = rules(0).get()
    assert single["pos"] == 0 and single["comment"] == f"{marker} second" and single["macro"] == "HTTP"
    assert single.get("enable", 0) == 0
    assert rules(1).get()["comment"] == f"{marker} first"


def test_cluster_rule_fields_update_and_delete(admin_api, raw, daemon, cleanup):
    marker = unique("fwfields-")
    low = 20000 + uuid.uuid4().int % 40000
    sport = f"{low}:{low + 5}"  # finds the rule again after its comment is cleared
    path = f"{CLUSTER}/rules"
    cleanup.add(delete_rules_where, daemon.root, path,
                lambda r: marker in (r.get("comment") or "") or r.get("sport") == sport)
    rules = admin_api.cluster.firewall.rules
    rules.post(type="in", action="ACCEPT", iface="vmbr0", source="192.0.2.0/24", dest="198.51.100.7", proto="tcp",
               dport="80,443", sport=sport, log="info", comment=marker, enable=1)

    listed = rules.get()[0]
    for key in ("pos", "type", "action", "iface", "source", "dest", "proto", "dport", "sport", "log", "comment",
                "enable", "digest", "packets", "bytes"):
        assert key in listed, f"'{key}' missing from {listed}"
    expected = {"type": "in", "action": "ACCEPT", "iface": "vmbr0", "source": "192.0.2.0/24",
                "dest": "198.51.100.7", "proto": "tcp", "dport": "80,443", "sport": sport, "log": "info",
                "comment": marker, "enable": 1}
    rule = rules(0).get()
    assert {k: rule.get(k) for k in expected} == expected

    rules(0).put(action="DROP", dport="8080", comment=f"{marker} changed")
    rule = rules(0).get()
    assert (rule["action"], rule["dport"], rule["comment"]) == ("DROP", "8080", f"{marker} changed")
    assert rule["source"] == "192.0.2.0/24" and rule["sport"] == sport and rule["enable"] == 1

    rules(0).put(delete="comment,dport")
    rule = rules(0).get()
    assert "comment" not in rule and "dport" not in rule, rule
    assert rule["proto"] == "tcp" and rule["sport"] == sport and rule["action"] == "DROP"

    # An empty value clears a field too.
    rules(0).put(comment=f"{marker} again")
    assert rules(0).get()["comment"] == f"{marker} again"
    rules(0).put(comment="")
    assert "comment" not in rules(0).get()
    rules(0).put(comment=marker, enable=0)
    assert rules(0).get().get("enable", 0) == 0

    # type and action cannot be deleted; a change that makes the rule invalid is refused whole.
    rules(0).put(dport="22")
    before = without_counters(raw.ok("GET", path))
    raw.refused("PUT", f"{path}/0", {"delete": "action"}, 400, {"delete", "action"})
    raw.refused("PUT", f"{path}/0", {"delete": "type"}, 400, {"delete", "type"})
    raw.refused("PUT", f"{path}/0", {"delete": "proto"}, 400, {"proto", "dport", "sport"})
    raw.refused("PUT", f"{path}/0", {"dport": "70000", "comment": "not written"}, 400, {"dport"})
    assert without_counters(raw.ok("GET", path)) == before, "a refused update changed the rules"

    rules(0).delete()
    assert not [r for r in rules.get() if r.get("sport") == sport]


def test_cluster_rule_moveto(admin_api, daemon, cleanup):
    marker = unique("fwmove-")
    cleanup.add(delete_marked_rules, daemon.root, f"{CLUSTER}/rules", marker)
    rules = admin_api.cluster.firewall.rules
    for name in ("r3", "r2", "r1", "r0"):
        rules.post(type="in", action="ACCEPT", comment=f"{marker} {name}", enable=1)

    def order():
        listed = rules.get()
        return [(r.get("comment") or "").replace(f"{marker} ", "") if marker in (r.get("comment") or "") else "-"
                for r in listed]

    start = order()
    count = len(start)
    old = start[4:]
    assert start[:4] == ["r0", "r1", "r2", "r3"]

    # Removed, then inserted before the element originally at index 1: itself again.
    rules(0).put(moveto=1)
    assert order()[:4] == ["r0", "r1", "r2", "r3"]
    rules(0).put(moveto=2)
    assert order()[:4] == ["r1", "r0", "r2", "r3"]
    rules(3).put(moveto=1)
    assert order()[:4] == ["r1", "r3", "r0", "r2"]
    # n >= count appends.
    rules(1).put(moveto=count)
    assert order() == ["r1", "r0", "r2"] + old + ["r3"]
    # With moveto the other arguments are ignored.
    rules(2).put(moveto=0, comment="ignored", action="DROP")
    assert order() == ["r2", "r1", "r0"] + old + ["r3"]
    moved = rules(0).get()
    assert moved["comment"] == f"{marker} r2" and moved["action"] == "ACCEPT"
    rules(0).put(moveto=1000)
    assert order() == ["r1", "r0"] + old + ["r3", "r2"]
    assert [r["pos"] for r in rules.get()] == list(range(count))


def test_stale_digest_and_missing_position(raw, daemon, cleanup):
    marker = unique("fwdigest-")
    path = f"{CLUSTER}/rules"
    cleanup.add(delete_marked_rules, daemon.root, path, marker)
    raw.ok("POST", path, {"type": "in", "action": "ACCEPT", "comment": f"{marker} a", "enable": 1})
    stale = raw.ok("GET", path)[0]["digest"]
    raw.ok("POST", path, {"type": "in", "action": "DROP", "comment": f"{marker} b", "enable": 1})
    current = without_counters(raw.ok("GET", path))
    assert current[0]["digest"] != stale

    raw.refused("PUT", f"{path}/0", {"comment": f"{marker} changed", "digest": stale}, 409)
    raw.refused("PUT", f"{path}/0", {"moveto": 1, "digest": stale}, 409)
    raw.refused("DELETE", f"{path}/0", {"digest": stale}, 409)
    assert without_counters(raw.ok("GET", path)) == current, "a stale digest changed the rules"

    raw.ok("PUT", f"{path}/0", {"comment": f"{marker} b2", "digest": current[0]["digest"]})
    assert raw.ok("GET", f"{path}/0")["comment"] == f"{marker} b2"

    after = without_counters(raw.ok("GET", path))
    missing = len(after)
    raw.refused("GET", f"{path}/{missing}", None, 404)
    raw.refused("PUT", f"{path}/{missing}", {"comment": f"{marker} nowhere"}, 404)
    raw.refused("PUT", f"{path}/{missing}", {"moveto": 0}, 404)
    raw.refused("DELETE", f"{path}/{missing}", None, 404)
    raw.refused("GET", f"{path}/99999", None, 404)
    assert without_counters(raw.ok("GET", path)) == after


BAD_RULES = [
    pytest.param({"macro": "NoSuchMacro"}, {"macro"}, id="unknown-macro"),
    pytest.param({"proto": "tcp", "dport": "70000"}, {"dport"}, id="port-out-of-range"),
    pytest.param({"proto": "tcp", "dport": "80:22"}, {"dport"}, id="port-range-backwards"),
    # Proxmox names `proto` ("missing property - 'dport' requires this property").
    pytest.param({"dport": "22"}, {"proto", "dport"}, id="dport-without-proto"),
    pytest.param({"proto": "icmp", "icmp-type": "echo-request", "dport": "22"}, {"icmp-type", "dport"},
                 id="icmp-type-with-dport"),
    pytest.param({"source": "192.0.2.1", "dest": "2001:db8::1"}, {"source", "dest"}, id="mixed-ipv4-ipv6"),
    pytest.param({"source": "192.0.2.1,2001:db8::1"}, {"source"}, id="mixed-list"),
    pytest.param({"type": "forward", "action": "REJECT"}, {"action", "type"}, id="reject-on-forward"),
    pytest.param({"action": "ALLOW"}, {"action"}, id="unknown-action"),
    pytest.param({"source": "+nosuchset0x"}, {"source"}, id="unknown-ipset"),
    pytest.param({"dest": "nosuchalias0x"}, {"dest"}, id="unknown-alias"),
    pytest.param({"log": "loud"}, {"log"}, id="unknown-log-level"),
    pytest.param({"comment": "\nsecond line"}, {"comment"}, id="newline-in-comment"),
]


@pytest.mark.parametrize("fields, named", BAD_RULES)
def test_bad_rule_is_refused_and_nothing_is_written(raw, daemon, cleanup, fields, named):
    marker = unique("fwbad-")
    path = f"{CLUSTER}/rules"
    cleanup.add(delete_marked_rules, daemon.root, path, marker)
    raw.ok("POST", path, {"type": "in", "action": "ACCEPT", "comment": f"{marker} seed"})
    before = without_counters(raw.ok("GET", path))
    seed = next(r["pos"] for r in before if r.get("comment") == f"{marker} seed")

    bad = dict(fields)
    if "comment" in bad:
        bad["comment"] = marker + bad["comment"]
    raw.refused("POST", path, {"type": "in", "action": "ACCEPT", "comment": f"{marker} bad", **bad}, 400, named)
    assert without_counters(raw.ok("GET", path)) == before, "a refused rule was written"
    raw.refused("PUT", f"{path}/{seed}", bad, 400, named)
    assert without_counters(raw.ok("GET", path)) == before, "a refused update was written"


# ---------------------------------------------------------------------------------------------
# Security groups


def test_security_group_lifecycle(admin_api, raw, daemon, cleanup):
    root = daemon.root
    group = unique("sg")
    cleanup.add(delete_group, root, group)
    groups = admin_api.cluster.firewall.groups
    groups.post(group=group, comment="web servers")
    listed = {g["group"]: g for g in groups.get()}
    assert listed[group].get("comment") == "web servers" and listed[group]["digest"], listed[group]
    before = raw.ok("GET", f"{CLUSTER}/groups")
    raw.refused("POST", f"{CLUSTER}/groups", {"group": group, "comment": "again"}, 400, {"group"})
    assert raw.ok("GET", f"{CLUSTER}/groups") == before

    # A group's rules are a rule collection like the cluster's.
    inside = groups(group)
    assert inside.get() == []
    inside.post(type="in", action="ACCEPT", macro="HTTP", comment="one", enable=1)
    inside.post(type="in", action="ACCEPT", proto="tcp", dport="443", comment="two", pos=1)
    inside.post(type="forward", action="ACCEPT", proto="tcp", dport="8443", comment="three", enable=1)
    rules = inside.get()
    assert comments(rules) == ["three", "two", "one"] and [r["pos"] for r in rules] == [0, 1, 2]
    assert rules[1].get("enable", 0) == 0 and rules[0]["enable"] == 1
    assert_counters(rules, "group rules")
    assert inside(1).get()["dport"] == "443"
    inside(2).put(moveto=0)
    assert comments(inside.get()) == ["one", "three", "two"]
    inside(1).put(comment="three changed", delete="dport")
    changed = inside(1).get()
    assert changed["comment"] == "three changed" and "dport" not in changed and changed["proto"] == "tcp"
    path = f"{CLUSTER}/groups/{group}"
    raw.refused("GET", f"{path}/3", None, 404)
    raw.refused("DELETE", f"{path}/3", None, 404)
    # No group inside a group, no interface on a group's rule.
    other = unique("sg")
    cleanup.add(delete_group, root, other)
    groups.post(group=other)
    current = without_counters(raw.ok("GET", path))
    raw.refused("POST", path, {"type": "group", "action": other}, 400, {"type", "action"})
    raw.refused("POST", path, {"type": "in", "action": "ACCEPT", "iface": "eth0"}, 400, {"iface", "type"})
    assert without_counters(raw.ok("GET", path)) == current

    # rename == group updates the comment only.
    groups.post(group=group, rename=group, comment="frontends")
    assert {g["group"]: g for g in groups.get()}[group].get("comment") == "frontends"
    assert comments(inside.get()) == ["one", "three changed", "two"]

    # Only an empty group can be deleted.
    status, body = raw.call("DELETE", path)
    assert 400 <= status < 600 and (body or {}).get("message"), (status, body)
    assert group in {g["group"] for g in groups.get()} and len(inside.get()) == 3
    for _ in range(3):
        inside(0).delete()
    inside.delete()
    assert group not in {g["group"] for g in groups.get()}

    nosuch = unique("nosuch")
    raw.refused("GET", f"{CLUSTER}/groups/{nosuch}", None, (400, 404))
    raw.refused("POST", f"{CLUSTER}/groups/{nosuch}", {"type": "in", "action": "ACCEPT"}, (400, 404))
    assert nosuch not in {g["group"] for g in groups.get()}


def test_group_name_longer_than_18_characters_is_refused(raw, daemon, cleanup):
    name = ("g" + uuid.uuid4().hex)[:19]
    before = raw.ok("GET", f"{CLUSTER}/groups")
    raw.refused("POST", f"{CLUSTER}/groups", {"group": name}, 400, {"group"})
    assert raw.ok("GET", f"{CLUSTER}/groups") == before
    cleanup.add(delete_group, daemon.root, name[:18])
    raw.ok("POST", f"{CLUSTER}/groups", {"group": name[:18]})
    assert name[:18] in {g["group"] for g in raw.ok("GET", f"{CLUSTER}/groups")}


def test_renaming_a_group_updates_the_rules_that_use_it(admin_api, raw, daemon, node, vm, cleanup):
    root = daemon.root
    old, new, other = unique("sg"), unique("sg"), unique("sg")
    for name in (old, new, other):
        cleanup.add(delete_group, root, name)
    groups = admin_api.cluster.firewall.groups
    groups.post(group=old, comment="to rename")
    groups(old).post(type="in", action="ACCEPT", macro="SSH", comment="inside", enable=1)

    marker = unique("fwren-")
    users = {
        "cluster": f"{CLUSTER}/rules",
        "host": f"/nodes/{node}/firewall/rules",
        "guest": f"/nodes/{node}/qemu/{vm}/firewall/rules",
    }
    for path in users.values():  # registered after the groups: runs before they are deleted
        cleanup.add(delete_marked_rules, root, path, marker)
    admin_api.cluster.firewall.rules.post(type="group", action=old, comment=marker, enable=1)
    admin_api.nodes(node).firewall.rules.post(type="group", action=old, comment=marker, enable=1)
    admin_api.nodes(node).qemu(vm).firewall.rules.post(type="group", action=old, iface="net0", comment=marker,
                                                      enable=1)

    stale = groups.get()[0]["digest"]
    groups.post(group=other)
    before = raw.ok("GET", f"{CLUSTER}/groups")
    raw.refused("POST", f"{CLUSTER}/groups", {"group": new, "rename": old, "digest": stale}, 409)
    raw.refused("POST", f"{CLUSTER}/groups", {"group": other, "rename": old}, 400, {"group"})
    assert raw.ok("GET", f"{CLUSTER}/groups") == before

    groups.post(group=new, rename=old)
    listed = {g["group"]: g for g in groups.get()}
    assert new in listed and old not in listed, sorted(listed)
    assert listed[new].get("comment") == "to rename"
    assert comments(groups(new).get()) == ["inside"]
    raw.refused("GET", f"{CLUSTER}/groups/{old}", None, (400, 404))
    for where, path in users.items():
        rules = marked(raw.ok("GET", path), marker)
        assert [(r["type"], r["action"]) for r in rules] == [("group", new)], f"{where}: {rules}"
    guest_rule = marked(raw.ok("GET", users["guest"]), marker)[0]
    assert guest_rule["iface"] == "net0"


# ---------------------------------------------------------------------------------------------
# IP sets and aliases


def test_ipset_lifecycle(admin_api, raw, daemon, cleanup):
    root = daemon.root
    alias, name, renamed = unique("setal"), unique("set"), unique("set")
    cleanup.add(delete_alias, root, CLUSTER, alias)
    cleanup.add(delete_ipset, root, CLUSTER, name)
    cleanup.add(delete_ipset, root, CLUSTER, renamed)
    fw = admin_api.cluster.firewall
    fw.aliases.post(name=alias, cidr="203.0.113.0/24")

    fw.ipset.post(name=name, comment="trusted")
    listed = {s["name"]: s for s in fw.ipset.get()}
    assert listed[name].get("comment") == "trusted" and listed[name]["digest"]
    raw.refused("POST", f"{CLUSTER}/ipset", {"name": name}, 400, {"name"})

    entries = fw.ipset(name)
    assert entries.get() == []
    entries.post(cidr="198.51.100.0/24", comment="office")
    entries.post(cidr="198.51.100.7", nomatch=1)
    entries.post(cidr=alias, comment="by alias")
    entries.post(cidr="2001:db8::/64")
    got = {e["cidr"]: e for e in entries.get()}
    assert set(got) == {"198.51.100.0/24", "198.51.100.7", alias, "2001:db8::/64"}, got
    assert got["198.51.100.0/24"].get("comment") == "office" and not got["198.51.100.0/24"].get("nomatch")
    assert got["198.51.100.7"].get("nomatch") == 1 and got[alias].get("comment") == "by alias"
    assert len({e["digest"] for e in got.values()}) == 1

    # An entry is addressed by its CIDR in the path, slash and all (as proxmoxer sends it) or encoded.
    one = entries("198.51.100.0/24").get()
    assert one["cidr"] == "198.51.100.0/24" and one.get("comment") == "office"
    assert raw.ok("GET", f"{CLUSTER}/ipset/{name}/198.51.100.0%2F24")["cidr"] == "198.51.100.0/24"

    digest = got[alias]["digest"]
    entries("198.51.100.0/24").put(comment="office 2", nomatch=1, digest=digest)
    one = entries("198.51.100.0/24").get()
    assert one.get("comment") == "office 2" and one.get("nomatch") == 1
    before = raw.ok("GET", f"{CLUSTER}/ipset/{name}")
    raw.refused("PUT", f"{CLUSTER}/ipset/{name}/198.51.100.0/24", {"comment": "stale", "digest": digest}, 409)
    raw.refused("DELETE", f"{CLUSTER}/ipset/{name}/198.51.100.7", {"digest": digest}, 409)
    raw.refused("POST", f"{CLUSTER}/ipset/{name}", {"cidr": "198.51.100.7"}, 400, {"cidr"})
    raw.refused("POST", f"{CLUSTER}/ipset/{name}", {"cidr": "198.51.100.300"}, 400, {"cidr"})
    status, body = raw.call("POST", f"{CLUSTER}/ipset/{name}", {"cidr": unique("nosuchalias")})
    assert 400 <= status < 500, (status, body)
    raw.refused("GET", f"{CLUSTER}/ipset/{name}/192.0.2.99", None, (400, 404))
    assert raw.ok("GET", f"{CLUSTER}/ipset/{name}") == before, "a refused change was written"

    entries("198.51.100.7").delete()
    assert "198.51.100.7" not in {e["cidr"] for e in entries.get()}

    # A rule may name the set.
    marker = unique("fwset-")
    cleanup.add(delete_marked_rules, root, f"{CLUSTER}/rules", marker)
    fw.rules.post(type="in", action="ACCEPT", source=f"+{name}", comment=marker)
    assert marked(fw.rules.get(), marker)[0]["source"] == f"+{name}"
    delete_marked_rules(root, f"{CLUSTER}/rules", marker)

    fw.ipset.post(name=renamed, rename=name)
    names = {s["name"] for s in fw.ipset.get()}
    assert renamed in names and name not in names
    assert {e["cidr"] for e in fw.ipset(renamed).get()} == {"198.51.100.0/24", alias, "2001:db8::/64"}
    raw.refused("GET", f"{CLUSTER}/ipset/{name}", None, (400, 404))

    # Only an empty set is deleted, unless force=1.
    status, body = raw.call("DELETE", f"{CLUSTER}/ipset/{renamed}")
    assert 400 <= status < 600 and (body or {}).get("message"), (status, body)
    assert len(fw.ipset(renamed).get()) == 3
    fw.ipset(renamed).delete(force=1)
    assert renamed not in {s["name"] for s in fw.ipset.get()}


def test_zero_prefix_ipset_entry_is_refused(raw, daemon, cleanup):
    name = unique("set")
    cleanup.add(delete_ipset, daemon.root, CLUSTER, name)
    raw.ok("POST", f"{CLUSTER}/ipset", {"name": name})
    raw.ok("POST", f"{CLUSTER}/ipset/{name}", {"cidr": "192.0.2.0/24"})
    before = raw.ok("GET", f"{CLUSTER}/ipset/{name}")
    for cidr in ("0.0.0.0/0", "::/0", "10.0.0.0/0"):
        raw.refused("POST", f"{CLUSTER}/ipset/{name}", {"cidr": cidr}, 400, {"cidr"})
    assert raw.ok("GET", f"{CLUSTER}/ipset/{name}") == before


def test_alias_lifecycle(admin_api, raw, daemon, cleanup):
    root = daemon.root
    name, renamed = unique("al"), unique("al")
    cleanup.add(delete_alias, root, CLUSTER, name)
    cleanup.add(delete_alias, root, CLUSTER, renamed)
    aliases = admin_api.cluster.firewall.aliases
    aliases.post(name=name, cidr="192.0.2.10", comment="gateway")
    listed = {a["name"]: a for a in aliases.get()}
    assert listed[name]["cidr"] == "192.0.2.10" and listed[name].get("comment") == "gateway"
    assert listed[name]["digest"]
    one = aliases(name).get()
    assert (one["name"], one["cidr"], one.get("comment")) == (name, "192.0.2.10", "gateway")

    before = raw.ok("GET", f"{CLUSTER}/aliases")
    raw.refused("POST", f"{CLUSTER}/aliases", {"name": name, "cidr": "192.0.2.11"}, 400, {"name"})
    raw.refused("POST", f"{CLUSTER}/aliases", {"name": unique("al"), "cidr": "192.0.2.300"}, 400, {"cidr"})
    raw.refused("POST", f"{CLUSTER}/aliases", {"name": unique("al"), "cidr": "192.0.2.1-192.0.2.9"}, 400, {"cidr"})
    raw.refused("POST", f"{CLUSTER}/aliases", {"name": "9starts-with-digit", "cidr": "192.0.2.1"}, 400, {"name"})
    assert raw.ok("GET", f"{CLUSTER}/aliases") == before

    digest = listed[name]["digest"]
    aliases(name).put(cidr="192.0.2.0/25", comment="gateways", digest=digest)
    one = aliases(name).get()
    assert one["cidr"] == "192.0.2.0/25" and one.get("comment") == "gateways"
    raw.refused("PUT", f"{CLUSTER}/aliases/{name}", {"cidr": "192.0.2.12", "digest": digest}, 409)
    raw.refused("DELETE", f"{CLUSTER}/aliases/{name}", {"digest": digest}, 409)
    assert aliases(name).get()["cidr"] == "192.0.2.0/25"

    # A rule may name the alias.
    marker = unique("fwal-")
    cleanup.add(delete_marked_rules, root, f"{CLUSTER}/rules", marker)
    admin_api.cluster.firewall.rules.post(type="in", action="ACCEPT", source=name, comment=marker)
    assert marked(admin_api.cluster.firewall.rules.get(), marker)[0]["source"] == name
    delete_marked_rules(root, f"{CLUSTER}/rules", marker)

    aliases(name).put(rename=renamed, cidr="192.0.2.0/25", comment="gateways")
    names = {a["name"] for a in aliases.get()}
    assert renamed in names and name not in names
    assert aliases(renamed).get()["cidr"] == "192.0.2.0/25"
    raw.refused("GET", f"{CLUSTER}/aliases/{name}", None, (400, 404))

    aliases(renamed).delete()
    assert renamed not in {a["name"] for a in aliases.get()}


@pytest.mark.parametrize("kind", ["group", "ipset", "alias"])
def test_newline_in_a_collection_comment_is_refused(raw, daemon, cleanup, kind):
    name = unique("nl")
    path, params = {
        "group": (f"{CLUSTER}/groups", {"group": name}),
        "ipset": (f"{CLUSTER}/ipset", {"name": name}),
        "alias": (f"{CLUSTER}/aliases", {"name": name, "cidr": "192.0.2.1"}),
    }[kind]
    remove = {"group": lambda: delete_group(daemon.root, name),
              "ipset": lambda: delete_ipset(daemon.root, CLUSTER, name),
              "alias": lambda: delete_alias(daemon.root, CLUSTER, name)}[kind]
    cleanup.add(remove)
    before = raw.ok("GET", path)
    raw.refused("POST", path, {**params, "comment": "one\n[RULES]\nIN ACCEPT"}, 400, {"comment"})
    assert raw.ok("GET", path) == before


# ---------------------------------------------------------------------------------------------
# Options


def test_cluster_options(admin_api, raw, daemon, cleanup):
    path = f"{CLUSTER}/options"
    before = raw.ok("GET", path)
    assert before.get("enable", 0) == 0, "the cluster firewall must be off for this module"
    keys = ["enable", "policy_in", "policy_out", "policy_forward", "log_ratelimit", "ebtables"]
    cleanup.add(restore_options, daemon.root, path, before, keys)
    options = admin_api.cluster.firewall.options

    options.put(enable=0, policy_in="ACCEPT", policy_out="REJECT", policy_forward="DROP",
                log_ratelimit="enable=1,rate=10/minute,burst=20", ebtables=0)
    got = options.get()
    assert got["enable"] == 0 and got["ebtables"] == 0
    assert (got["policy_in"], got["policy_out"], got["policy_forward"]) == ("ACCEPT", "REJECT", "DROP")
    assert property_string(got["log_ratelimit"]) == {"enable": "1", "rate": "10/minute", "burst": "20"}
    assert got["digest"]

    options.put(policy_in="DROP", digest=got["digest"])
    fresh = options.get()
    assert fresh["policy_in"] == "DROP" and fresh["digest"] != got["digest"]
    raw.refused("PUT", path, {"policy_in": "ACCEPT", "digest": got["digest"]}, 409)
    assert options.get() == fresh, "a stale digest changed the options"

    options.put(delete="policy_in,log_ratelimit")
    got = options.get()
    assert "policy_in" not in got and "log_ratelimit" not in got and got["policy_out"] == "REJECT"

    for params, name in [({"policy_forward": "REJECT"}, "policy_forward"), ({"policy_in": "ALLOW"}, "policy_in"),
                         ({"log_ratelimit": "rate=fast"}, "log_ratelimit"), ({"enable": -1}, "enable"),
                         ({"delete": "nosuchoption"}, "delete")]:
        raw.refused("PUT", path, params, 400, {name})
    assert options.get() == got, "a refused change was written"


def test_host_options(admin_api, raw, daemon, node, cleanup):
    path = f"/nodes/{node}/firewall/options"
    before = raw.ok("GET", path)
    values = {"enable": 1, "nosmurfs": 0, "tcpflags": 1, "log_level_in": "info", "log_level_out": "nolog",
              "smurf_log_level": "warning", "tcp_flags_log_level": "err", "ndp": 0,
              "nf_conntrack_allow_invalid": 1, "protection_synflood": 1, "protection_synflood_rate": 300,
              "protection_synflood_burst": 2000}
    cleanup.add(restore_options, daemon.root, path, before, list(values))
    options = admin_api.nodes(node).firewall.options

    options.put(**values)
    got = options.get()
    assert {k: got.get(k) for k in values} == values
    assert got["digest"]

    raw.refused("PUT", path, {"tcpflags": 0, "digest": before.get("digest") or "0" * 40}, 409)
    assert options.get() == got

    options.put(delete="tcpflags,log_level_in,protection_synflood_rate", digest=got["digest"])
    got = options.get()
    assert not {"tcpflags", "log_level_in", "protection_synflood_rate"} & set(got), got
    assert got["nosmurfs"] == 0 and got["smurf_log_level"] == "warning"

    for params, name in [({"log_level_in": "loud"}, "log_level_in"), ({"nf_conntrack_max": 100}, "nf_conntrack_max"),
                         ({"nf_conntrack_tcp_timeout_syn_recv": 61}, "nf_conntrack_tcp_timeout_syn_recv"),
                         ({"nf_conntrack_helpers": "nosuchhelper"}, "nf_conntrack_helpers"),
                         ({"nosmurfs": "maybe"}, "nosmurfs")]:
        raw.refused("PUT", path, params, 400, {name})
    assert options.get() == got, "a refused change was written"


def test_host_rules_and_log(admin_api, raw, daemon, node, cleanup):
    path = f"/nodes/{node}/firewall/rules"
    marker = unique("fwhost-")
    cleanup.add(delete_marked_rules, daemon.root, path, marker)
    rules = admin_api.nodes(node).firewall.rules
    before = rules.get()
    rules.post(type="in", action="ACCEPT", iface="vmbr0", proto="tcp", dport="8006", comment=f"{marker} gui",
               enable=1)
    rules.post(type="forward", action="DROP", source="10.9.0.0/16", comment=f"{marker} fwd")
    after = rules.get()
    assert comments(after[:2]) == [f"{marker} fwd", f"{marker} gui"]
    assert content(after[2:]) == content(before)
    assert after[0]["type"] == "forward" and after[0].get("enable", 0) == 0
    assert (after[1]["iface"], after[1]["dport"], after[1]["enable"]) == ("vmbr0", "8006", 1)
    assert_counters(after, "host rules")
    rules(0).put(moveto=2)
    assert comments(rules.get()[:2]) == [f"{marker} gui", f"{marker} fwd"]
    raw.refused("GET", f"{path}/{len(after)}", None, 404)
    rules(1).delete()
    rules(0).delete()
    assert not marked(rules.get(), marker)

    log = admin_api.nodes(node).firewall.log.get(limit=5)
    assert isinstance(log, list)
    assert all(isinstance(line.get("n"), int) and isinstance(line.get("t"), str) for line in log), log


# ---------------------------------------------------------------------------------------------
# A guest's firewall


def test_guest_rules(admin_api, raw, node, vm):
    fw = admin_api.nodes(node).qemu(vm).firewall
    path = f"/nodes/{node}/qemu/{vm}/firewall/rules"
    assert fw.rules.get() == []
    fw.rules.post(type="in", action="ACCEPT", macro="ssh", iface="net0", comment="a", enable=1)
    fw.rules.post(type="out", action="REJECT", proto="udp", dport="53", comment="b", pos=1)
    rules = fw.rules.get()
    assert comments(rules) == ["b", "a"] and [r["pos"] for r in rules] == [0, 1]
    assert rules[0].get("enable", 0) == 0 and rules[1]["enable"] == 1
    assert (rules[1]["macro"], rules[1]["iface"]) == ("SSH", "net0")
    assert_counters(rules, "guest rules")
    assert fw.rules(1).get()["comment"] == "a"

    fw.rules(1).put(moveto=0)
    assert comments(fw.rules.get()) == ["a", "b"]
    fw.rules(0).put(delete="iface", log="warning")
    rule = fw.rules(0).get()
    assert "iface" not in rule and rule["log"] == "warning"

    before = without_counters(raw.ok("GET", path))
    # A guest rule's interface is one of the guest's NICs (netN); FORWARD is not a guest direction.
    raw.refused("POST", path, {"type": "in", "action": "ACCEPT", "iface": "eth0"}, 400, {"iface"})
    raw.refused("PUT", f"{path}/0", {"iface": "tap100i0"}, 400, {"iface"})
    raw.refused("POST", path, {"type": "forward", "action": "ACCEPT"}, 400, {"type"})
    raw.refused("POST", path, {"type": "in", "action": "ACCEPT", "source": "+nosuchset0x"}, 400, {"source"})
    raw.refused("GET", f"{path}/2", None, 404)
    stale = before[0]["digest"]
    fw.rules.post(type="in", action="DROP", comment="c")
    current = without_counters(raw.ok("GET", path))
    raw.refused("DELETE", f"{path}/0", {"digest": stale}, 409)
    assert without_counters(raw.ok("GET", path)) == current

    fw.rules(0).delete()
    fw.rules(1).delete()
    assert comments(fw.rules.get()) == ["a"]


def test_guest_aliases_ipsets_and_refs(admin_api, raw, daemon, node, vm, cleanup):
    root = daemon.root
    dc_alias, dc_set = unique("dcal"), unique("dcset")
    cleanup.add(delete_alias, root, CLUSTER, dc_alias)
    cleanup.add(delete_ipset, root, CLUSTER, dc_set)
    cleanup.add(clear_guest_firewall, root, node, vm)  # before the cluster objects its rules name
    admin_api.cluster.firewall.aliases.post(name=dc_alias, cidr="192.0.2.0/24", comment="dc alias")
    admin_api.cluster.firewall.ipset.post(name=dc_set, comment="dc set")

    fw = admin_api.nodes(node).qemu(vm).firewall
    base = f"/nodes/{node}/qemu/{vm}/firewall"
    alias, ipset = unique("gal"), unique("gset")
    fw.aliases.post(name=alias, cidr="10.1.2.3", comment="guest alias")
    assert {a["name"]: a["cidr"] for a in fw.aliases.get()} == {alias: "10.1.2.3"}
    fw.aliases(alias).put(cidr="10.1.2.4", comment="guest alias 2")
    one = fw.aliases(alias).get()
    assert one["cidr"] == "10.1.2.4" and one.get("comment") == "guest alias 2"

    fw.ipset.post(name=ipset, comment="guest set")
    fw.ipset(ipset).post(cidr="10.1.2.0/24")
    fw.ipset(ipset).post(cidr=alias, nomatch=1)
    raw.refused("POST", f"{base}/ipset/{ipset}", {"cidr": "0.0.0.0/0"}, 400, {"cidr"})
    entries = {e["cidr"]: e for e in fw.ipset(ipset).get()}
    assert set(entries) == {"10.1.2.0/24", alias} and entries[alias].get("nomatch") == 1
    assert fw.ipset(ipset)("10.1.2.0/24").get()["cidr"] == "10.1.2.0/24"

    # Rules name guest-local and datacenter aliases and sets.
    fw.rules.post(type="in", action="ACCEPT", source=f"+{ipset}", dest=alias, comment="local names")
    fw.rules.post(type="in", action="DROP", source=f"+{dc_set}", dest=dc_alias, comment="dc names")
    assert [(r["source"], r["dest"]) for r in fw.rules.get()] == [(f"+{dc_set}", dc_alias), (f"+{ipset}", alias)]

    refs = {(r["type"], r["name"]): r for r in fw.refs.get()}
    assert refs[("alias", dc_alias)]["scope"] == "dc" and refs[("alias", dc_alias)]["ref"] == dc_alias
    assert refs[("alias", alias)]["scope"] == "guest" and refs[("alias", alias)]["ref"] == alias
    assert refs[("ipset", dc_set)]["scope"] == "dc" and refs[("ipset", dc_set)]["ref"] == f"+{dc_set}"
    assert refs[("ipset", ipset)]["scope"] == "guest" and refs[("ipset", ipset)]["ref"] == f"+{ipset}"
    assert refs[("ipset", ipset)].get("comment") == "guest set"
    only_sets = fw.refs.get(type="ipset")
    assert only_sets and all(r["type"] == "ipset" for r in only_sets)
    # The cluster's refs do not show a guest's names.
    cluster_refs = {(r["type"], r["name"]) for r in admin_api.cluster.firewall.refs.get()}
    assert ("alias", alias) not in cluster_refs and ("alias", dc_alias) in cluster_refs

    status, body = raw.call("DELETE", f"{base}/ipset/{ipset}")
    assert 400 <= status < 600, (status, body)
    for _ in range(2):
        fw.rules(0).delete()
    fw.ipset(ipset).delete(force=1)
    fw.aliases(alias).delete()
    assert fw.ipset.get() == [] and fw.aliases.get() == []


def test_guest_options(admin_api, raw, daemon, node, vm, cleanup):
    path = f"/nodes/{node}/qemu/{vm}/firewall/options"
    values = {"enable": 1, "policy_in": "ACCEPT", "policy_out": "DROP", "macfilter": 0, "ipfilter": 1, "dhcp": 1,
              "ndp": 0, "radv": 1, "log_level_in": "info", "log_level_out": "debug"}
    before = raw.ok("GET", path)
    cleanup.add(restore_options, daemon.root, path, before, list(values))
    options = admin_api.nodes(node).qemu(vm).firewall.options

    options.put(**values)
    got = options.get()
    assert {k: got.get(k) for k in values} == values and got["digest"]

    raw.refused("PUT", path, {"enable": 0, "digest": before.get("digest") or "0" * 40}, 409)
    assert options.get() == got

    options.put(delete="policy_in,ipfilter,log_level_in", digest=got["digest"])
    got = options.get()
    assert not {"policy_in", "ipfilter", "log_level_in"} & set(got), got
    assert got["macfilter"] == 0 and got["policy_out"] == "DROP"

    for params, name in [({"policy_in": "BOGUS"}, "policy_in"), ({"log_level_out": "loud"}, "log_level_out"),
                         ({"dhcp": "perhaps"}, "dhcp"), ({"policy_forward": "DROP"}, "policy_forward")]:
        raw.refused("PUT", path, params, 400, {name})
    assert options.get() == got, "a refused change was written"
    options.put(enable=0)
    assert options.get()["enable"] == 0


# ---------------------------------------------------------------------------------------------
# Counters


def test_rule_listings_carry_zero_counters_while_the_firewall_is_off(admin_api, daemon, node, vm, cleanup):
    root = daemon.root
    assert admin_api.cluster.firewall.options.get().get("enable", 0) == 0
    marker, group = unique("fwcount-"), unique("sg")
    cleanup.add(delete_group, root, group)
    paths = {"cluster": f"{CLUSTER}/rules", "host": f"/nodes/{node}/firewall/rules",
             "guest": f"/nodes/{node}/qemu/{vm}/firewall/rules"}
    for path in paths.values():
        cleanup.add(delete_marked_rules, root, path, marker)
    admin_api.cluster.firewall.groups.post(group=group)
    paths["group"] = f"{CLUSTER}/groups/{group}"
    for path in paths.values():
        root.ok("POST", path, {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "22", "comment": marker,
                               "enable": 1})
    for where, path in paths.items():
        rules = root.ok("GET", path)
        assert marked(rules, marker), f"{where}: {rules}"
        assert_counters(rules, where)


# ---------------------------------------------------------------------------------------------
# Permissions


def test_vm_audit_reads_a_guests_firewall_but_cannot_change_it(daemon, node, vm, make_user, cleanup):
    root = daemon.root
    role = make_role(root, cleanup, "VM.Audit")
    user = make_user(role=role, path=f"/vms/{vm}")
    base = f"/nodes/{node}/qemu/{vm}/firewall"
    root.ok("POST", f"{base}/rules", {"type": "in", "action": "ACCEPT", "comment": "seeded", "enable": 1})
    before = without_counters(root.ok("GET", f"{base}/rules"))

    api = pve(daemon, user.userid, user.password)
    fw = api.nodes(node).qemu(vm).firewall
    assert comments(fw.rules.get()) == ["seeded"]
    assert fw.rules(0).get()["comment"] == "seeded"
    assert "digest" in fw.options.get()
    assert isinstance(fw.aliases.get(), list) and isinstance(fw.ipset.get(), list)
    assert isinstance(fw.refs.get(), list)

    s = Raw(daemon, ticket_session(daemon, user.userid, user.password))
    s.refused("POST", f"{base}/rules", {"type": "in", "action": "DROP", "comment": "not allowed"}, 403)
    s.refused("PUT", f"{base}/rules/0", {"comment": "not allowed"}, 403)
    s.refused("DELETE", f"{base}/rules/0", None, 403)
    s.refused("PUT", f"{base}/options", {"enable": 1}, 403)
    s.refused("POST", f"{base}/aliases", {"name": unique("al"), "cidr": "192.0.2.1"}, 403)
    s.refused("GET", f"{CLUSTER}/rules", None, 403)
    assert without_counters(root.ok("GET", f"{base}/rules")) == before
    assert root.ok("GET", f"{base}/aliases") == []


def test_vm_config_network_changes_guest_rules_but_not_the_cluster(daemon, node, vm, make_user, cleanup):
    root = daemon.root
    role = make_role(root, cleanup, "VM.Config.Network")
    user = make_user(role=role, path=f"/vms/{vm}")
    base = f"/nodes/{node}/qemu/{vm}/firewall"
    marker = unique("fwperm-")
    cleanup.add(delete_marked_rules, root, f"{CLUSTER}/rules", marker)
    cleanup.add(delete_group, root, marker[:18])

    fw = pve(daemon, user.userid, user.password).nodes(node).qemu(vm).firewall
    fw.rules.post(type="in", action="ACCEPT", proto="tcp", dport="443", comment=marker, enable=1)
    assert comments(root.ok("GET", f"{base}/rules")) == [marker]
    fw.rules(0).put(dport="8443")
    assert root.ok("GET", f"{base}/rules/0")["dport"] == "8443"
    fw.options.put(enable=1)
    assert root.ok("GET", f"{base}/options")["enable"] == 1

    cluster_before = without_counters(root.ok("GET", f"{CLUSTER}/rules"))
    s = Raw(daemon, ticket_session(daemon, user.userid, user.password))
    s.refused("POST", f"{CLUSTER}/rules", {"type": "in", "action": "ACCEPT", "comment": marker}, 403)
    s.refused("GET", f"{CLUSTER}/rules", None, 403)
    s.refused("POST", f"{CLUSTER}/groups", {"group": marker[:18]}, 403)
    s.refused("PUT", f"{CLUSTER}/options", {"policy_in": "ACCEPT"}, 403)
    s.refused("POST", f"/nodes/{node}/firewall/rules", {"type": "in", "action": "ACCEPT", "comment": marker}, 403)
    assert without_counters(root.ok("GET", f"{CLUSTER}/rules")) == cluster_before
    assert marker[:18] not in {g["group"] for g in root.ok("GET", f"{CLUSTER}/groups")}

    fw.rules(0).delete()
    assert root.ok("GET", f"{base}/rules") == []


def test_sys_audit_reads_the_cluster_firewall_but_cannot_change_it(daemon, node, make_user, cleanup):
    root = daemon.root
    role = make_role(root, cleanup, "Sys.Audit")
    user = make_user(role=role, path="/")
    marker = unique("fwaudit-")
    cleanup.add(delete_marked_rules, root, f"{CLUSTER}/rules", marker)
    root.ok("POST", f"{CLUSTER}/rules", {"type": "in", "action": "ACCEPT", "comment": marker})

    fw = pve(daemon, user.userid, user.password).cluster.firewall
    assert marked(fw.rules.get(), marker)
    pos = marked(fw.rules.get(), marker)[0]["pos"]
    assert fw.rules(pos).get()["comment"] == marker
    for collection in (fw.groups, fw.ipset, fw.aliases, fw.refs, fw.macros):
        assert isinstance(collection.get(), list)
    assert "digest" in fw.options.get()
    host = pve(daemon, user.userid, user.password).nodes(node).firewall
    assert isinstance(host.rules.get(), list) and "digest" in host.options.get()

    before = without_counters(root.ok("GET", f"{CLUSTER}/rules"))
    s = Raw(daemon, ticket_session(daemon, user.userid, user.password))
    s.refused("POST", f"{CLUSTER}/rules", {"type": "in", "action": "DROP", "comment": marker}, 403)
    s.refused("PUT", f"{CLUSTER}/rules/{pos}", {"comment": f"{marker} changed"}, 403)
    s.refused("DELETE", f"{CLUSTER}/rules/{pos}", None, 403)
    s.refused("PUT", f"{CLUSTER}/options", {"policy_in": "ACCEPT"}, 403)
    s.refused("POST", f"{CLUSTER}/aliases", {"name": unique("al"), "cidr": "192.0.2.1"}, 403)
    s.refused("POST", f"{CLUSTER}/ipset", {"name": unique("set")}, 403)
    s.refused("PUT", f"/nodes/{node}/firewall/options", {"tcpflags": 1}, 403)
    assert without_counters(root.ok("GET", f"{CLUSTER}/rules")) == before
