"""lz-ingest through TLS: the SSL settings of an iRODS environment file reach python-irodsclient.

The zone is irods-lite whose policy is CS_NEG_REQUIRE, with a certificate from a CA the fixture makes;
lz-ingest finds the zone through ~/.irods/irods_environment.json and .irodsA in a temporary HOME, as
after an iinit. A plain-TCP client is refused by that server, so every passing ingest went through TLS.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from irods.session import iRODSSession

from lz_ingest.irods_lite import LiteServer
from tests.engine_fixtures import Ingest, Result, write_tree
from tests.irods_fixtures import Zone, _lite_zone
from tests.tls_fixtures import ENCRYPTION_SETTINGS, Pki, client_tls_settings, start_tls_lite, write_env_file

from .jobtools import handler_file, lz_keys

MIB = 1024 * 1024
PUT_SYNC = """
@staticmethod
def operation(session, meta, **options):
    return Operation.PUT_SYNC
"""


@dataclass
class TlsZone(Zone):
    """The zone's sessions for checking the catalog, negotiating TLS as lz-ingest does."""

    tls: dict[str, Any] = field(default_factory=dict)

    def session(self, user: str | None = None, password: str | None = None, **kwargs: object) -> iRODSSession:
        name = user or self.admin
        secret = password or (self.admin_password if name == self.admin else self.rodsuser_password)
        settings = {**self.tls, **kwargs}
        return iRODSSession(host="localhost", port=self.port, user=name, password=secret, zone=self.zone, **settings)


@pytest.fixture(scope="module")
def tls_zone(pki: Pki) -> Iterator[TlsZone]:
    with tempfile.TemporaryDirectory(prefix="irods-lite-tls-engine-") as tmp:
        server = start_tls_lite(Path(tmp), pki)
        try:
            yield TlsZone(**vars(_lite_zone(server)), tls=client_tls_settings(pki.ca))
        finally:
            server.stop()


@pytest.fixture
def tls_ingest(
    tls_zone: TlsZone,
    pki: Pki,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Iterator[Ingest]:
    """lz-ingest configured only by the environment file of a TLS client (no IRODS_HOST ... variables)."""
    assert tls_zone.lite is not None
    caplog.set_level(logging.ERROR, logger="irods_lite")  # the in-process server's refusals are not lz-ingest's
    home = tmp_path / "home"
    write_env_file(home, tls_zone.lite, pki.ca)
    for var in ("IRODS_HOST", "IRODS_PORT", "IRODS_USER_NAME", "IRODS_ZONE_NAME", "IRODS_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    for var in ("IRODS_ENVIRONMENT_FILE", "IRODS_AUTHENTICATION_FILE", "IRODS_SSL_CA_CERTIFICATE_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LZ_INGEST_REDIS_URL", redis_url)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    target = f"{tls_zone.home()}/tls-{uuid.uuid4().hex[:10]}"
    yield Ingest(tls_zone, redis_url, target, capsys)
    with tls_zone.session() as s:
        if s.collections.exists(target):
            s.collections.remove(target, recurse=True, force=True)


def tls_connections(ingest: Ingest) -> int:
    lite = ingest.zone.lite
    assert isinstance(lite, LiteServer)
    return lite.tls_counts[ENCRYPTION_SETTINGS]


def assert_identical(ingest: Ingest, logical: str, expected: bytes, tmp_path: Path) -> None:
    out = tmp_path / f"back-{uuid.uuid4().hex[:6]}"
    with ingest.session() as s:
        s.data_objects.get(logical, str(out))
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(expected).digest()


def test_register_through_tls(tls_ingest: Ingest, tmp_path: Path) -> None:
    files = {"small.txt": b"over tls\n", "big.bin": os.urandom(40 * MIB + 17)}
    src = write_tree(tmp_path / "src", files)
    before = tls_connections(tls_ingest)
    result = tls_ingest.rescan(src)
    assert result.code == 0, result.out + result.err
    objects = tls_ingest.objects()
    assert {p.rsplit("/", 1)[1]: o.size for p, o in objects.items()} == {n: len(d) for n, d in files.items()}
    for name in files:
        assert objects[f"{tls_ingest.target}/{name}"].replicas[0].path == str(src / name)
    assert tls_connections(tls_ingest) > before


def test_put_through_tls_small_and_40_mib(tls_ingest: Ingest, tmp_path: Path) -> None:
    # lz-ingest writes 8 MiB DATA_OBJ_WRITEs itself (irods/api.py): on a TLS socket sendfile falls back to
    # ssl's send, so the bytes are encrypted like every other message.
    files = {"small.txt": b"put over tls\n", "d/big.bin": os.urandom(40 * MIB + 4099)}
    src = write_tree(tmp_path / "src", files)
    before = tls_connections(tls_ingest)
    result = tls_ingest.rescan(src, "--event_handler", handler_file(tmp_path, PUT_SYNC))
    assert result.code == 0, result.out + result.err
    assert tls_connections(tls_ingest) > before
    for rel, data in files.items():
        assert_identical(tls_ingest, f"{tls_ingest.target}/{rel}", data, tmp_path)


def assert_one_line_error(ingest: Ingest, result: Result, *culprits: str) -> None:
    assert result.code == 2, (result.code, result.out, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("lz-ingest: error: "), result.err
    assert "Traceback" not in result.err
    for culprit in culprits:
        assert culprit in lines[0], (culprit, lines[0])
    assert lz_keys(ingest.redis_url) == []


def _edit_env(key: str, value: Any) -> None:
    env_file = Path(os.environ["HOME"]) / ".irods" / "irods_environment.json"
    env = json.loads(env_file.read_text())
    env[key] = value
    env_file.write_text(json.dumps(env))


def test_a_wrong_ca_is_one_line_naming_the_ca_file(tls_ingest: Ingest, pki: Pki, tmp_path: Path) -> None:
    _edit_env("irods_ssl_ca_certificate_file", str(pki.other_ca))
    result = tls_ingest.rescan(write_tree(tmp_path / "src", {"a.txt": "a"}))
    assert_one_line_error(tls_ingest, result, str(pki.other_ca), "certificate verification failed")


def test_the_ca_variable_overrides_the_environment_file(
    tls_ingest: Ingest, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _edit_env("irods_ssl_ca_certificate_file", str(pki.other_ca))
    monkeypatch.setenv("IRODS_SSL_CA_CERTIFICATE_FILE", str(pki.ca))  # as for the iCommands
    result = tls_ingest.rescan(write_tree(tmp_path / "src", {"a.txt": "a"}))
    assert result.code == 0, result.out + result.err
    assert list(tls_ingest.objects()) == [f"{tls_ingest.target}/a.txt"]


def test_a_missing_ca_file_is_one_line_naming_it(tls_ingest: Ingest, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    _edit_env("irods_ssl_ca_certificate_file", str(missing))
    result = tls_ingest.rescan(write_tree(tmp_path / "src", {"a.txt": "a"}))
    assert_one_line_error(tls_ingest, result, str(missing), "does not exist")


def test_refusing_tls_against_a_zone_that_requires_it_is_one_line(tls_ingest: Ingest, tmp_path: Path) -> None:
    _edit_env("irods_client_server_policy", "CS_NEG_REFUSE")
    result = tls_ingest.rescan(write_tree(tmp_path / "src", {"a.txt": "a"}))
    assert_one_line_error(
        tls_ingest, result, "TLS negotiation failed", "irods_client_server_policy CS_NEG_REFUSE", "CS_NEG_REQUIRE"
    )


def test_not_negotiating_with_a_zone_that_requires_tls_is_one_line(tls_ingest: Ingest, tmp_path: Path) -> None:
    # The server answers RODS_VERSION with SERVER_NEGOTIATION_ERROR and closes; python-irodsclient does not
    # look at that status and fails on its next read (its own log lines about it are muted in the preflight).
    _edit_env("irods_client_server_negotiation", "off")
    result = tls_ingest.rescan(write_tree(tmp_path / "src", {"a.txt": "a"}))
    assert_one_line_error(tls_ingest, result, "irods_client_server_negotiation request_server_negotiation")


def test_an_environment_file_named_by_irods_env_reaches_the_workers(
    tls_ingest: Ingest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job records the file; each spawned worker builds its TLS session from it (not from HOME).
    home = Path(os.environ["HOME"])
    env_file = tmp_path / "elsewhere" / "env.json"
    env_file.parent.mkdir()
    (home / ".irods" / "irods_environment.json").rename(env_file)
    (home / ".irods" / ".irodsA").rename(env_file.parent / ".irodsA")
    monkeypatch.setenv("IRODS_AUTHENTICATION_FILE", str(env_file.parent / ".irodsA"))
    result = tls_ingest.rescan(write_tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b"}), "--irods-env", env_file)
    assert result.code == 0, result.out + result.err
    assert sorted(tls_ingest.objects()) == [f"{tls_ingest.target}/a.txt", f"{tls_ingest.target}/b.txt"]
