"""Contract: TLS as a 4.3 server whose policy is CS_NEG_REQUIRE (or CS_NEG_DONT_CARE) does it.

python-irodsclient negotiates only when asked to (irods_client_server_negotiation); the server offers
its policy, the client answers CS_NEG_USE_SSL, RODS_VERSION comes in clear text, then TLS, the
client's encryption settings and the shared secret (irods/connection.py ssl_startup). A client that
refuses TLS, or does not negotiate, gets RODS_VERSION with SERVER_NEGOTIATION_ERROR (rodsAgent.cpp).
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from irods.exception import NetworkException
from irods.session import iRODSSession

from lz_ingest.cli import main
from lz_ingest.irods_lite import LiteConfig, LiteServer
from lz_ingest.irods_lite import protocol as P
from lz_ingest.irods_lite.tls import TlsConfigError
from tests.tls_fixtures import ENCRYPTION_SETTINGS, NEGOTIATE, Pki, client_tls_settings, start_tls_lite

from ._contract import write_file

MIB = 1024 * 1024
SERVER_NEGOTIATION_ERROR = -1825000
GET_FILE_DESCRIPTOR_INFO_APN = 20000


def tls_session(server: LiteServer, ca: Path, host: str = "localhost", **overrides: Any) -> iRODSSession:
    settings = {**client_tls_settings(ca), **overrides}
    return iRODSSession(host=host, port=server.port, user="rods", password="rods", zone="tempZone", **settings)


def is_tls(session: iRODSSession) -> bool:
    with session.pool.get_connection() as conn:
        return isinstance(conn.socket, ssl.SSLSocket)


@pytest.fixture
def coll(tls_lite: LiteServer, pki: Pki) -> Iterator[str]:
    path = f"/tempZone/home/rods/tls-{os.urandom(6).hex()}"
    with tls_session(tls_lite, pki.ca) as s:
        s.collections.create(path)
    yield path
    with tls_session(tls_lite, pki.ca) as s:
        s.collections.remove(path, recurse=True, force=True)


# ---- the raw handshake --------------------------------------------------------------------------------


def startup(option: str = "lz-test") -> bytes:
    pack = P.element(
        "StartupPack_PI",
        ("irodsProt", 1),
        ("reconnFlag", 0),
        ("connectCnt", 0),
        ("proxyUser", "rods"),
        ("proxyRcatZone", "tempZone"),
        ("clientUser", "rods"),
        ("clientRcatZone", "tempZone"),
        ("relVersion", "rods4.3.4"),
        ("apiVersion", "d"),
        ("option", option),
    )
    return P.pack_message(P.Message("RODS_CONNECT", pack.encode()))


def version_status(sock: socket.socket) -> int:
    reply = P.read_message(sock)
    assert reply.type == "RODS_VERSION", reply.type
    return P.integer(P.parse_body(reply.body), "status")


def assert_closed(sock: socket.socket) -> None:
    sock.settimeout(30)
    assert sock.recv(1) == b""  # the agent exited


def test_negotiation_offers_require_and_tls_carries_the_encryption_settings(tls_lite: LiteServer, pki: Pki) -> None:
    before = tls_lite.tls_counts[ENCRYPTION_SETTINGS]
    with socket.create_connection(("127.0.0.1", tls_lite.port), timeout=30) as sock:
        sock.sendall(startup("lz-test" + NEGOTIATE))
        offer = P.read_message(sock)
        assert offer.type == "RODS_CS_NEG_T"
        root = P.parse_body(offer.body)
        assert (P.integer(root, "status"), P.text(root, "result")) == (1, "CS_NEG_REQUIRE")
        answer = P.element("CS_NEG_PI", ("status", 1), ("result", "cs_neg_result_kw=CS_NEG_USE_SSL;"))
        sock.sendall(P.pack_message(P.Message("RODS_CS_NEG_T", answer.encode())))
        assert version_status(sock) == 0  # in clear text, before TLS
        ctx = ssl.create_default_context(cafile=str(pki.ca))
        with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
            header = (
                b"<MsgHeader_PI><type>AES-256-CBC</type><msgLen>32</msgLen><errorLen>8</errorLen>"
                b"<bsLen>16</bsLen><intInfo>0</intInfo></MsgHeader_PI>"
            )
            tls.sendall(len(header).to_bytes(4, "big") + header)
            tls.sendall(P.pack_message(P.Message("SHARED_SECRET", os.urandom(32))))
            auth = P.bin_bytes_json({"scheme": "native", "next_operation": "auth_agent_auth_request"})
            tls.sendall(P.pack_message(P.Message("RODS_API_REQ", auth, int_info=110000)))
            reply = P.read_message(tls)
            assert (reply.type, reply.int_info) == ("RODS_API_REPLY", 0)
            assert len(P.json_body(reply.body)["request_result"]) == 64
    assert tls_lite.tls_counts[ENCRYPTION_SETTINGS] == before + 1


def test_a_client_that_does_not_negotiate_gets_server_negotiation_error(tls_lite: LiteServer) -> None:
    # irods_server_negotiation.cpp: "SSL is required by the server but not requested by the client"
    with socket.create_connection(("127.0.0.1", tls_lite.port), timeout=30) as sock:
        sock.sendall(startup())
        assert version_status(sock) == SERVER_NEGOTIATION_ERROR
        assert_closed(sock)


@pytest.mark.parametrize("status, result", [(1, "CS_NEG_USE_TCP"), (0, "CS_NEG_FAILURE")])
def test_a_client_refusing_tls_gets_server_negotiation_error(tls_lite: LiteServer, status: int, result: str) -> None:
    # "request to use TCP refused" / "failure detected from client": the version carries the error
    with socket.create_connection(("127.0.0.1", tls_lite.port), timeout=30) as sock:
        sock.sendall(startup("lz-test" + NEGOTIATE))
        P.read_message(sock)
        answer = P.element("CS_NEG_PI", ("status", status), ("result", f"cs_neg_result_kw={result};"))
        sock.sendall(P.pack_message(P.Message("RODS_CS_NEG_T", answer.encode())))
        assert version_status(sock) == SERVER_NEGOTIATION_ERROR
        assert_closed(sock)


# ---- python-irodsclient -------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_python_irodsclient_verifies_the_certificate_and_works_over_tls(
    tls_lite: LiteServer, pki: Pki, host: str
) -> None:
    before = tls_lite.tls_counts[ENCRYPTION_SETTINGS]
    with tls_session(tls_lite, pki.ca, host=host) as s:
        assert s.collections.get("/tempZone/home/rods").path == "/tempZone/home/rods"
        assert is_tls(s)
    assert tls_lite.tls_counts[ENCRYPTION_SETTINGS] > before


def test_small_put_and_get_over_tls_are_byte_identical(
    tls_lite: LiteServer, pki: Pki, coll: str, tmp_path: Path
) -> None:
    data = os.urandom(3 * MIB + 7)
    with tls_session(tls_lite, pki.ca) as s:
        s.data_objects.put(str(write_file(tmp_path / "small", data)), f"{coll}/small")
        with s.data_objects.open(f"{coll}/small", "r") as f:
            assert f.read() == data
        s.data_objects.get(f"{coll}/small", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data


def test_40_mib_parallel_put_and_get_over_tls_are_byte_identical(
    tls_lite: LiteServer, pki: Pki, coll: str, tmp_path: Path
) -> None:
    # PRC's parallel path (irods/parallel.py) opens more connections from the session's pool, each its
    # own TLS connection with its own shared secret; the bytes travel inside TLS.
    data = os.urandom(40 * MIB + 4321)
    src = write_file(tmp_path / "big", data)
    with tls_session(tls_lite, pki.ca) as s:
        tls_lite.reset_counts()
        before = tls_lite.tls_counts[ENCRYPTION_SETTINGS]
        s.data_objects.put(str(src), f"{coll}/big")
        assert tls_lite.call_counts().get(GET_FILE_DESCRIPTOR_INFO_APN, 0) >= 1  # it went parallel
        assert tls_lite.tls_counts[ENCRYPTION_SETTINGS] >= before + 2  # 1 + N connections, all TLS
        assert s.data_objects.get(f"{coll}/big").size == len(data)
        tls_lite.reset_counts()
        s.data_objects.get(f"{coll}/big", str(tmp_path / "back"))
        assert tls_lite.call_counts().get(GET_FILE_DESCRIPTOR_INFO_APN, 0) >= 1
    back = (tmp_path / "back").read_bytes()
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()


def test_python_irodsclient_refusing_tls_fails_the_negotiation(tls_lite: LiteServer, pki: Pki) -> None:
    with (
        tls_session(tls_lite, pki.ca, irods_client_server_policy="CS_NEG_REFUSE") as s,
        pytest.raises(NetworkException, match="negotiation failure: CS_NEG_REFUSE,CS_NEG_REQUIRE"),
    ):
        s.collections.get("/tempZone/home/rods")
    with tls_session(tls_lite, pki.ca) as s:  # the server goes on serving
        assert s.collections.exists("/tempZone/home/rods")


def test_a_wrong_ca_fails_the_certificate_verification(tls_lite: LiteServer, pki: Pki) -> None:
    with tls_session(tls_lite, pki.other_ca) as s, pytest.raises(ssl.SSLCertVerificationError):
        s.collections.get("/tempZone/home/rods")
    with tls_session(tls_lite, pki.ca) as s:
        assert s.collections.exists("/tempZone/home/rods")


def test_dropped_tls_connections_are_noticed_and_the_next_call_reconnects(tls_lite: LiteServer, pki: Pki) -> None:
    with tls_session(tls_lite, pki.ca) as s:
        s.collections.get("/tempZone/home/rods")
        tls_lite.drop_connections()  # reaches the TLS sockets, which took over the accepted ones
        with pytest.raises(NetworkException):
            s.collections.get("/tempZone/home/rods")
        assert s.collections.get("/tempZone/home/rods").path == "/tempZone/home/rods"


def test_legacy_authentication_of_a_4_2_server_works_over_tls(pki: Pki, tmp_path: Path) -> None:
    server = start_tls_lite(tmp_path / "lite", pki, version="4.2.12")
    try:
        with tls_session(server, pki.ca) as s:
            assert s.collections.exists("/tempZone/home/rods")
            assert is_tls(s)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def dont_care_lite(pki: Pki) -> Iterator[LiteServer]:
    with tempfile.TemporaryDirectory(prefix="irods-lite-tls-") as tmp:
        server = start_tls_lite(Path(tmp), pki, policy="CS_NEG_DONT_CARE")
        try:
            yield server
        finally:
            server.stop()


@pytest.mark.parametrize(
    "client, expect_tls",
    [
        ({}, True),  # the client requires TLS
        ({"irods_client_server_policy": "CS_NEG_REFUSE"}, False),
        ({"irods_client_server_negotiation": "none"}, False),  # no negotiation at all
    ],
)
def test_a_dont_care_server_follows_the_client(
    dont_care_lite: LiteServer, pki: Pki, client: dict[str, str], expect_tls: bool
) -> None:
    with tls_session(dont_care_lite, pki.ca, **client) as s:
        assert s.collections.exists("/tempZone/home/rods")
        assert is_tls(s) is expect_tls


# ---- configuration ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"tls_policy": "CS_NEG_REQUIRE"}, "needs a certificate"),
        ({"tls_cert": "x.pem"}, "needs a certificate and its key"),
        ({"tls_policy": "CS_NEG_MAYBE", "tls_cert": "c", "tls_key": "k"}, "CS_NEG_MAYBE"),
    ],
)
def test_tls_settings_that_cannot_work_are_refused(tmp_path: Path, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(TlsConfigError, match=message):
        LiteServer(LiteConfig(data_dir=tmp_path, **fields))


def test_the_command_line_names_a_missing_certificate_in_one_line(
    tmp_path: Path, pki: Pki, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.pem"
    code = main(["irods-lite", "--data-dir", str(tmp_path), "--tls-cert", str(missing), "--tls-key", str(pki.key)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert str(missing) in err and "Traceback" not in err
