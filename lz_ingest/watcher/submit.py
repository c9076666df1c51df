"""The watcher's Submit: settled files go to `tasks.events.submit_events`, one sync batch outside any pass.

RQ does not dedupe, so the watcher holds a path back while the batch it was last queued in has not
run: the adapter keeps each queued path's RQ task id and asks RQ for those tasks' statuses (a task
gone from Redis, finished or failed is over; its results are kept for 0 s).
"""

from __future__ import annotations

import redis
from rq.job import Job, JobStatus

from ..jobs import JobSpec
from ..tasks.events import events_key, submit_events

__all__ = ["RqSubmit", "events_key"]
PRUNE_AT = 20_000
_PENDING = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED})


class RqSubmit:
    """Queues event batches of one job through submit_events."""

    def __init__(self, conn: redis.Redis[bytes], spec: JobSpec) -> None:
        self.conn, self.spec = conn, spec
        self.task_of: dict[str, str] = {}  # path -> RQ id of the batch it was last queued in

    def sync(self, paths: list[str], settled: bool = True) -> None:
        """Queue one batch (the worker checks again that each file is settled: `settled` changes nothing)."""
        task = submit_events(self.conn, self.spec, paths)
        if task is not None:
            self.task_of.update(dict.fromkeys(paths, task))
        if len(self.task_of) > PRUNE_AT:  # a long-running watcher keeps only the batches still to run
            self.in_flight(list(self.task_of))

    def in_flight(self, paths: list[str]) -> set[str]:
        """Those of `paths` whose earlier batch has not run yet; forgets the batches that are over."""
        tasks = sorted({self.task_of[p] for p in paths if p in self.task_of})
        if not tasks:
            return set()
        statuses = dict(zip(tasks, _statuses(self.conn, tasks), strict=True))
        pending = {t for t, status in statuses.items() if status in _PENDING}
        for path in [p for p in paths if p in self.task_of and self.task_of[p] not in pending]:
            del self.task_of[path]
        return {p for p in paths if self.task_of.get(p) in pending}


def _statuses(conn: redis.Redis[bytes], tasks: list[str]) -> list[JobStatus | None]:
    pipe = conn.pipeline()
    for task in tasks:
        pipe.hget(Job.key_for(task), "status")
    found = []
    for raw in pipe.execute():
        found.append(JobStatus(raw.decode()) if raw else None)
    return found
