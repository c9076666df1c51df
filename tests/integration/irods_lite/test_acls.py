"""Contract: ACLs (ichmod, MOD_ACCESS_CONTROL 707), inheritance, groups, and GenQuery filtered by access,
as a stock 4.3 server (acAclPolicy STRICT) applies them to a rodsuser (alice) and the admin's objects."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from irods.access import iRODSAccess
from irods.column import Like
from irods.exception import (
    CAT_INVALID_ARGUMENT,
    CAT_NO_ACCESS_PERMISSION,
    CollectionDoesNotExist,
    DataObjectDoesNotExist,
    GroupDoesNotExist,
)
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from tests.irods_fixtures import Zone


@pytest.fixture
def alice(user_session: Callable[..., iRODSSession]) -> iRODSSession:
    return user_session()


@pytest.fixture
def tree(session: iRODSSession, coll: str, tmp_path: Path) -> dict[str, str]:
    """The admin's collection with an object, and a subcollection with another."""
    src = tmp_path / "payload.bin"
    src.write_bytes(b"secret bytes\n")
    paths = {"coll": coll, "sub": f"{coll}/sub", "obj": f"{coll}/a.bin", "deep": f"{coll}/sub/b.bin"}
    session.collections.create(paths["sub"])
    session.data_objects.put(str(src), paths["obj"])
    session.data_objects.put(str(src), paths["deep"])
    return paths


def _grant(session: iRODSSession, level: str, path: str, user: str, **options: bool) -> None:
    session.acls.set(iRODSAccess(level, path, user), **options)


def _visible_names(s: iRODSSession, coll: str) -> set[str]:
    rows = s.query(Collection.name, DataObject.name).filter(Like(Collection.name, f"{coll}%"))
    return {f"{r[Collection.name]}/{r[DataObject.name]}" for r in rows}


def _acls(s: iRODSSession, path: str) -> set[tuple[str, str]]:
    return {(a.user_name, a.access_name) for a in s.acls.get(s.data_objects.get(path))}


def _read(s: iRODSSession, path: str) -> bytes:
    with s.data_objects.open(path, "r") as fh:
        return fh.read()


def test_without_access_a_user_cannot_read_write_or_list(
    zone: Zone, alice: iRODSSession, tree: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        _read(alice, tree["obj"])
    with pytest.raises((DataObjectDoesNotExist, CollectionDoesNotExist)):  # GenQuery shows her nothing of it
        alice.data_objects.get(tree["obj"])
    with pytest.raises(CollectionDoesNotExist):
        alice.collections.get(tree["coll"])
    assert _visible_names(alice, tree["coll"]) == set()
    other = tmp_path / "other.bin"
    other.write_bytes(b"overwrite")
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.data_objects.put(str(other), tree["obj"])
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.data_objects.unlink(tree["obj"], force=True)
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.metadata.add(DataObject, tree["obj"], _avu())


def _avu():  # type: ignore[no-untyped-def]
    from irods.meta import iRODSMeta

    return iRODSMeta("k", uuid.uuid4().hex)


def test_read_lets_a_user_read_and_list_but_not_change(
    session: iRODSSession, alice: iRODSSession, tree: dict[str, str]
) -> None:
    _grant(session, "read", tree["coll"], "alice")
    _grant(session, "read", tree["obj"], "alice")
    assert _read(alice, tree["obj"]) == b"secret bytes\n"
    assert alice.data_objects.get(tree["obj"]).size == 13
    assert _visible_names(alice, tree["coll"]) == {tree["obj"]}  # not sub/b.bin: no access to sub
    with pytest.raises(CAT_NO_ACCESS_PERMISSION), alice.data_objects.open(tree["obj"], "a") as fh:
        fh.write(b"more")
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.metadata.add(DataObject, tree["obj"], _avu())
    assert _acls(session, tree["obj"]) == {("rods", "own"), ("alice", "read_object")}


def test_write_allows_changes_but_a_4_3_server_keeps_deletion_for_delete_object_or_own(
    session: iRODSSession, alice: iRODSSession, tree: dict[str, str]
) -> None:
    _grant(session, "write", tree["obj"], "alice")
    with alice.data_objects.open(tree["obj"], "a") as fh:
        fh.write(b"appended\n")
    assert _read(session, tree["obj"]) == b"secret bytes\nappended\n"
    alice.metadata.add(DataObject, tree["obj"], _avu())
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):  # modify_object (1120) < delete_object (1130)
        alice.data_objects.unlink(tree["obj"], force=True)
    _grant(session, "own", tree["obj"], "alice")
    alice.data_objects.unlink(tree["obj"], force=True)
    assert not session.data_objects.exists(tree["obj"])


def test_null_removes_access(session: iRODSSession, alice: iRODSSession, tree: dict[str, str]) -> None:
    _grant(session, "read", tree["obj"], "alice")
    assert _read(alice, tree["obj"])
    _grant(session, "null", tree["obj"], "alice")
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        _read(alice, tree["obj"])


def test_recursive_grants_cover_the_whole_tree(
    session: iRODSSession, alice: iRODSSession, tree: dict[str, str]
) -> None:
    _grant(session, "read", tree["coll"], "alice", recursive=True)
    assert _visible_names(alice, tree["coll"]) == {tree["obj"], tree["deep"]}
    assert _read(alice, tree["deep"]) == b"secret bytes\n"
    with pytest.raises(CAT_INVALID_ARGUMENT):  # recursion on a data object
        _grant(session, "read", tree["obj"], "alice", recursive=True)


def test_inheritance_gives_new_objects_and_collections_the_collections_acls(
    session: iRODSSession, alice: iRODSSession, tree: dict[str, str], tmp_path: Path
) -> None:
    _grant(session, "read", tree["coll"], "alice")
    _grant(session, "inherit", tree["coll"], "")
    assert session.collections.get(tree["coll"]).inheritance is True
    src = tmp_path / "new.bin"
    src.write_bytes(b"new")
    session.data_objects.put(str(src), f"{tree['coll']}/new.bin")
    session.collections.create(f"{tree['coll']}/newsub")
    session.data_objects.put(str(src), f"{tree['coll']}/newsub/n.bin")
    assert _read(alice, f"{tree['coll']}/new.bin") == b"new"
    assert _read(alice, f"{tree['coll']}/newsub/n.bin") == b"new"  # the subcollection inherited inheritance
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):  # made before inheritance was set
        _read(alice, tree["obj"])
    new_acls = {
        (a.user_name, a.access_name) for a in session.acls.get(session.data_objects.get(f"{tree['coll']}/new.bin"))
    }
    assert new_acls == {("rods", "own"), ("alice", "read_object")}
    _grant(session, "noinherit", tree["coll"], "")
    assert session.collections.get(tree["coll"]).inheritance is False


def test_access_through_a_group(session: iRODSSession, alice: iRODSSession, tree: dict[str, str]) -> None:
    group = f"lab{uuid.uuid4().hex[:8]}"
    session.groups.create(group)
    try:
        _grant(session, "read", tree["obj"], group)
        with pytest.raises(CAT_NO_ACCESS_PERMISSION):
            _read(alice, tree["obj"])
        session.groups.get(group).addmember("alice")
        assert _read(alice, tree["obj"]) == b"secret bytes\n"
        _grant(session, "read", tree["coll"], group)
        assert _visible_names(alice, tree["coll"]) == {tree["obj"]}
    finally:
        try:
            session.groups.remove(group)
        except GroupDoesNotExist:
            pass


def test_only_an_owner_or_an_admin_in_admin_mode_changes_acls(
    zone: Zone, session: iRODSSession, alice: iRODSSession, tree: dict[str, str]
) -> None:
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        _grant(alice, "read", tree["obj"], "alice")
    _grant(session, "write", tree["obj"], "alice")
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):  # write is not own
        _grant(alice, "own", tree["obj"], "alice")
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):  # -M needs a rodsadmin
        _grant(alice, "own", tree["obj"], "alice", admin=True)
    _grant(session, "own", tree["obj"], "alice", admin=True)
    _grant(alice, "null", tree["obj"], "rods")  # an owner may even take the admin's access away
    assert _acls(session, tree["obj"]) == {("alice", "own")}


def test_proxy_access_sees_what_the_client_user_may_see(
    zone: Zone, session: iRODSSession, tree: dict[str, str]
) -> None:
    _grant(session, "read", tree["coll"], "alice")
    _grant(session, "read", tree["obj"], "alice")
    with zone.session(client_user=zone.rodsuser) as proxied:
        assert _visible_names(proxied, tree["coll"]) == {tree["obj"]}
        with pytest.raises(CAT_NO_ACCESS_PERMISSION):
            _read(proxied, tree["deep"])
    assert _visible_names(session, tree["coll"]) == {tree["obj"], tree["deep"]}
