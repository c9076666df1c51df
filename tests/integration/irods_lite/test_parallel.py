"""Contract tests: parallel transfer of large files and many clients writing at once."""

from __future__ import annotations

import base64
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import irods.keywords as kw
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from tests.irods_fixtures import Zone

from ._contract import needs_shared_filesystem, write_file

MIB = 1024 * 1024
GET_FILE_DESCRIPTOR_INFO_APN = 20000
REPLICA_CLOSE_APN = 20004


def test_40_mib_put_and_get_through_the_parallel_path_are_byte_identical(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    # > 32 MiB with the default num_threads: PRC opens once, asks for the replica token (20000), joins
    # N more connections with it and closes them with REPLICA_CLOSE (20004) (irods/parallel.py).
    data = os.urandom(40 * MIB + 12345)
    src = write_file(tmp_path / "big", data)
    path = f"{coll}/big"
    if zone.lite:
        zone.lite.reset_counts()
    session.data_objects.put(str(src), path)
    if zone.lite:
        counts = zone.lite.call_counts()
        assert counts.get(GET_FILE_DESCRIPTOR_INFO_APN, 0) >= 1, counts
        assert counts.get(REPLICA_CLOSE_APN, 0) >= 1, counts
        zone.lite.reset_counts()
    obj = session.data_objects.get(path)
    assert obj.size == len(data)
    assert [r.status for r in obj.replicas] == ["1"]
    out = tmp_path / "back"
    session.data_objects.get(path, str(out))
    if zone.lite:
        assert zone.lite.call_counts().get(GET_FILE_DESCRIPTOR_INFO_APN, 0) >= 1  # the get went parallel too
    assert out.stat().st_size == len(data)
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_parallel_put_with_reg_chksum_records_the_checksum_of_the_whole_file(
    session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    data = os.urandom(33 * MIB)
    session.data_objects.put(str(write_file(tmp_path / "big", data)), f"{coll}/big", **{kw.REG_CHKSUM_KW: ""})
    expected = "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert session.data_objects.get(f"{coll}/big").checksum == expected


def test_eight_clients_putting_and_registering_at_once_leave_a_consistent_catalog(
    zone: Zone, coll: str, tmp_path: Path
) -> None:
    needs_shared_filesystem(zone)
    per_thread = 6

    def work(n: int) -> None:
        with zone.session() as s:
            for i in range(per_thread):
                size = n * 100 + i
                src = write_file(tmp_path / f"f{n}-{i}", bytes([n]) * size)
                if i % 2:
                    s.data_objects.register(str(src), f"{coll}/t{n}/r{i}")
                else:
                    s.data_objects.put(str(src), f"{coll}/t{n}/p{i}")

    with zone.session() as s:
        for n in range(8):
            s.collections.create(f"{coll}/t{n}")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))

    with zone.session() as s:
        rows = list(
            s.query(Collection.name, DataObject.name, DataObject.size, DataObject.replica_status).filter(
                Collection.parent_name == coll
            )
        )
        assert len(rows) == 8 * per_thread
        for r in rows:
            n = int(r[Collection.name].rsplit("/t", 1)[1])
            i = int(r[DataObject.name][1:])
            assert r[DataObject.size] == n * 100 + i
            assert r[DataObject.replica_status] == "1"
        total = s.query(DataObject.size).sum(DataObject.size).filter(Collection.parent_name == coll).one()
        assert int(total[DataObject.size]) == sum(n * 100 + i for n in range(8) for i in range(per_thread))
        for n in range(8):
            assert len(s.collections.get(f"{coll}/t{n}").data_objects) == per_thread
