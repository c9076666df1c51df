"""irods-lite keeps its state in data_dir (SQLite catalog + vault directories), like a real zone keeps its
catalog and vaults across a server restart. Each test runs its own server, at the version under test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from irods import keywords as kw
from irods.exception import NetworkException
from irods.session import iRODSSession

from lz_ingest.irods_lite import LiteConfig, LiteServer
from tests.irods_fixtures import LITE_RESOURCES, LITE_USERS

pytestmark = pytest.mark.fault_injection

HOME = "/tempZone/home/rods"


@dataclass
class Fixture:
    coll: str
    put_path: str
    reg_path: str
    payload: bytes
    registered: Path
    second_copy: Path


@pytest.fixture
def version(lite: LiteServer) -> str:
    """The version of the parametrized zone (skips against a real zone, via `lite`)."""
    return lite.config.version


@pytest.fixture
def server(tmp_path: Path, version: str) -> Iterator[LiteServer]:
    srv = LiteServer(_config(tmp_path / "data", version)).start()
    yield srv
    srv.stop()


def _config(data_dir: Path, version: str) -> LiteConfig:
    return LiteConfig(data_dir=data_dir, port=0, version=version, users=LITE_USERS, resources=LITE_RESOURCES)


def _session(server: LiteServer) -> iRODSSession:
    return iRODSSession(host="127.0.0.1", port=server.port, user="rods", password="rods", zone="tempZone")


def _populate(server: LiteServer, tmp_path: Path) -> Fixture:
    payload = b"persistent bytes\n" * 100
    src = tmp_path / "src.bin"
    src.write_bytes(payload)
    registered = tmp_path / "outside" / "reg.bin"
    registered.parent.mkdir()
    registered.write_bytes(b"registered\n")
    second_copy = tmp_path / "outside" / "reg.copy"
    second_copy.write_bytes(b"registered\n")
    f = Fixture(f"{HOME}/keep", f"{HOME}/keep/sub/put.bin", f"{HOME}/keep/reg.bin", payload, registered, second_copy)
    with _session(server) as s:
        s.collections.create(f"{f.coll}/sub", recurse=True)
        s.collections.create(f"{f.coll}/empty")
        s.data_objects.put(str(src), f.put_path, **{kw.DEST_RESC_NAME_KW: "treeRoot"})
        s.data_objects.chksum(f.put_path)
        s.data_objects.register(str(registered), f.reg_path, **{kw.DEST_RESC_NAME_KW: "treeLeaf"})
        s.data_objects.register(
            str(second_copy), f.reg_path, **{kw.DEST_RESC_NAME_KW: "secondResc", kw.REG_REPL_KW: ""}
        )
        obj = s.data_objects.get(f.put_path)
        obj.metadata.add("project", "lz", "units1")
        obj.metadata.add("stage", "raw")
        s.collections.get(f.coll).metadata.add("owner-group", "lab 7")
    return f


def _check(server: LiteServer, f: Fixture) -> None:
    with _session(server) as s:
        names = sorted(c.name for c in s.collections.get(f.coll).subcollections)
        assert names == ["empty", "sub"]
        obj = s.data_objects.get(f.put_path)
        assert obj.size == len(f.payload)
        assert obj.checksum and obj.checksum.startswith("sha2:")
        assert obj.replicas[0].resc_hier == "treeRoot;treeMid;treeLeaf"
        assert obj.replicas[0].status == "1"
        with obj.open("r") as fh:
            assert fh.read() == f.payload
        assert Path(obj.replicas[0].path).read_bytes() == f.payload  # the vault file itself
        avus = sorted((m.name, m.value, m.units or "") for m in obj.metadata.items())
        assert avus == [("project", "lz", "units1"), ("stage", "raw", "")]
        coll_avus = [(m.name, m.value) for m in s.collections.get(f.coll).metadata.items()]
        assert coll_avus == [("owner-group", "lab 7")]
        reg = {r.number: r for r in s.data_objects.get(f.reg_path).replicas}
        assert sorted(reg) == [0, 1]
        assert reg[0].path == str(f.registered)
        assert reg[0].resc_hier == "treeRoot;treeMid;treeLeaf"
        assert reg[1].path == str(f.second_copy)
        assert reg[1].resc_hier == "secondResc"


def test_restart_keeps_collections_objects_replicas_avus_and_bytes(server: LiteServer, tmp_path: Path) -> None:
    f = _populate(server, tmp_path)
    port = server.port
    server.restart()
    assert server.port == port  # clients configured with the old port still reach it
    _check(server, f)


def test_restart_keeps_working_for_new_writes(server: LiteServer, tmp_path: Path) -> None:
    f = _populate(server, tmp_path)
    server.restart()
    src = tmp_path / "after.bin"
    src.write_bytes(b"after restart")
    with _session(server) as s:
        s.data_objects.put(str(src), f"{f.coll}/after.bin")
        ids = {s.data_objects.get(p).id for p in (f.put_path, f.reg_path, f"{f.coll}/after.bin")}
        assert len(ids) == 3  # ids keep counting up, no reuse after a restart
        with s.data_objects.open(f"{f.coll}/after.bin", "r") as fh:
            assert fh.read() == b"after restart"
    _check(server, f)


def test_a_new_server_on_the_same_data_dir_sees_everything(server: LiteServer, tmp_path: Path, version: str) -> None:
    f = _populate(server, tmp_path)
    server.stop()
    other_version = "4.2.12" if version != "4.2.12" else "4.3.4"
    for v in (version, other_version):  # the catalog does not depend on the version reported
        fresh = LiteServer(_config(server.data_dir, v)).start()
        try:
            _check(fresh, f)
        finally:
            fresh.stop()


def test_sessions_open_across_a_restart_fail_once_then_reconnect(server: LiteServer, tmp_path: Path) -> None:
    f = _populate(server, tmp_path)
    with _session(server) as s:
        s.collections.get(f.coll)
        server.restart()
        with pytest.raises(NetworkException):
            s.collections.get(f.coll)
        assert s.collections.get(f.coll).path == f.coll


def test_an_upload_cut_by_a_restart_is_never_left_good(server: LiteServer, tmp_path: Path) -> None:
    # The agent serving the write dies with the connection; the replica it was writing must not be
    # marked good (a real server leaves it intermediate or stale), and the rest of the catalog is intact.
    f = _populate(server, tmp_path)
    path = f"{f.coll}/cut.bin"
    s = _session(server)
    fh = s.data_objects.open(path, "w")
    fh.write(b"half of it")
    fh.flush()
    server.restart()
    try:
        fh.close()
    except Exception:  # the connection it used is gone
        pass
    s.cleanup()
    with _session(server) as fresh:
        replicas = fresh.data_objects.get(path).replicas
        assert [r.status for r in replicas] != ["1"]
    _check(server, f)
