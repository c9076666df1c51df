"""Reusable iRODS sessions per effective user, closed after an idle time; held by the caller, one per process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from irods.session import iRODSSession

from lz_ingest.settings import IrodsSettings

AsUser = tuple[str, str]  # (zone, user), as the handler's as_user returns it

log = structlog.get_logger("lz_ingest.irods")

# Seconds PRC waits to connect and for each reply. Long enough for a server computing the checksum of
# a large file at close (sha256 at ~0.5 GB/s: 150 GB in 300 s); short enough that a silent server is
# noticed well within a task's timeout (3600 s by default).
DEFAULT_CONNECTION_TIMEOUT = 300.0
DEFAULT_IDLE_DISCONNECT_SECONDS = 60.0
APPLICATION_NAME = "lz-ingest"


@dataclass
class _Held:
    session: iRODSSession
    last_used: float


class SessionPool:
    """iRODS sessions for one zone configuration, one per effective user (proxy access for `as_user`).

    A session unused for `idle_disconnect_seconds` is closed when next asked for (or by
    `close_idle`) and replaced by a fresh one. Not shared between processes: build one per worker.
    """

    def __init__(
        self,
        settings: IrodsSettings,
        *,
        idle_disconnect_seconds: float = DEFAULT_IDLE_DISCONNECT_SECONDS,
        connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.idle_disconnect_seconds = idle_disconnect_seconds
        self.connection_timeout = connection_timeout
        self._clock = clock
        self._held: dict[AsUser | None, _Held] = {}
        self._lock = threading.Lock()

    def session(self, as_user: AsUser | None = None) -> iRODSSession:
        """The session acting as `as_user` (zone, user), or as the configured user when None."""
        key = self._key(as_user)
        now = self._clock()
        with self._lock:
            held = self._held.get(key)
            if held is not None and now - held.last_used > self.idle_disconnect_seconds:
                self._close(key, "idle")
                held = None
            if held is None:
                held = self._held[key] = _Held(self._open(key), now)
            held.last_used = now
            return held.session

    def discard(self, as_user: AsUser | None = None) -> None:
        """Close the session for `as_user` (after a connection error): the next `session()` reconnects."""
        with self._lock:
            self._close(self._key(as_user), "discarded")

    def close_idle(self) -> int:
        """Close every session unused for `idle_disconnect_seconds`; returns how many were closed."""
        now = self._clock()
        with self._lock:
            idle = [k for k, h in self._held.items() if now - h.last_used > self.idle_disconnect_seconds]
            for key in idle:
                self._close(key, "idle")
        return len(idle)

    def close(self) -> None:
        with self._lock:
            for key in list(self._held):
                self._close(key, "closed")

    def __enter__(self) -> SessionPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._held)

    def _key(self, as_user: AsUser | None) -> AsUser | None:
        """None for the configured user itself, so acting as oneself needs no proxy access."""
        if as_user is None or tuple(as_user) == (self.settings.zone, self.settings.user):
            return None
        zone, user = as_user
        return (zone, user)

    def _open(self, as_user: AsUser | None) -> iRODSSession:
        kwargs = self.settings.session_kwargs()
        if as_user is not None:
            kwargs.update(client_zone=as_user[0], client_user=as_user[1])
        kwargs.update(connection_timeout=self.connection_timeout, application_name=APPLICATION_NAME)
        session = iRODSSession(**kwargs)
        s = self.settings
        log.debug("irods_session_opened", host=s.host, port=s.port, zone=s.zone, user=s.user, as_user=as_user)
        return session

    def _close(self, key: AsUser | None, why: str) -> None:
        held = self._held.pop(key, None)
        if held is None:
            return
        try:
            held.session.cleanup()
        except Exception as exc:  # a connection the server already dropped; it is gone either way
            log.debug("irods_session_cleanup_failed", error=repr(exc))
        log.debug("irods_session_closed", as_user=key, reason=why)
