"""`lz-ingest worker`: a pool of RQ workers, plus the upkeep RQ does not do quickly enough on its own.

The pool's supervisor, every few seconds: requeues tasks whose worker died (RQ itself notices only
after its worker TTL and cleans registries every 10 minutes; a dead worker's batch is redone here
within about 30 s), keeps live jobs' heartbeats fresh while their tasks wait in a queue, runs
rq-scheduler's periodic passes, and restarts worker processes that died.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections.abc import Sequence
from typing import Any

import redis
import structlog
from rq import Queue, SimpleWorker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq_scheduler import Scheduler

from .jobs import HEARTBEAT_TTL, JobStore, key
from .logs import configure_logging
from .settings import LogSettings

DEFAULT_QUEUES = ("restart", "path", "file")
WORKER_ALIVE_TTL = 15
UPKEEP_SECONDS = 5.0

log = structlog.get_logger("lz_ingest.worker")


class LzWorker(SimpleWorker):
    """An RQ worker that runs tasks in its own process (keeping sessions and handlers warm between
    tasks) and proves it is alive every few seconds, so its tasks can be redone soon after it dies."""

    def register_birth(self) -> None:
        super().register_birth()
        self.connection.sadd(key("workers"), self.name)
        self._beat()
        beat = threading.Thread(target=self._beat_forever, daemon=True)
        beat.start()

    def _beat(self) -> None:
        self.connection.set(key("alive", "worker", self.name), "1", ex=WORKER_ALIVE_TTL)

    def _beat_forever(self) -> None:
        while True:
            time.sleep(WORKER_ALIVE_TTL / 3)
            try:
                self._beat()
            except redis.RedisError:
                pass


def run_worker(redis_url: str, queues: Sequence[str], log_settings: LogSettings | None = None) -> None:
    """One worker process (also what `rq worker -w lz_ingest.worker.LzWorker` would run)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides; SIGTERM is a warm shutdown
    configure_logging(log_settings or LogSettings(log_level="WARNING"))
    conn = redis.Redis.from_url(redis_url)
    LzWorker([Queue(q, connection=conn) for q in queues], connection=conn).work(logging_level="WARNING")


def _worker_is_dead(conn: redis.Redis, worker_name: str) -> bool:
    if conn.sismember(key("workers"), worker_name):
        return not conn.exists(key("alive", "worker", worker_name))
    # a plain `rq worker`: trust RQ's own registration, which expires with its TTL
    return not conn.exists(f"rq:worker:{worker_name}")


def requeue_abandoned(conn: redis.Redis, queues: Sequence[str]) -> int:
    """Put back on their queue the started tasks whose worker is gone; tasks are idempotent."""
    requeued = 0
    for name in queues:
        registry = StartedJobRegistry(name, connection=conn)
        for job_id in registry.get_job_ids():
            try:
                job = Job.fetch(job_id, connection=conn)
            except NoSuchJobError:
                registry.remove(job_id)
                continue
            if job.worker_name and _worker_is_dead(conn, job.worker_name):
                try:
                    registry.requeue(job)
                except InvalidJobOperation:
                    continue
                log.warning("task_requeued", task=job_id, queue=name, dead_worker=job.worker_name)
                requeued += 1
    return requeued


def refresh_live_jobs(conn: redis.Redis) -> None:
    """A running job whose tasks still wait in a queue stays alive while a worker pool serves it."""
    store = JobStore(conn)
    for name in store.names():
        state = store.state(name)
        if state.get("status") != "running" or not state.get("pass_id"):
            continue
        if int(conn.hget(key("counts", state["pass_id"]), "pending") or 0) > 0:
            conn.set(key("alive", name), "1", ex=HEARTBEAT_TTL)


def run_scheduler_tick(conn: redis.Redis) -> None:
    scheduler = Scheduler(connection=conn)
    if scheduler.acquire_lock():
        try:
            scheduler.enqueue_jobs()
        finally:
            scheduler.remove_lock()


def upkeep(conn: redis.Redis, queues: Sequence[str]) -> None:
    requeue_abandoned(conn, queues)
    refresh_live_jobs(conn)
    run_scheduler_tick(conn)


class WorkerPool:
    """N worker processes under one supervisor thread; usable from the CLI or in-process."""

    def __init__(
        self, redis_url: str, queues: Sequence[str], count: int, log_settings: LogSettings | None = None
    ) -> None:
        self.redis_url, self.queues, self.count = redis_url, tuple(queues), count
        self.log_settings = log_settings
        self.ctx = multiprocessing.get_context("spawn")
        self.procs: list[Any] = []
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _spawn(self) -> Any:
        proc = self.ctx.Process(
            target=run_worker, args=(self.redis_url, self.queues, self.log_settings), daemon=True
        )
        proc.start()
        return proc

    def start(self) -> WorkerPool:
        self.procs = [self._spawn() for _ in range(self.count)]
        self._thread = threading.Thread(target=self._supervise, daemon=True)
        self._thread.start()
        return self

    def _supervise(self) -> None:
        conn = redis.Redis.from_url(self.redis_url)
        while not self.stopping.wait(UPKEEP_SECONDS):
            try:
                upkeep(conn, self.queues)
            except redis.RedisError as exc:
                log.warning("upkeep_failed", error=str(exc))
            for i, proc in enumerate(self.procs):
                if not proc.is_alive() and not self.stopping.is_set():
                    log.warning("worker_restarted", pid=proc.pid, exitcode=proc.exitcode)
                    self.procs[i] = self._spawn()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        deadline = time.time() + timeout
        for proc in self.procs:
            proc.join(max(0.1, deadline - time.time()))
            if proc.is_alive():
                proc.kill()
                proc.join(1)
        if self._thread is not None:
            self._thread.join(timeout=UPKEEP_SECONDS + 1)

    def __enter__(self) -> WorkerPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def active_workers(conn: redis.Redis, queues: Sequence[str]) -> int:
    """How many RQ workers (of any kind) listen on at least one of these queues."""
    from rq import Worker

    wanted = set(queues)
    return sum(1 for w in Worker.all(connection=conn) if wanted & set(w.queue_names()))
