"""`lz-ingest watcher`: the long-running landing-zone watcher, for one zone or several from a config file."""

from __future__ import annotations

import signal
import threading
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any

import click

from . import control
from . import preflight as pf
from .cli_jobs import _settings
from .cli_options import job_options, logging_options, redis_options
from .errors import ConfigError
from .irods.session import SessionPool
from .logs import configure_logging
from .model import DeleteMode, Operation
from .sources.registry import source_for
from .tasks.meta import path_meta
from .tasks.scan import scan_options
from .watcher.changes import CatalogChanges
from .watcher.fs import ObserverKind
from .watcher.ignore import exclude_patterns, ignore_rule
from .watcher.job import WatcherJob
from .watcher.landing import inside, parse_action
from .watcher.run import ZoneConfig, ZoneWatcher, run
from .watcher.submit import RqSubmit
from .worker import WorkerPool, active_workers

_REGISTERS = frozenset({Operation.REGISTER_SYNC, Operation.REGISTER_AS_REPLICA_SYNC})


@dataclass
class Zone:
    watcher: ZoneWatcher
    job: WatcherJob
    queues: tuple[str, ...]
    redis_url: str


def _watcher_options(f: Any) -> Any:
    for decorator in reversed(
        [
            click.option(
                "--observer",
                type=click.Choice([k.value for k in ObserverKind]),
                default="auto",
                show_default=True,
                help="inotify, polling, or auto (inotify, else polling).",
            ),
            click.option(
                "--poll-interval",
                "poll_interval",
                type=float,
                default=1.0,
                show_default=True,
                help="Seconds between the polling observer's looks.",
            ),  # fmt: skip
            click.option("--ignore", "ignore", multiple=True, help="A glob of names never ingested (repeatable)."),
            click.option(
                "--reconcile-interval",
                "reconcile_interval",
                type=float,
                default=3600.0,
                show_default=True,
                help="Seconds between reconciling rescans.",
            ),  # fmt: skip
            click.option("--complete-marker", "complete_marker", help="Queue a directory's files once NAME is in it."),
            click.option(
                "--on-success",
                "on_success",
                default="keep",
                show_default=True,
                help="keep | delete | move:DIR, after a verified ingest.",
            ),  # fmt: skip
            click.option(
                "--on-failure",
                "on_failure",
                default="keep",
                show_default=True,
                help="keep | move:DIR (with NAME.lz-error.json), after a permanent failure.",
            ),  # fmt: skip
            click.option("--notify-url", "notify_url", help="POST a JSON notification here for each failure."),
        ]
    ):
        f = decorator(f)
    return f


def check_landing(values: dict[str, Any], source_root: str, operation: Operation, delete_mode: DeleteMode) -> None:
    """The refused combinations of --on-success / --on-failure, one line each."""
    success = parse_action(values["on_success"], "--on-success", ("keep", "delete", "move"))
    failure = parse_action(values["on_failure"], "--on-failure", ("keep", "move"))
    for option, action in (("--on-success", success), ("--on-failure", failure)):
        if action.directory is not None and inside(action.directory, source_root):
            raise ConfigError(f"{option} {action}: the directory lies inside the source {source_root}")
    if success.kind == "keep":
        return
    if operation in _REGISTERS:
        raise ConfigError(
            f"--on-success {success}: not with {operation.name} (a registered replica must keep its file)"
        )
    if delete_mode is not DeleteMode.DO_NOT_DELETE:
        raise ConfigError(
            f"--on-success {success} with delete mode {delete_mode.name}: the file's removal would delete its object"
        )


def prepare_zone(source: str, target: str, values: dict[str, Any], stack: ExitStack) -> Zone:
    """Every check of `start` plus the watcher's own; nothing is written before they pass."""
    settings = _settings(True, values)
    assert settings.irods is not None
    handler = pf.load_checked_handler(values.get("event_handler"))
    spec = control.build_spec(source, target, settings.irods.zone, None, handler, values)
    root = source_for(spec.source).root
    if values["settle_seconds"] < 0 or values["poll_interval"] <= 0 or values["reconcile_interval"] <= 0:
        raise ConfigError("--settle-seconds, --poll-interval and --reconcile-interval must be positive")
    rule = ignore_rule(values["ignore"])
    extra = {k: values[k] for k in ("on_success", "on_failure", "notify_url", "complete_marker") if values.get(k)}
    extra["watcher"] = True  # `watch` follows it until it ends
    spec = replace(
        spec, exclude_file_name=spec.exclude_file_name + exclude_patterns(rule, root), extra={**spec.extra, **extra}
    )
    pf.check_filters(spec)
    conn = pf.connect_redis(settings)
    session = pf.check_irods(settings.irods, spec.target)
    try:
        pf.check_handler_policy(handler, session, spec)
        meta = path_meta(spec, spec.source, spec.target)
        check_landing(values, root, handler.operation(session, meta), handler.delete_mode(meta))
    finally:
        session.cleanup()
    config = ZoneConfig(
        root=root,
        settle_seconds=spec.settle_seconds,
        files_per_task=spec.files_per_task,
        observer=ObserverKind(values["observer"]),
        poll_interval=values["poll_interval"],
        ignore=rule,
        reconcile_interval=values["reconcile_interval"],
        complete_marker=values.get("complete_marker"),
        excludes=scan_options(spec),
    )
    pool = SessionPool(settings.irods, idle_disconnect_seconds=spec.idle_disconnect_seconds)
    stack.callback(pool.close)
    job = WatcherJob(conn, spec, handler)
    changes = CatalogChanges(spec, handler, pool, source_for(spec.source))
    watcher = ZoneWatcher(config, RqSubmit(conn, spec), changes, job)
    return Zone(watcher, job, control.queues(spec), pf.redis_url(conn))


def load_config(path: str) -> list[tuple[str, str, list[str]]]:
    """zones.yaml: `zones:` a list of mappings with source, target and any option of the command
    (by its name without dashes, dashed or underscored); optional `defaults:` apply to every zone."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"--config {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("zones"), list) or not doc["zones"]:
        raise ConfigError(f"--config {path}: expected a mapping with a non-empty list `zones:`")
    defaults = doc.get("defaults") or {}
    zones = []
    for n, raw in enumerate(doc["zones"], 1):
        if not isinstance(raw, dict) or "source" not in raw or "target" not in raw:
            raise ConfigError(f"--config {path}: zone {n} needs `source:` and `target:`")
        options = {**defaults, **{k: v for k, v in raw.items() if k not in ("source", "target")}}
        zones.append((str(raw["source"]), str(raw["target"]), _as_args(options)))
    return zones


def _as_args(options: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for name, value in options.items():
        flag = "--" + str(name).lstrip("-").replace("_", "-")
        values = value if isinstance(value, list) else [value]
        for one in values:
            if one is True:
                args.append(flag)
            elif one not in (False, None):
                args += [flag, str(one)]
    return args


def _zone_values(source: str, target: str, args: list[str]) -> dict[str, Any]:
    """A config zone's options parsed by this very command, so they have its names, types and defaults."""
    ctx = watcher_command.make_context("watcher", [source, target, *args])
    return dict(ctx.params)


@click.command("watcher")
@click.argument("source", required=False)
@click.argument("target", required=False)
@click.option("--config", "config", help="zones.yaml: several zones in one process.")
@_watcher_options
@job_options
@redis_options
@logging_options
def watcher_command(source: str | None, target: str | None, config: str | None, **values: Any) -> int:
    """Watch a landing zone: ingest each file seconds after it lands; reconcile with periodic rescans."""
    if config and (source or target):
        raise ConfigError("--config: give either SOURCE TARGET or --config zones.yaml, not both")
    if not config and not (source and target):
        raise ConfigError("watcher: give SOURCE and TARGET, or --config zones.yaml")
    settings = _settings(False, values)
    configure_logging(settings.log)
    if config:
        wanted = [(s, t, _zone_values(s, t, a)) for s, t, a in load_config(config)]
    else:
        assert source and target
        wanted = [(source, target, values)]
    names = [v.get("job_name") for _, _, v in wanted if v.get("job_name")]
    if len(set(names)) != len(names):
        raise ConfigError("--config: two zones share a job_name")
    with ExitStack() as stack:
        zones = [prepare_zone(s, t, v, stack) for s, t, v in wanted]
        _start_workers(zones, [v.get("workers") for _, _, v in wanted], stack, settings.log)
        return _watch(zones)


def _start_workers(zones: list[Zone], workers: list[int | None], stack: ExitStack, log: Any) -> None:
    """--workers N: a pool of N worker processes in this process's care (the container's one process)."""
    for zone, count in zip(zones, workers, strict=True):
        if count:
            stack.enter_context(WorkerPool(zone.redis_url, zone.queues, count, log))
        elif not active_workers(zone.job.conn, zone.queues):
            click.echo(f"lz-ingest: warning: no worker listens on {', '.join(zone.queues)}: start lz-ingest worker",
                       err=True)  # fmt: skip


def _watch(zones: list[Zone]) -> int:
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for zone in zones:
            zone.job.register()
            click.echo(f"watching {zone.watcher.root} as job {zone.job.spec.name}", err=True)
        why = run([z.watcher for z in zones], stop)
    finally:
        for zone in zones:
            zone.job.release()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"watcher ended ({why}); everything seen was queued", err=True)
    return 0


__all__ = ["watcher_command"]
