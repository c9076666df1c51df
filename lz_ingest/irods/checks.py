"""Pre-flight checks against the zone: reachable, authenticated, resource known; each failure one line."""

from __future__ import annotations

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
    except NetworkException as exc:
        session.cleanup()
        raise ConfigError(f"iRODS at {where} unreachable: {exc}") from None
    except (CAT_INVALID_AUTHENTICATION, CAT_INVALID_USER):
        session.cleanup()
        raise ConfigError(f"iRODS at {where}: authentication failed for {irods.user}#{irods.zone}") from None
    except (iRODSException, OSError, ValueError) as exc:
        session.cleanup()
        raise ConfigError(f"iRODS at {where}: {type(exc).__name__} {exc}".strip()) from None
    return session


def check_resource(session: Any, resource: str) -> None:
    """to_resource may name a root, a leaf or a root;...;leaf hierarchy: every name must exist."""
    for name in resource.split(";"):
        found = session.query(Resource.name).filter(Criterion("=", Resource.name, name)).all()
        if not len(found):
            raise ConfigError(f"resource {name!r} (from the handler's to_resource) does not exist")
