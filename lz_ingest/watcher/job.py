"""The watcher's job record: status `watching`, its reconciling passes, stop requests, its event counters.

A reconciling rescan is a normal pass of the job (tasks/passes.start_pass): while it runs the job's
status is `running`, and once it is over the watcher sets it back to `watching`. One watcher process
per job: a lock key refreshed with every heartbeat, so a watcher killed with SIGKILL lets its
successor in a few seconds later.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter

import redis

from ..errors import ConfigError
from ..handlers.loader import Handler
from ..jobs import HEARTBEAT_TTL, JobSpec, JobStore, key
from ..status import RECORDED_WATCHING
from ..tasks.passes import start_pass
from .submit import events_key

WATCHING = RECORDED_WATCHING  # the recorded status (status.py), shown as JobStatus.WATCHING
LOCK_TTL = 8  # seconds a dead watcher's lock outlives it
# status done -> watching, only if no stop came in between
_BACK_TO_WATCHING = """
if redis.call('HGET', KEYS[1], 'status') == 'done' then
  redis.call('HSET', KEYS[1], 'status', ARGV[1]); return 1
end
return 0
"""


class WatcherJob:
    """The Control of one zone, over Redis."""

    def __init__(self, conn: redis.Redis[bytes], spec: JobSpec, handler: Handler) -> None:
        self.conn, self.spec, self.handler = conn, spec, handler
        self.store = JobStore(conn)
        self.token = uuid.uuid4().hex
        self._back = conn.register_script(_BACK_TO_WATCHING)

    def _lock_key(self) -> str:
        return key("watcher", self.spec.name)

    def register(self, wait: float = LOCK_TTL + 1.0) -> None:
        """Take the job's watcher lock (waiting for a dead predecessor's to expire), save it as `watching`."""
        deadline = time.monotonic() + wait
        while not self.conn.set(self._lock_key(), self.token, nx=True, ex=LOCK_TTL):
            if time.monotonic() > deadline:
                raise ConfigError(f"job {self.spec.name!r} is already watched by another lz-ingest watcher")
            time.sleep(0.2)
        self.store.save(self.spec)
        status = self.store.state(self.spec.name).get("status")
        if status != "running":  # a pass of a previous watcher may still run: it ends as usual
            self.store.set_state(self.spec.name, status=WATCHING)
        pipe = self.conn.pipeline()
        pipe.hset(events_key(self.spec.name), mapping={"started": time.time(), "backlog": 0})
        pipe.set(key("alive", self.spec.name), "1", ex=HEARTBEAT_TTL)
        pipe.execute()

    def start_rescan(self) -> bool:
        return start_pass(self.conn, self.spec, self.handler) is not None

    def rescan_running(self) -> bool:
        status = self.store.state(self.spec.name).get("status")
        if status == "done":
            self._back(keys=[key("state", self.spec.name)], args=[WATCHING])
        return status == "running"

    def stopped(self) -> bool:
        return self.store.state(self.spec.name).get("status") == "stopped"

    def heartbeat(self, counts: Counter[str], backlog: int, last_event: float, observer: str) -> None:
        pipe = self.conn.pipeline()
        for name, n in counts.items():
            pipe.hincrby(events_key(self.spec.name), name, n)
        values: dict[str | bytes, bytes | float | int | str] = {"backlog": backlog, "heartbeat": time.time()}
        values["observer"] = observer
        if last_event:
            values["last_event"] = last_event
        pipe.hset(events_key(self.spec.name), mapping=values)
        pipe.set(key("alive", self.spec.name), "1", ex=HEARTBEAT_TTL)
        pipe.get(self._lock_key())
        pipe.expire(self._lock_key(), LOCK_TTL)
        results = pipe.execute()
        holder = results[-2]
        if holder is None:  # this process stalled past the lock's lifetime: take it again if still free
            holder = self.token.encode() if self.conn.set(self._lock_key(), self.token, nx=True, ex=LOCK_TTL) else None
        if holder is None or holder.decode() != self.token:
            raise ConfigError(f"job {self.spec.name!r}: another watcher took it over")

    def release(self) -> None:
        """The watcher is ending: the job is `done` unless stopped or inside a pass (which ends as usual)."""
        if self.store.state(self.spec.name).get("status") == WATCHING:
            self.store.set_state(self.spec.name, status="done", finished=time.time())
        if self.conn.get(self._lock_key()) == self.token.encode():
            self.conn.delete(self._lock_key())
