"""Passes: start one (pre_job, the root scan), move it on when its tasks are done, delete, finish (post_job)."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from ..errors import HandlerError, LzIngestError, SourceError
from ..handlers.loader import Handler
from ..irods import catalog as adapter
from ..irods.counting import count_objects
from ..jobs import JobSpec, JobStore, key
from ..model import DeleteMode
from ..plan import check_compatible
from ..sources.registry import source_for
from . import bookkeeping as bk
from . import codec
from .context import current_connection, current_context
from .lifecycle import RedisLedger, Step, run_final_step, run_task, task_label
from .meta import path_meta
from .sync import log_failure

DELETE_BATCH = 100


def _root_meta(spec: JobSpec) -> dict[str, Any]:
    return path_meta(spec, spec.source, spec.target)


def start_pass(conn: redis.Redis[bytes], spec: JobSpec, handler: Handler) -> str | None:
    """Begin a pass unless one of this job is live; run pre_job; queue the root scan. Returns the pass id."""
    store = JobStore(conn)
    if not conn.set(key("starting", spec.name), "1", nx=True, ex=30):
        return None
    try:
        if store.is_running(spec.name):
            return None
        pass_id = store.begin_pass(spec.name)
    finally:
        conn.delete(key("starting", spec.name))
    try:
        _first_step(conn, store, spec, pass_id, handler)
    except Exception as exc:  # pre_job or the root's check failed: the pass ends now, with the reason
        if not isinstance(exc, LzIngestError):
            current_context().log.exception("pass_start_failed", job=spec.name)
        _finish(conn, spec, pass_id, None, error=f"pass not started: {exc}")
    return pass_id


def _first_step(conn: redis.Redis[bytes], store: JobStore, spec: JobSpec, pass_id: str, handler: Handler) -> None:
    meta = _root_meta(spec)
    delete_mode = handler.delete_mode(meta)
    store.set_state(spec.name, delete_mode=delete_mode.name)
    source = source_for(spec.source)
    if source.root_problem() is not None:
        _finish(conn, spec, pass_id, handler, error=f"source root {spec.source} is missing or not a directory")
        return
    handler.pre_job(meta)
    from .scan import UNKNOWN, scan_task

    root = codec.encode_scan([(source.root, None, UNKNOWN)])
    bk.enqueue(conn, pass_id, spec.path_queue, scan_task, [(spec.name, pass_id, root)])


def start_pass_task(job_name: str) -> str | None:
    """RQ entry point (restart queue): what rq-scheduler runs for every periodic pass."""
    conn = current_connection()
    store = JobStore(conn)
    if store.state(job_name).get("status") == "stopped":
        return None
    if _due_while_running(conn, store, job_name):
        return None
    spec = store.spec(job_name)
    try:
        handler = current_context().handler(spec)
    except HandlerError as exc:  # e.g. edited since the job started: every pass would be refused; say so
        store.block(job_name, f"{exc}; take up the new handler with `lz-ingest start` again (same --job_name)")
        return None
    return start_pass(conn, spec, handler)


def _due_while_running(conn: redis.Redis[bytes], store: JobStore, job_name: str) -> bool:
    """A period came while the job's pass still runs: mark the next pass due, so that the pass's end starts
    it at once (delayed, never overlapping, never dropped until a later period finds the job idle)."""
    if not store.is_running(job_name):
        return False
    conn.set(key("due", job_name), "1")
    if store.is_running(job_name):
        return True
    conn.delete(key("due", job_name))  # it ended meanwhile, perhaps before it could see the mark
    return False


def _start_due_pass(conn: redis.Redis[bytes], spec: JobSpec) -> None:
    if spec.interval and conn.delete(key("due", spec.name)):
        from rq import Queue

        Queue(spec.restart_queue, connection=conn).enqueue(
            start_pass_task, spec.name, result_ttl=bk.TASK_RESULT_TTL, failure_ttl=bk.TASK_FAILURE_TTL
        )


def task_done(conn: redis.Redis[bytes], job_name: str, pass_id: str, tally: bk.Tally, task: str | None = None) -> None:
    """Flush a task's tally; the task that brings pending to zero moves the pass on.

    A task of a pass that is no longer the job's current one (a killed job started again, its old
    tasks redone) records nothing: its pass's keys are gone and must not come back."""

    def flush_task() -> int | None:
        if JobStore(conn).state(job_name).get("pass_id") != pass_id:
            return None
        return bk.flush(conn, job_name, pass_id, tally, task)

    def move_on() -> None:
        run_final_step(
            lambda: advance(conn, job_name, pass_id),
            "ending the pass",
            lambda reason: _end_failed(conn, job_name, pass_id, reason),
        )

    if bk.with_redis_retries(flush_task, f"finish a task of {job_name}") == 0:  # flushed once, whatever follows
        bk.with_redis_retries(move_on, f"end the pass of {job_name}")


def advance(conn: redis.Redis[bytes], job_name: str, pass_id: str) -> None:
    """The pass's tasks are done: start its delete phase, or end it. A stopped job's pass never enters
    its delete phase; its post_job still runs (it pairs with the pre_job that ran)."""
    store = JobStore(conn)
    state = store.state(job_name)
    if state.get("pass_id") != pass_id:
        return
    spec = store.spec(job_name)
    try:
        handler = current_context().handler(spec)
    except LzIngestError as exc:  # e.g. its file changed since the job started: the pass must still end
        bk.flush_failure(conn, pass_id, "post_job", f"not run: {exc}")
        _finish(conn, spec, pass_id, None)
        return
    stopped = state.get("status") == "stopped"
    if state.get("phase") == "sync" and not stopped:
        started = False

        def deletes() -> None:
            nonlocal started
            started = _start_deletes(conn, store, spec, pass_id, handler)

        run_final_step(deletes, "delete phase", lambda reason: bk.flush_failure(conn, pass_id, spec.source, reason))
        if started:
            return
    _finish(conn, spec, pass_id, handler)


def _end_failed(conn: redis.Redis[bytes], job_name: str, pass_id: str, reason: str) -> None:
    """Moving the pass on failed outside what is captured per step: record it and end the pass anyway."""
    store = JobStore(conn)
    state = store.state(job_name)
    if state.get("pass_id") != pass_id or state.get("phase") == "done":
        return
    bk.flush_failure(conn, pass_id, "pass", reason)
    status = "stopped" if state.get("status") == "stopped" else "done"
    store.set_state(job_name, status=status, phase="done", finished=time.time())
    conn.delete(key("alive", job_name))


def _start_deletes(conn: redis.Redis[bytes], store: JobStore, spec: JobSpec, pass_id: str, handler: Handler) -> bool:
    """Queue the deletes collected during the scan, unless that looks like an unmounted source."""
    deletes_key = key("deletes", pass_id)
    total = int(conn.llen(deletes_key))
    if total == 0:
        return False
    counts = store.counts(pass_id)
    if spec.dry_run:
        store.r.hincrby(key("counts", pass_id), "would_delete", total)
        return False
    items = [json.loads(raw) for raw in conn.lrange(deletes_key, 0, -1)]
    refusal = _delete_refusal(spec, total, counts.get("catalog_entries", 0)) or _object_share_refusal(spec, items)
    if refusal:
        bk.flush_failure(conn, pass_id, spec.source, refusal)
        return False
    if store.state(spec.name).get("status") == "stopped":  # stopped while the share was counted
        return False
    store.set_state(spec.name, phase="delete")
    batches = [
        (spec.name, pass_id, codec.encode_delete(items[i : i + DELETE_BATCH]))
        for i in range(0, len(items), DELETE_BATCH)
    ]
    bk.enqueue(conn, pass_id, spec.file_queue, delete_task, batches)
    return True


def _delete_refusal(spec: JobSpec, total: int, catalog_entries: int) -> str | None:
    try:
        has_entries = current_context().source(spec).root_has_entries()
    except SourceError as exc:
        return f"refusing to delete: source root unreadable ({exc})"
    if not has_entries:
        return f"refusing to delete {total} catalog entries: source root {spec.source} is empty (unmounted?)"
    if catalog_entries and total > spec.max_delete * catalog_entries:
        share = 100.0 * total / catalog_entries
        return (
            f"refusing to delete {total} of {catalog_entries} catalog entries ({share:.0f}% > "
            f"--max-delete {spec.max_delete * 100:.0f}%)"
        )
    return None


def _object_share_refusal(spec: JobSpec, items: list[dict[str, str]]) -> str | None:
    """A vanished directory counts as everything under it: the share is measured in data objects."""
    collections = [item["path"] for item in items if item["kind"] == "collection"]
    if not collections:
        return None
    session = current_context().pool(spec).session()
    doomed = sum(1 for item in items if item["kind"] == "object")
    doomed += sum(count_objects(session, path) for path in collections)
    total = count_objects(session, spec.target)
    if total and doomed > spec.max_delete * total:
        return (
            f"refusing to delete {doomed} of {total} data objects under {spec.target} "
            f"({100.0 * doomed / total:.0f}% > --max-delete {spec.max_delete * 100:.0f}%)"
        )
    return None


def delete_task(job_name: str, pass_id: str, payload: object) -> None:
    """RQ entry point (file queue): apply the delete mode to catalog entries whose source is gone."""
    conn = current_connection()
    ctx = current_context()
    left, problem = codec.attempt(codec.decode_delete, payload)

    def body(step: Step) -> None:
        if problem is not None:
            raise problem
        session = ctx.pool(step.spec).session()
        while left and not step.stopped():  # a stop lets the entry being deleted finish, no more
            _delete_one(step.spec, step.handler, session, left[0], step.tally)
            left.pop(0)

    unfinished = lambda: [item["path"] for item in left] if problem is None else [task_label()]  # noqa: E731
    run_task(RedisLedger(conn), ctx.handler, job_name, pass_id, body, unfinished, failing="delete not attempted")


def _delete_one(spec: JobSpec, handler: Handler, session: Any, item: dict[str, str], tally: bk.Tally) -> None:
    path, kind = item["path"], item["kind"]
    meta = path_meta(spec, "", path)
    try:
        mode = handler.delete_mode(meta)
        if mode is DeleteMode.DO_NOT_DELETE:
            return
        check_compatible(handler.operation(session, meta), mode)  # per path too: an unregistered PUT orphans
        event = "data_obj_delete" if kind == "object" else "coll_delete"
        with handler.around(event, session, meta):
            if kind == "object":
                adapter.delete_object(session, path, mode)
            else:
                adapter.delete_collection(session, path, mode)
        tally.add(f"deleted_{mode.name.lower()}")
    except LzIngestError as exc:
        tally.fail(path, str(exc))
        log_failure(current_context(), path, "delete", exc)


def _finish(
    conn: redis.Redis[bytes], spec: JobSpec, pass_id: str, handler: Handler | None, error: str | None = None
) -> None:
    """The pass is over: post_job exactly once, then the job is done (or waits for its next period)."""
    store = JobStore(conn)
    if error:
        bk.flush_failure(conn, pass_id, spec.source, error)
    elif handler is not None:
        try:
            handler.post_job(_root_meta(spec))
        except LzIngestError as exc:
            bk.flush_failure(conn, pass_id, "post_job", str(exc))
    status = "stopped" if store.state(spec.name).get("status") == "stopped" else "done"
    store.set_state(spec.name, status=status, phase="done", finished=time.time())
    conn.delete(key("alive", spec.name))
    if status == "done":
        _start_due_pass(conn, spec)
