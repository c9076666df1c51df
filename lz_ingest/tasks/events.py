"""Work outside any pass: batches of source paths a watcher saw change, synced into a long-running job.

Their counters live in `lz:events:<job>` (seen, queued, batches, ingested, failed, last_event, and the
sync outcomes), apart from the per-pass counters: a reconciling rescan of the same job starts and ends
its passes as usual (it is never refused because events are flowing, and never wipes their counts).
Each path is stat'ed through the job's Source when its batch runs and decided with the same `plan` a
scan uses, against what the catalog holds for it then. A path that is gone is counted as vanished:
deleting what vanished is left to the next rescan, which sees the whole directory.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence

import redis

from ..irods import catalog as adapter
from ..jobs import JobSpec, key
from ..model import EntryKind
from ..naming import logical_path
from ..plan import COLLECTION, CatalogState
from ..sources.base import Source
from ..sources.filters import ScanOptions, excluded_by_file_name, excluded_by_kind, matches_any
from . import bookkeeping as bk
from .context import current_connection, current_context
from .lifecycle import Admission, RedisLedger, Step, admit, item_labels, run_task
from .scan import SyncItem, scan_options
from .sync import Syncer

EVENT_FAILURES_KEPT = 1000  # the event failures a job keeps (the newest replace the oldest)
_WRITTEN = frozenset({"registered", "updated", "replicated", "uploaded", "overwritten", "appended"})


def events_key(job_name: str) -> str:
    return key("events", job_name)


def event_failures_key(job_name: str) -> str:
    return key("event_failures", job_name)


def submit_events(conn: redis.Redis[bytes], spec: JobSpec, paths: list[str]) -> str | None:
    """Queue one sync batch of these source paths for the job, outside any pass; returns the RQ id of
    the task, or None when there is nothing to queue (no paths, or the job was stopped)."""
    unique = list(dict.fromkeys(paths))
    pipe = conn.pipeline()
    pipe.hincrby(events_key(spec.name), "seen", len(paths))
    pipe.hset(events_key(spec.name), "last_event", repr(time.time()))
    if not unique or admit(_state(conn, spec.name), None) is not Admission.RUN:
        pipe.execute()
        return None
    from rq import Queue

    task_id = f"lz-ev-{uuid.uuid4().hex}"
    pipe.hincrby(events_key(spec.name), "queued", len(unique))
    pipe.hincrby(events_key(spec.name), "batches", 1)
    data = Queue.prepare_data(
        event_sync_task,
        args=(spec.name, unique),
        timeout=bk.DEFAULT_TASK_TIMEOUT,
        job_id=task_id,
        result_ttl=bk.TASK_RESULT_TTL,
        failure_ttl=bk.TASK_FAILURE_TTL,
    )
    Queue(spec.file_queue, connection=conn).enqueue_many([data], pipeline=pipe)
    pipe.execute()
    return task_id


def _state(conn: redis.Redis[bytes], job_name: str) -> dict[str, str]:
    return _as_text(conn.hgetall(key("state", job_name)))


def event_sync_task(job_name: str, paths: list[str]) -> None:
    """RQ entry point (file queue): sync the paths of one event batch."""
    conn = current_connection()
    ctx = current_context()

    def body(step: Step) -> None:
        source = ctx.source(step.spec)
        items = _items(step, source, paths)
        Syncer(ctx, step.spec, step.handler, stop_check=step.stopped).sync_all(items, step.tally)

    run_task(RedisLedger(conn), ctx.handler, job_name, None, body, item_labels(paths, str))


def _items(step: Step, source: Source, paths: Sequence[str]) -> list[SyncItem]:
    """What the batch syncs: each path that still exists and is not excluded, with its catalog state."""
    spec, tally = step.spec, step.tally
    options = scan_options(spec)
    cmap = step.handler.character_map()
    found = []
    for path in paths:
        entry = source.stat(path, spec.follow_symlinks)
        if entry is None:
            tally.add("vanished")
        elif _excluded(source.root, path, entry.kind, options):
            tally.add("excluded")
        elif entry.kind is EntryKind.DIRECTORY:
            tally.add("directories")  # a directory's files come as events of their own, or with a rescan
        else:
            logical, avus = logical_path(source.root, spec.target, path, cmap)
            found.append((entry, logical, avus))
    session = current_context().pool(spec).session()
    parents = sorted({logical.rsplit("/", 1)[0] for _, logical, _ in found})
    listings = adapter.list_collections(session, parents) if parents else {}
    for parent in parents:
        listing = listings.get(parent)
        if (listing is None or not listing.exists) and not spec.dry_run:
            adapter.create_collection(session, parent)  # with its parents, as a scan would have created them
    items = []
    for entry, logical, avus in found:
        parent, base = logical.rsplit("/", 1)
        listing = listings.get(parent)
        state: CatalogState = listing.objects.get(base) if listing else None
        if state is None and listing is not None and base in listing.subcollections:
            state = COLLECTION
        items.append(SyncItem(entry, logical, state, avus))
    return items


def _excluded(root: str, path: str, kind: EntryKind, options: ScanOptions) -> bool:
    if excluded_by_file_name(path, options) or excluded_by_kind(path, kind, kind is EntryKind.LINK, options):
        return True
    return any(matches_any(options.exclude_directory_name, directory) for directory in _directories(root, path))


def _directories(root: str, path: str) -> Iterable[str]:
    """The directories between the source root (excluded) and the path."""
    parts = path[len(root) :].strip("/").split("/")[:-1]
    for i in range(1, len(parts) + 1):
        yield "/".join([root.rstrip("/"), *parts[:i]])


def flush_events(conn: redis.Redis[bytes], job_name: str, tally: bk.Tally) -> None:
    """Add an event batch's outcomes to the job's event counters (never to a pass's)."""

    def flush() -> None:
        pipe = conn.pipeline()
        for name, n in tally.counts.items():
            pipe.hincrby(events_key(job_name), name, n)
        written = sum(n for name, n in tally.counts.items() if name in _WRITTEN)
        if written:
            pipe.hincrby(events_key(job_name), "ingested", written)
        if tally.failures:
            failures = event_failures_key(job_name)
            pipe.hset(failures, mapping={p: json.dumps({**v, "at": time.time()}) for p, v in tally.failures.items()})
        pipe.execute()
        if tally.failures and conn.hlen(event_failures_key(job_name)) > EVENT_FAILURES_KEPT:
            _trim_failures(conn, job_name)

    bk.with_redis_retries(flush, f"record an event batch of {job_name}")


def _trim_failures(conn: redis.Redis[bytes], job_name: str) -> None:
    raw = conn.hgetall(event_failures_key(job_name))
    by_age = sorted(raw.items(), key=lambda kv: json.loads(kv[1]).get("at", 0))
    oldest = [k for k, _ in by_age[: len(by_age) - EVENT_FAILURES_KEPT]]
    if oldest:
        conn.hdel(event_failures_key(job_name), *oldest)


def event_counts(conn: redis.Redis[bytes], job_name: str) -> dict[str, str]:
    """The job's event counters as stored (numbers, and last_event as seconds since the epoch)."""
    return _as_text(conn.hgetall(events_key(job_name)))


def _as_text(raw: Mapping[bytes, bytes] | Mapping[str, str]) -> dict[str, str]:
    def text(value: object) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    return {text(k): text(v) for k, v in raw.items()}
