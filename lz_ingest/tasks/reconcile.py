"""Reconcile what each pass enqueued with what RQ holds, so that no task is lost for good.

Every task of a pass has a deterministic RQ id and an entry in `lz:tasks:<pass>` from its enqueue until
its result is recorded (bookkeeping.flush removes it in the same script that counts it). A task whose
entry is there but which is in no queue, no intermediate queue and no started registry was taken by a
worker that died before starting it: RQ 3's workers listening on several queues dequeue with BLPOP and
keep no intermediate queue, so nothing else would ever see it. Each mechanism redoes its own kind of
loss, once per loss:

- started, its worker dead: `worker.requeue_abandoned`;
- failed as "Work-horse terminated unexpectedly" (or stuck in RQ's intermediate queue): `recovery`;
- nowhere, for longer than RECONCILE_GRACE_SECONDS on two looks: here, requeued marked as redone;
- failed for any other reason (an argument that cannot be decoded, a task function that raised past
  the lifecycle): here, recorded as a failure of its pass, which then ends;
- gone from RQ altogether (its record expired or was deleted), past the grace: the same;
- untracked (queued by the previous release) and failed by RQ, its pickle unreadable: `fail_unreadable`.

The grace keeps a task that a live worker is moving between two of these places (a few milliseconds)
from being redone as well; every claim is one Redis removal, so of several upkeeps exactly one acts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
import structlog
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from .. import rq_compat
from ..errors import LzIngestError
from ..jobs import JobStore, key
from . import bookkeeping as bk
from .codec import legacy_identity

RECONCILE_GRACE_SECONDS = 30.0
log = structlog.get_logger("lz_ingest.reconcile")


def reconcile_tasks(
    conn: redis.Redis[bytes], grace: float = RECONCILE_GRACE_SECONDS, clock: Callable[[], float] = time.time
) -> int:
    """Reconcile the tasks of every pass that has not ended; returns how many were redone or failed."""
    store = JobStore(conn)
    acted = 0
    for name in store.names():
        state = store.state(name)
        if state.get("pass_id") and state.get("phase") != "done":
            acted += reconcile_pass(conn, name, state["pass_id"], grace, clock())
            acted += fail_unreadable(conn, name, state["pass_id"])
    return acted


def fail_unreadable(conn: redis.Redis[bytes], job_name: str, pass_id: str) -> int:
    """Untracked tasks of this pass (queued by the previous release) that RQ failed, typically because
    their pickled arguments no longer load: each is claimed off RQ's failed registry and failed for its
    pass, found by its RQ meta or description since its arguments cannot be read."""
    try:
        spec = JobStore(conn).spec(job_name)
    except LzIngestError:
        return 0
    acted = 0
    for queue in dict.fromkeys((spec.path_queue, spec.file_queue)):
        registry = FailedJobRegistry(queue, connection=conn)
        untracked = [i for i in registry.get_job_ids() if not i.startswith(bk.TASK_ID_PREFIX)]
        for job in rq_compat.fetch_jobs(conn, untracked):
            if job is None or _identity(job) != (job_name, pass_id) or _killed(job):
                continue
            if registry.remove(job):  # claimed: of several upkeeps, one acts
                acted += _fail(conn, job_name, pass_id, "", _failed_reason(job), label=f"task {job.id}")
    return acted


def _identity(job: Job) -> tuple[str, str] | None:
    pass_id = job.meta.get(bk.PASS_META)
    if pass_id:
        return str(pass_id).rsplit(":", 1)[0], str(pass_id)
    return legacy_identity(job.description)


def _killed(job: Job) -> bool:
    from ..recovery import was_killed

    return was_killed(job)


def reconcile_pass(conn: redis.Redis[bytes], job_name: str, pass_id: str, grace: float, now: float) -> int:
    tracked = {_text(k): _text(v) for k, v in conn.hgetall(key("tasks", pass_id)).items()}
    suspects_key = key("suspect", pass_id)
    if not tracked:
        conn.delete(suspects_key)
        return 0
    waiting = rq_compat.waiting_ids(conn, set(tracked.values()))
    unplaced = [task for task in tracked if task not in waiting]
    suspects = {_text(k): float(v) for k, v in conn.hgetall(suspects_key).items()}
    cleared = [task for task in suspects if task not in unplaced]
    if cleared:
        conn.hdel(suspects_key, *cleared)
    acted = 0
    for task, job in zip(unplaced, rq_compat.fetch_jobs(conn, unplaced), strict=True):
        if job is not None and job.get_status(refresh=False) == JobStatus.FAILED:
            acted += _failed(conn, job_name, pass_id, task, job)
            continue
        if job is not None and job.get_status(refresh=False) in (JobStatus.SCHEDULED, JobStatus.DEFERRED):
            continue  # waiting in RQ's own registries for their time
        first_seen = suspects.get(task)
        if first_seen is None:
            conn.hsetnx(suspects_key, task, repr(now))
        elif now - first_seen >= grace and conn.hdel(suspects_key, task):  # claimed
            acted += _lost(conn, job_name, pass_id, task, job)
    return acted


def _failed(conn: redis.Redis[bytes], job_name: str, pass_id: str, task: str, job: Job) -> int:
    from ..recovery import was_killed

    if was_killed(job):
        return 0  # recovery.py redoes it
    return _fail(conn, job_name, pass_id, task, _failed_reason(job))


def _failed_reason(job: Job) -> str:
    result = job.latest_result()
    text = (result.exc_string if result is not None else "") or "no reason recorded"
    return f"task failed in RQ: {text.strip().splitlines()[-1]}"


def _lost(conn: redis.Redis[bytes], job_name: str, pass_id: str, task: str, job: Job | None) -> int:
    if job is None or job.get_status(refresh=True) in (JobStatus.FINISHED, None):
        return _fail(conn, job_name, pass_id, task, "task lost: RQ no longer holds it")
    if task in rq_compat.waiting_ids(conn, [job.origin]):
        return 0  # placed again meanwhile
    job.meta[bk.REDONE_META] = int(job.meta.get(bk.REDONE_META, 0)) + 1
    job.save_meta()
    job.started_at = None
    job.ended_at = None
    Queue(job.origin, connection=conn).enqueue_job(job)
    log.warning("task_requeued", task=task, job=job_name, reason="taken from its queue but never started")
    return 1


def _fail(conn: redis.Redis[bytes], job_name: str, pass_id: str, task: str, reason: str, label: str = "") -> int:
    """Record the task as failed for its pass (once: the flush script claims a tracked task's entry)."""
    from .passes import task_done

    tally = bk.Tally()
    tally.fail(label or f"task {task}", reason)
    task_done(conn, job_name, pass_id, tally, task)
    log.error("task_failed_for_its_pass", task=task, job=job_name, reason=reason)
    return 1


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
