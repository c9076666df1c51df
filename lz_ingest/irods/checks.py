"""Pre-flight checks against the zone: reachable, authenticated, resource known; each failure one line."""

from __future__ import annotations

import ssl
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
    where = f"{irods.host}:{irods.port}"
    session = open_session(irods)
    try:
        session.collections.exists(target)
    except ssl.SSLError as exc:  # before OSError, of which it is one
        session.cleanup()
        raise ConfigError(f"iRODS at {where}: {tls_problem(irods, exc)}") from None
    except NetworkException as exc:
        session.cleanup()
        raise ConfigError(f"iRODS at {where}: {network_problem(irods, exc)}") from None
    except (CAT_INVALID_AUTHENTICATION, CAT_INVALID_USER):
        session.cleanup()
        raise ConfigError(f"iRODS at {where}: authentication failed for {irods.user}#{irods.zone}") from None
    except (iRODSException, OSError, ValueError) as exc:
        session.cleanup()
        raise ConfigError(f"iRODS at {where}: {type(exc).__name__} {exc}".strip()) from None
    return session


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
