"""Contract: who may write where, and who may register physical paths, on a stock iRODS 4.3 server."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from irods import keywords as kw
from irods.exception import CAT_NO_ACCESS_PERMISSION, iRODSException
from irods.session import iRODSSession

from tests.irods_fixtures import Zone

PATH_REG_NOT_ALLOWED = -129000


@contextmanager
def refused_path_registration() -> Iterator[None]:
    """PATH_REG_NOT_ALLOWED (-129000). python-irodsclient 3.3.0 has no exception class for this code, so
    get_exception_by_code raises KeyError(-129000) from its code table; accept a class should it get one."""
    with pytest.raises((KeyError, iRODSException)) as info:
        yield
    exc = info.value
    code = exc.args[0] if isinstance(exc, KeyError) else getattr(exc, "code", None)
    assert code == PATH_REG_NOT_ALLOWED, repr(exc)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def alice(zone: Zone, user_session: Callable[..., iRODSSession]) -> iRODSSession:
    """The zone's unprivileged user (alice on irods-lite)."""
    return user_session()


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "payload.bin"
    path.write_bytes(b"some bytes\n")
    return path


@pytest.fixture
def alice_coll(zone: Zone, alice: iRODSSession) -> Iterator[str]:
    assert zone.rodsuser is not None
    path = f"{zone.home(zone.rodsuser)}/{_name('perm')}"
    alice.collections.create(path)
    yield path
    try:
        alice.collections.remove(path, recurse=True, force=True)
    except Exception:
        pass


def _other_homes(zone: Zone) -> list[str]:
    homes = [zone.home()]  # the admin's
    if zone.lite is not None:
        homes.append(zone.home("bob"))  # another rodsuser's
    return homes


def test_user_cannot_create_a_collection_in_someone_elses_home(zone: Zone, alice: iRODSSession) -> None:
    for home in _other_homes(zone):
        with pytest.raises(CAT_NO_ACCESS_PERMISSION):
            alice.collections.create(f"{home}/{_name('intruder')}")


def test_user_cannot_put_into_someone_elses_home(zone: Zone, alice: iRODSSession, src: Path) -> None:
    for home in _other_homes(zone):
        with pytest.raises(CAT_NO_ACCESS_PERMISSION):
            alice.data_objects.put(str(src), f"{home}/{_name('intruder')}.bin")


def test_user_registering_into_someone_elses_home_is_refused_as_path_registration(
    zone: Zone, alice: iRODSSession, src: Path
) -> None:
    # register_physical_path.cpp checks the path-registration policy (getchkPathPerm / chkFilePathPerm)
    # before svrRegDataObj checks the collection's permissions, so the error is PATH_REG_NOT_ALLOWED.
    for home in _other_homes(zone):
        with refused_path_registration():
            alice.data_objects.register(str(src), f"{home}/{_name('intruder')}.bin")


def test_refused_put_leaves_no_catalog_entry(zone: Zone, alice: iRODSSession, session: iRODSSession, src: Path) -> None:
    target = f"{zone.home()}/{_name('intruder')}.bin"
    with pytest.raises(CAT_NO_ACCESS_PERMISSION):
        alice.data_objects.put(str(src), target)
    assert not session.data_objects.exists(target)


def test_user_can_create_and_put_in_her_own_home(zone: Zone, alice: iRODSSession, alice_coll: str, src: Path) -> None:
    sub = f"{alice_coll}/sub"
    alice.collections.create(sub)
    alice.data_objects.put(str(src), f"{sub}/x.bin")
    obj = alice.data_objects.get(f"{sub}/x.bin")
    assert obj.size == src.stat().st_size
    assert obj.owner_name == zone.rodsuser


def test_user_cannot_register_even_into_her_own_home(alice: iRODSSession, alice_coll: str, src: Path) -> None:
    # Stock policy: core.re acSetChkFilePathPerm -> msiSetChkFilePathPerm("disallowPathReg");
    # physPath.cpp getchkPathPerm exempts only a LOCAL_PRIV_USER_AUTH client user, and
    # fileOpr.cpp chkFilePathPerm answers DISALLOW_PATH_REG with PATH_REG_NOT_ALLOWED (-129000).
    with refused_path_registration():
        alice.data_objects.register(str(src), f"{alice_coll}/reg.bin")
    assert not alice.data_objects.exists(f"{alice_coll}/reg.bin")


def test_user_cannot_register_with_an_explicit_resource_either(
    zone: Zone, alice: iRODSSession, alice_coll: str, src: Path
) -> None:
    options = {kw.DEST_RESC_NAME_KW: zone.hierarchy[-1]} if zone.hierarchy else {}
    with refused_path_registration():
        alice.data_objects.register(str(src), f"{alice_coll}/reg.bin", **options)


def test_admin_proxying_as_a_user_cannot_register(zone: Zone, alice: iRODSSession, alice_coll: str, src: Path) -> None:
    # With proxy access the *client* user's privilege is the one checked (physPath.cpp getchkPathPerm
    # reads rsComm->clientUser.authInfo.authFlag), so rods acting as alice is refused like alice.
    with zone.session(client_user=zone.rodsuser) as proxied, refused_path_registration():
        proxied.data_objects.register(str(src), f"{alice_coll}/reg.bin")


def test_admin_proxying_as_a_user_has_only_that_users_permissions(zone: Zone, alice: iRODSSession, src: Path) -> None:
    # Catalog permission checks use the client user (rsComm->clientUser), not the proxy.
    with zone.session(client_user=zone.rodsuser) as proxied:
        with pytest.raises(CAT_NO_ACCESS_PERMISSION):
            proxied.collections.create(f"{zone.home()}/{_name('via-proxy')}")
        with pytest.raises(CAT_NO_ACCESS_PERMISSION):
            proxied.data_objects.put(str(src), f"{zone.home()}/{_name('via-proxy')}.bin")


def test_admin_can_register(zone: Zone, session: iRODSSession, coll: str, src: Path) -> None:
    session.data_objects.register(str(src), f"{coll}/reg.bin")
    obj = session.data_objects.get(f"{coll}/reg.bin")
    assert obj.size == src.stat().st_size
    assert obj.replicas[0].path == str(src)
    assert obj.owner_name == zone.admin
    with obj.open("r") as fh:
        assert fh.read() == src.read_bytes()
    session.data_objects.unregister(f"{coll}/reg.bin")
    assert src.exists()  # unregistering keeps the file


def test_admin_can_register_into_a_users_home(zone: Zone, alice: iRODSSession, alice_coll: str, src: Path) -> None:
    with zone.session() as admin:
        admin.data_objects.register(str(src), f"{alice_coll}/by-admin.bin")
        assert admin.data_objects.get(f"{alice_coll}/by-admin.bin").owner_name == zone.admin
        admin.data_objects.unregister(f"{alice_coll}/by-admin.bin")
