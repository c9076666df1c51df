"""Fixtures that give tests an iRODS zone: irods-lite, or a real zone named by IRODS_* variables.

Against irods-lite (the default) every test runs twice, once with the server reporting 4.3.x (native
authentication through API 110000) and once reporting 4.2.x (the legacy 703/704 flow).

To run the same tests against a real zone, set IRODS_HOST, IRODS_PORT, IRODS_USER_NAME (a rodsadmin),
IRODS_ZONE_NAME and IRODS_PASSWORD. Tests that need a second, unprivileged user also read
LZ_TEST_RODSUSER and LZ_TEST_RODSUSER_PASSWORD; tests that need resource hierarchies read
LZ_TEST_HIERARCHY="root;middle;leaf" and LZ_TEST_SECOND_RESOURCE. Tests needing irods-lite's fault
injection are skipped against a real zone.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from irods.session import iRODSSession

from lz_ingest.irods_lite import LiteConfig, LiteServer, ResourceSpec, UserSpec

REAL_ZONE_VARS = ("IRODS_HOST", "IRODS_PORT", "IRODS_USER_NAME", "IRODS_ZONE_NAME", "IRODS_PASSWORD")

LITE_USERS = (UserSpec("rods", "rods", True), UserSpec("alice", "alicepass"), UserSpec("bob", "bobpass"))
# demoResc (a leaf, created by default); a passthru root over a leaf; a three-level tree; a second root leaf.
LITE_RESOURCES = (
    ResourceSpec("ptRoot", "passthru"),
    ResourceSpec("ptLeaf", "unixfilesystem", "ptRoot"),
    ResourceSpec("treeRoot", "random"),
    ResourceSpec("treeMid", "passthru", "treeRoot"),
    ResourceSpec("treeLeaf", "unixfilesystem", "treeMid"),
    ResourceSpec("secondResc", "unixfilesystem"),
)


def real_zone_configured() -> bool:
    return all(os.environ.get(v) for v in REAL_ZONE_VARS)


@dataclass
class Zone:
    """Where the tests talk to, and as whom."""

    host: str
    port: int
    zone: str
    admin: str
    admin_password: str
    rodsuser: str | None
    rodsuser_password: str | None
    hierarchy: tuple[str, ...] | None  # root, middle, leaf
    second_resource: str | None
    lite: LiteServer | None  # None against a real zone

    def session(self, user: str | None = None, password: str | None = None, **kwargs: object) -> iRODSSession:
        name = user or self.admin
        if password is None:
            password = self.admin_password if name == self.admin else self.rodsuser_password
        return iRODSSession(host=self.host, port=self.port, user=name, password=password, zone=self.zone, **kwargs)

    def home(self, user: str | None = None) -> str:
        return f"/{self.zone}/home/{user or self.admin}"

    @property
    def version(self) -> str:
        return self.lite.config.version if self.lite else "real"


def _real_zone() -> Zone:
    env = os.environ
    hier = env.get("LZ_TEST_HIERARCHY")
    return Zone(
        host=env["IRODS_HOST"],
        port=int(env["IRODS_PORT"]),
        zone=env["IRODS_ZONE_NAME"],
        admin=env["IRODS_USER_NAME"],
        admin_password=env["IRODS_PASSWORD"],
        rodsuser=env.get("LZ_TEST_RODSUSER"),
        rodsuser_password=env.get("LZ_TEST_RODSUSER_PASSWORD"),
        hierarchy=tuple(hier.split(";")) if hier else None,
        second_resource=env.get("LZ_TEST_SECOND_RESOURCE"),
        lite=None,
    )


def start_lite(data_dir: Path, version: str) -> LiteServer:
    config = LiteConfig(data_dir=data_dir, port=0, version=version, users=LITE_USERS, resources=LITE_RESOURCES)
    return LiteServer(config).start()


def _lite_zone(server: LiteServer) -> Zone:
    return Zone(
        host="127.0.0.1",
        port=server.port,
        zone=server.config.zone,
        admin="rods",
        admin_password="rods",
        rodsuser="alice",
        rodsuser_password="alicepass",
        hierarchy=("treeRoot", "treeMid", "treeLeaf"),
        second_resource="secondResc",
        lite=server,
    )


ZONE_PARAMS = ["real"] if real_zone_configured() else ["4.3.4", "4.2.12"]


@pytest.fixture(scope="session", params=ZONE_PARAMS)
def zone(request: pytest.FixtureRequest) -> Iterator[Zone]:
    """The zone under test: a real one when IRODS_* are set, else irods-lite (4.3 and legacy 4.2)."""
    if request.param == "real":
        yield _real_zone()
        return
    with tempfile.TemporaryDirectory(prefix="irods-lite-") as tmp:
        server = start_lite(Path(tmp), request.param)
        try:
            yield _lite_zone(server)
        finally:
            server.stop()


@pytest.fixture
def lite(zone: Zone) -> Iterator[LiteServer]:
    """irods-lite itself, for fault injection; skipped against a real zone. Faults are cleared after."""
    if zone.lite is None:
        pytest.skip("needs irods-lite's fault injection")
    yield zone.lite
    zone.lite.set_latency(0)
    zone.lite.faults.fail_next.clear()


@pytest.fixture
def session(zone: Zone) -> Iterator[iRODSSession]:
    """A session as the zone's rodsadmin."""
    with zone.session() as s:
        yield s


@pytest.fixture
def user_session(zone: Zone) -> Callable[..., iRODSSession]:
    """Make sessions as other users; a test needing an unprivileged user skips when the zone has none."""
    opened: list[iRODSSession] = []

    def make(user: str | None = None, password: str | None = None, **kwargs: object) -> iRODSSession:
        if user is None and zone.rodsuser is None:
            pytest.skip("needs LZ_TEST_RODSUSER on a real zone")
        s = zone.session(user or zone.rodsuser, password, **kwargs)
        opened.append(s)
        return s

    yield make  # type: ignore[misc]
    for s in opened:
        s.cleanup()


@pytest.fixture
def coll(zone: Zone, session: iRODSSession) -> Iterator[str]:
    """A fresh collection under the admin's home, removed (forced) afterwards."""
    path = f"{zone.home()}/t-{uuid.uuid4().hex[:12]}"
    session.collections.create(path)
    yield path
    try:
        session.collections.remove(path, recurse=True, force=True)
    except Exception:  # the test may have removed or moved it
        pass
