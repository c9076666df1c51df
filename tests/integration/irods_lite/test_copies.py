"""Contract: replicas and copies made from existing bytes (replicate, copy, truncate, replica_truncate) and
writes through a replication resource, as a 4.3 server makes them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from irods import keywords as kw
from irods.exception import OVERWRITE_WITHOUT_FORCE_FLAG, USER_INPUT_PATH_ERR
from irods.session import iRODSSession

from tests.irods_fixtures import Zone

from ._contract import write_file


def _read(s: iRODSSession, path: str, **options: str) -> bytes:
    with s.data_objects.open(path, "r", **options) as fh:
        return fh.read()


@pytest.fixture
def obj(session: iRODSSession, coll: str, tmp_path: Path) -> str:
    path = f"{coll}/src.bin"
    session.data_objects.put(str(write_file(tmp_path / "src", b"0123456789")), path, **{kw.REG_CHKSUM_KW: ""})
    return path


def test_replicate_makes_a_good_copy_and_brings_a_stale_one_up_to_date(
    zone: Zone, session: iRODSSession, obj: str, tmp_path: Path
) -> None:
    assert zone.second_resource is not None
    session.data_objects.replicate(obj, zone.second_resource)
    replicas = {r.resource_name: r for r in session.data_objects.get(obj).replicas}
    second = replicas[zone.second_resource]
    assert (second.number, second.status, second.size) == (1, "1", 10)
    assert second.checksum == replicas["demoResc"].checksum
    assert _read(session, obj, **{kw.RESC_NAME_KW: zone.second_resource}) == b"0123456789"
    with session.data_objects.open(obj, "w", **{kw.DEST_RESC_NAME_KW: "demoResc"}) as fh:
        fh.write(b"new bytes")
    statuses = {r.resource_name: r.status for r in session.data_objects.get(obj).replicas}
    assert statuses == {"demoResc": "1", zone.second_resource: "0"}
    session.data_objects.replicate(obj, zone.second_resource)  # updates the stale replica in place
    replicas = {r.resource_name: r for r in session.data_objects.get(obj).replicas}
    assert len(replicas) == 2 and replicas[zone.second_resource].status == "1"
    assert _read(session, obj, **{kw.RESC_NAME_KW: zone.second_resource}) == b"new bytes"


def test_copy_makes_a_new_object_and_needs_force_to_overwrite(session: iRODSSession, obj: str, coll: str) -> None:
    session.data_objects.copy(obj, f"{coll}/dst.bin")
    assert _read(session, f"{coll}/dst.bin") == b"0123456789"
    assert session.data_objects.get(f"{coll}/dst.bin").id != session.data_objects.get(obj).id
    with pytest.raises(OVERWRITE_WITHOUT_FORCE_FLAG):
        session.data_objects.copy(obj, f"{coll}/dst.bin")
    session.data_objects.copy(obj, f"{coll}/dst.bin", **{kw.FORCE_FLAG_KW: ""})
    with pytest.raises(USER_INPUT_PATH_ERR):
        session.data_objects.copy("relative.bin", f"{coll}/x.bin")


def test_truncate_and_replica_truncate(zone: Zone, session: iRODSSession, obj: str) -> None:
    session.data_objects.truncate(obj, 4)
    assert _read(session, obj) == b"0123"
    assert session.data_objects.get(obj).size == 4
    if session.server_version < (4, 3, 3):
        pytest.skip("python-irodsclient sends replica_truncate to 4.3.3 and newer only")
    assert zone.second_resource is not None
    session.data_objects.replicate(obj, zone.second_resource)
    result = session.data_objects.replica_truncate(obj, 2, **{kw.RESC_NAME_KW: zone.second_resource})
    assert result["resource_hierarchy"] == zone.second_resource
    sizes = {r.resource_name: (r.size, r.status) for r in session.data_objects.get(obj).replicas}
    assert sizes == {"demoResc": (4, "0"), zone.second_resource: (2, "1")}


def test_a_write_through_a_replication_resource_reaches_every_leaf(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    if zone.lite is None:
        pytest.skip("builds resources with vaults on this machine")
    root = f"repl{uuid.uuid4().hex[:6]}"
    leaves = [f"{root}leaf{i}" for i in range(3)]
    session.resources.create(root, "replication")
    for leaf in leaves:
        session.resources.create(leaf, "unixfilesystem", host="localhost", path=str(tmp_path / leaf))
        session.resources.add_child(root, leaf)
    try:
        path = f"{coll}/fan.bin"
        session.data_objects.put(str(write_file(tmp_path / "fan", b"everywhere")), path, **{kw.DEST_RESC_NAME_KW: root})
        replicas = session.data_objects.get(path).replicas
        assert sorted(r.resc_hier for r in replicas) == sorted(f"{root};{leaf}" for leaf in leaves)
        assert all(r.status == "1" and Path(r.path).read_bytes() == b"everywhere" for r in replicas)
        session.data_objects.unlink(path, force=True)
    finally:
        for leaf in leaves:
            session.resources.remove_child(root, leaf)
            session.resources.remove(leaf)
        session.resources.remove(root)
