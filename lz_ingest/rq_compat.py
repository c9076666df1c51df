"""What lz-ingest needs from RQ beyond enqueueing and running, through RQ's own objects only.

No Redis key of RQ's is spelled here: names come from RQ's classes (`Worker`, `Execution`, `Queue`,
the registries), so a configured key prefix (RQ_KEY_PREFIX) and the RQ versions pyproject allows
(2.x, 3.x) all work. tests/integration/test_rq_compat.py runs on both ends of that range.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.job import Job
from rq.registry import StartedJobRegistry


def worker_registered(conn: redis.Redis[bytes], worker_name: str) -> bool:
    """Whether RQ still holds a registration for this worker (it expires with the worker's TTL)."""
    return bool(conn.exists(Worker.redis_worker_namespace_prefix + worker_name))


def execution_worker(conn: redis.Redis[bytes], job_id: str, execution_id: str) -> str | None:
    """The name of the worker running this execution of a job, when RQ still knows it."""
    if not execution_id:
        return None
    try:
        execution = Execution.fetch(execution_id, job_id, connection=conn)
    except (ValueError, NoSuchJobError):
        return None
    return getattr(execution, "worker_name", "") or None  # RQ 2.0's executions do not record it


def running_worker(conn: redis.Redis[bytes], job: Job, execution_id: str) -> str | None:
    """The worker running a started job: its execution's (RQ 2.1+), else the job's own record of it."""
    return execution_worker(conn, job.id, execution_id) or job.worker_name or None


def started_entries(conn: redis.Redis[bytes], queue_name: str) -> list[tuple[str, str]]:
    """(job id, execution id) of each entry of a queue's started registry, without RQ's cleanup."""
    registry = StartedJobRegistry(queue_name, connection=conn)
    paired = getattr(registry, "get_job_and_execution_ids", None)  # RQ 2.1+
    if paired is not None:
        return list(paired(cleanup=False))
    entries = registry.get_job_ids(cleanup=False)  # RQ 2.0: the registry's raw `<job id>:<execution id>` members
    return [_split(entry, conn) for entry in entries]


def _split(entry: str, conn: redis.Redis[bytes]) -> tuple[str, str]:
    if ":" not in entry:
        return entry, ""
    execution = Execution.from_composite_key(entry, connection=conn)
    return execution.job_id, execution.id


def claim_started_entry(
    conn: redis.Redis[bytes], queue_name: str, job_id: str, execution_id: str, job: Job | None
) -> bool:
    """Take one entry off a started registry, with its execution record; True for exactly one caller of
    several (the removal itself is the claim). `job` None: RQ no longer holds the job."""
    registry = StartedJobRegistry(queue_name, connection=conn)
    execution = Execution(execution_id, job_id, connection=conn) if execution_id else None
    if not conn.zrem(registry.key, execution.composite_key if execution else job_id):
        return False
    if execution is not None and job is not None:
        try:
            execution.refresh()  # its worker's name, to take it off that worker's executions too
        except ValueError:
            pass
        pipe = conn.pipeline()
        execution.delete(job=job, pipeline=pipe)
        pipe.execute()
    return True


def waiting_ids(conn: redis.Redis[bytes], queue_names: Iterable[str]) -> set[str]:
    """Ids of the jobs a queue holds, those a worker took and has not started yet (RQ's intermediate
    queue, which RQ itself cleans up later) and those in its started registry."""
    found: set[str] = set()
    for name in queue_names:
        queue = Queue(name, connection=conn)
        found.update(queue.get_job_ids())
        found.update(queue.intermediate_queue.get_job_ids())
        found.update(job_id for job_id, _ in started_entries(conn, name))
    return found


def fetch_jobs(conn: redis.Redis[bytes], job_ids: list[str]) -> list[Job | None]:
    """The jobs by id (None for one RQ no longer holds), in one round trip."""
    return Job.fetch_many(job_ids, connection=conn)
