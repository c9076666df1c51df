"""The watcher's Submit: event batches into the sync task outside any pass (tasks/events.py).

A batch is one `event_sync_task` on the job's file queue, run inside the task lifecycle like every
other task: each path is stat'ed through the job's Source and synced with the same Syncer and plan as
a pass, its counts go to `lz:events:<job>` (apart from any pass's) and its failures to
`lz:event_failures:<job>`. RQ does not dedupe tasks: a path stays in `lz:events_inflight:<job>` from
the moment it is queued until its batch has recorded its result, and the watcher holds it back while
it is there (an entry older than the task timeout is stale: its worker died, the task was lost or redone).
"""

from __future__ import annotations

import time

import redis

from ..jobs import JobSpec
from ..tasks import bookkeeping as bk
from ..tasks.events import events_key, inflight_key, queue_event_batch

__all__ = ["RqSubmit", "events_key"]


class RqSubmit:
    """Queues event batches of one job as RQ tasks (the watcher's Submit)."""

    def __init__(self, conn: redis.Redis[bytes], spec: JobSpec) -> None:
        self.conn, self.spec = conn, spec

    def sync(self, paths: list[str], settled: bool = True) -> None:
        """Queue one batch; `settled` False (shutdown) lets the worker wait for files still changing."""
        queue_event_batch(self.conn, self.spec, paths, settled)

    def in_flight(self, paths: list[str]) -> set[str]:
        """Those of `paths` whose earlier batch has not recorded its result yet."""
        if not paths:
            return set()
        scores = self.conn.zmscore(inflight_key(self.spec.name), paths)
        fresh = time.time() - bk.DEFAULT_TASK_TIMEOUT
        return {p for p, s in zip(paths, scores, strict=True) if s is not None and s > fresh}
