"""`lz-ingest show PATH`: what the catalog holds for one source path, what a pass would do, its last failure."""

from __future__ import annotations

import os
from typing import Any

import click

from . import preflight as pf
from .cli_options import redis_options
from .explain import explain, render
from .irods import checks
from .jobs import JobStore
from .settings import load_settings


@click.command("show")
@click.argument("path")
@click.option("--job", help="The job whose source holds PATH (default: the one job that does).")
@click.option("--irods-env", "irods_env", help="iRODS environment file to use (default: the job's, else as start).")
@redis_options
def show_command(path: str, job: str | None, **values: Any) -> int:
    """What happened to a source file: catalog entry, what the next pass would do, last failure."""
    conn = pf.connect_redis(load_settings(os.environ, require_irods=False, **values))
    if not values.get("irods_env") and job:
        values["irods_env"] = JobStore(conn).spec(job).irods_env
    settings = load_settings(os.environ, require_irods=True, **values)
    assert settings.irods is not None
    session = checks.check_connection(settings.irods, f"/{settings.irods.zone}")
    try:
        click.echo(render(explain(conn, session, path, job)))
    finally:
        session.cleanup()
    return 0
