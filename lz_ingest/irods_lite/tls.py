"""TLS in irods-lite: the client-server negotiation, the TLS handshake and the shared secret.

What a 4.3 server does (irods_server_negotiation.cpp, rodsAgent.cpp, plugins/network/src/ssl.cpp):
- a client that asks for negotiation (`request_server_negotiation` in the startup pack) gets
  RODS_CS_NEG_T with CS_NEG_PI{status 1, result <the server's policy>} and answers with
  `cs_neg_result_kw=CS_NEG_USE_SSL;` or `...CS_NEG_USE_TCP;` (status 1), or CS_NEG_FAILURE (status 0);
- RODS_VERSION follows in clear text; on CS_NEG_USE_SSL the client then starts TLS and sends, inside
  it, a header-only message carrying its encryption settings (type = algorithm, msgLen = key size,
  errorLen = salt size, bsLen = hash rounds) and a SHARED_SECRET message whose body is the key;
- a failed negotiation (a client refusing TLS that the server requires, a client that did not ask
  for negotiation at all, or a client reporting CS_NEG_FAILURE) gets a RODS_VERSION whose status is
  SERVER_NEGOTIATION_ERROR, and the agent exits.
The shared secret only encrypts the portal transfers of DATA_OBJ_PUT / DATA_OBJ_GET (rcPortalOpr.cpp),
which python-irodsclient never uses: its parallel transfers are more TLS connections of their own.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import errors as E
from . import protocol as P
from .config import LiteConfig

if TYPE_CHECKING:
    from .server import Conn, LiteServer

log = logging.getLogger("irods_lite")

REQUIRE, DONT_CARE, REFUSE = "CS_NEG_REQUIRE", "CS_NEG_DONT_CARE", "CS_NEG_REFUSE"
USE_SSL, USE_TCP, FAILURE = "CS_NEG_USE_SSL", "CS_NEG_USE_TCP", "CS_NEG_FAILURE"
RESULT_KW = "cs_neg_result_kw"
STATUS_SUCCESS = 1
POLICIES = (REQUIRE, DONT_CARE, REFUSE)
HANDSHAKE_TIMEOUT = 30.0  # READ_VERSION_TOUT_SEC: a peer that never finishes the handshake is dropped


class TlsConfigError(ValueError):
    """TLS settings irods-lite cannot start with (policy without a certificate, unreadable files)."""


def policy_of(config: LiteConfig) -> str:
    """The server's negotiation policy (acPreConnect's answer): CS_NEG_REQUIRE when a certificate is given."""
    policy = config.tls_policy or (REQUIRE if config.tls_cert else REFUSE)
    if policy not in POLICIES:
        raise TlsConfigError(f"TLS policy {policy!r}: expected one of {', '.join(POLICIES)}")
    if policy != REFUSE and not (config.tls_cert and config.tls_key):
        raise TlsConfigError(f"TLS policy {policy} needs a certificate and its key (--tls-cert, --tls-key)")
    if policy == REFUSE and config.tls_cert:
        raise TlsConfigError("a TLS certificate with policy CS_NEG_REFUSE: no client could use it")
    return policy


def server_context(config: LiteConfig) -> ssl.SSLContext | None:
    """The server's TLS context, or None when it offers no TLS; unreadable files are a TlsConfigError."""
    if policy_of(config) == REFUSE:
        return None
    assert config.tls_cert is not None and config.tls_key is not None
    for what, path in (("certificate", config.tls_cert), ("key", config.tls_key)):
        if not Path(path).is_file():
            raise TlsConfigError(f"TLS {what} {path}: no such file")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(Path(config.tls_cert), Path(config.tls_key))
    except (ssl.SSLError, OSError) as exc:
        raise TlsConfigError(f"TLS certificate {config.tls_cert} / key {config.tls_key}: {exc}") from None
    return ctx


@dataclass(frozen=True)
class Encryption:
    """The client's encryption settings and shared secret, as the server's ssl_agent_start keeps them."""

    algorithm: str
    key_size: int
    salt_size: int
    hash_rounds: int
    secret: bytes = b""

    @property
    def settings(self) -> tuple[str, int, int, int]:
        return (self.algorithm, self.key_size, self.salt_size, self.hash_rounds)


@dataclass(frozen=True)
class Outcome:
    """What the negotiation decided: the status RODS_VERSION carries, and whether TLS follows."""

    status: int
    use_ssl: bool = False


def negotiate(server: LiteServer, conn: Conn, requested: bool) -> Outcome:
    """The server's side of client_server_negotiation_for_server, up to (not including) RODS_VERSION."""
    policy = server.tls_policy
    if not requested:
        if policy == REQUIRE:
            log.warning("irods-lite: SSL is required by the server but not requested by the client")
            return Outcome(E.SERVER_NEGOTIATION_ERROR)
        return Outcome(0)
    offer = P.element("CS_NEG_PI", ("status", STATUS_SUCCESS), ("result", policy)).encode()
    server.send(conn, P.Message("RODS_CS_NEG_T", offer))
    answer = P.read_message(conn.reader)
    if answer.type != "RODS_CS_NEG_T":
        raise P.ProtocolError(f"expected the client's RODS_CS_NEG_T, got {answer.type}")
    root = P.parse_body(answer.body)
    result = _result(P.text(root, "result"))
    if policy == REQUIRE and result == USE_TCP:
        log.warning("irods-lite: request to use TCP refused (policy CS_NEG_REQUIRE)")
        return Outcome(E.SERVER_NEGOTIATION_ERROR)
    if P.integer(root, "status") != STATUS_SUCCESS or result not in (USE_SSL, USE_TCP):
        log.warning("irods-lite: failure detected from client for result [%s]", P.text(root, "result"))
        return Outcome(E.SERVER_NEGOTIATION_ERROR)
    if result == USE_SSL and server.tls_context is None:  # a server built without TLS cannot start it
        log.warning("irods-lite: client chose SSL, which this server does not offer")
        return Outcome(E.SERVER_NEGOTIATION_ERROR)
    return Outcome(0, result == USE_SSL)


def _result(text: str) -> str:
    """The value of cs_neg_result_kw in `cs_neg_result_kw=X;`; a 4.0 client sends the bare value."""
    if "=" not in text:
        return text.strip()
    pairs = dict(part.split("=", 1) for part in text.split(";") if "=" in part)
    return pairs.get(RESULT_KW, "").strip()


def start(server: LiteServer, conn: Conn) -> Encryption:
    """After RODS_VERSION: the TLS handshake, then the client's encryption settings and shared secret."""
    assert server.tls_context is not None
    if conn.reader.take_buffered(1):
        raise P.ProtocolError("client sent bytes before the TLS handshake")
    raw = conn.sock
    raw.settimeout(HANDSHAKE_TIMEOUT)
    try:
        tls_sock = server.tls_context.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as exc:
        log.warning("irods-lite: TLS handshake failed: %s", exc)
        raise
    server.replace_socket(raw, tls_sock)
    conn.sock, conn.reader = tls_sock, P.Reader(tls_sock)
    settings = P.read_header(conn.reader)  # header only: its lengths carry the settings, no body follows
    secret = P.read_message(conn.reader)
    if secret.type != "SHARED_SECRET":
        raise P.ProtocolError(f"expected SHARED_SECRET after the encryption settings, got {secret.type}")
    tls_sock.settimeout(None)
    enc = Encryption(settings.type, settings.msg_len, settings.error_len, settings.bs_len, secret.body)
    server.count_tls(enc)
    log.debug("tls started: %s, key %d bytes", enc.algorithm, len(enc.secret))
    return enc


def goodbye(conn: Conn) -> None:
    """Answer the client's TLS close_notify after RODS_DISCONNECT (python-irodsclient unwraps and waits)."""
    sock = conn.sock
    if not isinstance(sock, ssl.SSLSocket):
        return
    try:
        sock.settimeout(HANDSHAKE_TIMEOUT)
        sock.unwrap()
    except (ssl.SSLError, OSError) as exc:  # the client closed first: nothing left to say
        log.debug("tls shutdown: %s", exc)
