"""Redoing the tasks whose work horse was killed under a plain forking `rq worker`.

Such a worker outlives its work horse (an OOM kill, a SIGKILL) and moves the task to RQ's
FailedJobRegistry as "Work-horse terminated unexpectedly"; nothing in RQ runs it again. The upkeep
(`lz-ingest scheduler`, or the supervisor of `lz-ingest worker`) puts each such lz-ingest task back on
its queue, marked as redone so that it completes what the dead process began (tasks are idempotent),
up to MAX_REDOS times; a task killed that often is recorded as failed for its pass, which then ends.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis
import structlog
from rq import Queue
from rq.exceptions import DeserializationError, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.results import Result

from .tasks import bookkeeping as bk

KILLED = "Work-horse terminated unexpectedly"  # RQ's words for a work horse that died mid-task
STUCK = "Job was stuck in intermediate queue."  # RQ's words for a task taken by a worker that died at once
MAX_REDOS = 3
TASK_MODULE = "lz_ingest.tasks."
log = structlog.get_logger("lz_ingest.recovery")


def redo_killed_tasks(conn: redis.Redis[bytes], queues: Sequence[str]) -> int:
    """Requeue (or, past MAX_REDOS, fail for good) the lz-ingest tasks whose work horse was killed."""
    redone = 0
    for name in queues:
        registry = FailedJobRegistry(name, connection=conn)
        for job_id in registry.get_job_ids():
            try:
                job = Job.fetch(job_id, connection=conn)
            except NoSuchJobError:
                continue
            if was_killed(job) and registry.remove(job):  # claimed: of several upkeeps, one acts
                redone += _redo(conn, job, name)
    return redone


def was_killed(job: Job) -> bool:
    """An lz-ingest task that failed because the process running it (or about to) died, not by itself."""
    try:
        func_name = job.func_name or ""
    except DeserializationError:  # arguments queued by another release that do not load: it never ran
        return False
    if not func_name.startswith(TASK_MODULE):
        return False
    result = job.latest_result()
    text = (result.exc_string or "") if result is not None else ""
    return result is not None and result.type == Result.Type.FAILED and text.startswith((KILLED, STUCK))


def _redo(conn: redis.Redis[bytes], job: Job, queue: str) -> int:
    times = int(job.meta.get(bk.REDONE_META, 0))
    if times >= MAX_REDOS:
        _give_up(conn, job, times)
        return 0
    job.meta[bk.REDONE_META] = times + 1
    job.save_meta()
    _enqueue_again(conn, job)
    log.warning("task_redone", task=job.id, queue=queue, reason="work horse killed", redo=times + 1)
    return 1


def _enqueue_again(conn: redis.Redis[bytes], job: Job) -> None:
    job.started_at = None
    job.ended_at = None
    Queue(job.origin, connection=conn).enqueue_job(job)


def _give_up(conn: redis.Redis[bytes], job: Job, times: int) -> None:
    """The task kills its work horse every time: record it as a failure of its pass, which can then end."""
    from .tasks.passes import task_done

    job_name, pass_id = str(job.args[0]), str(job.meta.get(bk.PASS_META) or job.args[1])
    tally = bk.Tally()
    tally.fail(f"task {job.id}", f"its worker process was killed {times + 1} times running it (out of memory?)")
    task_done(conn, job_name, pass_id, tally, bk.tracked_id(job.id))
    log.error("task_abandoned", task=job.id, job=job_name, kills=times + 1)
