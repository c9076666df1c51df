"""What a worker process keeps between tasks: settings, iRODS sessions, loaded handlers, job specs.

An RQ worker process is an entry point of its own (like the CLI): its context is built once from the
process environment, on first use, and reused by every task it runs. The handler is imported from
the path or module named in the job, never shipped through Redis, and refused when its content hash
differs from the one recorded when the job started.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import structlog
from rq import get_current_job

from ..errors import HandlerError
from ..handlers.loader import Handler, load_handler
from ..irods.session import SessionPool
from ..jobs import JobSpec, JobStore
from ..settings import IrodsSettings, load_irods_settings


@dataclass
class WorkerContext:
    """Per-process caches; one per worker process, handed to every task function."""

    environ: dict[str, str]
    pools: dict[str | None, SessionPool] = field(default_factory=dict)
    handlers: dict[tuple[str | None, str | None], Handler] = field(default_factory=dict)
    log: Any = field(default_factory=lambda: structlog.get_logger("lz_ingest.worker"))

    def irods_settings(self, spec: JobSpec) -> IrodsSettings:
        env_file = Path(spec.irods_env) if spec.irods_env else None
        return load_irods_settings(self.environ, env_file=env_file)

    def pool(self, spec: JobSpec) -> SessionPool:
        """The session pool for this job's iRODS configuration (one per distinct environment file)."""
        found = self.pools.get(spec.irods_env)
        if found is None:
            found = SessionPool(self.irods_settings(spec), idle_disconnect_seconds=spec.idle_disconnect_seconds)
            self.pools[spec.irods_env] = found
        return found

    def handler(self, spec: JobSpec) -> Handler:
        cache_key = (spec.handler, spec.handler_hash)
        found = self.handlers.get(cache_key)
        if found is None:
            found = load_handler(spec.handler, logger=self.log)
            if spec.handler_hash and found.content_hash != spec.handler_hash:
                raise HandlerError(
                    f"handler {spec.handler} changed since the job started "
                    f"(hash {found.content_hash[:12]} != {spec.handler_hash[:12]}); refusing to run it"
                )
            self.handlers[cache_key] = found
        return found


_lock = threading.Lock()
_context: list[WorkerContext] = []  # the one per-process context, built on first use


def current_context() -> WorkerContext:
    with _lock:
        if not _context:
            _context.append(WorkerContext(environ=dict(os.environ)))
        return _context[0]


def current_connection() -> redis.Redis:
    job = get_current_job()
    if job is None:
        raise RuntimeError("lz-ingest tasks run inside an RQ worker")
    return job.connection


def job_store() -> JobStore:
    return JobStore(current_connection())
