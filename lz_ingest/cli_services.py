"""The long-running helpers besides the workers: `lz-ingest scheduler`, and `lz-ingest redis-url` for plain RQ tools."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import click

from . import preflight as pf
from . import scheduler
from .cli_options import logging_options, redis_options
from .logs import configure_logging
from .settings import load_settings
from .worker import DEFAULT_QUEUES


@click.command("scheduler")
@click.argument("queues", nargs=-1)
@redis_options
@logging_options
def scheduler_command(queues: tuple[str, ...], **values: Any) -> int:
    """Run periodic passes and the upkeep (redo dead workers' tasks) for any worker pool, until stopped."""
    settings = load_settings(os.environ, require_irods=False, **values)
    configure_logging(settings.log)
    conn = pf.connect_redis(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"scheduler on queues {', '.join(queues or DEFAULT_QUEUES)}", err=True)
    scheduler.run(conn, queues or DEFAULT_QUEUES, stop)
    return 0


@click.command("redis-url")
@redis_options
def redis_url_command(**values: Any) -> int:
    """Print the Redis URL lz-ingest uses (the embedded one started if needed), e.g. for `rq worker -u URL`."""
    conn = pf.connect_redis(load_settings(os.environ, require_irods=False, **values))
    click.echo(pf.redis_url(conn))
    return 0
