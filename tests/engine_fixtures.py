"""Fixtures for end-to-end ingest tests: a zone, a clean Redis, and the lz-ingest command run in-process.

The zone is a real one when IRODS_* are set (see tests/irods_fixtures.py), else one irods-lite
reporting 4.3.4 (the engine's tests do not need both reported versions: irods-lite's own contract
tests cover them). Redis is a real redis-server (tests/redis_fixtures.py), flushed per test.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from irods.session import iRODSSession

from lz_ingest.cli import main

from .irods_fixtures import Zone, _lite_zone, _real_zone, real_zone_configured, start_lite


@pytest.fixture(scope="session")
def ingest_zone() -> Iterator[Zone]:
    if real_zone_configured():
        yield _real_zone()
        return
    with tempfile.TemporaryDirectory(prefix="irods-lite-engine-") as tmp:
        server = start_lite(Path(tmp), "4.3.4")
        try:
            yield _lite_zone(server)
        finally:
            server.stop()


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Ingest:
    """Run `lz-ingest ...` in this process against the test zone and Redis; inspect the catalog."""

    zone: Zone
    redis_url: str
    target: str
    capsys: pytest.CaptureFixture[str]

    def run(self, *args: str) -> Result:
        self.capsys.readouterr()
        code = main([str(a) for a in args])
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def rescan(self, source: Path | str, *args: str, workers: int = 2) -> Result:
        return self.run("rescan", str(source), self.target, "--workers", str(workers), *args)

    def session(self, user: str | None = None, password: str | None = None) -> iRODSSession:
        return self.zone.session(user, password)

    def objects(self) -> dict[str, object]:
        """logical path -> data object, for everything under the target."""
        found: dict[str, object] = {}
        with self.session() as s:
            if not s.collections.exists(self.target):
                return found
            for _coll, _subs, objs in s.collections.get(self.target).walk():
                for obj in objs:
                    found[obj.path] = obj
        return found


@pytest.fixture
def ingest(
    ingest_zone: Zone,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Ingest]:
    """The command's environment: the zone by IRODS_* variables, Redis by LZ_INGEST_REDIS_URL."""
    yield from ingest_environment(ingest_zone, redis_url, monkeypatch, tmp_path, capsys)


def ingest_environment(
    zone: Zone, redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Ingest]:
    """An Ingest against `zone` as its admin, its target removed afterwards (the body of fixtures)."""
    monkeypatch.setenv("IRODS_HOST", zone.host)
    monkeypatch.setenv("IRODS_PORT", str(zone.port))
    monkeypatch.setenv("IRODS_USER_NAME", zone.admin)
    monkeypatch.setenv("IRODS_ZONE_NAME", zone.zone)
    monkeypatch.setenv("IRODS_PASSWORD", zone.admin_password)
    monkeypatch.setenv("LZ_INGEST_REDIS_URL", redis_url)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for var in ("IRODS_ENVIRONMENT_FILE", "IRODS_AUTHENTICATION_FILE"):
        monkeypatch.delenv(var, raising=False)
    target = f"{zone.home()}/ingest-{uuid.uuid4().hex[:10]}"
    yield Ingest(zone, redis_url, target, capsys)
    with zone.session() as s:
        if s.collections.exists(target):
            s.collections.remove(target, recurse=True, force=True)


def write_tree(root: Path, files: dict[str, bytes | str], age: float = 60.0) -> Path:
    """Create files (relative path -> content) with an mtime `age` seconds in the past (settled)."""
    import time

    when = time.time() - age
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        os.utime(path, (when, when))
    return root
