"""User, group, role, ACL, token and pool management through proxmoxer as an administrator."""

import re

import pytest

from conftest import pve, require_proxmoxer, unique

require_proxmoxer()
from proxmoxer import ResourceException  # noqa: E402


def acl_entries(api, **match):
    return [e for e in api.access.acl.get() if all(e.get(k) == v for k, v in match.items())]


def test_group_and_user_lifecycle(daemon, admin_api, cleanup):
    api = admin_api
    group = unique("g")
    userid = f"{unique('u')}@pve"
    cleanup.add(daemon.root.delete, f"/access/groups/{group}")
    cleanup.add(daemon.root.delete, f"/access/users/{userid}")

    api.access.groups.post(groupid=group, comment="test group")
    groups = {g["groupid"]: g for g in api.access.groups.get()}
    assert group in groups and groups[group].get("comment") == "test group"

    api.access.users.post(userid=userid, password="Secret-123", groups=group, firstname="Ann", comment="first")
    listed = {u["userid"]: u for u in api.access.users.get()}
    assert userid in listed, f"{userid} not in GET /access/users"
    assert listed[userid]["realm-type"] == "pve"
    assert listed[userid]["enable"] == 1
    full = {u["userid"]: u for u in api.access.users.get(full=1)}
    assert group in full[userid]["groups"].split(","), full[userid]
    assert isinstance(full[userid]["tokens"], list)

    user = api.access.users(userid).get()
    assert user["groups"] == [group]
    assert user["tokens"] == {}
    assert user["firstname"] == "Ann" and user["comment"] == "first"
    assert userid in api.access.groups(group).get()["members"]
    assert userid in groups_users(api, group)

    api.access.users(userid).put(email="ann@example.com", comment="changed")
    user = api.access.users(userid).get()
    assert user["email"] == "ann@example.com"
    assert user["comment"] == "changed"
    assert user["firstname"] == "Ann", "PUT must only change the given fields"

    # The password given at creation works.
    assert pve(daemon, userid, "Secret-123").version.get()["version"]

    api.access.groups(group).put(comment="renamed")
    assert api.access.groups(group).get()["comment"] == "renamed"


def groups_users(api, group):
    for g in api.access.groups.get():
        if g["groupid"] == group:
            return [u for u in g.get("users", "").split(",") if u]
    return []


def test_create_duplicate_user_fails(daemon, admin_api, make_user):
    user = make_user(role=None)
    with pytest.raises(ResourceException) as info:
        admin_api.access.users.post(userid=user.userid)
    assert info.value.status_code >= 400


def test_user_in_unknown_group_is_refused(daemon, admin_api, cleanup):
    userid = f"{unique('u')}@pve"
    cleanup.add(daemon.root.delete, f"/access/users/{userid}")
    with pytest.raises(ResourceException) as info:
        admin_api.access.users.post(userid=userid, groups=unique("nogroup"))
    assert info.value.status_code >= 400
    assert userid not in [u["userid"] for u in admin_api.access.users.get()]


def test_custom_role(daemon, admin_api, cleanup):
    api = admin_api
    role = unique("Role")
    cleanup.add(daemon.root.delete, f"/access/roles/{role}")
    api.access.roles.post(roleid=role, privs="VM.Audit,Sys.Audit")
    assert api.access.roles(role).get() == {"VM.Audit": 1, "Sys.Audit": 1}
    listed = {r["roleid"]: r for r in api.access.roles.get()}
    assert set(listed[role]["privs"].split(",")) == {"VM.Audit", "Sys.Audit"}
    assert not listed[role].get("special")
    assert listed["PVEAuditor"].get("special") == 1

    api.access.roles(role).put(privs="Datastore.Audit", append=1)
    assert set(api.access.roles(role).get()) == {"VM.Audit", "Sys.Audit", "Datastore.Audit"}
    api.access.roles(role).put(privs="VM.Console")
    assert set(api.access.roles(role).get()) == {"VM.Console"}

    api.access.roles(role).delete()
    assert role not in [r["roleid"] for r in api.access.roles.get()]


def test_role_with_unknown_privilege_is_400_naming_privs(daemon, admin_api):
    role = unique("Role")
    try:
        with pytest.raises(ResourceException) as info:
            admin_api.access.roles.post(roleid=role, privs="VM.Audit,VM.Monitor")
        assert info.value.status_code == 400
        assert "privs" in (info.value.errors or {}), f"errors {info.value.errors}"
        assert role not in [r["roleid"] for r in admin_api.access.roles.get()]
    finally:
        daemon.root.delete(f"/access/roles/{role}")


def test_reserved_role_names_are_refused(daemon, admin_api):
    for name in ("PVEMine", "pveMine"):
        try:
            with pytest.raises(ResourceException) as info:
                admin_api.access.roles.post(roleid=name, privs="VM.Audit")
            assert info.value.status_code == 400
        finally:
            daemon.root.delete(f"/access/roles/{name}")


def test_builtin_role_cannot_be_modified(daemon, admin_api):
    before = admin_api.access.roles("PVEAuditor").get()
    with pytest.raises(ResourceException) as info:
        admin_api.access.roles("PVEAuditor").put(privs="Sys.PowerMgmt", append=1)
    assert info.value.status_code >= 400
    with pytest.raises(ResourceException):
        admin_api.access.roles("PVEAuditor").delete()
    assert admin_api.access.roles("PVEAuditor").get() == before
    assert "Sys.PowerMgmt" not in before


def test_acl_put_get_delete_and_propagate(daemon, admin_api, make_user):
    api = admin_api
    user = make_user(role=None)
    uid = user.userid

    api.access.acl.put(path="/vms", users=uid, roles="PVEVMUser", propagate=0)
    entries = acl_entries(api, ugid=uid)
    assert entries == [{"path": "/vms", "type": "user", "ugid": uid, "roleid": "PVEVMUser", "propagate": 0}], entries
    # Not propagated: the privileges hold on /vms only, not on /vms/100.
    perms = api.access.permissions.get(userid=uid, path="/vms")
    assert perms["/vms"].get("VM.PowerMgmt") == 0, perms
    child = api.access.permissions.get(userid=uid, path="/vms/100")
    assert "VM.PowerMgmt" not in child.get("/vms/100", {}), child

    api.access.acl.put(path="/vms", users=uid, roles="PVEVMUser", propagate=1)
    entries = acl_entries(api, ugid=uid)
    assert len(entries) == 1 and entries[0]["propagate"] == 1, entries
    child = api.access.permissions.get(userid=uid, path="/vms/100")
    assert child["/vms/100"].get("VM.PowerMgmt") == 1, child

    # Deeper entries replace inherited ones.
    api.access.acl.put(path="/vms/100", users=uid, roles="NoAccess")
    child = api.access.permissions.get(userid=uid, path="/vms/100")
    assert not child.get("/vms/100"), child

    api.access.acl.put(path="/vms/100", users=uid, roles="NoAccess", delete=1)
    api.access.acl.put(path="/vms", users=uid, roles="PVEVMUser", delete=1)
    assert acl_entries(api, ugid=uid) == []
    assert not api.access.permissions.get(userid=uid, path="/vms/100").get("/vms/100")


def test_acl_needs_a_subject_and_a_valid_role(daemon, admin_api, make_user):
    user = make_user(role=None)
    with pytest.raises(ResourceException) as info:
        admin_api.access.acl.put(path="/", roles="PVEAuditor")
    assert info.value.status_code == 400
    with pytest.raises(ResourceException) as info:
        admin_api.access.acl.put(path="/", users=user.userid, roles=unique("NoSuchRole"))
    assert info.value.status_code == 400
    with pytest.raises(ResourceException) as info:
        admin_api.access.acl.put(path="/nosuchtree/x", users=user.userid, roles="PVEAuditor")
    assert info.value.status_code == 400
    assert acl_entries(admin_api, ugid=user.userid) == []


def test_acl_for_group(daemon, admin_api, make_user, cleanup):
    api = admin_api
    group = unique("g")
    cleanup.add(daemon.root.delete, f"/access/groups/{group}")
    api.access.groups.post(groupid=group)
    user = make_user(role=None, groups=[group])
    api.access.acl.put(path="/storage", groups=group, roles="PVEDatastoreUser")
    assert acl_entries(api, ugid=group) == [
        {"path": "/storage", "type": "group", "ugid": group, "roleid": "PVEDatastoreUser", "propagate": 1}
    ]
    perms = api.access.permissions.get(userid=user.userid, path="/storage/local")
    assert perms["/storage/local"].get("Datastore.AllocateSpace") == 1, perms

    api.access.groups(group).delete()
    assert acl_entries(api, ugid=group) == [], "deleting a group must drop its ACL entries"


def test_token_lifecycle(daemon, admin_api, make_user):
    api = admin_api
    user = make_user(role="PVEAuditor")
    uid = user.userid
    name = unique("tok")

    created = api.access.users(uid).token(name).post(comment="my token")
    assert created["full-tokenid"] == f"{uid}!{name}"
    assert re.match(r"^[0-9a-f-]{36}$", created["value"]), created
    assert int(created["info"]["privsep"]) == 1, "privsep defaults to 1"

    listed = api.access.users(uid).token.get()
    assert [t["tokenid"] for t in listed] == [name]
    assert listed[0].get("comment") == "my token"

    got = api.access.users(uid).token(name).get()
    assert got.get("comment") == "my token" and int(got["privsep"]) == 1
    assert "value" not in got, "the secret is shown only once"

    api.access.users(uid).token(name).put(comment="changed", privsep=0)
    got = api.access.users(uid).token(name).get()
    assert got.get("comment") == "changed" and int(got["privsep"]) == 0

    user_view = api.access.users(uid).get()
    assert name in user_view["tokens"], user_view

    with pytest.raises(ResourceException) as info:
        api.access.users(uid).token(name).post()
    assert info.value.status_code == 400, "a duplicate token must be a 400"

    # The token works until it is deleted.
    token_api = pve(daemon, uid, token_name=name, token_value=created["value"])
    assert token_api.version.get()["version"]
    api.access.users(uid).token(name).delete()
    assert api.access.users(uid).token.get() == []
    with pytest.raises(ResourceException) as info:
        api.access.users(uid).token(name).get()
    assert info.value.status_code >= 400
    with pytest.raises(ResourceException) as info:
        token_api.version.get()
    assert info.value.status_code == 401


def test_user_delete_removes_acl_entries_and_group_membership(daemon, admin_api, cleanup):
    api = admin_api
    group = unique("g")
    userid = f"{unique('u')}@pve"
    cleanup.add(daemon.root.delete, f"/access/groups/{group}")
    cleanup.add(daemon.root.delete, f"/access/users/{userid}")
    api.access.groups.post(groupid=group)
    api.access.users.post(userid=userid, password="Secret-123", groups=group)
    api.access.acl.put(path="/", users=userid, roles="PVEAuditor")
    token = api.access.users(userid).token("tk").post(privsep=1)
    api.access.acl.put(path="/", tokens=token["full-tokenid"], roles="PVEAuditor")
    assert acl_entries(api, ugid=userid)
    assert acl_entries(api, ugid=token["full-tokenid"])

    api.access.users(userid).delete()
    assert userid not in [u["userid"] for u in api.access.users.get()]
    assert acl_entries(api, ugid=userid) == []
    assert acl_entries(api, ugid=token["full-tokenid"]) == []
    assert userid not in api.access.groups(group).get()["members"]
    assert userid not in groups_users(api, group)
    from proxmoxer import AuthenticationError

    with pytest.raises(AuthenticationError):
        pve(daemon, userid, "Secret-123")
    with pytest.raises(ResourceException) as info:
        pve(daemon, userid, token_name="tk", token_value=token["value"]).version.get()
    assert info.value.status_code == 401

    # Recreating the user must not resurrect old memberships, ACLs or the password.
    api.access.users.post(userid=userid)
    assert api.access.users(userid).get()["groups"] == []
    assert acl_entries(api, ugid=userid) == []
    with pytest.raises(AuthenticationError):
        pve(daemon, userid, "Secret-123")


def test_permissions_of_a_user(daemon, admin_api, make_user):
    user = make_user(role="PVEAuditor", path="/nodes")
    perms = admin_api.access.permissions.get(userid=user.userid)
    assert perms.get("/nodes", {}).get("Sys.Audit") == 1, perms
    assert "Sys.Modify" not in perms.get("/nodes", {})
    assert "/access" not in perms, f"no privileges on /access expected: {perms}"

    # The user may read its own permissions, but not those of others.
    own = pve(daemon, user.userid, user.password)
    assert own.access.permissions.get()["/nodes"].get("Sys.Audit") == 1
    with pytest.raises(ResourceException) as info:
        own.access.permissions.get(userid="root@pam")
    assert info.value.status_code == 403

    # An administrator holds everything on /.
    mine = admin_api.access.permissions.get(path="/")
    assert mine["/"].get("Permissions.Modify") == 1 and mine["/"].get("Sys.Modify") == 1, mine


def test_pools(daemon, admin_api, cleanup):
    api = admin_api
    pool = unique("pool")
    cleanup.add(daemon.root.delete, f"/pools/{pool}")
    api.pools.post(poolid=pool, comment="first")
    listed = {p["poolid"]: p for p in api.pools.get()}
    assert listed[pool].get("comment") == "first"

    api.pools.put(poolid=pool, comment="second")
    assert api.pools(pool).get().get("comment") == "second"
    api.pools(pool).put(comment="third")
    only = api.pools.get(poolid=pool)
    assert [p["poolid"] for p in only] == [pool]
    assert only[0].get("comment") == "third"
    assert only[0].get("members") == []

    with pytest.raises(ResourceException) as info:
        api.pools.post(poolid=pool)
    assert info.value.status_code >= 400

    api.pools.delete(poolid=pool)
    assert pool not in [p["poolid"] for p in api.pools.get()]
    with pytest.raises(ResourceException) as info:
        api.pools(pool).get()
    assert info.value.status_code >= 400
