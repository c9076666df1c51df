"""What a worker process keeps between tasks: settings, iRODS sessions, sources, loaded handlers, job specs.

An RQ worker process is an entry point of its own (like the CLI): its context is built once from the
process environment, on first use, and reused by every task it runs. The handler is imported from
the path or module named in the job, never shipped through Redis, and refused when its content hash
differs from the one recorded when the job started.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import structlog
from rq import get_current_job

from ..errors import ConfigError, HandlerError
from ..handlers.loader import Handler, load_handler
from ..irods.session import SessionPool
from ..jobs import JobSpec, JobStore
from ..logs import profile_logger
from ..settings import IrodsSettings, LogSettings, load_irods_settings
from ..sources.base import Source
from ..sources.registry import source_for


@dataclass
class WorkerContext:
    """Per-process caches; one per worker process, handed to every task function."""

    environ: dict[str, str]
    pools: dict[tuple[str | None, int], SessionPool] = field(default_factory=dict)
    executors: dict[int, ThreadPoolExecutor] = field(default_factory=dict)
    profilers: dict[str | None, Any] = field(default_factory=dict)
    handlers: dict[tuple[str | None, str | None], Handler] = field(default_factory=dict)
    handler_stats: dict[tuple[str | None, str | None], tuple[int, int, int, int] | None] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    log: Any = field(default_factory=lambda: structlog.get_logger("lz_ingest.worker"))

    def irods_settings(self, spec: JobSpec) -> IrodsSettings:
        env_file = Path(spec.irods_env) if spec.irods_env else None
        try:
            return load_irods_settings(self.environ, env_file=env_file)
        except ConfigError as exc:  # workers read their own environment: say whose settings are missing
            raise ConfigError(f"the worker on host {socket.gethostname()} has no iRODS settings: {exc}") from None

    def pool(self, spec: JobSpec) -> SessionPool:
        """The session pool for this job's iRODS configuration and this thread: threads never share a
        session, so one thread's reconnect never cuts another's call short."""
        pool_key = (spec.irods_env, threading.get_ident())
        found = self.pools.get(pool_key)
        if found is None:
            found = SessionPool(self.irods_settings(spec), idle_disconnect_seconds=spec.idle_disconnect_seconds)
            self.pools[pool_key] = found
        return found

    def source(self, spec: JobSpec) -> Source:
        """The job's source, made once per process from its URI (a source may hold clients or caches)."""
        found = self.sources.get(spec.source)
        if found is None:
            found = self.sources[spec.source] = source_for(spec.source)
        return found

    def executor(self, threads: int) -> ThreadPoolExecutor:
        """The process's sync threads, kept between batches so their iRODS sessions stay connected."""
        found = self.executors.get(threads)
        if found is None:
            found = self.executors[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lz-sync")
        return found

    def profiler(self, spec: JobSpec) -> Any:
        """The job's profile logger (per-batch timing events), a no-op without --profile."""
        found = self.profilers.get(spec.profile_filename)
        if found is None:
            filename = Path(spec.profile_filename) if spec.profile_filename else None
            settings = LogSettings(profile=spec.profile, profile_filename=filename)
            found = self.profilers[spec.profile_filename] = profile_logger(settings)
        return found

    def handler(self, spec: JobSpec) -> Handler:
        """The job's handler, checked at every task: a file changed since the job started is refused even
        by a worker that loaded it before the change (its tasks fail, nothing is written for them)."""
        cache_key = (spec.handler, spec.handler_hash)
        found = self.handlers.get(cache_key)
        if found is None:
            found = load_handler(spec.handler, logger=self.log)
            self._check_hash(spec, found.content_hash)
            self.handlers[cache_key] = found
            self.handler_stats[cache_key] = _stat_signature(found)
        elif spec.handler_hash:
            signature = _stat_signature(found)
            if signature != self.handler_stats.get(cache_key):  # only then is the file read and hashed again
                self._check_hash(spec, _current_hash(found))
                self.handler_stats[cache_key] = signature
        return found

    @staticmethod
    def _check_hash(spec: JobSpec, content_hash: str) -> None:
        if spec.handler_hash and content_hash != spec.handler_hash:
            raise HandlerError(
                f"handler {spec.handler} changed since the job started "
                f"(hash {content_hash[:12]} != {spec.handler_hash[:12]}); refusing to run it"
            )


def _source_file(handler: Handler) -> str | None:
    return getattr(handler.module, "__file__", None)


def _stat_signature(handler: Handler) -> tuple[int, int, int, int] | None:
    path = _source_file(handler)
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino) if st else None


def _current_hash(handler: Handler) -> str:
    """The sha256 of the handler's source file as it is now ("" when it cannot be read: refused)."""
    path = _source_file(handler)
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else handler.content_hash
    except OSError:
        return ""


_lock = threading.Lock()
_context: list[WorkerContext] = []  # the one per-process context, built on first use


def current_context() -> WorkerContext:
    with _lock:
        if not _context:
            _context.append(WorkerContext(environ=dict(os.environ)))
        return _context[0]


def current_connection() -> redis.Redis[bytes]:
    job = get_current_job()
    if job is None:
        raise RuntimeError("lz-ingest tasks run inside an RQ worker")
    return job.connection


def job_store() -> JobStore:
    return JobStore(current_connection())
