"""Contract: resource hierarchies, where replicas land, and path-length limits, as on a stock 4.3 server.

On irods-lite the hierarchy is treeRoot (random) -> treeMid (passthru) -> treeLeaf (unixfilesystem), plus
the standalone leaves demoResc and secondResc; a real zone names its own in LZ_TEST_HIERARCHY and
LZ_TEST_SECOND_RESOURCE.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from irods import keywords as kw
from irods.exception import (
    DIRECT_CHILD_ACCESS,
    HIERARCHY_ERROR,
    SYS_RESC_DOES_NOT_EXIST,
    USER_PACKSTRUCT_INPUT_ERR,
    iRODSException,
)
from irods.session import iRODSSession

from tests.irods_fixtures import Zone

MAX_NAME_LEN = 1088  # rodsDef.h


@pytest.fixture
def tree(zone: Zone) -> tuple[str, str, str]:
    if zone.hierarchy is None:
        pytest.skip("needs LZ_TEST_HIERARCHY on a real zone")
    root, middle, leaf = zone.hierarchy
    return root, middle, leaf


@pytest.fixture
def second(zone: Zone) -> str:
    if zone.second_resource is None:
        pytest.skip("needs LZ_TEST_SECOND_RESOURCE on a real zone")
    return zone.second_resource


@pytest.fixture
def phys(tmp_path: Path) -> Path:
    """A file outside every vault, to register."""
    path = tmp_path / "outside" / "f.bin"
    path.parent.mkdir()
    path.write_bytes(b"0123456789" * 10)
    return path


def _replica_hier(session: iRODSSession, path: str, number: int = 0) -> str:
    replicas = {r.number: r for r in session.data_objects.get(path).replicas}
    return replicas[number].resc_hier


# ---- register -----------------------------------------------------------------------------------


def test_register_to_a_leaf_records_the_whole_hierarchy(
    session: iRODSSession, coll: str, tree: tuple[str, str, str], phys: Path
) -> None:
    # register_physical_path.cpp: a leaf (parent, no child) is resolved up to its root.
    session.data_objects.register(str(phys), f"{coll}/leaf.bin", **{kw.DEST_RESC_NAME_KW: tree[2]})
    obj = session.data_objects.get(f"{coll}/leaf.bin")
    assert obj.replicas[0].resc_hier == ";".join(tree)
    assert obj.replicas[0].path == str(phys)
    assert obj.size == phys.stat().st_size


def test_register_to_a_middle_resource_is_hierarchy_error(
    session: iRODSSession, coll: str, tree: tuple[str, str, str], phys: Path
) -> None:
    # register_physical_path.cpp rs_register_physical_path: has_parent && has_child -> HIERARCHY_ERROR.
    with pytest.raises(HIERARCHY_ERROR):
        session.data_objects.register(str(phys), f"{coll}/mid.bin", **{kw.DEST_RESC_NAME_KW: tree[1]})
    assert not session.data_objects.exists(f"{coll}/mid.bin")


def test_register_to_a_root_resource_picks_a_leaf(
    session: iRODSSession, coll: str, tree: tuple[str, str, str], phys: Path
) -> None:
    session.data_objects.register(str(phys), f"{coll}/root.bin", **{kw.DEST_RESC_NAME_KW: tree[0]})
    assert _replica_hier(session, f"{coll}/root.bin") == ";".join(tree)


def test_register_to_an_unknown_resource_is_refused(session: iRODSSession, coll: str, phys: Path) -> None:
    # irods_resource_manager.cpp resolve: SYS_RESC_DOES_NOT_EXIST.
    with pytest.raises(SYS_RESC_DOES_NOT_EXIST):
        session.data_objects.register(str(phys), f"{coll}/x.bin", **{kw.DEST_RESC_NAME_KW: "noSuchResc"})
    assert not session.data_objects.exists(f"{coll}/x.bin")


def test_regrepl_adds_a_second_replica_on_another_resource(
    session: iRODSSession, coll: str, tree: tuple[str, str, str], second: str, phys: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.bin"
    copy.write_bytes(phys.read_bytes())
    path = f"{coll}/two.bin"
    session.data_objects.register(str(phys), path, **{kw.DEST_RESC_NAME_KW: tree[2]})
    session.data_objects.register(str(copy), path, **{kw.DEST_RESC_NAME_KW: second, kw.REG_REPL_KW: ""})
    replicas = {r.number: r for r in session.data_objects.get(path).replicas}
    assert sorted(replicas) == [0, 1]
    assert replicas[0].resc_hier == ";".join(tree)
    assert replicas[1].resc_hier == second
    assert replicas[1].resource_name == second
    assert replicas[1].path == str(copy)


# ---- put / open ---------------------------------------------------------------------------------


def test_put_to_a_root_resource_records_the_hierarchy(
    session: iRODSSession, coll: str, tree: tuple[str, str, str], phys: Path
) -> None:
    session.data_objects.put(str(phys), f"{coll}/put.bin", **{kw.DEST_RESC_NAME_KW: tree[0]})
    obj = session.data_objects.get(f"{coll}/put.bin")
    assert obj.replicas[0].resc_hier == ";".join(tree)
    with obj.open("r") as fh:
        assert fh.read() == phys.read_bytes()


def test_open_for_write_on_a_root_resource_records_the_hierarchy(
    session: iRODSSession, coll: str, tree: tuple[str, str, str]
) -> None:
    path = f"{coll}/opened.bin"
    with session.data_objects.open(path, "w", **{kw.DEST_RESC_NAME_KW: tree[0]}) as fh:
        fh.write(b"streamed")
    assert _replica_hier(session, path) == ";".join(tree)
    assert session.data_objects.get(path).size == len(b"streamed")


@pytest.mark.parametrize("level", [1, 2], ids=["middle", "leaf"])
def test_put_to_a_child_resource_is_direct_child_access(
    session: iRODSSession, coll: str, tree: tuple[str, str, str], phys: Path, level: int
) -> None:
    # irods_resource_redirect.cpp get_keyword_from_inp: a named resource with a parent ->
    # DIRECT_CHILD_ACCESS; writes must name a root and let the hierarchy vote.
    with pytest.raises(DIRECT_CHILD_ACCESS):
        session.data_objects.put(str(phys), f"{coll}/child.bin", **{kw.DEST_RESC_NAME_KW: tree[level]})
    assert not session.data_objects.exists(f"{coll}/child.bin")


def test_open_for_write_on_a_leaf_is_direct_child_access(
    session: iRODSSession, coll: str, tree: tuple[str, str, str]
) -> None:
    with pytest.raises(DIRECT_CHILD_ACCESS):
        session.data_objects.open(f"{coll}/child.bin", "w", **{kw.DEST_RESC_NAME_KW: tree[2]})


def test_put_to_an_unknown_resource_is_refused(session: iRODSSession, coll: str, phys: Path) -> None:
    with pytest.raises(SYS_RESC_DOES_NOT_EXIST):
        session.data_objects.put(str(phys), f"{coll}/x.bin", **{kw.DEST_RESC_NAME_KW: "noSuchResc"})
    assert not session.data_objects.exists(f"{coll}/x.bin")


def test_each_leaf_keeps_replicas_in_its_own_vault(
    zone: Zone, session: iRODSSession, coll: str, tree: tuple[str, str, str], second: str, phys: Path
) -> None:
    paths = {}
    for name, target in ((tree[0], tree[2]), (second, second)):
        logical = f"{coll}/in-{name}.bin"
        session.data_objects.put(str(phys), logical, **{kw.DEST_RESC_NAME_KW: name})
        replica = session.data_objects.get(logical).replicas[0]
        vault = session.resources.get(target).vault_path
        assert replica.path.startswith(vault.rstrip("/") + "/")
        assert zone.lite is None or Path(replica.path).read_bytes() == phys.read_bytes()
        paths[target] = replica.path
        if zone.lite is not None:
            assert Path(replica.path).is_relative_to(zone.lite.data_dir)
    assert paths[tree[2]] != paths[second]


# ---- path lengths -------------------------------------------------------------------------------


def _long_logical(coll: str, total: int) -> str:
    """A path of exactly `total` bytes under coll, in components short enough for any file system."""
    path = coll
    while len(path) < total:
        room = total - len(path) - 1
        path += "/" + "d" * min(100, max(room, 1))
    assert len(path.encode()) == total, len(path)
    return path


def test_logical_path_of_max_name_len_bytes_is_refused(session: iRODSSession, coll: str) -> None:
    # objPath / collName are `str ...[MAX_NAME_LEN]` in DataObjInp_PI / CollInpNew_PI (rodsPackInstruct.h);
    # packStruct.cpp unpackXmlString refuses a string of >= MAX_NAME_LEN bytes (it needs its NUL) with
    # USER_PACKSTRUCT_INPUT_ERR, which rsApiHandler.cpp sends back before any handler runs.
    with pytest.raises(USER_PACKSTRUCT_INPUT_ERR):
        session.collections.create(_long_logical(coll, MAX_NAME_LEN), recurse=True)
    with pytest.raises(USER_PACKSTRUCT_INPUT_ERR):
        session.collections.create(_long_logical(coll, MAX_NAME_LEN + 200), recurse=True)


def test_logical_path_just_under_max_name_len_is_accepted(session: iRODSSession, coll: str) -> None:
    path = _long_logical(coll, MAX_NAME_LEN - 1)
    session.collections.create(path, recurse=True)
    assert session.collections.exists(path)


def test_register_to_an_overlong_logical_path_is_refused(session: iRODSSession, coll: str, phys: Path) -> None:
    target = _long_logical(coll, MAX_NAME_LEN + 100)
    with pytest.raises(USER_PACKSTRUCT_INPUT_ERR):
        session.data_objects.register(str(phys), target)


def test_put_to_an_overlong_logical_path_is_refused(session: iRODSSession, coll: str, phys: Path) -> None:
    # The open (602) is refused as above; PRC's queries before it may already fail on a real server.
    with pytest.raises(iRODSException):
        session.data_objects.put(str(phys), _long_logical(coll, MAX_NAME_LEN + 100))


def test_register_of_an_overlong_physical_path_is_refused(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    # filePath travels in the KeyValPair (unbounded), but register_physical_path.cpp copies it into a
    # char[MAX_NAME_LEN] with rstrcpy, which truncates: a real server then fails to stat the truncated
    # path (UNIX_FILE_STAT_ERR) when no dataSize is given. irods-lite refuses it outright. Either way: error.
    deep = tmp_path
    while len(str(deep)) < MAX_NAME_LEN + 100:
        deep = deep / ("p" * 120)
    deep.mkdir(parents=True)
    target = deep / "f.bin"
    target.write_bytes(b"x")
    with pytest.raises(iRODSException):
        session.data_objects.register(str(target), f"{coll}/deep.bin")
    assert not session.data_objects.exists(f"{coll}/deep.bin")
