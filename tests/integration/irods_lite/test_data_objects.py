"""Contract tests: data objects as python-irodsclient sees them on a real iRODS server.

Each test pins one behaviour of a stock iRODS 4.3 / 4.2 server. They run against irods-lite (both reported
versions) and, with IRODS_* set, against a real zone (see tests/irods_fixtures.py).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import irods.exception as ex
import irods.keywords as kw
import pytest
from irods.manager.data_object_manager import Server_Checksum_Warning
from irods.message import RErrorStack
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from tests.irods_fixtures import Zone

from ._contract import needs_shared_filesystem, physical_file_exists, trash_cleanup, trash_of, write_file

MIB = 1024 * 1024


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def replica_rows(session: iRODSSession, path: str) -> dict[int, dict[str, object]]:
    """Every replica of path straight from the catalog: number -> status, size, checksum, mtime, path."""
    parent, name = path.rsplit("/", 1)
    q = session.query(
        DataObject.replica_number,
        DataObject.replica_status,
        DataObject.size,
        DataObject.checksum,
        DataObject.modify_time,
        DataObject.path,
        DataObject.resource_name,
    ).filter(Collection.name == parent, DataObject.name == name)
    return {
        r[DataObject.replica_number]: {
            "status": r[DataObject.replica_status],
            "size": r[DataObject.size],
            "checksum": r[DataObject.checksum] or "",
            "mtime": r[DataObject.modify_time],
            "path": r[DataObject.path],
            "resource": r[DataObject.resource_name],
        }
        for r in q
    }


def two_replicas(zone: Zone, session: iRODSSession, path: str, tmp_path: Path, data: bytes) -> None:
    """A data object with replica 0 on the default resource and replica 1 registered on a second one."""
    needs_shared_filesystem(zone)
    if zone.second_resource is None:
        pytest.skip("needs LZ_TEST_SECOND_RESOURCE")
    session.data_objects.put(str(write_file(tmp_path / "r0", data)), path)
    session.data_objects.register(
        str(write_file(tmp_path / "r1", data)),
        path,
        **{kw.REG_REPL_KW: "", kw.RESC_NAME_KW: zone.second_resource},
    )


# ---- put / get --------------------------------------------------------------------------------


def test_put_then_get_to_a_local_file_is_byte_identical(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    data = bytes(range(256)) * 40 + b"\0tail"
    session.data_objects.put(str(write_file(tmp_path / "in.bin", data)), f"{coll}/a.bin")
    session.data_objects.get(f"{coll}/a.bin", str(tmp_path / "out.bin"))
    assert (tmp_path / "out.bin").read_bytes() == data
    obj = session.data_objects.get(f"{coll}/a.bin")
    assert obj.size == len(data)
    assert obj.replicas[0].status == "1"


def test_put_of_an_empty_file_creates_an_empty_good_replica(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.data_objects.put(str(write_file(tmp_path / "empty", b"")), f"{coll}/empty")
    obj = session.data_objects.get(f"{coll}/empty")
    assert obj.size == 0
    assert [r.status for r in obj.replicas] == ["1"]


def test_put_into_a_collection_path_uses_the_local_basename(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.data_objects.put(str(write_file(tmp_path / "named.txt", b"x")), coll)
    assert session.data_objects.exists(f"{coll}/named.txt")


def test_put_over_an_existing_object_without_force_raises_overwrite_without_force_flag(
    session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    src = write_file(tmp_path / "o.txt", b"first")
    session.data_objects.put(str(src), f"{coll}/o.txt")
    # PRC 3.x forces puts by default (client_configuration data_objects.force_put_by_default);
    # forceFlag=False asks for the classic refusal, which PRC raises after checking the object exists.
    with pytest.raises(ex.OVERWRITE_WITHOUT_FORCE_FLAG):
        session.data_objects.put(str(write_file(src, b"second")), f"{coll}/o.txt", **{kw.FORCE_FLAG_KW: False})
    with session.data_objects.open(f"{coll}/o.txt", "r") as fh:
        assert fh.read() == b"first"
    session.data_objects.put(str(src), f"{coll}/o.txt")
    with session.data_objects.open(f"{coll}/o.txt", "r") as fh:
        assert fh.read() == b"second"


def test_get_onto_an_existing_local_file_without_force_raises_overwrite_without_force_flag(
    session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    session.data_objects.put(str(write_file(tmp_path / "g.txt", b"remote")), f"{coll}/g.txt")
    local = write_file(tmp_path / "local.txt", b"local")
    with pytest.raises(ex.OVERWRITE_WITHOUT_FORCE_FLAG):
        session.data_objects.get(f"{coll}/g.txt", str(local))
    session.data_objects.get(f"{coll}/g.txt", str(local), **{kw.FORCE_FLAG_KW: ""})
    assert local.read_bytes() == b"remote"


def test_put_with_reg_chksum_records_the_sha2_checksum(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    data = b"checksum me\n" * 100
    session.data_objects.put(str(write_file(tmp_path / "c", data)), f"{coll}/c", **{kw.REG_CHKSUM_KW: ""})
    obj = session.data_objects.get(f"{coll}/c")
    assert obj.checksum == sha2(data)
    assert obj.replicas[0].checksum == sha2(data)


def test_put_without_reg_chksum_records_no_checksum(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.data_objects.put(str(write_file(tmp_path / "n", b"no sum")), f"{coll}/n")
    assert not session.data_objects.get(f"{coll}/n").checksum


def test_put_of_40_mib_with_one_thread_stores_every_byte(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    data = os.urandom(40 * MIB)
    src = write_file(tmp_path / "big1", data)
    if zone.lite:
        zone.lite.reset_counts()
    session.data_objects.put(str(src), f"{coll}/big1", num_threads=1)
    if zone.lite:
        assert zone.lite.call_counts().get(20000, 0) == 0  # num_threads=1: the single-stream path
    obj = session.data_objects.get(f"{coll}/big1")
    assert obj.size == len(data)
    assert session.data_objects.chksum(f"{coll}/big1") == sha2(data)


# ---- open / read / write / seek ---------------------------------------------------------------


def test_large_writes_at_offsets_mixed_with_small_ones_store_every_byte(session: iRODSSession, coll: str) -> None:
    first, second, small = os.urandom(3 * MIB), os.urandom(2 * MIB + 7), b"small tail"
    path = f"{coll}/mixed.bin"
    with session.data_objects.open(path, "w") as fh:
        fh.raw.write(first)  # unbuffered: one write request each
        fh.raw.write(small)
        fh.raw.seek(MIB + 3)
        fh.raw.write(second)
        fh.raw.write(small)
    expected = bytearray(first + small)
    expected[MIB + 3 : MIB + 3 + len(second)] = second
    expected[MIB + 3 + len(second) : MIB + 3 + len(second) + len(small)] = small
    with session.data_objects.open(path, "r") as fh:
        assert fh.read() == bytes(expected)
    assert session.data_objects.get(path).size == len(expected)


def test_a_refused_large_write_leaves_the_connection_usable(session: iRODSSession, coll: str) -> None:
    path = f"{coll}/readonly.bin"
    with session.data_objects.open(path, "w") as fh:
        fh.write(b"0123456789")
    with session.data_objects.open(path, "r") as fh:
        with pytest.raises(ex.iRODSException):
            fh.raw.conn.write_file(fh.raw.desc, os.urandom(3 * MIB))  # open for reading: refused
        assert fh.read() == b"0123456789"  # the same connection, still in step with the server


def test_open_w_creates_and_truncates(session: iRODSSession, coll: str) -> None:
    path = f"{coll}/w.txt"
    with session.data_objects.open(path, "w") as fh:
        fh.write(b"0123456789")
    with session.data_objects.open(path, "w") as fh:
        fh.write(b"abc")
    with session.data_objects.open(path, "r") as fh:
        assert fh.read() == b"abc"
    assert session.data_objects.get(path).size == 3


def test_open_a_appends_at_the_end(session: iRODSSession, coll: str) -> None:
    path = f"{coll}/a.txt"
    with session.data_objects.open(path, "w") as fh:
        fh.write(b"head-")
    with session.data_objects.open(path, "a") as fh:
        fh.write(b"tail")
    with session.data_objects.open(path, "r") as fh:
        assert fh.read() == b"head-tail"
    assert session.data_objects.get(path).size == 9


def test_open_r_plus_overwrites_in_place_without_truncating(session: iRODSSession, coll: str) -> None:
    path = f"{coll}/rp.txt"
    with session.data_objects.open(path, "w") as fh:
        fh.write(b"0123456789")
    with session.data_objects.open(path, "r+") as fh:
        fh.seek(3)
        fh.write(b"XYZ")
    with session.data_objects.open(path, "r") as fh:
        assert fh.read() == b"012XYZ6789"
    assert session.data_objects.get(path).size == 10


def test_open_r_reads_seeks_and_tells(session: iRODSSession, coll: str) -> None:
    path = f"{coll}/seek.bin"
    with session.data_objects.open(path, "w") as fh:
        fh.write(bytes(range(100)))
    with session.data_objects.open(path, "r") as fh:
        assert fh.read(10) == bytes(range(10))
        fh.seek(50)
        assert fh.tell() == 50
        assert fh.read(5) == bytes(range(50, 55))
        fh.seek(-10, io.SEEK_END)
        assert fh.read() == bytes(range(90, 100))
        fh.seek(0)
        assert fh.read() == bytes(range(100))


def test_open_r_of_a_missing_object_raises_does_not_exist(session: iRODSSession, coll: str) -> None:
    with pytest.raises((ex.DataObjectDoesNotExist, ex.CAT_UNKNOWN_FILE, ex.OBJ_PATH_DOES_NOT_EXIST)):
        session.data_objects.open(f"{coll}/missing", "r")


def test_open_w_in_a_missing_collection_fails(session: iRODSSession, coll: str) -> None:
    with pytest.raises(ex.iRODSException), session.data_objects.open(f"{coll}/no/such/x", "w") as fh:
        fh.write(b"x")


# ---- register ---------------------------------------------------------------------------------


def test_register_with_data_size_and_data_modify_records_them(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    needs_shared_filesystem(zone)
    src = write_file(tmp_path / "reg.bin", b"12345")
    session.data_objects.register(
        str(src), f"{coll}/reg.bin", **{kw.DATA_SIZE_KW: "5", kw.DATA_MODIFY_KW: "1500000000"}
    )
    obj = session.data_objects.get(f"{coll}/reg.bin")
    assert obj.size == 5
    assert obj.modify_time == datetime.fromtimestamp(1500000000, UTC)
    assert obj.replicas[0].path == str(src)
    assert obj.replicas[0].status == "1"
    with obj.open("r") as fh:
        assert fh.read() == b"12345"


def test_register_without_size_stats_the_file(zone: Zone, session: iRODSSession, coll: str, tmp_path: Path) -> None:
    needs_shared_filesystem(zone)
    src = write_file(tmp_path / "stat.bin", b"x" * 777)
    os.utime(src, (1600000000, 1600000000))
    session.data_objects.register(str(src), f"{coll}/stat.bin")
    obj = session.data_objects.get(f"{coll}/stat.bin")
    assert obj.size == 777
    assert obj.modify_time == datetime.fromtimestamp(1600000000, UTC)
    assert not obj.checksum


@pytest.mark.parametrize("keyword", [kw.REG_CHKSUM_KW, kw.VERIFY_CHKSUM_KW])
def test_register_with_a_checksum_keyword_records_the_checksum(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path, keyword: str
) -> None:
    needs_shared_filesystem(zone)
    data = b"register and checksum"
    src = write_file(tmp_path / "rc.bin", data)
    session.data_objects.register(str(src), f"{coll}/rc.bin", **{keyword: ""})
    assert session.data_objects.get(f"{coll}/rc.bin").checksum == sha2(data)


def test_register_over_an_existing_object_fails(zone: Zone, session: iRODSSession, coll: str, tmp_path: Path) -> None:
    needs_shared_filesystem(zone)
    src = write_file(tmp_path / "dup.bin", b"d")
    session.data_objects.register(str(src), f"{coll}/dup.bin")
    with pytest.raises(ex.iRODSException):
        session.data_objects.register(str(src), f"{coll}/dup.bin")


def test_register_a_second_replica_with_reg_repl(zone: Zone, session: iRODSSession, coll: str, tmp_path: Path) -> None:
    two_replicas(zone, session, f"{coll}/two", tmp_path, b"same bytes")
    rows = replica_rows(session, f"{coll}/two")
    assert sorted(rows) == [0, 1]
    assert rows[1]["resource"] == zone.second_resource
    assert rows[1]["path"] == str(tmp_path / "r1")
    assert {r["status"] for r in rows.values()} == {"1"}


# ---- modDataObjMeta ---------------------------------------------------------------------------


def test_mod_data_obj_meta_without_a_replica_changes_every_replica(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    path = f"{coll}/mod"
    two_replicas(zone, session, path, tmp_path, b"0123456789")
    session.data_objects.modDataObjMeta(
        {"objPath": path}, {kw.DATA_SIZE_KW: "4", kw.DATA_MODIFY_KW: "1400000000", kw.CHKSUM_KW: "sha2:AAAA"}
    )
    rows = replica_rows(session, path)
    assert {r["size"] for r in rows.values()} == {4}
    assert {r["checksum"] for r in rows.values()} == {"sha2:AAAA"}
    assert {r["mtime"] for r in rows.values()} == {datetime.fromtimestamp(1400000000, UTC)}


def test_mod_data_obj_meta_with_repl_num_changes_only_that_replica(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    path = f"{coll}/mod1"
    two_replicas(zone, session, path, tmp_path, b"0123456789")
    session.data_objects.modDataObjMeta({"objPath": path, "replNum": 1}, {kw.DATA_SIZE_KW: "3", kw.REPL_STATUS_KW: "0"})
    rows = replica_rows(session, path)
    assert (rows[0]["size"], rows[0]["status"]) == (10, "1")
    assert (rows[1]["size"], rows[1]["status"]) == (3, "0")


def test_mod_data_obj_meta_sets_repl_status_and_checksum(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    path = f"{coll}/st"
    session.data_objects.put(str(write_file(tmp_path / "st", b"abc")), path)
    session.data_objects.modDataObjMeta(
        {"objPath": path, "replNum": 0}, {kw.REPL_STATUS_KW: "0", kw.CHKSUM_KW: sha2(b"abc")}
    )
    rows = replica_rows(session, path)
    assert rows[0]["status"] == "0"
    assert rows[0]["checksum"] == sha2(b"abc")


def test_mod_data_obj_meta_of_a_missing_object_fails(session: iRODSSession, coll: str) -> None:
    with pytest.raises(ex.iRODSException):
        session.data_objects.modDataObjMeta({"objPath": f"{coll}/nope"}, {kw.DATA_SIZE_KW: "1"})


# ---- checksums --------------------------------------------------------------------------------


def test_chksum_computes_records_and_returns_sha2(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    data = b"hello checksum"
    session.data_objects.put(str(write_file(tmp_path / "k", data)), f"{coll}/k")
    assert session.data_objects.chksum(f"{coll}/k") == sha2(data)
    assert session.data_objects.get(f"{coll}/k").checksum == sha2(data)


def test_chksum_verify_of_an_unchanged_replica_succeeds(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.data_objects.put(str(write_file(tmp_path / "v", b"fine")), f"{coll}/v", **{kw.REG_CHKSUM_KW: ""})
    stack = RErrorStack()
    session.data_objects.chksum(f"{coll}/v", r_error=stack, **{kw.VERIFY_CHKSUM_KW: ""})  # no exception
    assert len(stack) == 0


def test_chksum_verify_of_a_replica_without_checksum_warns(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.data_objects.put(str(write_file(tmp_path / "w", b"no sum")), f"{coll}/w")
    with pytest.raises(Server_Checksum_Warning) as info:
        session.data_objects.chksum(f"{coll}/w", r_error=RErrorStack(), **{kw.VERIFY_CHKSUM_KW: ""})
    assert [e["error_code"] for e in info.value.response] == [ex.CAT_NO_CHECKSUM_FOR_REPLICA.code]
    assert not session.data_objects.get(f"{coll}/w").checksum  # verification never computes one


def test_chksum_verify_of_a_changed_file_reports_a_checksum_mismatch(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    # 4.2.11+ verification mode (rsDataObjChksum.cpp do_verification): the server answers
    # CHECK_VERIFICATION_RESULTS with a JSON list in myStr; PRC turns that into Server_Checksum_Warning.
    needs_shared_filesystem(zone)
    src = write_file(tmp_path / "chg", b"original")
    session.data_objects.register(str(src), f"{coll}/chg", **{kw.REG_CHKSUM_KW: ""})
    src.write_bytes(b"ORIGINAL")  # same size, other bytes
    # PRC needs an RErrorStack passed as r_error to report the warning (as its own tests do).
    stack = RErrorStack()
    with pytest.raises(Server_Checksum_Warning) as info:
        session.data_objects.chksum(f"{coll}/chg", r_error=stack, **{kw.VERIFY_CHKSUM_KW: ""})
    codes = [entry["error_code"] for entry in info.value.response]
    assert ex.USER_CHKSUM_MISMATCH.code in codes
    assert len(stack) >= 1
    # verification never updates the catalog
    assert session.data_objects.get(f"{coll}/chg").checksum == sha2(b"original")


def test_chksum_force_recomputes_a_stored_checksum(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    needs_shared_filesystem(zone)
    src = write_file(tmp_path / "f", b"one")
    session.data_objects.register(str(src), f"{coll}/f", **{kw.REG_CHKSUM_KW: ""})
    src.write_bytes(b"two")
    assert session.data_objects.chksum(f"{coll}/f") == sha2(b"one")  # the stored value
    assert session.data_objects.chksum(f"{coll}/f", **{kw.FORCE_CHKSUM_KW: ""}) == sha2(b"two")


# ---- replicas ---------------------------------------------------------------------------------


def test_overwriting_one_replica_leaves_it_good_and_the_other_stale(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    path = f"{coll}/repl"
    two_replicas(zone, session, path, tmp_path, b"version one")
    assert zone.second_resource is not None
    session.data_objects.put(
        str(write_file(tmp_path / "v2", b"version two!")),
        path,
        **{kw.FORCE_FLAG_KW: "", kw.DEST_RESC_NAME_KW: zone.second_resource},
    )
    obj = session.data_objects.get(path)
    by_number = {r.number: r for r in obj.replicas}
    assert sorted(by_number) == [0, 1]
    assert (by_number[1].status, by_number[1].size) == ("1", 12)
    assert (by_number[0].status, by_number[0].size) == ("0", 11)
    with session.data_objects.open(path, "r") as fh:  # a read picks the good replica
        assert fh.read() == b"version two!"


# ---- unlink, unregister, trim -----------------------------------------------------------------


def test_unlink_without_force_moves_the_object_to_the_trash(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    session.data_objects.put(str(write_file(tmp_path / "t", b"trash me")), f"{coll}/t")
    with trash_cleanup(session, zone, coll):
        session.data_objects.unlink(f"{coll}/t")
        assert not session.data_objects.exists(f"{coll}/t")
        trashed = session.data_objects.get(trash_of(zone, f"{coll}/t"))
        assert trashed.size == 8
        assert trashed.path.startswith(f"/{zone.zone}/trash/home/{zone.admin}/")
        with trashed.open("r") as fh:
            assert fh.read() == b"trash me"


def test_unlink_with_force_deletes_the_object_and_its_file(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    session.data_objects.put(str(write_file(tmp_path / "f", b"gone")), f"{coll}/f")
    physical = session.data_objects.get(f"{coll}/f").replicas[0].path
    assert physical_file_exists(zone, physical) in (True, None)
    session.data_objects.unlink(f"{coll}/f", force=True)
    assert not session.data_objects.exists(f"{coll}/f")
    assert not session.data_objects.exists(trash_of(zone, f"{coll}/f"))
    assert physical_file_exists(zone, physical) in (False, None)


def test_unlink_of_a_missing_object_fails(session: iRODSSession, coll: str) -> None:
    with pytest.raises(ex.iRODSException):
        session.data_objects.unlink(f"{coll}/never", force=True)


def test_unregister_removes_the_catalog_entry_and_keeps_the_file(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    needs_shared_filesystem(zone)
    src = write_file(tmp_path / "keep", b"keep me")
    session.data_objects.register(str(src), f"{coll}/keep")
    session.data_objects.unregister(f"{coll}/keep")
    assert not session.data_objects.exists(f"{coll}/keep")
    assert src.read_bytes() == b"keep me"


def test_unregister_of_one_replica_trims_it_and_keeps_its_file(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    path = f"{coll}/trim"
    two_replicas(zone, session, path, tmp_path, b"trim one")
    # A trim keeps DEF_MIN_COPY_CNT (2) replicas unless told otherwise (rsDataObjTrim.cpp): copies=1.
    session.data_objects.unregister(path, **{kw.REPL_NUM_KW: "1", kw.COPIES_KW: "1"})
    assert sorted(replica_rows(session, path)) == [0]
    assert (tmp_path / "r1").read_bytes() == b"trim one"


def test_trim_keeps_two_replicas_by_default(zone: Zone, session: iRODSSession, coll: str, tmp_path: Path) -> None:
    # rsDataObjTrim.cpp: with as many replicas as DEF_MIN_COPY_CNT (2), nothing is trimmed and no error.
    path = f"{coll}/keep2"
    two_replicas(zone, session, path, tmp_path, b"two stay")
    session.data_objects.unregister(path, **{kw.REPL_NUM_KW: "1"})
    assert sorted(replica_rows(session, path)) == [0, 1]


def test_trim_refuses_to_remove_the_last_good_replica(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    path = f"{coll}/lastgood"
    two_replicas(zone, session, path, tmp_path, b"good")
    session.data_objects.modDataObjMeta({"objPath": path, "replNum": 1}, {kw.REPL_STATUS_KW: "0"})
    with pytest.raises(ex.USER_INCOMPATIBLE_PARAMS):
        session.data_objects.trim(path, **{kw.REPL_NUM_KW: "0", kw.COPIES_KW: "1"})
    assert sorted(replica_rows(session, path)) == [0, 1]


# ---- rename / move / touch --------------------------------------------------------------------


def test_move_renames_an_object_within_its_collection(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.data_objects.put(str(write_file(tmp_path / "m", b"move")), f"{coll}/old")
    session.data_objects.move(f"{coll}/old", f"{coll}/new")
    assert not session.data_objects.exists(f"{coll}/old")
    with session.data_objects.open(f"{coll}/new", "r") as fh:
        assert fh.read() == b"move"


def test_move_into_a_collection_keeps_the_name(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.collections.create(f"{coll}/sub")
    session.data_objects.put(str(write_file(tmp_path / "m", b"move")), f"{coll}/obj")
    session.data_objects.move(f"{coll}/obj", f"{coll}/sub")
    assert session.data_objects.get(f"{coll}/sub/obj").size == 4
    assert not session.data_objects.exists(f"{coll}/obj")


def test_move_onto_an_existing_object_fails(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    src = write_file(tmp_path / "m", b"m")
    session.data_objects.put(str(src), f"{coll}/a")
    session.data_objects.put(str(src), f"{coll}/b")
    with pytest.raises(ex.iRODSException):
        session.data_objects.move(f"{coll}/a", f"{coll}/b")
    assert session.data_objects.exists(f"{coll}/a")


def test_touch_sets_the_modify_time(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.data_objects.put(str(write_file(tmp_path / "t", b"t")), f"{coll}/t")
    session.data_objects.touch(f"{coll}/t", seconds_since_epoch=1300000000)
    assert session.data_objects.get(f"{coll}/t").modify_time == datetime.fromtimestamp(1300000000, UTC)


def test_touch_of_a_missing_object_creates_it_empty(session: iRODSSession, coll: str) -> None:
    before = int(time.time()) - 2
    session.data_objects.touch(f"{coll}/new")
    obj = session.data_objects.get(f"{coll}/new")
    assert obj.size == 0
    assert obj.modify_time.timestamp() >= before


def test_touch_with_no_create_of_a_missing_object_fails(session: iRODSSession, coll: str) -> None:
    with pytest.raises(ex.iRODSException):
        session.data_objects.touch(f"{coll}/absent", no_create=True)
    assert not session.data_objects.exists(f"{coll}/absent")
