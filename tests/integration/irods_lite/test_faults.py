"""irods-lite's own instruments: per-API counters, the request log, and fault injection (drops, refusals,
injected errors, latency), plus many clients at once. Skipped against a real zone (no fault injection)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from irods.column import Like
from irods.exception import CAT_NO_ACCESS_PERMISSION, SYS_UNMATCHED_API_NUM, NetworkException
from irods.message import STR_PI, iRODSMessage
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from lz_ingest.irods_lite import LiteConfig, LiteServer, running
from tests.irods_fixtures import LITE_RESOURCES, LITE_USERS, Zone

pytestmark = pytest.mark.fault_injection

COLL_CREATE, DATA_OBJ_OPEN, DATA_OBJ_CLOSE, DATA_OBJ_WRITE, GENQUERY = 681, 602, 673, 676, 702


def _lite_session(lite: LiteServer, **kwargs: object) -> iRODSSession:
    return iRODSSession(host="127.0.0.1", port=lite.port, user="rods", password="rods", zone=lite.config.zone, **kwargs)


# ---- counters -----------------------------------------------------------------------------------


def test_call_counts_count_each_api_request(lite: LiteServer, session: iRODSSession, coll: str, tmp_path) -> None:
    src = tmp_path / "c.txt"
    src.write_bytes(b"counted")
    session.collections.get(coll)  # authenticated and pooled before counting
    lite.reset_counts()
    assert lite.call_counts() == {}
    session.collections.create(f"{coll}/sub")
    session.data_objects.put(str(src), f"{coll}/sub/c.txt", num_threads=1)
    counts = lite.call_counts()
    assert counts[COLL_CREATE] == 1
    assert counts[DATA_OBJ_OPEN] == 1
    assert counts[DATA_OBJ_WRITE] >= 1
    assert counts[DATA_OBJ_CLOSE] == 1
    assert counts[GENQUERY] >= 1


def test_reset_counts_starts_from_zero(lite: LiteServer, session: iRODSSession, zone: Zone) -> None:
    session.collections.get(zone.home())
    assert lite.call_counts().get(GENQUERY, 0) >= 1
    lite.reset_counts()
    assert lite.call_counts() == {}


def test_dump_counts_writes_json_keyed_by_api_number(
    lite: LiteServer, session: iRODSSession, zone: Zone, tmp_path: Path
) -> None:
    lite.reset_counts()
    for _ in range(3):
        session.collections.get(zone.home())
    out = tmp_path / "counts.json"
    lite.dump_counts(out)
    dumped = json.loads(out.read_text())
    assert {int(k): v for k, v in dumped.items()} == lite.call_counts()
    assert dumped[str(GENQUERY)] >= 3


def test_unimplemented_api_is_counted_and_answered(lite: LiteServer, session: iRODSSession, zone: Zone) -> None:
    session.collections.get(zone.home())
    lite.reset_counts()
    with session.pool.get_connection() as conn:
        conn.send(iRODSMessage("RODS_API_REQ", int_info=4321))
        with pytest.raises(SYS_UNMATCHED_API_NUM):
            conn.recv()
        # with a body and a byte stream: both are read off the wire, so the framing stays in step
        conn.send(iRODSMessage("RODS_API_REQ", msg=STR_PI(myStr="x" * 5000), bs=b"\0" * 70000, int_info=4321))
        with pytest.raises(SYS_UNMATCHED_API_NUM):
            conn.recv()
    assert lite.call_counts()[4321] == 2
    assert session.collections.get(zone.home()).path == zone.home()


def test_authentication_uses_the_flow_of_the_reported_version(lite: LiteServer, zone: Zone) -> None:
    # PRC picks the flow from the RODS_VERSION reply: >= 4.3 the auth plugin API 110000 (two round trips:
    # auth_agent_auth_request, auth_agent_auth_response), below 4.3 the legacy 703 / 704 pair.
    lite.reset_counts()
    with _lite_session(lite) as s:
        s.collections.get(zone.home())
    counts = lite.call_counts()
    if s.server_version >= (4, 3, 0):
        assert counts.get(110000) == 2 and 703 not in counts and 704 not in counts
    else:
        assert counts.get(703) == 1 and counts.get(704) == 1 and 110000 not in counts


# ---- request log --------------------------------------------------------------------------------


def test_request_log_has_one_json_line_per_request(tmp_path: Path) -> None:
    log_path = tmp_path / "requests.jsonl"
    config = LiteConfig(data_dir=tmp_path / "data", users=LITE_USERS, resources=LITE_RESOURCES, request_log=log_path)
    with running(config) as server:
        with _lite_session(server) as s:
            s.collections.create("/tempZone/home/rods/logged")
            with pytest.raises(Exception):  # noqa: B017 - any error will do, it must be logged
                s.collections.get("/tempZone/home/rods/missing")
        counts = server.call_counts()
    entries = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert len(entries) == sum(counts.values())
    assert all({"t", "user", "api", "status", "ms"} <= set(e) for e in entries)
    assert any(e["api"] == COLL_CREATE and e["status"] == 0 and e["user"] == "rods" for e in entries)
    assert any(e["api"] == GENQUERY and e["status"] < 0 for e in entries)  # the missing collection
    assert all(e["ms"] >= 0 for e in entries)
    assert [e["t"] for e in entries] == sorted(e["t"] for e in entries)


# ---- dropped and refused connections ------------------------------------------------------------


def test_dropped_connection_fails_the_next_call_only(lite: LiteServer, zone: Zone) -> None:
    # A real server (or a firewall) dropping an idle connection: PRC does not retry, so exactly the next
    # call raises NetworkException; the pool then opens a fresh connection for the call after. (The
    # session here has one pooled connection; a pool holding several dead ones fails once per each.)
    with _lite_session(lite) as s:
        s.collections.get(zone.home())
        lite.drop_connections()
        time.sleep(0.05)  # let the server side finish closing
        with pytest.raises(NetworkException):
            s.collections.get(zone.home())
        assert s.collections.get(zone.home()).path == zone.home()
        assert s.collections.get(zone.home()).path == zone.home()


def test_drop_connections_does_not_affect_new_sessions(lite: LiteServer, zone: Zone) -> None:
    lite.drop_connections()
    with _lite_session(lite) as s:
        assert s.collections.get(zone.home()).path == zone.home()


def _wait_until_up(lite: LiteServer, zone: Zone, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with _lite_session(lite) as s:
                assert s.collections.get(zone.home()).path == zone.home()
            return
        except NetworkException:
            assert time.monotonic() < deadline, "irods-lite did not come back"
            time.sleep(0.05)


def test_refused_connections_fail_new_sessions_until_the_server_is_back(lite: LiteServer, zone: Zone) -> None:
    lite.refuse_connections(0.5)
    with _lite_session(lite) as s, pytest.raises(NetworkException, match="connect"):
        s.collections.get(zone.home())
    _wait_until_up(lite, zone)


def test_refusing_connections_also_drops_open_ones(lite: LiteServer, zone: Zone) -> None:
    with _lite_session(lite) as s:
        s.collections.get(zone.home())
        lite.refuse_connections(0.3)
        with pytest.raises(NetworkException):
            s.collections.get(zone.home())
        _wait_until_up(lite, zone)
        assert s.collections.get(zone.home()).path == zone.home()


# ---- injected failures and latency --------------------------------------------------------------


def test_fail_next_fails_exactly_k_calls_of_that_api(lite: LiteServer, session: iRODSSession, coll: str) -> None:
    lite.fail_next(COLL_CREATE, 2, CAT_NO_ACCESS_PERMISSION.code)
    for i in range(2):
        with pytest.raises(CAT_NO_ACCESS_PERMISSION):
            session.collections.create(f"{coll}/f{i}")
        assert not session.collections.exists(f"{coll}/f{i}")  # other APIs are untouched
    session.collections.create(f"{coll}/f2")
    session.collections.create(f"{coll}/f3")
    assert session.collections.exists(f"{coll}/f2") and session.collections.exists(f"{coll}/f3")


def test_fail_next_counts_the_failed_calls(lite: LiteServer, session: iRODSSession, coll: str) -> None:
    session.collections.get(coll)
    lite.reset_counts()
    lite.fail_next(COLL_CREATE, 1, -818000)
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        session.collections.create(f"{coll}/x")
    session.collections.create(f"{coll}/x")
    assert lite.call_counts()[COLL_CREATE] == 2


def test_latency_is_added_to_every_call(lite: LiteServer, session: iRODSSession, zone: Zone) -> None:
    session.collections.get(zone.home())
    lite.reset_counts()
    lite.set_latency(50)
    started = time.monotonic()
    for _ in range(20):
        session.collections.get(zone.home())
    elapsed = time.monotonic() - started
    lite.set_latency(0)
    calls = sum(lite.call_counts().values())
    assert calls >= 20
    assert elapsed >= 0.05 * calls * 0.95  # lower bound only: sleeping never takes less than asked


# ---- many clients at once -----------------------------------------------------------------------


def test_64_simultaneous_sessions_all_succeed_and_the_catalog_is_consistent(
    lite: LiteServer, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    n = 64
    barrier = threading.Barrier(n, timeout=30)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        src = tmp_path / f"src{i}.bin"
        src.write_bytes(f"payload {i}\n".encode() * (i + 1))
        try:
            with _lite_session(lite) as s:
                s.collections.get(coll)  # connect and authenticate
                barrier.wait()
                s.collections.create(f"{coll}/w{i}")
                s.data_objects.put(str(src), f"{coll}/w{i}/f.bin", num_threads=1)
                row = (
                    s.query(DataObject.size)
                    .filter(Collection.name == f"{coll}/w{i}")
                    .filter(DataObject.name == "f.bin")
                    .one()
                )
                assert row[DataObject.size] == src.stat().st_size
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    subs = session.collections.get(coll).subcollections
    assert sorted(c.name for c in subs) == sorted(f"w{i}" for i in range(n))
    rows = list(
        session.query(Collection.name, DataObject.name, DataObject.size, DataObject.replica_number).filter(
            Like(Collection.name, f"{coll}/w%")
        )
    )
    assert len(rows) == n
    for r in rows:
        i = int(r[Collection.name].rsplit("/w", 1)[1])
        assert r[DataObject.name] == "f.bin"
        assert r[DataObject.replica_number] == 0
        assert r[DataObject.size] == len(f"payload {i}\n".encode()) * (i + 1)
    for i in (0, n // 2, n - 1):
        with session.data_objects.open(f"{coll}/w{i}/f.bin", "r") as fh:
            assert fh.read() == (tmp_path / f"src{i}.bin").read_bytes()
