"""Contract: user and group administration by a rodsadmin (GENERAL_ADMIN, API 701), as on a 4.3 server."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from irods.exception import (
    CAT_INSUFFICIENT_PRIVILEGE_LEVEL,
    CAT_INVALID_AUTHENTICATION,
    CAT_INVALID_USER_TYPE,
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    GroupDoesNotExist,
    UserDoesNotExist,
)
from irods.session import iRODSSession

from lz_ingest.irods_lite import LiteConfig, LiteServer
from lz_ingest.irods_lite.obf import PasswordEncodingError, decode_by_key, new_password
from tests.irods_fixtures import Zone


def _name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def made(session: iRODSSession) -> Iterator[Callable[..., str]]:
    """Create users / groups by name; whatever still exists is removed afterwards."""
    names: list[str] = []

    def make(kind: str = "rodsuser", password: str | None = None) -> str:
        name = _name("g" if kind == "rodsgroup" else "u")
        if kind == "rodsgroup":
            session.groups.create(name)
        else:
            user = session.users.create(name, kind)
            if password is not None:
                user.modify("password", password)
        names.append(name)
        return name

    yield make
    for name in reversed(names):
        try:
            session.users.remove(name)
        except (UserDoesNotExist, GroupDoesNotExist):
            pass


@pytest.mark.parametrize("kind", ["rodsuser", "rodsadmin", "groupadmin"])
def test_admin_creates_a_user_of_each_type_with_home_and_trash(
    zone: Zone, session: iRODSSession, made: Callable[..., str], kind: str
) -> None:
    name = made(kind)
    user = session.users.get(name)
    assert (user.name, user.type, user.zone) == (name, kind, zone.zone)
    home = session.collections.get(f"/{zone.zone}/home/{name}")
    assert home.owner_name == name
    assert session.collections.exists(f"/{zone.zone}/trash/home/{name}")
    assert name in [m.name for m in session.groups.get("public").members]


def test_a_password_set_by_the_admin_lets_the_user_log_in(
    zone: Zone, session: iRODSSession, made: Callable[..., str]
) -> None:
    name = made("rodsuser", password="first-Pa55")
    with zone.session(name, "first-Pa55") as s:
        assert s.collections.get(f"/{zone.zone}/home/{name}").name == name
    session.users.get(name).modify("password", "second-Pa55")
    with zone.session(name, "first-Pa55") as s, pytest.raises(CAT_INVALID_AUTHENTICATION):
        s.collections.get(f"/{zone.zone}/home/{name}")
    with zone.session(name, "second-Pa55") as s:
        assert s.collections.exists(f"/{zone.zone}/home/{name}")


def test_a_user_changes_its_own_password(zone: Zone, made: Callable[..., str]) -> None:
    name = made("rodsuser", password="old-Pa55")
    with zone.session(name, "old-Pa55") as s:
        s.users.modify_password("old-Pa55", "new-Pa55")
    with zone.session(name, "new-Pa55") as s:
        assert s.collections.exists(f"/{zone.zone}/home/{name}")


def test_removed_users_are_gone_with_their_empty_homes(
    zone: Zone, session: iRODSSession, made: Callable[..., str]
) -> None:
    name = made("rodsuser")
    session.users.remove(name)
    with pytest.raises(UserDoesNotExist):
        session.users.get(name)
    assert not session.collections.exists(f"/{zone.zone}/home/{name}")


def test_creating_an_existing_user_or_an_unknown_type_is_refused(
    session: iRODSSession, made: Callable[..., str]
) -> None:
    name = made("rodsuser")
    with pytest.raises(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME):
        session.users.create(name, "rodsuser")
    with pytest.raises(CAT_INVALID_USER_TYPE):
        session.users.create(_name("u"), "superuser")


def test_groups_and_their_members(session: iRODSSession, made: Callable[..., str]) -> None:
    group, first, second = made("rodsgroup"), made("rodsuser"), made("rodsuser")
    g = session.groups.get(group)
    g.addmember(first)
    g.addmember(second)
    assert sorted(m.name for m in session.groups.get(group).members) == sorted([first, second])
    with pytest.raises(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME):
        g.addmember(first)
    g.removemember(first)
    assert [m.name for m in session.groups.get(group).members] == [second]
    session.groups.remove(group)
    with pytest.raises(GroupDoesNotExist):
        session.groups.get(group)


def test_a_rodsuser_cannot_administer_users(
    zone: Zone, user_session: Callable[..., iRODSSession], session: iRODSSession, made: Callable[..., str]
) -> None:
    alice = user_session()
    victim = made("rodsuser")
    with pytest.raises(CAT_INSUFFICIENT_PRIVILEGE_LEVEL):
        alice.users.create(_name("u"), "rodsuser")
    with pytest.raises(CAT_INSUFFICIENT_PRIVILEGE_LEVEL):
        alice.users.remove(victim)
    with pytest.raises(CAT_INSUFFICIENT_PRIVILEGE_LEVEL):
        alice.users.get(victim).modify("password", "stolen-Pa55")
    with pytest.raises(CAT_INSUFFICIENT_PRIVILEGE_LEVEL):
        alice.groups.create(_name("g"))
    assert session.users.get(victim).type == "rodsuser"


def test_users_groups_and_passwords_survive_a_restart(tmp_path: Path) -> None:
    server = LiteServer(LiteConfig(data_dir=tmp_path, port=0)).start()
    try:
        login = lambda user, pw: iRODSSession(  # noqa: E731
            host="127.0.0.1", port=server.port, user=user, password=pw, zone="tempZone"
        )
        with login("rods", "rods") as s:
            s.users.create("carol", "rodsuser").modify("password", "carol-Pa55")
            s.groups.create("lab").addmember("carol")
        server.restart()
        with login("carol", "carol-Pa55") as s:
            assert s.collections.exists("/tempZone/home/carol")
            assert [m.name for m in s.groups.get("lab").members] == ["carol"]
    finally:
        server.stop()


def test_password_deobfuscation_matches_the_clients_obfuscation() -> None:
    from irods.password_obfuscation import obfuscate_new_password, scramble

    for password in ("abc", "with spaces and 'quotes'", "x" * 42):
        sent = obfuscate_new_password(password, "admin-key", "0123456789abcdef0123456789abcdef")
        assert new_password(sent, "admin-key", "0123456789abcdef0123456789abcdef") == password
        with pytest.raises(PasswordEncodingError):  # the padding is not found: what the server answers
            new_password(sent, "wrong-key", "0123456789abcdef0123456789abcdef")
    assert decode_by_key(scramble("plain text", "k", scramble_prefix=""), "k") == "plain text"
