"""The `meta` dict old event handlers receive, built from plain values."""

from __future__ import annotations

from typing import Any

from ..jobs import JobSpec
from ..model import Entry, EntryKind


def entry_meta(spec: JobSpec, entry: Entry, logical_path: str) -> dict[str, Any]:
    """meta for one source entry, with the keys the old framework's handlers read."""
    return {
        "path": entry.path,
        "target": logical_path,
        "root": spec.source,
        "job_name": spec.name,
        "mtime": entry.mtime,
        "ctime": entry.ctime,
        "size": entry.size,
        "is_link": entry.kind is EntryKind.LINK,
        "is_socket": entry.kind is EntryKind.SOCKET,
        "config": config_meta(spec),
    }


def path_meta(spec: JobSpec, source_path: str, logical_path: str) -> dict[str, Any]:
    """meta for a path known only by name (a directory being created, an object being deleted)."""
    return {
        "path": source_path,
        "target": logical_path,
        "root": spec.source,
        "job_name": spec.name,
        "config": config_meta(spec),
    }


def config_meta(spec: JobSpec) -> dict[str, Any]:
    return {
        "job_name": spec.name,
        "src_path": spec.source,
        "target": spec.target,
        "interval": spec.interval,
        "files_per_task": spec.files_per_task,
        "initial_ingest": spec.initial_ingest,
        "event_handler": spec.handler,
    }
