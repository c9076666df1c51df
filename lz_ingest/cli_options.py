"""The job options: every option of the old framework by its old spelling and a dashed one, plus ours."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

# Options that took a space-separated list in the old (argparse) command line.
LIST_OPTIONS = {
    "--exclude_file_type",
    "--exclude-file-type",
    "--exclude_file_name",
    "--exclude-file-name",
    "--exclude_directory_name",
    "--exclude-directory-name",
}


def expand_list_options(argv: Sequence[str]) -> list[str]:
    """`--exclude_file_name a b` (old style) becomes `--exclude_file_name a --exclude_file_name b`."""
    out: list[str] = []
    current: str | None = None
    for arg in argv:
        if arg in LIST_OPTIONS:
            current = arg
            continue
        if current is not None and not arg.startswith("-"):
            out += [current, arg]
            continue
        current = None
        out.append(arg)
    return out


def _names(old: str) -> list[str]:
    dashed = old.replace("_", "-")
    return [f"--{old}"] if dashed == old else [f"--{old}", f"--{dashed}"]


def opt(old: str, *extra: str, **kwargs: Any) -> Callable[[Any], Any]:
    return click.option(*extra, *_names(old), old, **kwargs)


def redis_options(f: Any) -> Any:
    for decorator in reversed(
        [
            click.option("--redis-url", "redis_url", help="redis://, rediss:// or unix:// (default: embedded)."),
            opt("redis_host", help="Redis host (old option; default localhost when port/db are given)."),
            opt("redis_port", type=int, help="Redis port (old option)."),
            opt("redis_db", type=int, help="Redis database number (old option)."),
        ]
    ):
        f = decorator(f)
    return f


def logging_options(f: Any) -> Any:
    for decorator in reversed(
        [
            opt("log_filename", help="Write JSON log lines here instead of stderr."),
            opt("log_level", help="Minimum level to log (DEBUG, INFO, WARNING, ERROR)."),
            opt("log_interval", type=int, help="Rotate the log every N log_when units."),
            opt("log_when", help="Rotation unit (S, M, H, D, midnight, W0-W6)."),
            click.option("--profile", is_flag=True, help="Write per-batch timing events to the profile file."),
            opt("profile_filename", help="Profile output file (JSON lines)."),
            opt("profile_level", help="Minimum level for profile events."),
            opt("profile_interval", type=int, help="Rotate the profile file every N units."),
            opt("profile_when", help="Profile rotation unit."),
        ]
    ):
        f = decorator(f)
    return f


def job_options(f: Any) -> Any:
    """Options of `start` and `rescan`, old names and defaults first."""
    for decorator in reversed(
        [
            opt("job_name", help="Name of the job (default: a generated id)."),
            opt("event_handler", help="Handler file path or importable module:attr."),
            opt("file_queue", default="file", show_default=True, help="Queue for file batches."),
            opt("path_queue", default="path", show_default=True, help="Queue for directory scans."),
            opt("restart_queue", default="restart", show_default=True, help="Queue for pass starts."),
            opt("files_per_task", type=int, default=50, show_default=True, help="Files per batch task."),
            opt("exclude_file_type", multiple=True, help="regular, directory, character, block, socket, pipe, link."),
            opt("exclude_file_name", multiple=True, help="Python regex matched against absolute file paths."),
            opt("exclude_directory_name", multiple=True, help="Python regex matched against absolute dir paths."),
            opt("initial_ingest", is_flag=True, help="Do not compare with the catalog: everything is new."),
            opt("ignore_cache", is_flag=True, help="Accepted for compatibility: lz-ingest keeps no per-file cache."),
            opt("irods_idle_disconnect_seconds", type=int, default=60, show_default=True, help="Idle session drop."),
            click.option("--checksum", is_flag=True, help="Register and put with checksums computed and verified."),
            click.option("--dry-run", "dry_run", is_flag=True, help="Report what a pass would do; change nothing."),
            click.option(
                "--provenance",
                is_flag=True,
                help="Record job, ingest time, worker host (and a verified checksum) as AVUs on each object written.",
            ),
            click.option("--follow-symlinks", "follow_symlinks", is_flag=True, help="Sync what symlinks point to."),
            click.option("--irods-env", "irods_env", help="iRODS environment file to use."),
            click.option(
                "--max-delete",
                "max_delete",
                type=float,
                default=0.5,
                show_default=True,
                help="Refuse a delete phase removing more than this share of the catalog entries seen.",
            ),
            click.option(
                "--settle-seconds",
                "--settle",
                "settle_seconds",
                type=float,
                default=2.0,
                show_default=True,
                help="A file modified this recently is still being written: wait before syncing it.",
            ),
            click.option("--workers", type=int, help="In-process workers when no worker pool serves the queues."),
            click.option(
                "--threads",
                type=int,
                default=4,
                show_default=True,
                help="Files of a batch synced at once in each worker process (1: one after another).",
            ),
            opt("s3_keypair", help="File with the S3 access key and secret key lines (SOURCE /bucket/prefix)."),
            opt("s3_endpoint_domain", help="S3 endpoint host[:port] (https unless --s3_insecure_connection)."),
            click.option("--s3-endpoint-url", "s3_endpoint_url", help="S3 endpoint as a URL (http(s)://host:port)."),
            click.option("--s3-addressing", "s3_addressing", type=click.Choice(["auto", "path", "virtual"])),
            opt("s3_region_name", help="S3 region (signing and endpoint)."),
            opt("s3_proxy_url", help="HTTP(S) proxy for S3 requests."),
            opt("s3_insecure_connection", is_flag=True, help="S3 over plain http (https URL: no certificate check)."),
            opt("s3_multipart_chunksize_in_mib", type=int, help="Part size assumed for multipart ETags (fallback)."),
        ]
    ):
        f = decorator(f)
    return f
