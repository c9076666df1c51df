"""No secret and no handler code ever reaches Redis or the logs; every server the project starts listens on
loopback only.

Each kind of job runs (register, put with --checksum and --provenance, a periodic job with a handler file),
then every Redis key is read back whole (strings, hashes, lists, sets, sorted sets, streams; RQ's job
payloads are zlib-compressed, so each value is also searched decompressed) and searched for the iRODS
password and for a marker that only the handler file's source contains. The zone's password must be one
no ordinary value contains: against irods-lite the test starts its own zone with such a password; against
a real zone (IRODS_* set) it uses IRODS_PASSWORD and skips when that is under 8 characters.
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from lz_ingest.irods_lite.config import LiteConfig, ResourceSpec, UserSpec
from lz_ingest.irods_lite.server import LiteServer
from lz_ingest.redis_embedded import RedisServer
from tests.engine_fixtures import Ingest, ingest_environment, write_tree
from tests.integration.engine.test_put import handler_file
from tests.irods_fixtures import Zone, _real_zone, real_zone_configured

SECRET = f"Pw-{uuid.uuid4().hex}"
MARKER = f"HANDLER-SOURCE-MARKER-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def secret_zone() -> Iterator[Zone]:
    if real_zone_configured():
        zone = _real_zone()
        if len(zone.admin_password) < 8:
            pytest.skip("IRODS_PASSWORD is too short to be searched for without false matches")
        yield zone
        return
    with tempfile.TemporaryDirectory(prefix="irods-lite-secrets-") as tmp:
        config = LiteConfig(
            data_dir=Path(tmp),
            port=0,
            users=(UserSpec("steward", SECRET, admin=True),),
            resources=(ResourceSpec("demoResc"),),
        )
        server = LiteServer(config).start()
        try:
            yield Zone(
                host="127.0.0.1",
                port=server.port,
                zone=server.config.zone,
                admin="steward",
                admin_password=SECRET,
                rodsuser="steward",
                rodsuser_password=SECRET,
                hierarchy=None,
                second_resource=None,
                lite=server,
            )
        finally:
            server.stop()


@pytest.fixture
def secret_ingest(
    secret_zone: Zone,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Ingest]:
    yield from ingest_environment(secret_zone, redis_url, monkeypatch, tmp_path, capsys)


def _values(conn: redis.Redis, name: bytes) -> Iterator[bytes]:  # type: ignore[type-arg]
    kind = conn.type(name).decode()
    if kind == "string":
        yield conn.get(name) or b""
    elif kind == "hash":
        for field, value in conn.hgetall(name).items():
            yield field
            yield value
    elif kind == "list":
        yield from conn.lrange(name, 0, -1)
    elif kind == "set":
        yield from conn.smembers(name)
    elif kind == "zset":
        yield from (member for member, _ in conn.zrange(name, 0, -1, withscores=True))
    elif kind == "stream":
        for _id, fields in conn.xrange(name):
            for field, value in fields.items():
                yield field
                yield value


def _expanded(value: bytes) -> Iterator[bytes]:
    yield value
    try:
        yield zlib.decompress(value)
    except zlib.error:
        pass


def redis_leaks(url: str, needles: dict[str, str]) -> list[str]:
    """'what in which key' for every needle found anywhere in Redis."""
    conn = redis.Redis.from_url(url)
    found: list[str] = []
    try:
        for name in conn.scan_iter(count=1000):
            for value in _values(conn, name):
                for what, needle in needles.items():
                    if needle.encode() in name or any(needle.encode() in v for v in _expanded(value)):
                        found.append(f"{what} in {name.decode(errors='replace')}")
    finally:
        conn.close()
    return sorted(set(found))


def handler_with_marker(tmp_path: Path, operation: str) -> str:
    """test_put's handler file, with a line only its source holds."""
    path = Path(handler_file(tmp_path, operation))
    path.write_text(f"# {MARKER}\n" + path.read_text())
    return str(path)


@pytest.mark.parametrize(
    "operation, extra",
    [
        ("REGISTER_SYNC", ()),
        ("PUT_SYNC", ("--checksum", "--provenance")),
    ],
)
def test_no_password_or_handler_code_in_redis_or_logs(
    secret_ingest: Ingest, tmp_path: Path, operation: str, extra: tuple[str, ...]
) -> None:
    src = write_tree(tmp_path / "src", {f"d{i}/f{j}.dat": f"{i}{j}" for i in range(3) for j in range(4)})
    log = tmp_path / "lz.log"
    handler = handler_with_marker(tmp_path, operation)
    args = ("--event_handler", handler, "--log_filename", str(log), "--log_level", "DEBUG", *extra)
    result = secret_ingest.rescan(src, *args)
    assert result.code == 0, result.out + result.err
    assert len(secret_ingest.objects()) == 12
    (src / "d0" / "f0.dat").write_text("changed, and longer")
    again = secret_ingest.rescan(src, *args)
    assert again.code == 0, again.out + again.err

    needles = {"the iRODS password": secret_ingest.zone.admin_password, "the handler's source": MARKER}
    assert redis_leaks(secret_ingest.redis_url, needles) == []
    printed = result.out + result.err + again.out + again.err
    assert secret_ingest.zone.admin_password not in printed
    assert log.exists() and log.stat().st_size > 0
    assert secret_ingest.zone.admin_password not in log.read_text(errors="replace")


def test_no_password_in_redis_for_a_queued_periodic_job(secret_ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.dat": "a"})
    handler = handler_with_marker(tmp_path, "REGISTER_SYNC")
    result = secret_ingest.run(
        "start", str(src), secret_ingest.target, "-i", "3600", "--event_handler", handler, "--job_name", "periodic"
    )
    try:
        assert result.code == 0, result.out + result.err
        # no worker serves it: its root scan task stays queued, so RQ's payload is read too
        conn = redis.Redis.from_url(secret_ingest.redis_url)
        assert any(k.startswith(b"rq:job:") for k in conn.scan_iter()), "the queued task should be in Redis"
        conn.close()
        needles = {"the iRODS password": secret_ingest.zone.admin_password, "the handler's source": MARKER}
        assert redis_leaks(secret_ingest.redis_url, needles) == []
    finally:
        secret_ingest.run("stop", "periodic")


def test_the_leak_scan_finds_a_planted_secret(redis_url: str) -> None:
    """The scan itself can fail: a secret planted in a compressed hash field is found."""
    conn = redis.Redis.from_url(redis_url)
    try:
        conn.hset("rq:job:planted", "data", zlib.compress(f"x{SECRET}y".encode()))
        conn.rpush("some:list", b"plain")
    finally:
        conn.close()
    assert redis_leaks(redis_url, {"the secret": SECRET}) == ["the secret in rq:job:planted"]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port` (from /proc/net/tcp and tcp6)."""
    found: set[str] = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not os.path.exists(table):
            continue
        with open(table) as rows:
            next(rows)
            for row in rows:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(_address(address, width))
    return found


def _address(hex_address: str, width: int) -> str:
    raw = bytes.fromhex(hex_address)
    if width == 8:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def test_servers_the_project_starts_listen_on_loopback_only(tmp_path: Path) -> None:
    server = LiteServer(LiteConfig(data_dir=tmp_path / "lite", port=0)).start()
    try:
        assert _listening_addresses(server.port) == {"127.0.0.1"}
    finally:
        server.stop()
    with RedisServer() as embedded:
        port = int(embedded.url.rsplit(":", 1)[1].split("/")[0])
        assert _listening_addresses(port) == {"127.0.0.1"}
