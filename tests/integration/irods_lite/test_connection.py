"""Contract: connecting and authenticating, as a real iRODS server does it for python-irodsclient.

Runs against irods-lite reporting 4.3.x (native auth through API 110000) and 4.2.x (legacy 703/704),
or against a real zone when IRODS_* are set (see tests/irods_fixtures.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import pytest
from irods.exception import (
    CAT_INVALID_AUTHENTICATION,
    CAT_INVALID_CLIENT_USER,
    CAT_INVALID_USER,
    SYS_PROXYUSER_NO_PRIV,
    SYS_UNMATCHED_API_NUM,
    NetworkException,
    iRODSException,
)
from irods.message import iRODSMessage
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from tests.irods_fixtures import Zone

NEGOTIATE = "request_server_negotiation"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def test_session_reports_the_servers_version(zone: Zone, session: iRODSSession) -> None:
    # The version comes from the RODS_VERSION message of the handshake; on 4.3+ PRC then authenticates
    # through API 110000 (auth plugin framework), below 4.3 through the legacy 703/704 pair.
    session.collections.get(zone.home())
    if zone.lite is not None:
        assert session.server_version == _version_tuple(zone.version)
    else:
        assert session.server_version >= (4, 2, 9)


def test_wrong_password_is_cat_invalid_authentication(zone: Zone) -> None:
    with zone.session(password="not-the-password") as s, pytest.raises(CAT_INVALID_AUTHENTICATION):
        s.collections.get(zone.home())


def test_unknown_user_cannot_authenticate(zone: Zone) -> None:
    # db_plugin.cpp db_check_auth_op: no password row for the user -> CAT_INVALID_USER ("be a little more
    # specific"); some deployments report the failure as CAT_INVALID_AUTHENTICATION instead.
    name = f"nobody{uuid.uuid4().hex[:8]}"
    with (
        zone.session(user=name, password="whatever") as s,
        pytest.raises((CAT_INVALID_USER, CAT_INVALID_AUTHENTICATION)),
    ):
        s.collections.get(zone.home())


def test_failed_authentication_does_not_disturb_other_sessions(zone: Zone, session: iRODSSession) -> None:
    with zone.session(password="wrong") as bad, pytest.raises(CAT_INVALID_AUTHENTICATION):
        bad.collections.get(zone.home())
    assert session.collections.get(zone.home()).path == zone.home()


def test_rodsadmin_proxying_as_a_user_creates_objects_that_user_owns(
    zone: Zone, user_session: Callable[..., iRODSSession], tmp_path
) -> None:
    user_session()  # skips on a real zone without a second user
    assert zone.rodsuser is not None
    target = f"{zone.home(zone.rodsuser)}/proxy-{uuid.uuid4().hex[:8]}"
    src = tmp_path / "p.txt"
    src.write_bytes(b"proxied\n")
    with zone.session(client_user=zone.rodsuser) as proxied:
        proxied.collections.create(target)
        proxied.data_objects.put(str(src), f"{target}/p.txt")
        obj = proxied.data_objects.get(f"{target}/p.txt")
        assert obj.owner_name == zone.rodsuser
        assert proxied.collections.get(target).owner_name == zone.rodsuser
        row = (
            proxied.query(DataObject.owner_name)
            .filter(Collection.name == target)
            .filter(DataObject.name == "p.txt")
            .one()
        )
        assert row[DataObject.owner_name] == zone.rodsuser
        proxied.collections.remove(target, recurse=True, force=True)


def test_rodsuser_proxying_as_another_user_is_sys_proxyuser_no_priv(
    zone: Zone, user_session: Callable[..., iRODSSession]
) -> None:
    # rsAuthResponse.cpp chkProxyUserPriv / irods_rs_comm_query.cpp
    # throw_on_insufficient_privilege_for_proxy_user: only a rodsadmin proxy may act for someone else.
    s = user_session(client_user=zone.admin)
    with pytest.raises(SYS_PROXYUSER_NO_PRIV):
        s.collections.get(zone.home(zone.rodsuser))


def test_rodsadmin_proxying_as_an_unknown_user_is_refused(zone: Zone) -> None:
    # db_plugin.cpp db_check_auth_op: the client user of an admin proxy is looked up ->
    # CAT_INVALID_CLIENT_USER ("more specific") when absent.
    with zone.session(client_user=f"ghost{uuid.uuid4().hex[:8]}") as s, pytest.raises(CAT_INVALID_CLIENT_USER):
        s.collections.get(zone.home())


def test_requested_negotiation_with_tcp_policy_ends_on_plain_tcp(zone: Zone) -> None:
    # The client asks for negotiation in the startup pack's option; a stock server (acPreConnect ->
    # CS_NEG_REFUSE in core.re) and a CS_NEG_REFUSE client agree on CS_NEG_USE_TCP.
    with zone.session(irods_client_server_negotiation=NEGOTIATE, irods_client_server_policy="CS_NEG_REFUSE") as s:
        assert s.collections.get(zone.home()).path == zone.home()
        with s.pool.get_connection() as conn:
            assert not hasattr(conn.socket, "cipher")  # not wrapped in TLS


def test_client_requiring_tls_fails_negotiation_cleanly(zone: Zone, session: iRODSSession) -> None:
    if zone.lite is None:
        pytest.skip("a real zone may well offer TLS")
    # irods-lite, like a stock server (CS_NEG_REFUSE), does not offer TLS: a client that requires it
    # fails the negotiation itself (client_server_negotiation.perform_negotiation) rather than hanging.
    with (
        zone.session(irods_client_server_negotiation=NEGOTIATE, irods_client_server_policy="CS_NEG_REQUIRE") as s,
        pytest.raises(NetworkException, match="negotiation"),
    ):
        s.collections.get(zone.home())
    assert session.collections.get(zone.home()).path == zone.home()


def test_unknown_api_number_is_sys_unmatched_api_num_and_the_connection_stays_usable(
    zone: Zone, session: iRODSSession, caplog: pytest.LogCaptureFixture
) -> None:
    if zone.lite is None:
        # A real 4.3 / 5.0 server sends no reply at all: rsApiHandler.cpp returns the error of
        # irods::is_api_number_supported before replying, and rodsAgent.cpp's loop just reads the next
        # message, so the client waits for its socket timeout. irods-lite answers instead, on purpose:
        # an API it does not implement must fail fast, never hang the client.
        pytest.skip("a real server does not answer an unknown API number")
    caplog.set_level(logging.WARNING, logger="irods_lite")
    session.collections.get(zone.home())  # authenticate first: the pooled connection is then reused
    with session.pool.get_connection() as conn:
        conn.send(iRODSMessage("RODS_API_REQ", int_info=9999))
        with pytest.raises(SYS_UNMATCHED_API_NUM):
            conn.recv()
        conn.send(iRODSMessage("RODS_API_REQ", int_info=9999))
        with pytest.raises(iRODSException):
            conn.recv()
    assert session.collections.get(zone.home()).path == zone.home()
    if zone.lite is not None:
        assert any(
            r.name == "irods_lite" and r.levelno >= logging.WARNING and "9999" in r.getMessage() for r in caplog.records
        )
