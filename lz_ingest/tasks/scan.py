"""The scan task: list directories, compare each with its collection, queue the work.

A scan task takes a frontier of directories and works through it breadth first for up to a time
budget, handing directories beyond those it keeps to new scan tasks as soon as it has a whole chunk
of them (any surplus once it has run a while), so other workers join in early while each task still
covers many small directories (RQ's bookkeeping costs about as much as scanning a directory of a
hundred files). The collections of the directories at the head of the frontier are listed together,
with the two catalog queries one collection needs.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import json
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import LzIngestError
from ..handlers.loader import Handler
from ..irods import catalog as adapter
from ..jobs import JobSpec, JobStore
from ..model import Action, DeleteMode, Entry, EntryKind, Operation
from ..naming import Avu, check_name_length, is_utf8_encodable, logical_path
from ..plan import COLLECTION, CatalogState, plan
from ..sources.base import Bounds, Source
from ..sources.filters import ScanOptions, compile_patterns, parse_file_types
from . import bookkeeping as bk
from . import codec
from .context import WorkerContext, current_connection, current_context
from .lifecycle import RedisLedger, Step, run_task, task_label
from .meta import entry_meta, path_meta

NEW, EXISTS, UNKNOWN = "new", "exists", "unknown"
SCAN_BUDGET_SECONDS = 2.0  # a scan task hands what is left of its frontier on after this long
KEEP_DIRECTORIES = 16  # directories a scan task keeps for itself; the rest go to new tasks
HAND_OFF_CHUNK = 16  # directories per handed-off scan task
# A task hands off only whole chunks at first, so that fast directories do not make many small tasks.
# Once it has run this long (large directories), any surplus goes at once, so that idle workers join in.
PARTIAL_HAND_OFF_AFTER = 0.25
LIST_TOGETHER = 16  # collections listed in one batch (at most the directories a task keeps)

Frontier = list[tuple[str, Any, str]]  # (directory, ancestry, collection state)


@dataclass(frozen=True)
class SyncItem:
    """One file to sync: what the scan saw, where it goes, and what the catalog held then."""

    entry: Entry
    logical_path: str
    state: CatalogState
    avus: tuple[Avu, ...]
    timeout: float = 0.0  # the handler's timeout for this file: its batch's RQ job timeout is the longest


def batch_timeout(items: Sequence[SyncItem]) -> int:
    """RQ's job timeout for a sync batch: the longest of its files' handler timeouts, in whole seconds."""
    longest = max((item.timeout for item in items), default=0.0)
    return math.ceil(longest) if longest > 0 else bk.DEFAULT_TASK_TIMEOUT


def checksum_match(source: Source, entry: Entry, state: CatalogState) -> bool | None:
    """Whether the file's sha2 equals the one the catalog records; None when there is none to compare."""
    if not isinstance(state, adapter.CatalogObject) or entry.kind is not EntryKind.REGULAR:
        return None
    recorded = next((r.checksum for r in state.replicas if r.checksum), "")
    return source.checksum(entry.path) == recorded if recorded else None


def marker_present(directory: str, root: str, marker: str) -> bool:
    """A complete-marker in the directory or one above it, up to the root: its files may be synced."""
    from ..watcher.ignore import marker_candidates

    return any(os.path.exists(c) for c in marker_candidates(os.path.join(directory, marker), root, marker))


def scan_options(spec: JobSpec) -> ScanOptions:
    return ScanOptions(
        exclude_file_name=compile_patterns(spec.exclude_file_name, "exclude_file_name"),
        exclude_directory_name=compile_patterns(spec.exclude_directory_name, "exclude_directory_name"),
        exclude_file_type=parse_file_types(spec.exclude_file_type),
        follow_symlinks=spec.follow_symlinks,
    )


def scan_task(job_name: str, pass_id: str, payload: object) -> None:
    """RQ entry point (path queue): scan the frontier's directories, handing surplus ones on."""
    conn = current_connection()
    ctx = current_context()
    frontier, problem = codec.attempt(codec.decode_scan, payload)
    pending: deque[tuple[str, Any, str]] = deque(frontier)

    def body(step: Step) -> None:
        if problem is not None:
            raise problem
        started, directories = time.perf_counter(), len(pending)
        with cyclic_gc_paused():
            scanner = Scanner(ctx, step.spec, step.handler, pass_id, conn, stop_check=step.stopped)
            scanner.run_frontier(pending, step.tally)
        ctx.profiler(step.spec).info(
            "directories_scanned",
            job=job_name,
            frontier=directories,
            files=step.tally.counts.get("discovered", 0),
            seconds=round(time.perf_counter() - started, 6),
        )

    unfinished = lambda: [d for d, _, _ in pending] if problem is None else [task_label()]  # noqa: E731
    run_task(RedisLedger(conn), ctx.handler, job_name, pass_id, body, unfinished)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Run without the cyclic garbage collector (reference counting still frees everything as usual).

    A scan makes a few short-lived objects per file and almost no reference cycles; the collector would
    walk the live ones over and over (about a tenth of a rescan's CPU). A task lasts a few seconds at
    most, and whatever cycles it leaves are collected once it is over.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Scanner:
    """Scans one directory of one pass."""

    stop_check: Callable[[], bool] | None = None  # True once the job was stopped: scan no further

    def __init__(
        self,
        ctx: WorkerContext,
        spec: JobSpec,
        handler: Handler,
        pass_id: str,
        conn: Any,
        stop_check: Callable[[], bool] | None = None,
    ) -> None:
        self.ctx, self.spec, self.handler, self.pass_id, self.conn = ctx, spec, handler, pass_id, conn
        self.stop_check = stop_check
        self.source = ctx.source(spec)
        self.cmap = handler.character_map()
        self.session = ctx.pool(spec).session()
        self.delete_mode = DeleteMode[JobStore(conn).state(spec.name).get("delete_mode", "DO_NOT_DELETE")]
        # a directory listed in parts compares catalog names with the part's key range: names a character map
        # changed cannot be placed in it, so with deletes on such a directory is listed whole by one task
        whole = self.cmap is not None and self.delete_mode is not DeleteMode.DO_NOT_DELETE
        self.options = dataclasses.replace(scan_options(spec), whole_directories=whole)
        self.work: list[SyncItem] = []
        self.skipped = 0
        self.marker: str | None = spec.extra.get("complete_marker")  # the watcher's --complete-marker
        self.waiting = False  # this directory's files wait for the marker
        self.listed: dict[str, adapter.Listing] = {}  # listed ahead, with the head of the frontier
        root_meta = path_meta(spec, spec.source, spec.target)
        # Methods a handler does not override give the same answer for every file: ask once.
        self.fixed_operation = None if handler.defines("operation") else handler.operation(self.session, root_meta)
        self.fixed_resource = handler.to_resource(self.session, root_meta) if not handler.defines("to_resource") else ""
        self.fixed_timeout = None if handler.defines("timeout") else handler.timeout(root_meta)

    def logical(self, path: str) -> tuple[str, tuple[Avu, ...]]:
        return logical_path(self.source.root, self.spec.target, path, self.cmap)

    def child_logical(self, coll: str, plain: bool, path: str) -> tuple[str, tuple[Avu, ...]]:
        """A child's logical path; the common case (no renaming anywhere) without re-deriving it."""
        name = path.rsplit("/", 1)[-1]
        if plain and is_utf8_encodable(name):
            logical = f"{coll}/{name}"
            check_name_length(logical, "logical path")
            return logical, ()
        return self.logical(path)

    def run_frontier(self, pending: deque[tuple[str, Any, str]], tally: bk.Tally) -> None:
        started = time.monotonic()
        deadline, any_size = started + SCAN_BUDGET_SECONDS, started + PARTIAL_HAND_OFF_AFTER
        stopped = self.stop_check or (lambda: False)
        while pending and time.monotonic() < deadline:
            if stopped():  # a stop: no more directories, collections or batches from this task
                pending.clear()
                self.work.clear()
                return
            self._list_ahead(pending)
            directory, ancestry, collection = pending.popleft()
            pending.extend(self.run_one(directory, ancestry, collection, tally))
            surplus = len(pending) - KEEP_DIRECTORIES
            if surplus > 0 and time.monotonic() < any_size:
                surplus -= surplus % HAND_OFF_CHUNK  # whole chunks while directories scan fast
            if surplus > 0:
                self._hand_off([pending.pop() for _ in range(surplus)])
        self._hand_off(list(pending))
        pending.clear()
        self._flush_work(final=True)

    def _list_ahead(self, pending: deque[tuple[str, Any, str]]) -> None:
        """When the frontier's next directory has an existing collection not listed yet, list it together
        with those of the directories after it. A failure is not reported here: each lists its own then."""
        colls: list[str] = []
        for directory, _, collection in itertools.islice(pending, LIST_TOGETHER):
            coll = self._listable(directory, collection)
            if coll is not None and coll not in self.listed:
                colls.append(coll)
            elif not colls:
                return  # the next directory needs no listing now
        if len(colls) > 1:
            try:
                self.listed.update(adapter.list_collections(self.session, colls))
            except LzIngestError:
                pass

    def _listable(self, directory: str, collection: str) -> str | None:
        """The collection a directory's scan will list; None for a new one (or a name that does not map)."""
        if collection == NEW:
            return None
        try:
            return self.logical(directory)[0]
        except LzIngestError:
            return None

    def run_one(self, directory: str, ancestry: Any, collection: str, tally: bk.Tally) -> Frontier:
        """Scan one directory; a failure concerns this directory only."""
        try:
            return self.run(directory, ancestry, collection, tally)
        except LzIngestError as exc:
            tally.fail(directory, str(exc))
        except Exception as exc:
            self.ctx.log.exception("scan_failed", path=directory)
            tally.fail(directory, f"internal error: {exc!r}")
        return []

    def run(self, directory: str, ancestry: Any, collection: str, tally: bk.Tally) -> Frontier:
        listing = self.source.list(directory, self.options, ancestry)
        coll, _ = self.logical(directory)
        plain = self.cmap is None and is_utf8_encodable(directory)
        catalog = self._catalog(directory, coll, collection, tally, listing.bounds)
        # the other parts of a large directory: each its own task at once, so that the pool lists them together
        self._hand_off([(ref.path, ref.ancestry, EXISTS) for ref in listing.continuations], chunk=1)
        seen: set[str] = set()
        self.waiting = self.marker is not None and not marker_present(directory, self.source.root, self.marker)
        self.work.extend(self._files(listing, catalog, seen, tally, coll, plain))
        subdirectories = self._subdirectories(listing, catalog, seen, tally)
        for path in (*listing.excluded, *(p.path for p in listing.problems)):
            seen.add(self._base(path))
        for problem in listing.problems:
            tally.fail(problem.path, problem.reason)
        tally.add("excluded", len(listing.excluded))
        if not any(p.path == listing.path for p in listing.problems):  # unlisted: its entries are unknown
            self._deletes(coll, catalog, seen, tally, listing.bounds)
        self._flush_work(final=False)
        return subdirectories

    def _base(self, path: str) -> str:
        try:
            return self.logical(path)[0].rsplit("/", 1)[-1]
        except LzIngestError:
            return ""

    def _catalog(
        self, directory: str, coll: str, collection: str, tally: bk.Tally, bounds: Bounds | None
    ) -> adapter.Listing:
        if collection == NEW:
            self._create_collection(directory, coll, tally)
            return adapter.Listing.empty()
        listing = self.listed.pop(coll, None)
        if listing is None:
            listing = adapter.list_collection(self.session, coll)
        if not listing.exists and not (bounds is not None and bounds.after is not None and self.spec.dry_run):
            self._create_collection(directory, coll, tally)  # (a later part of a directory: its first part did)
        if bounds is None:
            tally.add("catalog_entries", len(listing.objects) + len(listing.subcollections))
        else:  # each part counts the names it answers for: the delete share is measured against the sum
            held = sum(bounds.holds(name, False) for name in listing.objects)
            tally.add("catalog_entries", held + sum(bounds.holds(name, True) for name in listing.subcollections))
        return listing

    def _create_collection(self, directory: str, coll: str, tally: bk.Tally) -> None:
        if self.spec.dry_run:
            tally.add("would_create_collection")
            return
        meta = path_meta(self.spec, directory, coll)
        session = self.ctx.pool(self.spec).session(as_user=self.handler.as_user(meta))  # owned by as_user
        operation = self.fixed_operation or self.handler.operation(session, meta)
        decision = plan(Entry(directory, EntryKind.DIRECTORY, 0, 0.0), None, operation)
        with self.handler.around("coll_create", session, meta):
            if decision.action is Action.CREATE_COLLECTION:  # NO_OP creates nothing: only the hooks fire
                adapter.create_collection(session, coll)
        tally.add("collections_created" if decision.action is Action.CREATE_COLLECTION else "hooks_only")

    def _files(
        self, listing: Any, catalog: adapter.Listing, seen: set[str], tally: bk.Tally, coll: str, plain: bool
    ) -> list[SyncItem]:
        work = []
        tally.add("discovered", len(listing.entries))
        self.skipped = 0
        for entry in listing.entries:
            try:
                logical, avus = self.child_logical(coll, plain, entry.path)
            except LzIngestError as exc:
                tally.fail(entry.path, str(exc))
                continue
            base = logical.rsplit("/", 1)[-1]
            seen.add(base)
            if self.waiting:
                tally.add("waiting_for_marker")
                continue
            state: CatalogState = catalog.objects.get(base)
            if state is None and base in catalog.subcollections:
                state = COLLECTION
            if self._needs_sync(entry, logical, state, tally):
                timeout = self._timeout(entry, logical, tally)
                if timeout is not None:
                    work.append(SyncItem(entry, logical, state, avus, timeout))
        tally.add("skipped", self.skipped)
        return work

    def _policy(self, entry: Entry, logical: str) -> tuple[Operation, str | None]:
        if self.fixed_operation is not None and self.fixed_resource != "":
            return self.fixed_operation, self.fixed_resource
        meta = entry_meta(self.spec, entry, logical)
        operation = self.fixed_operation or self.handler.operation(self.session, meta)
        resource = self.fixed_resource if self.fixed_resource != "" else self.handler.to_resource(self.session, meta)
        return operation, resource

    def _timeout(self, entry: Entry, logical: str, tally: bk.Tally) -> float | None:
        if self.fixed_timeout is not None:
            return self.fixed_timeout
        try:
            return self.handler.timeout(entry_meta(self.spec, entry, logical))
        except LzIngestError as exc:
            tally.fail(entry.path, str(exc))
            return None

    def _needs_sync(self, entry: Entry, logical: str, state: CatalogState, tally: bk.Tally) -> bool:
        try:
            operation, resource = self._policy(entry, logical)
        except LzIngestError as exc:
            tally.fail(entry.path, str(exc))
            return False
        initial = self.spec.initial_ingest
        decision = plan(entry, state, operation, to_resource=resource, initial_ingest=initial)
        if self.spec.dry_run and self.spec.checksum and decision.action is Action.SKIP:  # no sync task to compare
            match = checksum_match(self.source, entry, state)
            decision = plan(entry, state, operation, to_resource=resource, initial_ingest=initial, checksum_match=match)
        by_checksum = self.spec.checksum and state is not None and not self.spec.dry_run  # the sync task decides
        if decision.action is Action.SKIP and not by_checksum:
            self.skipped += 1  # counted per directory
            return False
        if decision.action is Action.CONFLICT:
            tally.fail(entry.path, decision.reason)
            return False
        if decision.action is Action.SKIP_SPECIAL:
            tally.add("skipped_special")
            return False
        if self.spec.dry_run:
            tally.add(f"would_{decision.action.value}")
            return False
        return True

    def _subdirectories(self, listing: Any, catalog: adapter.Listing, seen: set[str], tally: bk.Tally) -> Frontier:
        scans: Frontier = []
        for ref in listing.subdirectories:
            base = self._base(ref.path)
            if not base:
                tally.fail(ref.path, "name cannot be mapped to a logical path")
                continue
            seen.add(base)
            if base in catalog.objects:
                tally.fail(ref.path, f"a data object exists where collection for {ref.path} should go")
                continue
            state = EXISTS if base in catalog.subcollections else NEW
            scans.append((ref.path, ref.ancestry, state))
            tally.add("directories")
        return scans

    def _deletes(
        self, coll: str, catalog: adapter.Listing, seen: set[str], tally: bk.Tally, bounds: Bounds | None
    ) -> None:
        """Catalog names the listing did not see (a part of a directory: only those in its range)."""
        if self.delete_mode is DeleteMode.DO_NOT_DELETE:
            return
        for name in sorted(set(catalog.objects) - seen):
            if bounds is None or bounds.holds(name, False):
                tally.deletes.append(json.dumps({"path": f"{coll}/{name}", "kind": "object"}))
        for name in sorted(catalog.subcollections - seen):
            if bounds is None or bounds.holds(name, True):
                tally.deletes.append(json.dumps({"path": f"{coll}/{name}", "kind": "collection"}))

    def _hand_off(self, directories: Iterable[tuple[str, Any, str]], chunk: int = HAND_OFF_CHUNK) -> None:
        """Give directories to new scan tasks (other workers) in chunks."""
        todo = list(directories)
        chunks = [
            (self.spec.name, self.pass_id, codec.encode_scan(todo[i : i + chunk])) for i in range(0, len(todo), chunk)
        ]
        if not chunks:
            return
        bk.enqueue(self.conn, self.pass_id, self.spec.path_queue, scan_task, chunks)

    def _flush_work(self, final: bool) -> None:
        """Queue full batches of files to sync as soon as they fill; the remainder when the task ends."""
        from .sync import sync_task

        size = max(1, self.spec.files_per_task)
        cut = len(self.work) if final else len(self.work) - len(self.work) % size
        if cut <= 0:
            return
        ready, self.work = self.work[:cut], self.work[cut:]
        chunks = [ready[i : i + size] for i in range(0, len(ready), size)]
        batches = [(self.spec.name, self.pass_id, codec.encode_sync(chunk)) for chunk in chunks]
        timeouts = [batch_timeout(chunk) for chunk in chunks]
        bk.enqueue(self.conn, self.pass_id, self.spec.file_queue, sync_task, batches, timeouts=timeouts)
