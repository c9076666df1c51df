"""Contract tests: collections as python-irodsclient sees them on a real iRODS server."""

from __future__ import annotations

from pathlib import Path

import irods.exception as ex
import pytest
from irods.session import iRODSSession

from lz_ingest.irods_lite import errors as E
from lz_ingest.irods_lite.errors import IrodsError
from lz_ingest.irods_lite.namespace import create_collections
from lz_ingest.irods_lite.server import LiteServer
from tests.irods_fixtures import Zone

from ._contract import physical_file_exists, trash_cleanup, trash_of, write_file


def test_create_is_recursive_by_default(session: iRODSSession, coll: str) -> None:
    made = session.collections.create(f"{coll}/a/b/c")
    assert made.path == f"{coll}/a/b/c"
    assert made.name == "c"
    for p in (f"{coll}/a", f"{coll}/a/b", f"{coll}/a/b/c"):
        assert session.collections.exists(p)


def test_create_of_an_existing_collection_with_recurse_is_fine(session: iRODSSession, coll: str) -> None:
    session.collections.create(f"{coll}/again")
    assert session.collections.create(f"{coll}/again").path == f"{coll}/again"


def test_a_collection_made_by_another_client_between_look_and_insert_is_not_an_error(
    lite: LiteServer, coll: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers making the same missing parents at once: the second's look saw them missing, the first
    inserted them meanwhile. A recursive create then succeeds, as on a real server (CI saw irods-lite fail it
    with a UNIQUE constraint error, and the batch's file was lost to the next rescan)."""
    cat = lite.cat
    user = cat.user("rods")
    assert user is not None
    create_collections(cat, f"{coll}/race/a", user, recursive=True)  # the other client's create
    seen_missing = {f"{coll}/race", f"{coll}/race/a"}
    real_look = cat.collection
    monkeypatch.setattr(cat, "collection", lambda path: None if path in seen_missing else real_look(path))
    create_collections(cat, f"{coll}/race/a", user, recursive=True)
    seen_missing.discard(f"{coll}/race")  # a non-recursive create whose look saw only the collection missing
    with pytest.raises(IrodsError) as refused:
        create_collections(cat, f"{coll}/race/a", user, recursive=False)
    assert refused.value.code == E.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME


def test_create_without_recurse_under_a_missing_parent_fails(session: iRODSSession, coll: str) -> None:
    with pytest.raises(ex.iRODSException):
        session.collections.create(f"{coll}/missing/child", recurse=False)
    assert not session.collections.exists(f"{coll}/missing")


def test_create_where_a_data_object_exists_fails(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.data_objects.put(str(write_file(tmp_path / "x", b"x")), f"{coll}/x")
    with pytest.raises(ex.iRODSException):
        session.collections.create(f"{coll}/x")


def test_get_of_a_missing_collection_raises_collection_does_not_exist(session: iRODSSession, coll: str) -> None:
    with pytest.raises(ex.CollectionDoesNotExist):
        session.collections.get(f"{coll}/nope")
    assert not session.collections.exists(f"{coll}/nope")


def test_get_reports_id_owner_and_times(zone: Zone, session: iRODSSession, coll: str) -> None:
    c = session.collections.get(coll)
    assert c.path == coll
    assert c.owner_name == zone.admin
    assert c.owner_zone == zone.zone
    assert c.id > 0
    assert c.create_time is not None and c.modify_time is not None


def test_get_with_a_trailing_slash_normalizes_the_path(session: iRODSSession, coll: str) -> None:
    assert session.collections.get(coll + "/").path == coll


def test_a_data_object_path_is_not_a_collection(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.data_objects.put(str(write_file(tmp_path / "d", b"d")), f"{coll}/d")
    assert not session.collections.exists(f"{coll}/d")


def test_listing_shows_direct_subcollections_and_data_objects_only(
    session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    for sub in ("s1", "s2", "s2/deep"):
        session.collections.create(f"{coll}/{sub}")
    src = write_file(tmp_path / "f", b"f")
    for name in ("b.txt", "a.txt"):
        session.data_objects.put(str(src), f"{coll}/{name}")
    session.data_objects.put(str(src), f"{coll}/s2/inner.txt")
    c = session.collections.get(coll)
    assert sorted(s.name for s in c.subcollections) == ["s1", "s2"]
    assert sorted(s.path for s in c.subcollections) == [f"{coll}/s1", f"{coll}/s2"]
    assert sorted(o.name for o in c.data_objects) == ["a.txt", "b.txt"]
    assert {o.path for o in c.data_objects} == {f"{coll}/a.txt", f"{coll}/b.txt"}


def test_walk_visits_the_whole_tree(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.collections.create(f"{coll}/x/y")
    session.data_objects.put(str(write_file(tmp_path / "f", b"f")), f"{coll}/x/y/f")
    walked = {c.path: sorted(o.name for o in objs) for c, _, objs in session.collections.get(coll).walk()}
    assert walked == {coll: [], f"{coll}/x": [], f"{coll}/x/y": ["f"]}


def test_an_empty_collection_lists_nothing(session: iRODSSession, coll: str) -> None:
    c = session.collections.get(coll)
    assert c.subcollections == []
    assert c.data_objects == []


def test_move_renames_a_collection_with_its_contents(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.collections.create(f"{coll}/old/inner")
    session.data_objects.put(str(write_file(tmp_path / "f", b"content")), f"{coll}/old/inner/f")
    session.collections.move(f"{coll}/old", f"{coll}/new")
    assert not session.collections.exists(f"{coll}/old")
    assert session.collections.exists(f"{coll}/new/inner")
    with session.data_objects.open(f"{coll}/new/inner/f", "r") as fh:
        assert fh.read() == b"content"
    assert [s.name for s in session.collections.get(f"{coll}/new").subcollections] == ["inner"]


def test_move_into_an_existing_collection_nests_it(session: iRODSSession, coll: str) -> None:
    session.collections.create(f"{coll}/src")
    session.collections.create(f"{coll}/dst")
    session.collections.move(f"{coll}/src", f"{coll}/dst")
    assert session.collections.exists(f"{coll}/dst/src")
    assert not session.collections.exists(f"{coll}/src")


def test_move_does_not_touch_siblings_sharing_a_prefix(session: iRODSSession, coll: str) -> None:
    session.collections.create(f"{coll}/ab")
    session.collections.create(f"{coll}/abc/kid")
    session.collections.move(f"{coll}/ab", f"{coll}/zz")
    assert session.collections.exists(f"{coll}/abc/kid")
    assert session.collections.exists(f"{coll}/zz")


def test_remove_without_force_moves_the_tree_to_the_trash(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    session.collections.create(f"{coll}/doomed/sub")
    session.data_objects.put(str(write_file(tmp_path / "f", b"in trash")), f"{coll}/doomed/sub/f")
    with trash_cleanup(session, zone, coll):
        session.collections.remove(f"{coll}/doomed", recurse=True)
        assert not session.collections.exists(f"{coll}/doomed")
        trashed = trash_of(zone, f"{coll}/doomed")
        assert trashed.startswith(f"/{zone.zone}/trash/home/{zone.admin}/")
        assert session.collections.exists(f"{trashed}/sub")
        with session.data_objects.open(f"{trashed}/sub/f", "r") as fh:
            assert fh.read() == b"in trash"


def test_remove_with_force_deletes_the_tree_and_its_files(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    session.collections.create(f"{coll}/gone/sub")
    session.data_objects.put(str(write_file(tmp_path / "f", b"x")), f"{coll}/gone/sub/f")
    physical = session.data_objects.get(f"{coll}/gone/sub/f").replicas[0].path
    session.collections.remove(f"{coll}/gone", recurse=True, force=True)
    assert not session.collections.exists(f"{coll}/gone")
    assert not session.collections.exists(f"{coll}/gone/sub")
    assert not session.collections.exists(trash_of(zone, f"{coll}/gone"))
    assert physical_file_exists(zone, physical) in (False, None)


def test_remove_of_a_non_empty_collection_without_recurse_fails(
    session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    session.collections.create(f"{coll}/full")
    session.data_objects.put(str(write_file(tmp_path / "f", b"x")), f"{coll}/full/f")
    with pytest.raises(ex.CAT_COLLECTION_NOT_EMPTY):
        session.collections.remove(f"{coll}/full", recurse=False, force=True)
    assert session.data_objects.exists(f"{coll}/full/f")


def test_remove_of_an_empty_collection_without_recurse_succeeds(session: iRODSSession, coll: str) -> None:
    session.collections.create(f"{coll}/empty")
    session.collections.remove(f"{coll}/empty", recurse=False, force=True)
    assert not session.collections.exists(f"{coll}/empty")


def test_remove_of_a_missing_collection_fails(session: iRODSSession, coll: str) -> None:
    with pytest.raises(ex.iRODSException):
        session.collections.remove(f"{coll}/never", recurse=True, force=True)
