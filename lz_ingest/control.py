"""Job control, as plain functions over Redis: what the CLI calls and the REST API will call.

Build and check a job (`prepare`), `submit` it, `stop` it, look at it (`status`, `list_jobs`,
`failures`) and `follow` its progress. Nothing here prints, parses options or starts processes:
the click commands do that around these calls.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, dataclass, fields, replace
from typing import Any

import redis
from rq_scheduler import Scheduler

from . import preflight as pf
from .errors import ConfigError
from .handlers.loader import Handler
from .jobs import JobSpec, JobStore, PassInfo, periodic_job_id
from .settings import Settings
from .sources.s3_settings import source_uri as s3_source_uri
from .status import FINISHED, JobStatus
from .tasks.passes import start_pass
from .worker import active_workers

FIRST_POLL_SECONDS = 0.02  # follow's first look at a pass; later ones grow to its `poll`
RECENT_SECONDS = 24 * 3600  # finished jobs stay in `list` this long after their last pass ended

# command-line option name -> JobSpec field, where they differ
_OPTION_FIELDS = {"event_handler": "handler", "irods_idle_disconnect_seconds": "idle_disconnect_seconds"}
_PATH_FIELDS = ("irods_env", "profile_filename")  # recorded absolute: workers run elsewhere


@dataclass(frozen=True)
class Prepared:
    """A job that passed every check, ready to submit."""

    spec: JobSpec
    handler: Handler
    conn: redis.Redis[bytes]


def _default(name: str) -> Any:
    f = next(f for f in fields(JobSpec) if f.name == name)
    return f.default if f.default is not MISSING else None


def build_spec(
    source: str, target: str, zone: str, interval: int | None, handler: Handler, values: Mapping[str, Any]
) -> JobSpec:
    """The job's definition from option values (by the commands' Python names; missing ones take
    JobSpec's defaults), after the checks that need no server."""
    given = {_OPTION_FIELDS.get(k, k): v for k, v in values.items() if v is not None}

    def get(name: str) -> Any:
        return given.get(name, _default(name))

    pf.check_numbers(get("files_per_task"), interval, get("max_delete"), get("threads"))
    known = {f.name for f in fields(JobSpec)} - {"name", "source", "target", "interval", "handler_hash", "extra"}
    options = {name: get(name) for name in known}
    for name in ("exclude_file_name", "exclude_directory_name", "exclude_file_type"):
        options[name] = tuple(options[name] or ())
    for name in _PATH_FIELDS:
        options[name] = os.path.abspath(options[name]) if options[name] else None
    return JobSpec(
        name=pf.job_name(given.get("job_name")),
        source=pf.check_source(source),
        target=pf.check_target(target, zone),
        interval=interval,
        handler_hash=handler.content_hash if options["handler"] else None,
        **options,
    )


def prepare(settings: Settings, source: str, target: str, interval: int | None, values: Mapping[str, Any]) -> Prepared:
    """Every check, in the order that names the first culprit; nothing is written before they pass."""
    source = s3_source_uri(source, values)  # s3://bucket/prefix, or the old /bucket/prefix with --s3_keypair
    if settings.irods is None:
        raise ConfigError("no iRODS configuration")
    handler = pf.load_checked_handler(values.get("event_handler"))
    spec = build_spec(source, target, settings.irods.zone, interval, handler, values)
    pf.check_filters(spec)
    conn = pf.connect_redis(settings)
    session = pf.check_irods(settings.irods, spec.target)
    try:
        pf.check_handler_policy(handler, session, spec)
    finally:
        session.cleanup()
    pf.check_not_running(conn, spec.name)
    return Prepared(spec, handler, conn)


def queues(spec: JobSpec) -> tuple[str, ...]:
    return (spec.restart_queue, spec.path_queue, spec.file_queue)


def serving_workers(conn: redis.Redis[bytes], spec: JobSpec) -> int:
    """How many live workers listen on at least one of the job's queues."""
    return active_workers(conn, queues(spec))


def no_worker_message(spec: JobSpec) -> str:
    return f"no worker listens on the queues {', '.join(queues(spec))}"


def check_workers_for_wait(conn: redis.Redis[bytes], spec: JobSpec, workers: int | None) -> None:
    """Waiting for a pass with `--workers 0` (start none) while no worker listens would wait forever."""
    if workers == 0 and not serving_workers(conn, spec):
        raise ConfigError(
            f"--workers 0: {no_worker_message(spec)}, so the pass would never end "
            "(start one with `lz-ingest worker`, or give --workers N)"
        )


def needs_pool(conn: redis.Redis[bytes], spec: JobSpec, workers: int | None) -> int:
    """How many worker processes a waiting command must start itself (0: workers already listen)."""
    if workers == 0 or (workers is None and serving_workers(conn, spec)):
        return 0
    return workers or max(2, os.cpu_count() or 2)


def submit(conn: redis.Redis[bytes], spec: JobSpec, handler: Handler) -> str:
    """Save the job, schedule it when periodic, start its first pass; return the pass id."""
    store = JobStore(conn)
    store.save(spec)
    if spec.interval:
        schedule(conn, spec)
        store.set_state(spec.name, status="scheduled")
    pass_id = start_pass(conn, spec, handler)
    if pass_id is None:
        raise ConfigError(f"job {spec.name!r} is already running")
    return pass_id


def schedule(conn: redis.Redis[bytes], spec: JobSpec) -> None:
    """rq-scheduler's entry that starts a pass every `interval` seconds, starting now."""
    from .tasks.passes import start_pass_task

    scheduler = Scheduler(queue_name=spec.restart_queue, connection=conn)
    job_id = periodic_job_id(spec.name)
    if job_id in scheduler:
        scheduler.cancel(job_id)
    scheduler.schedule(
        scheduled_time=datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
        func=start_pass_task,
        args=[spec.name],
        interval=spec.interval,
        repeat=None,
        id=job_id,
        queue_name=spec.restart_queue,
        # rq-scheduler re-reads the job before every run and drops a schedule whose job is gone, so its
        # one job record must outlive each run (0 would delete it after the first pass it starts)
        result_ttl=-1,
    )


def stop(conn: redis.Redis[bytes], name: str) -> None:
    """No new pass starts; queued tasks of the current pass are skipped; its elapsed time stops here."""
    store = JobStore(conn)
    spec = store.spec(name)
    scheduler = Scheduler(queue_name=spec.restart_queue, connection=conn)
    if periodic_job_id(name) in scheduler:
        scheduler.cancel(periodic_job_id(name))
    store.mark_stopped(name)


def status(conn: redis.Redis[bytes], name: str) -> PassInfo:
    """The job as `list` and `watch` show it, with whether any worker serves its queues."""
    store = JobStore(conn)
    info = store.info(name)
    if info.status in FINISHED or info.status is JobStatus.BLOCKED:
        return info
    return replace(info, served=bool(active_workers(conn, info.queues)))


def list_jobs(conn: redis.Redis[bytes], include_finished: bool = False, now: float | None = None) -> list[PassInfo]:
    """Every job that is active, blocked or finished within RECENT_SECONDS (all with include_finished)."""
    infos = [status(conn, name) for name in JobStore(conn).names()]
    if include_finished:
        return infos
    cutoff = (now or time.time()) - RECENT_SECONDS
    return [i for i in infos if i.status not in FINISHED or max(i.finished, i.stopped_at, i.started) >= cutoff]


@dataclass(frozen=True)
class Failures:
    """The failures of a job's latest pass, and why the job is blocked if it is."""

    name: str
    pass_id: str
    items: dict[str, dict[str, Any]]
    blocked: str = ""


def failures(conn: redis.Redis[bytes], name: str) -> Failures:
    store = JobStore(conn)
    info = store.info(name)
    items = store.failures(info.pass_id) if info.pass_id else {}
    return Failures(name, info.pass_id, items, info.reason if info.status is JobStatus.BLOCKED else "")


def pass_over(info: PassInfo) -> bool:
    """Whether the job's latest pass has ended (or the job cannot go on: stopped, blocked)."""
    if info.status in (JobStatus.STOPPED, JobStatus.BLOCKED):
        return True
    return bool(info.pass_id) and info.status is not JobStatus.RUNNING


def poll_intervals(poll: float, first: float = FIRST_POLL_SECONDS) -> Iterator[float]:
    """`first`, then each half as long again as the one before, up to `poll` for ever."""
    interval = min(first, poll)
    while True:
        yield interval
        interval = min(poll, interval * 1.5)


def follow(
    conn: redis.Redis[bytes],
    name: str,
    *,
    across_passes: bool = False,
    poll: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[PassInfo]:
    """The job's state until its pass ends (or, with across_passes, until the job is stopped, blocked
    or done for good); the last one yielded is the final state. A running pass is heartbeaten
    meanwhile, so that a pass whose tasks wait for a worker is not taken for dead.

    Looked at FIRST_POLL_SECONDS after the start, then at intervals growing by half up to `poll`: a
    short pass is seen ending within about a third of its duration, a long one within `poll`."""
    store = JobStore(conn)
    intervals = poll_intervals(poll)
    while True:
        info = status(conn, name)
        yield info
        if across_passes:
            if info.status in FINISHED or info.status is JobStatus.BLOCKED:
                return
        elif pass_over(info):
            return
        if info.status is JobStatus.RUNNING:
            store.heartbeat(name)
        sleep(next(intervals))
