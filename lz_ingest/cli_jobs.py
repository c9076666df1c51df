"""The job commands: start, rescan, stop, list, watch, failures, worker."""

from __future__ import annotations

import datetime
import json
import os
import signal
import sys
import threading
import time
from contextlib import ExitStack
from typing import Any

import click
import redis

from . import preflight as pf
from .cli_options import job_options, logging_options, redis_options
from .errors import ConfigError
from .jobs import JobSpec, JobStore, key
from .logs import configure_logging
from .progress import ProgressLine, old_list_entry, summary, table
from .settings import Settings, load_settings
from .sources.s3_settings import source_uri as s3_source_uri
from .tasks.passes import start_pass
from .worker import DEFAULT_QUEUES, WorkerPool, active_workers

POLL_SECONDS = 0.5


def _settings(require_irods: bool, values: dict[str, Any]) -> Settings:
    return load_settings(os.environ, require_irods=require_irods, **values)


def _spec(values: dict[str, Any], source: str, target: str, zone: str, interval: int | None, handler: Any) -> JobSpec:
    pf.check_numbers(values["files_per_task"], interval, values["max_delete"], values["threads"])
    return JobSpec(
        name=pf.job_name(values.get("job_name")),
        source=pf.check_source(source),
        target=pf.check_target(target, zone),
        handler=values.get("event_handler"),
        handler_hash=handler.content_hash if values.get("event_handler") else None,
        interval=interval,
        files_per_task=values["files_per_task"],
        file_queue=values["file_queue"],
        path_queue=values["path_queue"],
        restart_queue=values["restart_queue"],
        exclude_file_name=tuple(values["exclude_file_name"]),
        exclude_directory_name=tuple(values["exclude_directory_name"]),
        exclude_file_type=tuple(values["exclude_file_type"]),
        follow_symlinks=values["follow_symlinks"],
        initial_ingest=values["initial_ingest"],
        checksum=values["checksum"],
        dry_run=values["dry_run"],
        max_delete=values["max_delete"],
        settle_seconds=values["settle_seconds"],
        irods_env=os.path.abspath(values["irods_env"]) if values.get("irods_env") else None,
        idle_disconnect_seconds=values["irods_idle_disconnect_seconds"],
        profile=values["profile"],
        profile_filename=os.path.abspath(values["profile_filename"]) if values.get("profile_filename") else None,
        threads=values["threads"],
        provenance=values["provenance"],
    )


def _queues(spec: JobSpec) -> tuple[str, ...]:
    return (spec.restart_queue, spec.path_queue, spec.file_queue)


def prepare(
    source: str, target: str, interval: int | None, values: dict[str, Any]
) -> tuple[JobSpec, Any, Any, Settings]:
    """Every check, in the order that names the first culprit; nothing is written before they pass."""
    source = s3_source_uri(source, values)  # s3://bucket/prefix, or the old /bucket/prefix with --s3_keypair
    settings = _settings(True, values)
    configure_logging(settings.log)
    assert settings.irods is not None
    handler = pf.load_checked_handler(values.get("event_handler"))
    spec = _spec(values, source, target, settings.irods.zone, interval, handler)
    pf.check_filters(spec)
    conn = pf.connect_redis(settings)
    session = pf.check_irods(settings.irods, spec.target)
    try:
        pf.check_handler_policy(handler, session, spec)
    finally:
        session.cleanup()
    pf.check_not_running(conn, spec.name)
    return spec, handler, conn, settings


def _schedule(conn: redis.Redis, spec: JobSpec) -> None:
    from rq_scheduler import Scheduler

    from .tasks.passes import start_pass_task

    scheduler = Scheduler(queue_name=spec.restart_queue, connection=conn)
    job_id = f"lz-periodic-{spec.name}"
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


def wait_for(conn: redis.Redis, name: str, progress: bool, first_pass: str | None = None) -> int:
    """Block until the job's current pass is over, heartbeating it; return the exit status."""
    store = JobStore(conn)
    line = ProgressLine()
    tty = sys.stderr.isatty()
    while True:
        state = store.state(name)
        if state.get("pass_id") and state.get("status") != "running" and state.get("pass_id") != first_pass:
            break
        if first_pass and state.get("pass_id") == first_pass and state.get("status") != "running":
            break
        if state.get("status") == "running":
            store.heartbeat(name)
        if progress:
            text = line.render(store.info(name))
            click.echo(("\r" + text) if tty else text, err=True, nl=not tty)
        time.sleep(POLL_SECONDS)
    info = store.info(name)
    if progress:
        click.echo(("\r" if tty else "") + line.render(info), err=True)
    return 1 if info.counts.get("failed", 0) else 0


def _pool_if_needed(conn: redis.Redis, spec: JobSpec, workers: int | None, stack: ExitStack, log: Any) -> None:
    if workers == 0 or (workers is None and active_workers(conn, _queues(spec))):
        return
    count = workers or max(2, os.cpu_count() or 2)
    stack.enter_context(WorkerPool(pf.redis_url(conn), _queues(spec), count, log))


def run_job(spec: JobSpec, handler: Any, conn: redis.Redis, options: dict[str, Any]) -> int:
    """Save the job, start its first pass (and its schedule), and with --synchronous wait for the pass."""
    synchronous, progress = options["synchronous"], options["progress"]
    JobStore(conn).save(spec)
    with ExitStack() as stack:
        if synchronous:
            _pool_if_needed(conn, spec, options.get("workers"), stack, options["log"])
        if spec.interval:
            _schedule(conn, spec)
            JobStore(conn).set_state(spec.name, status="scheduled")
            pass_id = start_pass(conn, spec, handler)
        else:
            pass_id = start_pass(conn, spec, handler)
        if pass_id is None:
            raise ConfigError(f"job {spec.name!r} is already running")
        click.echo(f"job {spec.name} started (pass {pass_id})", err=True)
        if not synchronous:
            return 0
        status = wait_for(conn, spec.name, progress, first_pass=pass_id)
        info = JobStore(conn).info(spec.name)
        click.echo(summary(info, JobStore(conn).failures(info.pass_id)))
        return status


@click.command("start")
@click.argument("source")
@click.argument("target")
@click.option("-i", "--interval", type=int, help="Restart interval in seconds (periodic job).")
@click.option("--synchronous", is_flag=True, help="Block until the pass is done; non-zero exit on failures.")
@click.option("--progress", is_flag=True, help="Show a live progress bar.")
@job_options
@redis_options
@logging_options
def start_command(
    source: str, target: str, interval: int | None, synchronous: bool, progress: bool, **values: Any
) -> int:
    """Start an ingest job: one pass, or one every --interval seconds."""
    spec, handler, conn, settings = prepare(source, target, interval, values)
    options = {"synchronous": synchronous or progress, "progress": progress, "log": settings.log, **values}
    return run_job(spec, handler, conn, options)


@click.command("rescan")
@click.argument("source")
@click.argument("target")
@click.option("--progress", is_flag=True, help="Show a live progress bar.")
@job_options
@redis_options
@logging_options
def rescan_command(source: str, target: str, progress: bool, **values: Any) -> int:
    """One complete pass: wait for it, print a summary; exit status 1 when anything failed."""
    spec, handler, conn, settings = prepare(source, target, None, values)
    options = {"synchronous": True, "progress": progress, "log": settings.log, **values}
    return run_job(spec, handler, conn, options)


def _store(values: dict[str, Any]) -> JobStore:
    settings = _settings(False, values)
    return JobStore(pf.connect_redis(settings))


@click.command("stop")
@click.argument("job")
@redis_options
def stop_command(job: str, **values: Any) -> int:
    """Stop a job: no new pass starts, queued tasks of the current pass are skipped."""
    store = _store(values)
    spec = store.spec(job)
    from rq_scheduler import Scheduler

    scheduler = Scheduler(queue_name=spec.restart_queue, connection=store.r)
    if f"lz-periodic-{job}" in scheduler:
        scheduler.cancel(f"lz-periodic-{job}")
    store.set_state(job, status="stopped")
    store.r.delete(key("alive", job))
    click.echo(f"job {job} stopped", err=True)
    return 0


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="The old framework's JSON shape.")
@click.option("--all", "show_all", is_flag=True, help="Include finished single-pass jobs.")
@redis_options
def list_command(as_json: bool, show_all: bool, **values: Any) -> int:
    """List jobs (finished single-pass jobs drop out unless --all)."""
    store = _store(values)
    infos = [store.info(n) for n in store.names()]
    infos = [i for i in infos if show_all or i.periodic or i.status not in ("done",)]
    if as_json:
        shape: dict[str, list[dict[str, object]]] = {"periodic": [], "singlepass": [], "stopped": []}
        for i in infos:
            bucket = "stopped" if i.status == "stopped" else ("periodic" if i.periodic else "singlepass")
            shape[bucket].append(old_list_entry(i))
        click.echo(json.dumps(shape, indent=2))
    else:
        click.echo(table(infos))
    return 0


@click.command("watch")
@click.argument("job")
@redis_options
def watch_command(job: str, **values: Any) -> int:
    """Live progress of a job's current pass until it ends."""
    store = _store(values)
    store.spec(job)
    return wait_for(store.r, job, progress=True, first_pass=store.state(job).get("pass_id"))


@click.command("failures")
@click.argument("job")
@redis_options
def failures_command(job: str, **values: Any) -> int:
    """Each failed path of the job's latest pass, with its reason and attempts."""
    store = _store(values)
    store.spec(job)
    info = store.info(job)
    failures = store.failures(info.pass_id) if info.pass_id else {}
    for path, detail in sorted(failures.items()):
        click.echo(f"{path}\t{detail.get('reason')}\tattempts={detail.get('attempts', 1)}")
    return 1 if failures else 0


@click.command("worker")
@click.option("-c", "--concurrency", type=click.IntRange(1, 512), default=2, show_default=True, help="Processes.")
@click.argument("queues", nargs=-1)
@redis_options
@logging_options
def worker_command(concurrency: int, queues: tuple[str, ...], **values: Any) -> int:
    """Run a pool of RQ workers on the job queues (default: restart, path, file) until interrupted."""
    settings = _settings(False, values)
    configure_logging(settings.log)
    conn = pf.connect_redis(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with WorkerPool(pf.redis_url(conn), queues or DEFAULT_QUEUES, concurrency, settings.log):
        click.echo(f"{concurrency} workers on queues {', '.join(queues or DEFAULT_QUEUES)}", err=True)
        stop.wait()
    return 0


COMMANDS = [
    start_command,
    rescan_command,
    stop_command,
    list_command,
    watch_command,
    failures_command,
    worker_command,
]
