"""Checks a job must pass before anything is written: each failure is one line naming the culprit."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import redis

from .errors import ConfigError, LzIngestError, SourceError
from .handlers.loader import Handler, load_handler
from .irods import checks as irods_session
from .jobs import JobSpec, JobStore
from .model import Operation
from .plan import check_compatible
from .redis_embedded import embedded_redis_url, wait_for_redis
from .settings import IrodsSettings, Settings
from .sources.filters import compile_patterns, parse_file_types
from .sources.registry import source_for
from .tasks.meta import path_meta


def check_source(source: str) -> str:
    """The source as the job records it (its URI; a local path made absolute), once its root can be scanned."""
    found = source_for(source if "://" in source else os.path.abspath(source))
    problem = found.root_problem()
    if problem is not None:
        raise ConfigError(f"source {source}: {problem}")
    return found.uri


def check_target(target: str, zone: str) -> str:
    if not target.startswith("/"):
        raise ConfigError(f"target {target}: not an absolute collection path (expected /{zone}/...)")
    parts = [p for p in target.split("/") if p]
    if not parts:
        raise ConfigError("target /: refusing to sync into the root collection")
    if parts[0] != zone:
        raise ConfigError(f"target {target}: zone {parts[0]!r} is not the connected zone {zone!r}")
    if len(parts) == 1:
        raise ConfigError(f"target {target}: refusing to sync into the zone collection itself")
    return "/" + "/".join(parts)


def check_numbers(files_per_task: int, interval: int | None, max_delete: float, threads: int = 1) -> None:
    if files_per_task <= 0:
        raise ConfigError(f"--files_per_task {files_per_task}: must be a positive number")
    if interval is not None and interval <= 0:
        raise ConfigError(f"--interval {interval}: must be a positive number of seconds")
    if not 0.0 <= max_delete <= 1.0:
        raise ConfigError(f"--max-delete {max_delete}: must be a fraction between 0 and 1")
    if threads <= 0:
        raise ConfigError(f"--threads {threads}: must be a positive number")


def check_filters(spec: JobSpec) -> None:
    compile_patterns(spec.exclude_file_name, "--exclude_file_name")
    compile_patterns(spec.exclude_directory_name, "--exclude_directory_name")
    parse_file_types(spec.exclude_file_type, "--exclude_file_type")


REDIS_WAIT_SECONDS = 3.0


def connect_redis(settings: Settings) -> redis.Redis[bytes]:
    """The configured Redis, or the per-user embedded one; reachable within 5 s or a ConfigError."""
    url = settings.redis.url or embedded_redis_url(settings.redis.embedded_dir)
    # 3 s of retries plus at most one 1 s ping: an unreachable Redis is reported within the 5 s promised
    wait_for_redis(url, timeout=REDIS_WAIT_SECONDS)
    return redis.Redis.from_url(url)


def redis_url(conn: redis.Redis[bytes]) -> str:
    kwargs = conn.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    scheme = "rediss" if conn.connection_pool.connection_class.__name__ == "SSLConnection" else "redis"
    auth = f":{kwargs['password']}@" if kwargs.get("password") else ""
    return f"{scheme}://{auth}{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def check_irods(irods: IrodsSettings, target: str) -> Any:
    """Open a session and make one cheap call, so unreachable servers and bad passwords show now."""
    return irods_session.check_connection(irods, target)


def load_checked_handler(spec_handler: str | None) -> Handler:
    if spec_handler and ":" not in spec_handler and spec_handler.endswith(".py") and not Path(spec_handler).exists():
        raise ConfigError(f"--event_handler {spec_handler}: no such file")
    return load_handler(spec_handler)


def check_handler_policy(handler: Handler, session: Any, spec: JobSpec) -> None:
    """Operation and delete mode must be a compatible pair; a named resource must exist."""
    meta = path_meta(spec, spec.source, spec.target)
    operation = handler.operation(session, meta)
    delete_mode = handler.delete_mode(meta)
    handler.timeout(meta)  # a value RQ cannot take as a job timeout is refused now, not at the first batch
    check_compatible(operation, delete_mode)
    _check_registrable(spec, handler, operation)
    resource = handler.to_resource(session, meta)
    if resource:
        irods_session.check_resource(session, resource)


_REGISTERS = frozenset({Operation.REGISTER_SYNC, Operation.REGISTER_AS_REPLICA_SYNC})


def _check_registrable(spec: JobSpec, handler: Handler, operation: Operation) -> None:
    """A register records a path the server reads: refused up front for a source that has none to give
    (a handler's target_path supplies its own, so it is then the handler's call)."""
    if operation not in _REGISTERS or handler.defines("target_path"):
        return
    source = source_for(spec.source)
    try:
        source.physical_path(source.root)
    except SourceError as exc:
        raise ConfigError(f"source {spec.source}: {operation.name} cannot register from it ({exc})") from None


def check_not_running(conn: redis.Redis[bytes], name: str) -> None:
    if JobStore(conn).is_running(name):
        raise ConfigError(f"job {name!r} is already running (stop it first: lz-ingest stop {name})")


def job_name(given: str | None) -> str:
    name = given or uuid.uuid4().hex[:12]
    if not name or any(c in name for c in " \t\n:/"):
        raise ConfigError(f"--job_name {name!r}: use letters, digits, '-', '_' or '.'")
    return name


__all__ = ["LzIngestError"]
