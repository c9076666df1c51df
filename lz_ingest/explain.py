"""What happened to one source path: what the catalog holds for it, what a pass would do now, and its last
failure. Nothing per file is kept in Redis: the answer is read from the catalog, the source and the job."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import redis

from . import naming
from .errors import ConfigError, LzIngestError
from .handlers.loader import Handler, load_handler
from .irods import catalog as adapter
from .jobs import JobSpec, JobStore
from .model import CatalogObject, Entry, EntryKind
from .plan import COLLECTION, CatalogState, plan
from .sources.base import Source, printable
from .sources.registry import source_for
from .tasks.meta import entry_meta
from .tasks.scan import checksum_match


@dataclass(frozen=True)
class Explanation:
    """One source path seen from every side, as `lz-ingest show` prints it."""

    path: str
    job: JobSpec
    logical_path: str
    entry: Entry | None
    catalog: CatalogState
    plan: str
    failure: dict[str, Any] | None


def find_job(store: JobStore, path: str, name: str | None) -> JobSpec:
    """The named job, else the one job whose source holds `path` (the deepest source when they nest)."""
    if name:
        return store.spec(name)
    covering = [spec for spec in map(store.spec, store.names()) if _under(path, spec.source)]
    if not covering:
        raise ConfigError(f"{printable(path)}: no job's source holds it (name one with --job)")
    deepest = max(len(spec.source) for spec in covering)
    best = sorted(spec.name for spec in covering if len(spec.source) == deepest)
    if len(best) > 1:
        raise ConfigError(f"{printable(path)}: several jobs hold it ({', '.join(best)}): choose with --job")
    return store.spec(best[0])


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def explain(conn: redis.Redis[bytes], session: Any, path: str, job: str | None = None) -> Explanation:
    store = JobStore(conn)
    path = os.path.abspath(path)
    spec = find_job(store, path, job)
    if not _under(path, spec.source):
        raise ConfigError(f"{printable(path)}: not under job {spec.name}'s source {spec.source}")
    handler = load_handler(spec.handler)
    logical, _avus = naming.logical_path(spec.source, spec.target, path, handler.character_map())
    source = source_for(spec.source)
    entry = source.stat(path, spec.follow_symlinks)
    state = _catalog_state(session, logical)
    return Explanation(
        path,
        spec,
        logical,
        entry,
        state,
        _next_pass(session, spec, handler, source, entry, state, logical),
        _last_failure(store, spec.name, path),
    )


def _catalog_state(session: Any, logical: str) -> CatalogState:
    parent, name = logical.rsplit("/", 1)
    listing = adapter.list_collection(session, parent or "/")
    if name in listing.objects:
        return listing.objects[name]
    return COLLECTION if name in listing.subcollections else None


def _next_pass(
    session: Any,
    spec: JobSpec,
    handler: Handler,
    source: Source,
    entry: Entry | None,
    state: CatalogState,
    logical: str,
) -> str:
    """The decision a pass would take for this path now, as --dry-run takes it."""
    if entry is None:
        return "gone from the source: the job's delete mode decides" if state is not None else "nothing: no such path"
    try:
        meta = entry_meta(spec, entry, logical)
        operation = handler.operation(session, meta)
        resource = handler.to_resource(session, meta)
        match = checksum_match(source, entry, state) if spec.checksum else None
        decision = plan(
            entry, state, operation, to_resource=resource, initial_ingest=spec.initial_ingest, checksum_match=match
        )
    except LzIngestError as exc:
        return f"fail: {exc}"
    return f"{decision.action.value} ({operation.name}): {decision.reason}"


def _last_failure(store: JobStore, job: str, path: str) -> dict[str, Any] | None:
    pass_id = store.state(job).get("pass_id")
    if not pass_id:
        return None
    return store.failures(pass_id).get(printable(path))


def _when(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render(found: Explanation) -> str:
    """The explanation as lines for a person."""
    lines = [f"source       {printable(found.path)}  {_describe_entry(found.entry)}"]
    lines.append(f"job          {found.job.name} ({found.job.source} -> {found.job.target})")
    lines.append(f"logical path {found.logical_path}")
    lines.extend(_describe_catalog(found.catalog))
    lines.append(f"next pass    {found.plan}")
    failure = found.failure
    reason = f"{failure.get('reason')} (attempts: {failure.get('attempts', 1)})" if failure else "none"
    lines.append(f"last failure {reason}")
    return "\n".join(lines)


def _describe_entry(entry: Entry | None) -> str:
    if entry is None:
        return "(not there)"
    if entry.kind is EntryKind.DIRECTORY:
        return "(directory)"
    return f"({entry.kind.value}, {_bytes_text(entry.size)}, modified {_when(entry.mtime)})"


def _bytes_text(size: int) -> str:
    return "1 byte" if size == 1 else f"{size} bytes"


def _describe_catalog(state: CatalogState) -> list[str]:
    if state is None:
        return ["catalog      nothing at that logical path"]
    if state is COLLECTION:
        return ["catalog      a collection"]
    assert isinstance(state, CatalogObject)
    count = len(state.replicas)
    lines = [f"catalog      a data object, {count} replica{'' if count == 1 else 's'}"]
    for r in state.replicas:
        status = {"0": "stale", "1": "good"}.get(r.status, f"status {r.status}")
        checksum = r.checksum or "no checksum"
        lines.append(
            f"  replica {r.number}  {r.resource_hierarchy}  {_bytes_text(r.size)}  modified {_when(r.mtime)}  "
            f"{status}  {checksum}  {r.physical_path}"
        )
    return lines
