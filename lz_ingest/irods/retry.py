"""Retry catalog calls on connection errors with backoff; turn python-irodsclient errors into lz-ingest errors."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog
from irods.exception import NetworkException, PycommandsException, iRODSException

from lz_ingest.errors import CatalogError, CatalogUnavailableError, IrodsApiError

T = TypeVar("T")

log = structlog.get_logger("lz_ingest.irods")

# Codes python-irodsclient 3.3.0 has no exception class for: its recv() raises KeyError(rounded code) instead.
_NAMES_PRC_LACKS = {
    -129000: "PATH_REG_NOT_ALLOWED",
    -166000: "SYS_NO_GOOD_REPLICA",
    -401000: "USER_FILE_SIZE_MISMATCH",
}

# What a lost or refused connection raises; PRC wraps most socket errors in NetworkException.
# A plain OSError is not here: local file errors are OSErrors too, and they are never worth a retry.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    NetworkException,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    socket.herror,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying after connection errors: attempts, a total time budget, backoff bounds."""

    max_attempts: int = 6
    max_seconds: float = 60.0
    base_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int, draw: Callable[[], float] = random.random) -> float:
        """Exponential backoff with full jitter before attempt `attempt + 1` (attempt counts from 1)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + draw() * ceiling / 2


DEFAULT_POLICY = RetryPolicy()


def is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, CONNECTION_ERRORS)


def with_retries(
    call: Callable[[], T],
    what: str,
    *,
    reconnect: Callable[[], None],
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call`; on a connection error run `reconnect`, wait, and try again within the policy's budget.

    iRODS errors (negative codes) are not retried here: they become IrodsApiError at once.
    After the budget, CatalogUnavailableError names the last connection error.
    """
    deadline = time.monotonic() + policy.max_seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            return translated(call, what)
        except _Retryable as exc:
            _forget(reconnect)
            delay = policy.delay(attempt)
            if attempt >= policy.max_attempts or time.monotonic() + delay > deadline:
                raise CatalogUnavailableError(
                    f"{what}: iRODS unreachable after {attempt} attempts: {exc.cause_text}"
                ) from exc.__cause__
            log.warning("irods_retry", what=what, attempt=attempt, delay=round(delay, 3), error=exc.cause_text)
            sleep(delay)


class _Retryable(Exception):
    """A connection error on its way from `translated` to the retry loop."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause_text = f"{type(cause).__name__}: {cause}".rstrip(": ")


def translated(call: Callable[[], T], what: str) -> T:
    """Run `call`, turning PRC's errors into IrodsApiError / CatalogError (connection errors into _Retryable)."""
    try:
        return call()
    except CONNECTION_ERRORS as exc:
        raise _Retryable(exc) from exc
    except iRODSException as exc:
        raise api_error(what, exc) from exc
    except PycommandsException as exc:
        raise CatalogError(f"{what}: {type(exc).__name__} {exc}".rstrip()) from exc
    except KeyError as exc:
        code = _unknown_code(exc)
        if code is None:
            raise
        name = _NAMES_PRC_LACKS.get(code, "iRODS error")
        raise IrodsApiError(f"{what}: {name} ({code})", code=code, name=name) from exc


def api_error(what: str, exc: iRODSException) -> IrodsApiError:
    """`what: NAME (code)`, the one-line reason for an iRODS error."""
    code = int(getattr(exc, "code", 0) or 0)
    return IrodsApiError(f"{what}: {type(exc).__name__} ({code})", code=code, name=type(exc).__name__)


def _unknown_code(exc: KeyError) -> int | None:
    """The iRODS code of PRC's KeyError for an error it has no class for; None for any other KeyError."""
    code = exc.args[0] if len(exc.args) == 1 else None
    return code if isinstance(code, int) and not isinstance(code, bool) and code <= -1000 else None


def _forget(reconnect: Callable[[], None]) -> None:
    """Drop the failed connections; a broken socket may complain while being closed, which changes nothing."""
    try:
        reconnect()
    except Exception as exc:  # the connections are gone either way
        log.debug("irods_reconnect_cleanup_failed", error=repr(exc))
