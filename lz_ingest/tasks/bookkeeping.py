"""A pass's bookkeeping: exact counters, failures, and the outstanding-task count that ends a pass.

Every task increments `pending` for the tasks it enqueues in the same pipeline as the enqueue, and
decrements it for itself in the same pipeline as its counters. The task whose decrement reaches zero
moves the pass to its next phase, so exactly one process does that, whatever the number of workers.
A task redone after its worker died has not decremented yet, so the count stays exact.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import structlog
from rq import Queue, get_current_job

from ..jobs import HEARTBEAT_TTL, key

TASK_RESULT_TTL = 0  # no per-task keys left behind in Redis
TASK_FAILURE_TTL = 24 * 3600
DEFAULT_TASK_TIMEOUT = 3600  # seconds, RQ's job timeout of a task whose handler names none
log = structlog.get_logger("lz_ingest.tasks")
REDONE_META = "lz_redone"  # set in a task's RQ meta when it is requeued after its worker died
PASS_META = "lz_pass"  # the pass a task belongs to, in its RQ meta (readable when its arguments are not)


@dataclass
class Tally:
    """What one task did, flushed to Redis in one pipeline with its pending decrement."""

    counts: Counter[str] = field(default_factory=Counter)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # a batch's files run in threads

    def add(self, name: str, n: int = 1) -> None:
        if n:
            with self.lock:
                self.counts[name] += n

    def fail(self, path: str, reason: str, attempts: int = 1) -> None:
        with self.lock:
            self.counts["failed"] += 1
            self.failures[_storable(path)] = {"reason": reason, "attempts": attempts}


def _storable(path: str) -> str:
    """The path as a Redis key: bytes that are not UTF-8 (surrogate escapes) shown as \\xNN, so that a
    failure on such a name cannot make the task's flush raise and leave the pass pending forever."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def task_key(func: Callable[..., Any], args: tuple[Any, ...]) -> str:
    """What identifies a task within its pass: its function and its arguments."""
    text = f"{func.__module__}.{func.__qualname__}{args!r}"
    return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()


TASK_ID_PREFIX = "lz-t-"  # RQ job ids of the tasks of a pass, tracked in lz:tasks:<pass> until recorded


def task_id(task_key: str) -> str:
    """The task's RQ job id: the same every time the pass enqueues it (a redone task keeps it too)."""
    return TASK_ID_PREFIX + task_key


def tracked_id(job_id: str | None) -> str:
    """The id under which a task is tracked in its pass ("" for a task enqueued without tracking)."""
    return job_id if job_id and job_id.startswith(TASK_ID_PREFIX) else ""


def enqueue(
    conn: redis.Redis[bytes],
    pass_id: str,
    queue_name: str,
    func: Callable[..., Any],
    calls: Sequence[tuple[Any, ...]],
    timeout: int = DEFAULT_TASK_TIMEOUT,
    timeouts: Sequence[int] | None = None,
) -> int:
    """Enqueue one task per args tuple, counting them as pending in the same transaction.

    Each task is also recorded in the pass's set of enqueued tasks, so that a task redone after its
    worker died does not enqueue again what it had already handed on (RQ itself never dedupes).
    """
    keys = [task_key(func, args) for args in calls]
    limits = list(timeouts) if timeouts is not None else [timeout] * len(calls)  # RQ's job timeout of each
    if calls and is_redone():
        known = conn.smismember(key("enqueued", pass_id), keys)
        fresh = [(k, args, t) for k, args, t, seen in zip(keys, calls, limits, known, strict=True) if not seen]
        keys, calls, limits = [k for k, _, _ in fresh], [args for _, args, _ in fresh], [t for _, _, t in fresh]
    if not calls:
        return 0
    pipe = conn.pipeline()  # MULTI/EXEC: recorded, counted and queued together or not at all
    pipe.sadd(key("enqueued", pass_id), *keys)
    pipe.hset(key("tasks", pass_id), mapping={task_id(k): queue_name for k in keys})  # what reconcile checks
    pipe.hincrby(key("counts", pass_id), "pending", len(calls))
    pipe.hincrby(key("counts", pass_id), "tasks", len(calls))
    datas = [
        Queue.prepare_data(
            func,
            args=args,
            timeout=limit,
            job_id=task_id(k),
            meta={PASS_META: pass_id},
            description=f"{func.__module__}.{func.__qualname__}({args[0]!r}, {args[1]!r}, ...)",  # not the payload
            result_ttl=TASK_RESULT_TTL,
            failure_ttl=TASK_FAILURE_TTL,
        )
        for k, args, limit in zip(keys, calls, limits, strict=True)
    ]
    Queue(queue_name, connection=conn).enqueue_many(datas, pipeline=pipe)
    pipe.execute()
    return len(calls)


def is_redone() -> bool:
    """True inside a task that was requeued after its worker died."""
    job = get_current_job()
    return bool(job is not None and job.meta.get(REDONE_META))


# One script, so that a task's result is recorded whole or not at all, and at most once: a tracked task
# (ARGV[1] its id) records only while its entry in lz:tasks:<pass> is there, and removes it.
_FLUSH = """
if ARGV[1] ~= '' and redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return false
end
local i = 3
for _ = 1, tonumber(ARGV[i]) do redis.call('HINCRBY', KEYS[2], ARGV[i + 1], ARGV[i + 2]); i = i + 2 end
i = i + 1
for _ = 1, tonumber(ARGV[i]) do redis.call('HSET', KEYS[3], ARGV[i + 1], ARGV[i + 2]); i = i + 2 end
i = i + 1
for _ = 1, tonumber(ARGV[i]) do redis.call('RPUSH', KEYS[4], ARGV[i + 1]); i = i + 1 end
redis.call('SET', KEYS[5], '1', 'EX', ARGV[2])
return redis.call('HINCRBY', KEYS[2], 'pending', -1)
"""


def flush(conn: redis.Redis[bytes], job_name: str, pass_id: str, tally: Tally, task: str | None = None) -> int | None:
    """Write the tally and take this task off the pending count; return what remains pending, or None
    when this task's result was recorded already (it ran twice: nothing is counted twice).

    `task` is the tracked id of the task being recorded; by default the RQ job running this code."""
    if task is None:
        current = get_current_job()
        task = tracked_id(current.id if current is not None else None)
    args: list[str | int] = [task, HEARTBEAT_TTL, len(tally.counts)]
    for name, n in tally.counts.items():
        args += [name, n]
    args.append(len(tally.failures))
    for path, value in tally.failures.items():
        args += [path, json.dumps(value)]
    args.append(len(tally.deletes))
    args += tally.deletes
    keys = [key("tasks", pass_id), key("counts", pass_id), key("failures", pass_id), key("deletes", pass_id)]
    result = conn.eval(_FLUSH, 5, *keys, key("alive", job_name), *args)
    return None if result is None else int(result)


REDIS_RETRY_SECONDS = 120.0  # how long a task keeps trying to record its result while Redis is away


def with_redis_retries(call: Callable[[], Any], what: str, budget: float = REDIS_RETRY_SECONDS) -> Any:
    """Retry `call` with exponential backoff while Redis is unreachable: a task's result must not be
    lost (its pass would never end) because Redis restarted or the network blinked."""
    deadline = time.monotonic() + budget
    delay = 0.2
    while True:
        try:
            return call()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("redis_unreachable_retrying", what=what, error=str(exc), retry_in=round(delay, 2))
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def flush_failure(conn: redis.Redis[bytes], pass_id: str, path: str, reason: str) -> None:
    """Record a pass-level failure (a refused delete phase, a failing post_job) outside any task."""
    pipe = conn.pipeline()
    pipe.hincrby(key("counts", pass_id), "failed", 1)
    pipe.hset(key("failures", pass_id), path, json.dumps({"reason": reason, "attempts": 1}))
    pipe.execute()
