"""The sync task: for each file of a batch, recheck it, decide, act through the catalog adapter, fire hooks.

One failing file never fails the batch: it is retried per the handler's max_retries / delay and then
recorded with its reason. A file that vanished since the scan is counted as vanished, not failed.
"""

from __future__ import annotations

import datetime
import socket
import time
from collections.abc import Callable
from typing import Any

from .. import naming
from ..errors import LzIngestError, SourceError
from ..handlers.loader import Handler
from ..irods import catalog as adapter
from ..jobs import JobSpec
from ..model import Action, Entry, EntryKind, Operation
from ..plan import Decision, plan
from ..sources.base import Source, printable
from ..watcher.landing import Landing, apply_after_sync
from . import bookkeeping as bk
from . import codec
from .context import WorkerContext, current_connection, current_context
from .lifecycle import RedisLedger, Step, run_task, task_label
from .meta import entry_meta
from .scan import SyncItem, checksum_match

SETTLE_WAIT_LIMIT = 30.0  # seconds a batch waits at most for one file still being written

_EVENT_COUNT = {
    Action.REGISTER: "registered",
    Action.UPDATE: "updated",
    Action.REGISTER_REPLICA: "replicated",
    Action.UPLOAD: "uploaded",
    Action.OVERWRITE: "overwritten",
    Action.APPEND: "appended",
    Action.HOOKS_ONLY: "hooks_only",
}


_APPEND_COUNT = {
    adapter.AppendOutcome.APPENDED: "appended",
    adapter.AppendOutcome.UPLOADED: "overwritten",
    adapter.AppendOutcome.UNCHANGED: "skipped",
}


def sync_task(job_name: str, pass_id: str, payload: object) -> None:
    """RQ entry point (file queue)."""
    conn = current_connection()
    ctx = current_context()
    finished: set[int] = set()  # id() of the items done (counted or failed): what an escaping error spares
    items, problem = codec.attempt(codec.decode_sync, payload)

    def body(step: Step) -> None:
        if problem is not None:
            raise problem
        syncer = Syncer(ctx, step.spec, step.handler, redone=bk.is_redone(), stop_check=step.stopped)
        syncer.finished = finished
        started = time.perf_counter()
        syncer.sync_all(items, step.tally)
        ctx.profiler(step.spec).info(
            "batch_synced",
            job=job_name,
            files=len(items),
            seconds=round(time.perf_counter() - started, 6),
            counts=dict(step.tally.counts),
        )

    def unfinished() -> list[str]:
        if problem is not None:
            return [task_label()]
        return [item.entry.path for item in items if id(item) not in finished]

    run_task(RedisLedger(conn), ctx.handler, job_name, pass_id, body, unfinished)


_IN_PLACE = frozenset({Action.REGISTER, Action.REGISTER_REPLICA, Action.UPDATE})  # record the file, never read it
_PUTS = frozenset({Operation.PUT, Operation.PUT_SYNC, Operation.PUT_APPEND})


def _as_uploaded(source: Source, entry: Entry, operation: Operation) -> Entry:
    """What an upload compares with the catalog: for a symlink not followed, its target's size and mtime
    (PUT sends the target's bytes); a register records the entry as the scan saw it."""
    if entry.kind is not EntryKind.LINK or operation not in _PUTS:
        return entry
    return source.as_uploaded(entry)


def log_failure(ctx: WorkerContext, path: str, phase: str, exc: BaseException, attempts: int = 1) -> None:
    """One `file_failed` event per failed file, with the traceback (a hook's own frames included), for the
    handler's author; `lz-ingest failures` keeps the one-line reason."""
    ctx.log.error("file_failed", path=printable(path), phase=phase, reason=str(exc), attempts=attempts, exc_info=exc)


class Syncer:
    """Syncs files of one job in one worker process."""

    def __init__(
        self,
        ctx: WorkerContext,
        spec: JobSpec,
        handler: Handler,
        redone: bool = False,
        stop_check: Callable[[], bool] | None = None,
    ) -> None:
        self.ctx, self.spec, self.handler = ctx, spec, handler
        self.stop_check = stop_check or (lambda: False)  # True once the job was stopped: no further file
        self.finished: set[int] = set()  # id() of each item counted or failed
        self.source = ctx.source(spec)
        self.redone = redone  # this batch's worker died: some of its work may be in the catalog already
        self._listings: dict[str, adapter.Listing] = {}
        self.landing = Landing.from_extra(spec.extra, self.source.root, spec.name)  # --on-success / --on-failure

    def sync_all(self, items: list[SyncItem], tally: bk.Tally) -> None:
        """The batch's files, `spec.threads` at a time: each file's hooks still run in order around its
        action, but the catalog round trips of different files overlap (latency, not CPU, bounds a worker)."""
        threads = max(1, min(self.spec.threads, len(items)))
        if threads == 1:
            for item in items:
                self.sync_with_retries(item, tally)
            return
        pool = self.ctx.executor(threads)
        for future in [pool.submit(self.sync_with_retries, item, tally) for item in items]:
            future.result()

    def sync_with_retries(self, item: SyncItem, tally: bk.Tally) -> None:
        if self.stop_check():  # checked between files: a stop lets the files in progress finish, no more
            return
        meta = entry_meta(self.spec, item.entry, item.logical_path)
        attempts = 0
        while True:
            attempts += 1
            try:
                outcome = self.sync_one(item, meta)
            except LzIngestError as exc:
                retries = self.handler.max_retries(meta)
                if attempts > retries:
                    tally.fail(item.entry.path, str(exc), attempts)
                    self.finished.add(id(item))
                    log_failure(self.ctx, item.entry.path, "sync", exc, attempts)
                    apply_after_sync(self.landing, None, item.entry.path, item.logical_path, None, str(exc))
                    return
                tally.add("retried")
                time.sleep(self.handler.delay(meta, attempts))
                continue
            tally.add(outcome)
            self.finished.add(id(item))
            if self.landing is not None:
                session = self.ctx.pool(self.spec).session()
                apply_after_sync(self.landing, session, item.entry.path, item.logical_path, outcome, None)
            return

    def sync_one(self, item: SyncItem, meta: dict[str, Any]) -> str:
        entry = self._settled(item.entry)
        if entry is None:
            return "vanished"
        meta = {**meta, "mtime": entry.mtime, "ctime": entry.ctime, "size": entry.size}
        user = self.handler.as_user(meta)
        session = self.ctx.pool(self.spec).session(as_user=user)
        operation = self.handler.operation(session, meta)
        resource = self.handler.to_resource(session, meta)
        physical = self.handler.target_path(session, meta) or None  # None: the source's own, when registering
        entry = _as_uploaded(self.source, entry, operation)
        checksum_match = self._checksum_match(entry, item) if self.spec.checksum else None
        decision = plan(
            entry,
            item.state,
            operation,
            to_resource=resource,
            initial_ingest=self.spec.initial_ingest,
            checksum_match=checksum_match,
        )
        if self.redone and item.state is None and decision.action in (Action.REGISTER, Action.UPLOAD):
            redo = self._redo(session, entry, item, decision, resource)
            if redo is not decision:
                if redo is not None:
                    self._act(session, redo, entry, item, meta, resource, physical)
                return _EVENT_COUNT[decision.action]  # counted once, as this pass decided it
        if decision.action is Action.SKIP and checksum_match is None and self.spec.checksum:
            recorded = self._record_checksum(session, entry, item, decision, operation)
            if recorded is not None:
                return recorded
            decision = plan(entry, item.state, operation, to_resource=resource, checksum_match=False)
        if decision.action is Action.SKIP:
            return "skipped"
        if decision.action is Action.SKIP_SPECIAL:
            return "skipped_special"
        if decision.action is Action.CONFLICT:
            raise SourceError(decision.reason)
        if decision.action in _IN_PLACE and entry.kind is EntryKind.REGULAR:
            problem = self.source.check_readable(entry)  # a file the worker cannot read is not registered (issue 296)
            if problem is not None:
                raise SourceError(f"{printable(problem.path)}: {problem.reason}")
        counted = self._act(session, decision, entry, item, meta, resource, physical)
        return counted or _EVENT_COUNT.get(decision.action, decision.action.value)

    def _redo(
        self, session: Any, entry: Entry, item: SyncItem, decision: Decision, resource: str | None
    ) -> Decision | None:
        """In a redone batch, what the dead worker created: `decision` itself when nothing, None when it is
        complete, else what completes it (a half-written upload is sent again whole)."""
        parent, name = item.logical_path.rsplit("/", 1)
        if parent not in self._listings:
            self._listings[parent] = adapter.list_collection(session, parent)
        current = self._listings[parent].objects.get(name)
        if current is None:
            return decision
        operation = Operation.PUT_SYNC if decision.action is Action.UPLOAD else Operation.REGISTER_SYNC
        again = plan(entry, current, operation, to_resource=resource)
        if again.action is Action.SKIP:
            return None
        return again._replace(event=decision.event)

    def _record_checksum(
        self, session: Any, entry: Entry, item: SyncItem, decision: Decision, operation: Operation
    ) -> str | None:
        """A --checksum pass over an object the catalog holds no checksum for: the server computes and records
        one, so that later --checksum passes catch a rewrite that keeps size and mtime. A registered replica is
        the source file itself; an uploaded one is verified against the source's sha2. Returns the count to
        add, or None when the uploaded bytes differ from the source (the caller plans it as changed)."""
        replica = decision.replica
        if replica is None or replica.checksum or entry.kind is not EntryKind.REGULAR or operation is Operation.NO_OP:
            return "skipped"
        recorded = adapter.compute_checksum(session, item.logical_path, replica.number)
        if operation in _PUTS and self.source.checksum(entry.path) != recorded:
            return None
        return "checksum_recorded"

    def _settled(self, scanned: Entry) -> Entry | None:
        """Stat again; a file changed within settle_seconds is waited for until it stops changing."""
        deadline = time.time() + SETTLE_WAIT_LIMIT
        entry = self.source.restat(scanned, self.spec.follow_symlinks)
        while True:
            if entry is None or self.source.is_settled(entry, time.time(), self.spec.settle_seconds):
                return entry
            if time.time() > deadline:
                raise SourceError(f"{scanned.path}: still being written after {SETTLE_WAIT_LIMIT:.0f} s")
            time.sleep(min(self.spec.settle_seconds, 1.0))
            entry = self.source.stat(scanned.path, self.spec.follow_symlinks)

    def _checksum_match(self, entry: Entry, item: SyncItem) -> bool | None:
        return checksum_match(self.source, entry, item.state)

    def _act(
        self,
        session: Any,
        decision: Decision,
        entry: Entry,
        item: SyncItem,
        meta: dict[str, Any],
        resource: str | None,
        physical: str | None,
    ) -> str | None:
        event = decision.event
        if event is None:
            return self._do(session, decision, entry, item, resource, physical)
        with self.handler.around(event, session, meta):
            return self._do(session, decision, entry, item, resource, physical)

    def _do(
        self, session: Any, decision: Decision, entry: Entry, item: SyncItem, resource: str | None, physical: str | None
    ) -> str | None:
        """Act; returns the counter to use when it differs from the action's (an append sent whole)."""
        action, path, checksum = decision.action, item.logical_path, self.spec.checksum
        mtime = int(entry.mtime)
        if action is Action.REGISTER:
            physical = physical or self.source.physical_path(entry.path)
            adapter.register(
                session, physical, path, size=entry.size, mtime=mtime, resource=resource, checksum=checksum
            )
            self._annotate(session, entry, item)
            return None
        elif action is Action.REGISTER_REPLICA:
            physical = physical or self.source.physical_path(entry.path)
            adapter.register_replica(
                session, physical, path, size=entry.size, mtime=mtime, resource=resource, checksum=checksum
            )
        elif action is Action.UPDATE:
            assert decision.replica is not None
            adapter.update_registered(
                session, path, replica=decision.replica, size=entry.size, mtime=mtime, checksum=checksum
            )
        elif action in (Action.UPLOAD, Action.OVERWRITE):
            with self.source.open(entry.path) as stream:
                adapter.upload(
                    session,
                    stream,
                    path,
                    resource=resource,
                    mtime=mtime,
                    checksum=checksum,
                    size=entry.size,
                    replica=decision.replica if action is Action.OVERWRITE else None,
                )
            if action is Action.UPLOAD:
                self._annotate(session, entry, item)
                return None
        elif action is Action.APPEND:
            assert decision.replica is not None
            with self.source.open(entry.path) as stream:
                outcome = adapter.append(
                    session, stream, path, replica=decision.replica, mtime=mtime, checksum=checksum
                )
            if outcome is not adapter.AppendOutcome.UNCHANGED:
                adapter.set_avus(session, path, self._provenance())
            return _APPEND_COUNT[outcome]  # a rewritten or truncated source was uploaded whole
        if action is not Action.HOOKS_ONLY:
            adapter.set_avus(session, path, self._provenance())  # an existing object: its earlier values replaced
        return None

    def _provenance(self) -> list[tuple[str, str, str]]:
        """--provenance: the job, the ingest time, this worker's host, and whether the server checked a checksum."""
        if not self.spec.provenance:
            return []
        when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        avus = [
            (naming.PROVENANCE_JOB, self.spec.name, ""),
            (naming.PROVENANCE_TIME, when, ""),
            (naming.PROVENANCE_HOST, socket.gethostname(), ""),
        ]
        if self.spec.checksum:
            avus.append((naming.PROVENANCE_CHECKSUM, "true", ""))
        return avus

    def _annotate(self, session: Any, entry: Entry, item: SyncItem) -> None:
        """The old framework's AVUs: renamed paths, link targets, sockets."""
        avus = [(a.attribute, a.value, a.unit) for a in item.avus] + self._provenance()
        if entry.kind is EntryKind.LINK and entry.link_target:
            avus.append(("link_target", entry.link_target, "automated_ingest"))
        if entry.kind is EntryKind.SOCKET:
            avus.append(("socket_target", "socket", "automated_ingest"))
        if avus:
            adapter.add_avus(session, item.logical_path, avus)
