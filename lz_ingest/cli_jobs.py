"""The job commands: start, rescan, stop, list, watch, failures, worker."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from contextlib import ExitStack
from typing import Any

import click
import redis

from . import control
from . import preflight as pf
from .cli_options import job_options, logging_options, redis_options
from .jobs import JobSpec, JobStore
from .logs import configure_logging
from .progress import ProgressLine, old_list_entry, plural, summary, table
from .settings import Settings, load_settings
from .status import JobStatus
from .worker import DEFAULT_QUEUES, WorkerPool

POLL_SECONDS = 0.5
INTERRUPTED = 130


def _settings(require_irods: bool, values: dict[str, Any]) -> Settings:
    return load_settings(os.environ, require_irods=require_irods, **values)


def wait_for(conn: redis.Redis[bytes], name: str, progress: bool, across_passes: bool = False) -> int:
    """Show the job's progress until its pass is over (or, across passes, until it stops); exit status."""
    line = ProgressLine()
    tty = sys.stderr.isatty()
    info = None
    for info in control.follow(conn, name, across_passes=across_passes, poll=POLL_SECONDS):
        if progress:
            text = line.render(info)
            click.echo(("\r" + text) if tty else text, err=True, nl=not tty)
    if progress and tty:
        click.echo("", err=True)
    assert info is not None
    return 1 if info.counts.get("failed", 0) or info.status is JobStatus.BLOCKED else 0


def run_job(prepared: control.Prepared, options: dict[str, Any]) -> int:
    """Submit the job; with --synchronous (and rescan) wait for its first pass and print a summary.

    Ctrl-C while waiting stops the job as `lz-ingest stop` would (a pass left running with nobody
    waiting for it would look alive forever) and exits 130."""
    spec, conn = prepared.spec, prepared.conn
    synchronous, progress = options["synchronous"], options["progress"]
    if synchronous:
        control.check_workers_for_wait(conn, spec, options.get("workers"))
    with ExitStack() as stack:
        count = control.needs_pool(conn, spec, options.get("workers")) if synchronous else 0
        if count:
            stack.enter_context(WorkerPool(pf.redis_url(conn), control.queues(spec), count, options["log"]))
        try:
            pass_id = control.submit(conn, spec, prepared.handler)
            click.echo(f"job {spec.name} started (pass {pass_id})", err=True)
            if not synchronous:
                _warn_if_unserved(conn, spec)
                return 0
            status = wait_for(conn, spec.name, progress)
        except KeyboardInterrupt:
            if not synchronous or not JobStore(conn).state(spec.name):
                raise  # nothing of the job exists yet (or nobody waits for it): a plain interruption
            control.stop(conn, spec.name)
            click.echo(f"\nlz-ingest: interrupted: job {spec.name} stopped (as `lz-ingest stop {spec.name}`)", err=True)
            return INTERRUPTED
    info = control.status(conn, spec.name)
    click.echo(summary(info, JobStore(conn).failures(info.pass_id)))
    return status


def _warn_if_unserved(conn: redis.Redis[bytes], spec: JobSpec) -> None:
    if not control.serving_workers(conn, spec):
        click.echo(
            f"lz-ingest: warning: {control.no_worker_message(spec)}: job {spec.name} is queued and nothing serves "
            "it yet (start `lz-ingest worker`)",
            err=True,
        )


def prepare(
    source: str, target: str, interval: int | None, values: dict[str, Any]
) -> tuple[control.Prepared, Settings]:
    settings = _settings(True, values)
    configure_logging(settings.log)
    return control.prepare(settings, source, target, interval, values), settings


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
    prepared, settings = prepare(source, target, interval, values)
    options = {"synchronous": synchronous or progress, "progress": progress, "log": settings.log, **values}
    return run_job(prepared, options)


@click.command("rescan")
@click.argument("source")
@click.argument("target")
@click.option("--progress", is_flag=True, help="Show a live progress bar.")
@job_options
@redis_options
@logging_options
def rescan_command(source: str, target: str, progress: bool, **values: Any) -> int:
    """One complete pass: wait for it, print a summary; exit status 1 when anything failed."""
    prepared, settings = prepare(source, target, None, values)
    options = {"synchronous": True, "progress": progress, "log": settings.log, **values}
    return run_job(prepared, options)


def _conn(values: dict[str, Any]) -> redis.Redis[bytes]:
    return pf.connect_redis(_settings(False, values))


@click.command("stop")
@click.argument("job")
@redis_options
def stop_command(job: str, **values: Any) -> int:
    """Stop a job: no new pass starts, queued tasks of the current pass are skipped."""
    control.stop(_conn(values), job)
    click.echo(f"job {job} stopped", err=True)
    return 0


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="The old framework's JSON shape (with a status per job).")
@click.option("--all", "show_all", is_flag=True, help="Also jobs finished more than a day ago.")
@redis_options
def list_command(as_json: bool, show_all: bool, **values: Any) -> int:
    """List active and blocked jobs, and jobs finished within the last day with their outcome."""
    conn = _conn(values)
    if as_json:
        # the old framework's shape: finished single-pass jobs are not in it (unless --all)
        ended = (JobStatus.DONE, JobStatus.FAILED)
        infos = [i for i in control.list_jobs(conn, True) if show_all or i.periodic or i.status not in ended]
        shape: dict[str, list[dict[str, object]]] = {"periodic": [], "singlepass": [], "stopped": []}
        for i in infos:
            bucket = "stopped" if i.status is JobStatus.STOPPED else ("periodic" if i.periodic else "singlepass")
            shape[bucket].append(old_list_entry(i))
        click.echo(json.dumps(shape, indent=2))
    else:
        click.echo(table(control.list_jobs(conn, show_all)))
    return 0


@click.command("watch")
@click.argument("job")
@redis_options
def watch_command(job: str, **values: Any) -> int:
    """Live progress of a job: its current pass; a periodic or watcher job's until it is stopped or ends."""
    conn = _conn(values)
    spec = JobStore(conn).spec(job)
    return wait_for(conn, job, progress=True, across_passes=bool(spec.interval or spec.extra.get("watcher")))


@click.command("failures")
@click.argument("job")
@redis_options
def failures_command(job: str, **values: Any) -> int:
    """Each failed path of the job's latest pass, with its reason and attempts (tab-separated)."""
    found = control.failures(_conn(values), job)
    # the rows go to stdout for scripts; what a person needs besides them goes to stderr
    if found.blocked:
        click.echo(f"job {job} is blocked: {found.blocked}", err=True)
    for path, detail in sorted(found.items.items()):
        click.echo(f"{path}\t{detail.get('reason')}\tattempts={detail.get('attempts', 1)}")
    if not found.items and not found.blocked:
        none = f"no failures in the last pass of {job}" if found.pass_id else f"job {job} has not run a pass yet"
        click.echo(none, err=True)
    return 1 if found.items or found.blocked else 0


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
        click.echo(f"{plural(concurrency, 'worker')} on queues {', '.join(queues or DEFAULT_QUEUES)}", err=True)
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
