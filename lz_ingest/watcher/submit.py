"""Event batches into the sync task, outside any pass, with the watcher's own counters.

`RqSubmit` is the watcher's Submit over what the task modules offer today: it queues
`events_task` (one batch of source paths) on the job's file queue. The task stats each path
through the job's Source, lists the parents' collections once (creating missing ones with their
hooks), and syncs the files with the same Syncer and plan as a pass. Its counts go to the hash
`lz:events:<job>` (events seen, files queued, ingested, failed, last event, backlog), apart from any
pass's counters, and its failures to `lz:event_failures:<job>`.

RQ does not dedupe: a path stays in the sorted set `lz:events_inflight:<job>` from the moment it is
queued until its batch has recorded its result, and the watcher holds a path back while it is there
(an entry older than the task timeout is stale: its worker died and the task was lost or redone).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from typing import Any

import redis
from rq import Queue

from ..errors import LzIngestError
from ..handlers.loader import Handler
from ..irods import catalog as adapter
from ..jobs import JobSpec, JobStore, key
from ..model import Action, Entry, EntryKind
from ..naming import logical_path
from ..plan import COLLECTION, CatalogState, plan
from ..tasks import bookkeeping as bk
from ..tasks.context import WorkerContext, current_connection, current_context
from ..tasks.meta import path_meta
from ..tasks.scan import SyncItem, scan_options
from ..tasks.sync import Syncer

TASK_TIMEOUT = 3600
INGESTED = ("registered", "updated", "replicated", "uploaded", "overwritten", "appended")


def events_key(job: str) -> str:
    return key("events", job)


def _inflight_key(job: str) -> str:
    return key("events_inflight", job)


class RqSubmit:
    """Queues event batches of one job as RQ tasks (the watcher's Submit)."""

    def __init__(self, conn: redis.Redis, spec: JobSpec) -> None:
        self.conn, self.spec = conn, spec

    def sync(self, paths: list[str], settled: bool = True) -> None:
        """Queue one batch; `settled` False (shutdown) lets the worker wait for files still changing."""
        if not paths:
            return
        now = time.time()
        pipe = self.conn.pipeline()
        pipe.zadd(_inflight_key(self.spec.name), dict.fromkeys(paths, now))
        pipe.hincrby(events_key(self.spec.name), "queued", len(paths))
        data = Queue.prepare_data(
            events_task,
            args=(self.spec.name, paths, settled),
            timeout=TASK_TIMEOUT,
            result_ttl=bk.TASK_RESULT_TTL,
            failure_ttl=bk.TASK_FAILURE_TTL,
        )
        Queue(self.spec.file_queue, connection=self.conn).enqueue_many([data], pipeline=pipe)
        pipe.execute()

    def in_flight(self, paths: list[str]) -> set[str]:
        """Those of `paths` whose earlier batch has not recorded its result yet."""
        if not paths:
            return set()
        scores = self.conn.zmscore(_inflight_key(self.spec.name), paths)
        fresh = time.time() - TASK_TIMEOUT
        return {p for p, s in zip(paths, scores, strict=True) if s is not None and s > fresh}


def events_task(job_name: str, paths: list[str], settled: bool = True) -> None:
    """RQ entry point (file queue): sync one batch of source paths the watcher saw settle."""
    conn = current_connection()
    store = JobStore(conn)
    tally = bk.Tally()
    try:
        if store.state(job_name).get("status") != "stopped":
            spec = store.spec(job_name)
            if settled:  # the watcher saw them unchanged for settle_seconds: no second wait in the worker
                spec = replace(spec, settle_seconds=0.0)
            ctx = current_context()
            handler = ctx.handler(spec)
            items = _EventBatch(ctx, spec, handler).items(paths, tally)
            Syncer(ctx, spec, handler, redone=bk.is_redone()).sync_all(items, tally)
    except LzIngestError as exc:  # the whole batch could not start (handler refused, iRODS unreachable)
        for path in paths:
            tally.fail(path, str(exc))
    except Exception as exc:
        current_context().log.exception("event_batch_failed")
        for path in paths:
            tally.fail(path, f"internal error: {exc!r}")
    finally:
        bk.with_redis_retries(lambda: _record(conn, job_name, paths, tally), f"record events of {job_name}")


def _record(conn: redis.Redis, job: str, paths: list[str], tally: bk.Tally) -> None:
    pipe = conn.pipeline()
    for name, n in tally.counts.items():
        pipe.hincrby(events_key(job), name, n)
    ingested = sum(tally.counts.get(name, 0) for name in INGESTED)
    if ingested:
        pipe.hincrby(events_key(job), "ingested", ingested)
    if tally.failures:
        pipe.hset(key("event_failures", job), mapping={p: json.dumps(v) for p, v in tally.failures.items()})
    pipe.zrem(_inflight_key(job), *paths)
    pipe.execute()


class _EventBatch:
    """Turns source paths into SyncItems: stat, logical path, catalog state (parents listed once)."""

    def __init__(self, ctx: WorkerContext, spec: JobSpec, handler: Handler) -> None:
        self.ctx, self.spec, self.handler = ctx, spec, handler
        self.source = ctx.source(spec)
        self.options = scan_options(spec)
        self.cmap = handler.character_map()
        self.session = ctx.pool(spec).session()
        self.known: set[str] = set()  # collections known to exist

    def items(self, paths: list[str], tally: bk.Tally) -> list[SyncItem]:
        found: list[tuple[Entry, str, tuple[Any, ...]]] = []
        for path in paths:
            try:
                entry = self.source.stat(path, self.spec.follow_symlinks)
                if entry is None:
                    tally.add("vanished")
                elif entry.kind is EntryKind.DIRECTORY:
                    continue
                elif self._excluded(entry):
                    tally.add("excluded")
                else:
                    logical, avus = logical_path(self.source.root, self.spec.target, path, self.cmap)
                    found.append((entry, logical, avus))
            except LzIngestError as exc:
                tally.fail(path, str(exc))
        parents = sorted({logical.rsplit("/", 1)[0] for _, logical, _ in found})
        listings = adapter.list_collections(self.session, parents) if parents else {}
        items = []
        for entry, logical, avus in found:
            parent, name = logical.rsplit("/", 1)
            listing = listings.get(parent, adapter.Listing.empty(exists=False))
            try:
                if not listing.exists:
                    self._ensure(os.path.dirname(entry.path), parent, tally)
            except LzIngestError as exc:
                tally.fail(entry.path, str(exc))
                continue
            state: CatalogState = listing.objects.get(name)
            if state is None and name in listing.subcollections:
                state = COLLECTION
            items.append(SyncItem(entry, logical, state, tuple(avus)))
        return items

    def _excluded(self, entry: Entry) -> bool:
        kinds = self.options.exclude_file_type
        return entry.kind in kinds or (entry.kind is EntryKind.LINK and EntryKind.LINK in kinds)

    def _ensure(self, directory: str, coll: str, tally: bk.Tally) -> None:
        """Create `coll` and its missing parents down from the target, each with its coll_create hooks."""
        if coll in self.known:
            return
        if len(coll) <= len(self.spec.target.rstrip("/")):  # the target (its scan gives it its hooks)
            adapter.ensure_collection(self.session, coll)
            self.known.add(coll)
            return
        if adapter.collection_exists(self.session, coll):
            self.known.add(coll)
            return
        self._ensure(os.path.dirname(directory), coll.rsplit("/", 1)[0], tally)
        meta = path_meta(self.spec, directory, coll)
        session = self.ctx.pool(self.spec).session(as_user=self.handler.as_user(meta))
        decision = plan(Entry(directory, EntryKind.DIRECTORY, 0, 0.0), None, self.handler.operation(session, meta))
        created = False
        with self.handler.around("coll_create", session, meta):
            if decision.action is Action.CREATE_COLLECTION:
                created = adapter.ensure_collection(session, coll)  # False: another batch made it first
        if created or decision.action is not Action.CREATE_COLLECTION:
            tally.add("collections_created" if created else "hooks_only")
        self.known.add(coll)
