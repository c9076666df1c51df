"""Pre-flight checks against the zone: reachable, authenticated, resource known; each failure one line."""

from __future__ import annotations

import gc
import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from irods.column import Criterion
from irods.exception import (
    CAT_INVALID_AUTHENTICATION,
    CAT_INVALID_USER,
    NetworkException,
    iRODSException,
)
from irods.models import Resource
from irods.session import iRODSSession

from ..errors import ConfigError
from ..settings import IrodsSettings
from ..settings_tls import NEGOTIATE, negotiates
from .session import SessionPool


def open_session(irods: IrodsSettings) -> iRODSSession:
    """A session built as the workers build theirs (timeouts, application name)."""
    return SessionPool(irods).session()


def check_connection(irods: IrodsSettings, target: str) -> iRODSSession:
    """A session that has made one real round trip (authentication included), or a ConfigError."""
    session = open_session(irods)
    with _prc_connection_logs_muted():  # the one line below says it all
        problem = _first_call_problem(session, irods, target)
        if problem is not None:
            session.cleanup()
            gc.collect()  # a connection PRC could not finish logs its failure again from its finalizer
    if problem is not None:
        raise ConfigError(f"iRODS at {irods.host}:{irods.port}: {problem}")
    return session


def _first_call_problem(session: iRODSSession, irods: IrodsSettings, target: str) -> str | None:
    """None when the first call succeeds, else one line saying why (the exception is gone on return)."""
    try:
        session.collections.exists(target)
    except ssl.SSLError as exc:  # before OSError, of which it is one
        return tls_problem(irods, exc)
    except NetworkException as exc:
        return network_problem(irods, exc)
    except (CAT_INVALID_AUTHENTICATION, CAT_INVALID_USER):
        return f"authentication failed for {irods.user}#{irods.zone}"
    except (iRODSException, OSError, ValueError) as exc:
        return f"{type(exc).__name__} {exc}".strip()
    return None


@contextmanager
def _prc_connection_logs_muted() -> Iterator[None]:
    logger = logging.getLogger("irods.connection")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def tls_problem(irods: IrodsSettings, exc: ssl.SSLError) -> str:
    """One line for a failed TLS handshake, naming the CA the certificate was checked against."""
    against = "against the system's CA certificates"
    for key in ("irods_ssl_ca_certificate_file", "irods_ssl_ca_certificate_path"):
        if irods.options.get(key):
            against = f"against {key} {irods.options[key]}"
            break
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed {against}: {exc.verify_message}"
    return f"TLS handshake failed: {exc.reason or exc}"


def network_problem(irods: IrodsSettings, exc: NetworkException) -> str:
    text = str(exc)
    if "negotiation failure" in text:  # PRC: "Client-Server negotiation failure: <client>,<server>"
        client, _, server = text.rpartition(": ")[2].partition(",")
        return f"TLS negotiation failed: irods_client_server_policy {client} against the server's policy {server}"
    if "receive server response" in text and not negotiates(irods.options):
        # a server requiring TLS ends a connection that did not negotiate right after its RODS_VERSION
        return f"unreachable: {text} (a zone that requires TLS needs irods_client_server_negotiation {NEGOTIATE})"
    return f"unreachable: {text}"


def check_resource(session: Any, resource: str) -> None:
    """to_resource may name a root, a leaf or a root;...;leaf hierarchy: every name must exist."""
    for name in resource.split(";"):
        found = session.query(Resource.name).filter(Criterion("=", Resource.name, name)).all()
        if not len(found):
            raise ConfigError(f"resource {name!r} (from the handler's to_resource) does not exist")
