"""`lz-ingest scheduler`: what keeps jobs moving, whatever kind of worker serves their queues.

Every second it enqueues the periodic passes that are due (rq-scheduler's schedule, so that `-i 1`
means one pass a second); every few seconds it runs the upkeep (tasks of dead workers and killed work
horses redone, heartbeats of jobs waiting in a queue): `worker.Ticker`. The supervisor of `lz-ingest
worker` runs the same clock, so a pool of those needs no scheduler; a pool of plain `rq worker`
processes does. Several at once are harmless: rq-scheduler takes a lock, and each requeue is claimed by
exactly one of them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import redis

from .worker import Ticker

TICK_SECONDS = 1.0


def run(conn: redis.Redis[bytes], queues: Sequence[str], stop: threading.Event) -> None:
    """Tick every second until `stop` is set."""
    ticker = Ticker(conn, queues)
    while not stop.is_set():
        ticker.tick()
        stop.wait(TICK_SECONDS)
