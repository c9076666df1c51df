"""The catalog adapter against a zone: listings, each write's catalog result and API-call count, transfers, sessions."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from lz_ingest.errors import CatalogUnavailableError, IrodsApiError, SourceError
from lz_ingest.irods import catalog, genquery
from lz_ingest.irods.catalog import AppendOutcome, Listing
from lz_ingest.irods.retry import RetryPolicy, with_retries
from lz_ingest.irods.session import SessionPool
from lz_ingest.irods.transfer import CHUNK_SIZE
from lz_ingest.irods_lite import LiteServer
from lz_ingest.model import DeleteMode, Replica
from lz_ingest.settings import IrodsSettings
from lz_ingest.sources.local import LocalSource
from tests.irods_fixtures import Zone
from tests.support.memory_source import MemoryStream

OPEN, CLOSE, LSEEK, READ, WRITE = 602, 673, 674, 675, 676
REGISTER, MOD_META, CHKSUM, UNLINK, RM_COLL, COLL_CREATE = 630, 622, 629, 615, 679, 681
GENQUERY, ATOMIC_AVU = 702, 20002
MTIME = 1_600_000_000


class Calls:
    """API calls irods-lite answered since the last reset (None against a real zone, which cannot count)."""

    def __init__(self, lite: LiteServer | None) -> None:
        self.lite = lite

    def reset(self) -> None:
        if self.lite:
            self.lite.reset_counts()

    def counted(self) -> dict[int, int] | None:
        return self.lite.call_counts() if self.lite else None

    def assert_exactly(self, expected: dict[int, int]) -> None:
        counts = self.counted()
        if counts is not None:
            assert counts == expected


@pytest.fixture
def calls(zone: Zone, session: iRODSSession) -> Calls:
    session.collections.get(zone.home())  # authenticated and pooled before anything is counted
    counter = Calls(zone.lite)
    counter.reset()
    return counter


@pytest.fixture
def settings(zone: Zone) -> IrodsSettings:
    return IrodsSettings(host=zone.host, port=zone.port, zone=zone.zone, user=zone.admin, password=zone.admin_password)


@pytest.fixture
def pool(settings: IrodsSettings) -> Iterator[SessionPool]:
    with SessionPool(settings) as sessions:
        yield sessions


LOCAL = LocalSource("/")


def _upload(session: iRODSSession, path: str, logical: str, **options: Any) -> int:
    """catalog.upload of a local file, opened as the sync task opens it (through the local source)."""
    with LOCAL.open(path) as stream:
        return catalog.upload(session, stream, logical, **options)


def _append(session: iRODSSession, path: str, logical: str, **options: Any) -> AppendOutcome:
    with LOCAL.open(path) as stream:
        return catalog.append(session, stream, logical, **options)


def _file(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def _content(session: iRODSSession, logical_path: str) -> bytes:
    with session.data_objects.open(logical_path, "r") as fh:
        return bytes(fh.read())


def _sha2(content: bytes) -> str:
    import base64

    return "sha2:" + base64.b64encode(hashlib.sha256(content).digest()).decode()


def _only_replica(session: iRODSSession, coll: str, name: str) -> Replica:
    listing = catalog.list_collection(session, coll)
    (replica,) = listing.objects[name].replicas
    return replica


# ---- listing ------------------------------------------------------------------------------------


def test_listing_holds_objects_replicas_and_subcollections(
    session: iRODSSession, coll: str, tmp_path: Path, zone: Zone, calls: Calls
) -> None:
    src = _file(tmp_path, "a.txt", b"0123456789")
    catalog.register(session, src, f"{coll}/a", size=10, mtime=MTIME, resource=None, checksum=True)
    catalog.register_replica(
        session, src, f"{coll}/a", size=10, mtime=MTIME + 1, resource=zone.second_resource, checksum=False
    )
    session.collections.create(f"{coll}/sub1")
    session.collections.create(f"{coll}/sub2/deeper")
    calls.reset()
    listing = catalog.list_collection(session, coll)
    calls.assert_exactly({GENQUERY: 2})
    assert listing.exists and listing.subcollections == frozenset({"sub1", "sub2"})
    assert set(listing.objects) == {"a"}
    obj = listing.objects["a"]
    assert obj.logical_path == f"{coll}/a"
    first, second = obj.replicas
    assert (first.number, first.size, first.mtime, first.physical_path, first.status) == (0, 10, MTIME, src, "1")
    assert first.checksum == _sha2(b"0123456789") and second.checksum == ""
    assert second.number == 1 and second.mtime == MTIME + 1 and second.leaf_resource == zone.second_resource


def test_listing_pages_past_500_rows(
    session: iRODSSession, coll: str, tmp_path: Path, calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(genquery, "PAGE_ROWS", 500)  # paging as at any page size, with fewer objects
    src = _file(tmp_path, "one.bin", b"x")
    for i in range(520):  # one file registered under many names: rows made fast
        catalog.register(session, src, f"{coll}/obj{i:04d}", size=1, mtime=MTIME + i, resource=None)
    calls.reset()
    listing = catalog.list_collection(session, coll)
    calls.assert_exactly({GENQUERY: 3})  # objects in two pages, then subcollections
    assert len(listing.objects) == 520
    assert listing.objects["obj0519"].mtime == MTIME + 519 and listing.subcollections == frozenset()


def test_missing_collection_is_reported_with_one_more_query(session: iRODSSession, coll: str, calls: Calls) -> None:
    missing = catalog.list_collection(session, f"{coll}/nothing-here")
    calls.assert_exactly({GENQUERY: 3})
    assert missing == Listing.empty(exists=False)
    calls.reset()
    empty = catalog.list_collection(session, coll)
    assert empty.exists and not empty.objects and not empty.subcollections
    assert catalog.collection_exists(session, coll)


def test_several_collections_are_listed_with_the_queries_of_one(
    session: iRODSSession, coll: str, tmp_path: Path, zone: Zone, calls: Calls
) -> None:
    src = _file(tmp_path, "s.bin", b"abc")
    quoted = f"{coll}/O'Brien"
    for sub in ("d1", "d2", "d3 with space", "O'Brien"):
        session.collections.create(f"{coll}/{sub}")
        catalog.register(session, src, f"{coll}/{sub}/same", size=3, mtime=MTIME, resource=None)
    catalog.register_replica(
        session, src, f"{coll}/d2/same", size=3, mtime=MTIME + 5, resource=zone.second_resource, checksum=False
    )
    catalog.register(session, src, f"{coll}/d1/only-in-d1", size=3, mtime=MTIME + 1, resource=None)
    session.collections.create(f"{coll}/d1/child")
    session.collections.create(f"{coll}/empty")
    paths = [f"{coll}/d1", f"{coll}/d2/", f"{coll}/d3 with space", f"{coll}/empty", f"{coll}/missing", quoted]
    calls.reset()
    found = catalog.list_collections(session, paths)
    # objects, subcollections, existence of the two that came back empty; then the quoted path on its own
    # (objects, subcollections: it holds an object, so it exists)
    calls.assert_exactly({GENQUERY: 3 + 2})
    assert set(found) == {
        f"{coll}/d1",
        f"{coll}/d2",
        f"{coll}/d3 with space",
        f"{coll}/empty",
        f"{coll}/missing",
        quoted,
    }
    for path, listing in found.items():
        assert listing == catalog.list_collection(session, path), path  # the same as one at a time
    assert set(found[f"{coll}/d1"].objects) == {"same", "only-in-d1"}
    assert found[f"{coll}/d1"].subcollections == frozenset({"child"})
    assert [r.number for r in found[f"{coll}/d2"].objects["same"].replicas] == [0, 1]
    assert found[f"{coll}/d2"].objects["same"].logical_path == f"{coll}/d2/same"
    assert found[f"{coll}/empty"] == Listing.empty() and found[f"{coll}/missing"] == Listing.empty(exists=False)
    assert set(found[quoted].objects) == {"same"}


def test_batched_listing_splits_at_its_limits(session: iRODSSession, coll: str, calls: Calls) -> None:
    from lz_ingest.irods import listing as listing_module

    names = [f"{coll}/c{i:02d}" for i in range(listing_module.BATCH_COLLECTIONS + 3)]
    for path in names:
        session.collections.create(path)
    calls.reset()
    found = catalog.list_collections(session, names)
    calls.assert_exactly({GENQUERY: 2 * 3})  # two batches, each: objects, subcollections, existence
    assert all(found[p].exists for p in names)


def test_listing_is_a_frozen_value(session: iRODSSession, coll: str) -> None:
    listing = catalog.list_collection(session, coll)
    with pytest.raises(AttributeError):
        listing.exists = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        listing.objects["x"] = None  # type: ignore[index]


# ---- collections --------------------------------------------------------------------------------


def test_create_collection_is_one_call_and_creates_parents(session: iRODSSession, coll: str, calls: Calls) -> None:
    catalog.create_collection(session, f"{coll}/a/b/c")
    calls.assert_exactly({COLL_CREATE: 1})
    assert session.collections.exists(f"{coll}/a/b/c")
    catalog.create_collection(session, f"{coll}/a/b/c")  # existing is fine


def test_ensure_collection_tells_whether_it_created(session: iRODSSession, coll: str, calls: Calls) -> None:
    assert catalog.ensure_collection(session, f"{coll}/new") is True
    calls.assert_exactly({COLL_CREATE: 1})
    calls.reset()
    assert catalog.ensure_collection(session, f"{coll}/new") is False
    calls.assert_exactly({COLL_CREATE: 1})
    calls.reset()
    assert catalog.ensure_collection(session, f"{coll}/x/y/z") is True
    calls.assert_exactly({COLL_CREATE: 2})  # parents missing: a second, recursive request
    assert session.collections.exists(f"{coll}/x/y/z")


# ---- registration -------------------------------------------------------------------------------


def test_register_is_one_call_with_size_mtime_and_checksum(
    session: iRODSSession, coll: str, tmp_path: Path, calls: Calls
) -> None:
    src = _file(tmp_path, "r.txt", b"registered bytes")
    catalog.register(session, src, f"{coll}/r", size=16, mtime=MTIME + 0.9, resource=None, checksum=True)
    calls.assert_exactly({REGISTER: 1})
    obj = session.data_objects.get(f"{coll}/r")
    assert obj.size == 16 and obj.replicas[0].path == src
    assert int(obj.modify_time.timestamp()) == MTIME
    assert obj.checksum == _sha2(b"registered bytes")


def test_register_to_a_full_hierarchy(session: iRODSSession, coll: str, tmp_path: Path, zone: Zone) -> None:
    if zone.hierarchy is None:
        pytest.skip("needs LZ_TEST_HIERARCHY")
    src = _file(tmp_path, "h.txt", b"h")
    hierarchy = ";".join(zone.hierarchy)
    catalog.register(session, src, f"{coll}/h", size=1, mtime=MTIME, resource=hierarchy)
    assert _only_replica(session, coll, "h").resource_hierarchy == hierarchy


def test_register_errors_name_the_irods_error(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    src = _file(tmp_path, "twice.txt", b"t")
    catalog.register(session, src, f"{coll}/twice", size=1, mtime=MTIME, resource=None)
    with pytest.raises(IrodsApiError) as caught:
        catalog.register(session, src, f"{coll}/twice", size=1, mtime=MTIME, resource=None)
    assert caught.value.code == -809000
    assert str(caught.value) == f"register {coll}/twice: CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME (-809000)"


def test_register_as_a_rodsuser_is_refused_with_the_code(pool: SessionPool, zone: Zone, tmp_path: Path) -> None:
    if zone.rodsuser is None:
        pytest.skip("needs LZ_TEST_RODSUSER")
    alice = pool.session(as_user=(zone.zone, zone.rodsuser))
    src = _file(tmp_path, "reg.txt", b"r")
    target = f"{zone.home(zone.rodsuser)}/reg-{time.time_ns()}"
    with pytest.raises(IrodsApiError) as caught:
        catalog.register(alice, src, target, size=1, mtime=MTIME, resource=None)
    assert caught.value.code == -129000
    assert str(caught.value) == f"register {target}: PATH_REG_NOT_ALLOWED (-129000)"


def test_register_replica_is_one_call(
    session: iRODSSession, coll: str, tmp_path: Path, zone: Zone, calls: Calls
) -> None:
    src = _file(tmp_path, "rr.txt", b"replica")
    catalog.register(session, src, f"{coll}/rr", size=7, mtime=MTIME, resource=None)
    calls.reset()
    catalog.register_replica(session, src, f"{coll}/rr", size=7, mtime=MTIME, resource=zone.second_resource)
    calls.assert_exactly({REGISTER: 1})
    replicas = catalog.list_collection(session, coll).objects["rr"].replicas
    assert [r.leaf_resource for r in replicas][1] == zone.second_resource


def test_update_registered_changes_that_replica_in_one_call(
    session: iRODSSession, coll: str, tmp_path: Path, calls: Calls
) -> None:
    src = _file(tmp_path, "u.txt", b"before")
    catalog.register(session, src, f"{coll}/u", size=6, mtime=MTIME, resource=None, checksum=True)
    replica = _only_replica(session, coll, "u")
    Path(src).write_bytes(b"after, longer")
    calls.reset()
    catalog.update_registered(session, f"{coll}/u", replica=replica, size=13, mtime=MTIME + 60)
    calls.assert_exactly({MOD_META: 1})
    updated = _only_replica(session, coll, "u")
    assert (updated.size, updated.mtime, updated.checksum) == (13, MTIME + 60, "")  # a stale checksum is cleared
    calls.reset()
    catalog.update_registered(session, f"{coll}/u", replica=updated, size=13, mtime=MTIME + 61, checksum=True)
    calls.assert_exactly({MOD_META: 1, CHKSUM: 1})
    assert _only_replica(session, coll, "u").checksum == _sha2(b"after, longer")


# ---- upload -------------------------------------------------------------------------------------


def test_upload_sends_the_file_and_records_the_source_mtime(
    session: iRODSSession, coll: str, tmp_path: Path, calls: Calls
) -> None:
    src = _file(tmp_path, "up.txt", b"uploaded content")
    sent = _upload(session, src, f"{coll}/up", resource=None, mtime=MTIME, checksum=False, size=16)
    calls.assert_exactly({OPEN: 1, WRITE: 1, CLOSE: 1, MOD_META: 1})
    assert sent == 16 and _content(session, f"{coll}/up") == b"uploaded content"
    replica = _only_replica(session, coll, "up")
    assert (replica.size, replica.mtime, replica.status) == (16, MTIME, "1")


def test_upload_with_checksum_records_the_verified_checksum(
    session: iRODSSession, coll: str, tmp_path: Path, calls: Calls
) -> None:
    src = _file(tmp_path, "ck.txt", b"checksummed")
    _upload(session, src, f"{coll}/ck", resource=None, mtime=MTIME, checksum=True)
    calls.assert_exactly({OPEN: 1, WRITE: 1, CLOSE: 1, MOD_META: 1})
    assert _only_replica(session, coll, "ck").checksum == LOCAL.checksum(src) == _sha2(b"checksummed")


def test_overwrite_replaces_that_replica_only(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    src = _file(tmp_path, "ow.txt", b"first version, long")
    _upload(session, src, f"{coll}/ow", resource=None, mtime=MTIME, checksum=False)
    replica = _only_replica(session, coll, "ow")
    Path(src).write_bytes(b"second")
    _upload(session, src, f"{coll}/ow", resource=None, mtime=MTIME + 5, replica=replica)
    assert _content(session, f"{coll}/ow") == b"second"
    after = _only_replica(session, coll, "ow")
    assert (after.number, after.size, after.mtime) == (replica.number, 6, MTIME + 5)


@pytest.mark.slow
def test_upload_of_40_mib_round_trips_byte_identical(
    session: iRODSSession, coll: str, tmp_path: Path, calls: Calls
) -> None:
    content = os.urandom(40 * 1024 * 1024 + 123)
    src = _file(tmp_path, "big.bin", content)
    _upload(session, src, f"{coll}/big", resource=None, mtime=MTIME, checksum=True)
    calls.assert_exactly({OPEN: 1, WRITE: 6, CLOSE: 1, MOD_META: 1})
    assert hashlib.sha256(_content(session, f"{coll}/big")).digest() == hashlib.sha256(content).digest()
    assert _only_replica(session, coll, "big").checksum == _sha2(content)


def test_upload_of_an_unreadable_source_is_a_source_error(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        _upload(session, str(tmp_path / "absent"), f"{coll}/absent", resource=None, mtime=MTIME)
    assert not catalog.list_collection(session, coll).objects


def test_upload_into_a_missing_collection_names_the_error(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    src = _file(tmp_path, "m.txt", b"m")
    with pytest.raises(IrodsApiError) as caught:
        _upload(session, src, f"{coll}/no/such/m", resource=None, mtime=MTIME)
    assert str(caught.value).startswith(f"upload {coll}/no/such/m: ")
    assert caught.value.code < 0


@pytest.mark.fault_injection
def test_a_failed_first_upload_leaves_no_object(
    session: iRODSSession, lite: LiteServer, coll: str, tmp_path: Path
) -> None:
    src = _file(tmp_path, "fail.txt", b"never stored")
    lite.fail_next(WRITE, 1, -314000)  # USER_CHKSUM_MISMATCH, as a changing source would cause at close
    with pytest.raises(IrodsApiError, match=r"USER_CHKSUM_MISMATCH \(-314000\)"):
        _upload(session, src, f"{coll}/fail", resource=None, mtime=MTIME)
    assert not session.data_objects.exists(f"{coll}/fail")


# ---- append -------------------------------------------------------------------------------------


def _uploaded(session: iRODSSession, coll: str, src: str, name: str, checksum: bool = False) -> Replica:
    _upload(session, src, f"{coll}/{name}", resource=None, mtime=MTIME, checksum=checksum)
    return _only_replica(session, coll, name)


def test_append_sends_only_the_new_bytes(session: iRODSSession, coll: str, tmp_path: Path, calls: Calls) -> None:
    src = _file(tmp_path, "log.txt", b"line 1\n" * 100)
    replica = _uploaded(session, coll, src, "log")
    with open(src, "ab") as fh:
        fh.write(b"line 2\n")
    calls.reset()
    outcome = _append(session, src, f"{coll}/log", replica=replica, mtime=MTIME + 1)
    calls.assert_exactly({OPEN: 1, LSEEK: 2, READ: 1, WRITE: 1, CLOSE: 1, MOD_META: 1})
    assert outcome is AppendOutcome.APPENDED
    assert _content(session, f"{coll}/log") == Path(src).read_bytes()
    after = _only_replica(session, coll, "log")
    assert (after.size, after.mtime) == (707, MTIME + 1)


def test_append_checks_the_start_by_checksum_without_reading_the_object(
    session: iRODSSession, coll: str, tmp_path: Path, calls: Calls
) -> None:
    src = _file(tmp_path, "cl.txt", b"a" * 1000)
    replica = _uploaded(session, coll, src, "cl", checksum=True)
    with open(src, "ab") as fh:
        fh.write(b"b" * 10)
    calls.reset()
    outcome = _append(session, src, f"{coll}/cl", replica=replica, mtime=MTIME + 1, checksum=True)
    calls.assert_exactly({OPEN: 1, LSEEK: 1, WRITE: 1, CLOSE: 1, MOD_META: 1})
    assert outcome is AppendOutcome.APPENDED
    assert _only_replica(session, coll, "cl").checksum == _sha2(b"a" * 1000 + b"b" * 10)


@pytest.mark.parametrize("checksum", [False, True], ids=["bytes-compared", "checksum-compared"])
def test_append_of_a_rewritten_source_uploads_it_whole(
    session: iRODSSession, coll: str, tmp_path: Path, checksum: bool
) -> None:
    src = _file(tmp_path, "rw.txt", b"original content here")
    replica = _uploaded(session, coll, src, "rw", checksum=checksum)
    Path(src).write_bytes(b"REWRITTEN content here, and longer")
    outcome = _append(session, src, f"{coll}/rw", replica=replica, mtime=MTIME + 2, checksum=checksum)
    assert outcome is AppendOutcome.UPLOADED
    assert _content(session, f"{coll}/rw") == b"REWRITTEN content here, and longer"
    assert _only_replica(session, coll, "rw").mtime == MTIME + 2


def test_append_of_a_truncated_source_uploads_it_whole(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    src = _file(tmp_path, "tr.txt", b"0123456789" * 10)
    replica = _uploaded(session, coll, src, "tr")
    Path(src).write_bytes(b"0123")
    outcome = _append(session, src, f"{coll}/tr", replica=replica, mtime=MTIME + 3)
    assert outcome is AppendOutcome.UPLOADED
    assert _content(session, f"{coll}/tr") == b"0123"


def test_append_twice_appends_nothing_the_second_time(
    session: iRODSSession, coll: str, tmp_path: Path, calls: Calls
) -> None:
    src = _file(tmp_path, "tw.txt", b"start;")
    replica = _uploaded(session, coll, src, "tw")
    with open(src, "ab") as fh:
        fh.write(b"more;")
    assert _append(session, src, f"{coll}/tw", replica=replica, mtime=MTIME + 4) is AppendOutcome.APPENDED
    fresh = _only_replica(session, coll, "tw")
    calls.reset()
    assert _append(session, src, f"{coll}/tw", replica=fresh, mtime=MTIME + 4) is AppendOutcome.UNCHANGED
    calls.assert_exactly({})  # the catalog already records this size and mtime
    # the same call with the stale replica (a listing from before the first append) finds the bytes there
    assert _append(session, src, f"{coll}/tw", replica=replica, mtime=MTIME + 4) is AppendOutcome.UNCHANGED
    assert _content(session, f"{coll}/tw") == b"start;more;"
    assert _only_replica(session, coll, "tw").mtime == MTIME + 4


# ---- streams without a file descriptor (an object store's, a memory buffer) ---------------------


def test_upload_from_a_stream_without_descriptor_sends_it_chunk_by_chunk(
    session: iRODSSession, coll: str, calls: Calls
) -> None:
    content = os.urandom(CHUNK_SIZE + 4321)  # two write requests
    sent = catalog.upload(
        session, MemoryStream(content, "/m/big"), f"{coll}/m", resource=None, mtime=MTIME, checksum=True
    )
    calls.assert_exactly({OPEN: 1, WRITE: 2, CLOSE: 1, MOD_META: 1})
    assert sent == len(content) and _content(session, f"{coll}/m") == content
    assert _only_replica(session, coll, "m").checksum == _sha2(content)


def test_append_from_a_stream_without_descriptor_compares_ranges_and_sends_the_rest(
    session: iRODSSession, coll: str, calls: Calls
) -> None:
    start = b"head " * 20_000  # more than the 64 KiB compared at each end
    catalog.upload(session, MemoryStream(start, "/m/log"), f"{coll}/log", resource=None, mtime=MTIME)
    replica = _only_replica(session, coll, "log")
    calls.reset()
    grown = MemoryStream(start + b"tail", "/m/log")
    outcome = catalog.append(session, grown, f"{coll}/log", replica=replica, mtime=MTIME + 1)
    assert outcome is AppendOutcome.APPENDED
    calls.assert_exactly({OPEN: 1, LSEEK: 3, READ: 2, WRITE: 1, CLOSE: 1, MOD_META: 1})  # head and tail read
    assert _content(session, f"{coll}/log") == start + b"tail"
    rewritten = MemoryStream(b"HEAD " + start[5:] + b"tail, more", "/m/log")
    fresh = _only_replica(session, coll, "log")
    assert catalog.append(session, rewritten, f"{coll}/log", replica=fresh, mtime=MTIME + 2) is AppendOutcome.UPLOADED
    assert _content(session, f"{coll}/log") == b"HEAD " + start[5:] + b"tail, more"


def test_upload_of_a_stream_that_shrinks_is_a_source_error_and_leaves_no_object(
    session: iRODSSession, coll: str
) -> None:
    class Shrinking(MemoryStream):
        """Claims more bytes than it then gives (an object replaced while it is read)."""

        def read(self, size: int | None = -1, /) -> bytes:
            return super().read(size)[:10]

    with pytest.raises(SourceError, match="shrank"):
        catalog.upload(session, Shrinking(b"x" * 100, "/m/s"), f"{coll}/s", resource=None, mtime=MTIME)
    assert not session.data_objects.exists(f"{coll}/s")


# ---- deletes ------------------------------------------------------------------------------------


def test_delete_object_unregister_keeps_the_file(
    session: iRODSSession, coll: str, tmp_path: Path, calls: Calls
) -> None:
    src = _file(tmp_path, "keep.txt", b"kept")
    catalog.register(session, src, f"{coll}/keep", size=4, mtime=MTIME, resource=None)
    calls.reset()
    catalog.delete_object(session, f"{coll}/keep", DeleteMode.UNREGISTER)
    calls.assert_exactly({UNLINK: 1})
    assert not session.data_objects.exists(f"{coll}/keep")
    assert Path(src).read_bytes() == b"kept"


def test_delete_object_trash_moves_it_to_the_trash(
    session: iRODSSession, coll: str, tmp_path: Path, zone: Zone, calls: Calls
) -> None:
    src = _file(tmp_path, "t.txt", b"trashed")
    _upload(session, src, f"{coll}/t", resource=None, mtime=MTIME)
    calls.reset()
    catalog.delete_object(session, f"{coll}/t", DeleteMode.TRASH)
    calls.assert_exactly({UNLINK: 1})
    assert not session.data_objects.exists(f"{coll}/t")
    trash = f"/{zone.zone}/trash" + coll[len(zone.zone) + 1 :]
    found = session.query(DataObject.name).filter(Collection.name == trash).filter(DataObject.name == "t").all()
    assert len(found) == 1


def test_delete_object_no_trash_removes_it(session: iRODSSession, coll: str, tmp_path: Path, calls: Calls) -> None:
    src = _file(tmp_path, "n.txt", b"gone")
    replica = _uploaded(session, coll, src, "n")
    calls.reset()
    catalog.delete_object(session, f"{coll}/n", DeleteMode.NO_TRASH)
    calls.assert_exactly({UNLINK: 1})
    assert not session.data_objects.exists(f"{coll}/n")
    if session.host in ("127.0.0.1", "localhost"):
        assert not os.path.exists(replica.physical_path)


def test_delete_object_refuses_do_not_delete(session: iRODSSession, coll: str) -> None:
    with pytest.raises(ValueError):
        catalog.delete_object(session, f"{coll}/x", DeleteMode.DO_NOT_DELETE)


@pytest.mark.parametrize("mode", [DeleteMode.UNREGISTER, DeleteMode.TRASH, DeleteMode.NO_TRASH])
def test_delete_collection_removes_it_recursively(
    session: iRODSSession, coll: str, tmp_path: Path, zone: Zone, calls: Calls, mode: DeleteMode
) -> None:
    src = _file(tmp_path, "in.txt", b"inside")
    catalog.create_collection(session, f"{coll}/d/e")
    if mode is DeleteMode.UNREGISTER:
        catalog.register(session, src, f"{coll}/d/e/in", size=6, mtime=MTIME, resource=None)
    else:
        _upload(session, src, f"{coll}/d/e/in", resource=None, mtime=MTIME)
    calls.reset()
    catalog.delete_collection(session, f"{coll}/d", mode)
    calls.assert_exactly({RM_COLL: 1})
    assert not catalog.collection_exists(session, f"{coll}/d")
    assert Path(src).exists()  # a registered file stays; uploaded ones lived in the vault
    trashed = catalog.collection_exists(session, f"/{zone.zone}/trash" + coll[len(zone.zone) + 1 :] + "/d/e")
    assert trashed is (mode is DeleteMode.TRASH)


# ---- metadata -----------------------------------------------------------------------------------


def test_add_avus_is_one_atomic_call(session: iRODSSession, coll: str, tmp_path: Path, calls: Calls) -> None:
    src = _file(tmp_path, "m.txt", b"meta")
    catalog.register(session, src, f"{coll}/m", size=4, mtime=MTIME, resource=None)
    calls.reset()
    avus = [("link_target", "/src/target", "automated_ingest"), ("socket_target", "socket", "automated_ingest")]
    avus.append(("irods::automated_ingest::character_map", "a/b", ""))
    catalog.add_avus(session, f"{coll}/m", avus)
    calls.assert_exactly({ATOMIC_AVU: 1})
    found = {(m.name, m.value, m.units or "") for m in session.metadata.get(DataObject, f"{coll}/m")}
    assert found == set(avus)


# ---- sessions and retries -----------------------------------------------------------------------


def test_pool_reuses_a_session_and_its_connection(pool: SessionPool, zone: Zone) -> None:
    first = pool.session()
    assert catalog.list_collection(first, zone.home()).exists
    assert pool.session() is first and len(pool) == 1
    if zone.lite:
        zone.lite.reset_counts()
        catalog.list_collection(pool.session(), zone.home())
        assert set(zone.lite.call_counts()) == {GENQUERY}  # no new handshake or authentication


def test_proxy_session_acts_as_the_user_and_owns_what_it_creates(
    pool: SessionPool, session: iRODSSession, zone: Zone, tmp_path: Path
) -> None:
    if zone.rodsuser is None:
        pytest.skip("needs LZ_TEST_RODSUSER")
    alice = pool.session(as_user=(zone.zone, zone.rodsuser))
    assert alice is not pool.session() and alice.username == zone.rodsuser
    target = f"{zone.home(zone.rodsuser)}/proxy-{time.time_ns()}"
    try:
        catalog.create_collection(alice, target)
        _upload(alice, _file(tmp_path, "p.txt", b"proxied"), f"{target}/p", resource=None, mtime=MTIME)
        assert session.collections.get(target).owner_name == zone.rodsuser
        assert session.data_objects.get(f"{target}/p").owner_name == zone.rodsuser
    finally:
        catalog.delete_collection(session, target, DeleteMode.NO_TRASH)


def test_acting_as_oneself_needs_no_proxy_session(pool: SessionPool, zone: Zone) -> None:
    assert pool.session(as_user=(zone.zone, zone.admin)) is pool.session()


def test_idle_sessions_are_closed_and_replaced(settings: IrodsSettings, zone: Zone) -> None:
    now = [1000.0]
    with SessionPool(settings, idle_disconnect_seconds=60, clock=lambda: now[0]) as sessions:
        first = sessions.session()
        catalog.list_collection(first, zone.home())
        now[0] += 30
        assert sessions.session() is first
        now[0] += 61
        second = sessions.session()
        assert second is not first and not (first.pool.active | first.pool.idle)
        assert catalog.list_collection(second, zone.home()).exists
        now[0] += 61
        assert sessions.close_idle() == 1 and len(sessions) == 0


@pytest.mark.fault_injection
def test_calls_reconnect_after_the_server_dropped_the_connections(
    pool: SessionPool, lite: LiteServer, zone: Zone, tmp_path: Path
) -> None:
    session = pool.session()
    assert catalog.list_collection(session, zone.home()).exists
    lite.drop_connections()
    assert catalog.list_collection(session, zone.home()).exists  # retried on a fresh connection
    lite.drop_connections()
    src = _file(tmp_path, "after-drop.txt", b"after a drop")
    target = f"{zone.home()}/after-drop-{time.time_ns()}"
    _upload(session, src, target, resource=None, mtime=MTIME)
    assert _content(session, target) == b"after a drop"
    catalog.delete_object(session, target, DeleteMode.NO_TRASH)


@pytest.mark.fault_injection
def test_calls_wait_for_a_server_refusing_connections(pool: SessionPool, lite: LiteServer, zone: Zone) -> None:
    session = pool.session()
    catalog.list_collection(session, zone.home())
    lite.refuse_connections(1.5)
    started = time.monotonic()
    assert catalog.list_collection(session, zone.home()).exists
    assert time.monotonic() - started >= 1.0


@pytest.mark.fault_injection
def test_retries_give_up_within_the_budget(pool: SessionPool, lite: LiteServer, zone: Zone) -> None:
    session = pool.session()
    lite.refuse_connections(1.0)
    policy = RetryPolicy(max_attempts=3, max_seconds=0.3, base_delay=0.05)
    with pytest.raises(CatalogUnavailableError, match="unreachable after"):
        with_retries(lambda: session.collections.exists(zone.home()), "probe", reconnect=session.cleanup, policy=policy)
    time.sleep(1.2)  # let the zone come back for the next tests


@pytest.mark.fault_injection
def test_irods_errors_are_not_retried(session: iRODSSession, lite: LiteServer, coll: str) -> None:
    lite.fail_next(UNLINK, 1, -818000)  # CAT_NO_ACCESS_PERMISSION
    attempts: list[int] = []

    def unlink() -> None:
        attempts.append(1)
        session.data_objects.unlink(f"{coll}/x", force=True)

    with pytest.raises(IrodsApiError) as caught:
        with_retries(unlink, "delete x", reconnect=session.cleanup)
    assert caught.value.code == -818000 and len(attempts) == 1
    assert str(caught.value) == "delete x: CAT_NO_ACCESS_PERMISSION (-818000)"


def test_retry_backoff_grows_and_stays_bounded() -> None:
    policy = RetryPolicy(base_delay=0.2, max_delay=5.0)
    highs = [policy.delay(n, draw=lambda: 1.0) for n in range(1, 9)]
    lows = [policy.delay(n, draw=lambda: 0.0) for n in range(1, 9)]
    assert highs[:3] == [0.2, 0.4, 0.8] and max(highs) == 5.0
    assert all(low == high / 2 for low, high in zip(lows, highs, strict=True))


def test_retries_wrap_any_callable() -> None:
    outcomes: list[Callable[[], str]] = [_raiser(ConnectionResetError("reset")), lambda: "done"]
    reconnects: list[int] = []
    result = with_retries(lambda: outcomes.pop(0)(), "x", reconnect=lambda: reconnects.append(1), sleep=lambda _: None)
    assert result == "done" and reconnects == [1]


def _raiser(exc: BaseException) -> Callable[[], str]:
    def fail() -> str:
        raise exc

    return fail
