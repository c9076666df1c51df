"""`lz-ingest worker`: a pool of RQ workers, plus the upkeep RQ does not do quickly enough on its own.

The pool's supervisor, every few seconds: requeues tasks whose worker died (RQ itself notices only
after its worker TTL and cleans registries every 10 minutes; a dead worker's batch is redone here
within about 30 s), reconciles what each pass queued with RQ's queues and registries
(tasks/reconcile.py), keeps live jobs' heartbeats fresh while their tasks wait in a queue, runs
rq-scheduler's periodic passes, and restarts worker processes that died.
"""

from __future__ import annotations

import datetime
import multiprocessing
import signal
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import redis
import structlog
from rq import Queue, SimpleWorker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq_scheduler import Scheduler

from . import rq_compat
from .jobs import HEARTBEAT_TTL, JobStore, key
from .logs import configure_logging
from .recovery import redo_killed_tasks
from .settings import LogSettings
from .tasks.bookkeeping import REDONE_META
from .tasks.reconcile import reconcile_tasks

DEFAULT_QUEUES = ("restart", "path", "file")
WORKER_ALIVE_TTL = 15
UPKEEP_SECONDS = 5.0
CHILD_CHECK_SECONDS = 1.0

log = structlog.get_logger("lz_ingest.worker")


class LzWorker(SimpleWorker):
    """An RQ worker that runs tasks in its own process (keeping sessions and handlers warm between
    tasks) and proves it is alive every few seconds, so its tasks can be redone soon after it dies."""

    def register_birth(self) -> None:
        super().register_birth()  # type: ignore[no-untyped-call]  # RQ's method is unannotated
        self.connection.sadd(key("workers"), self.name)
        self._beat()
        beat = threading.Thread(target=self._beat_forever, daemon=True)
        beat.start()

    def register_death(self) -> None:
        super().register_death()  # type: ignore[no-untyped-call]  # RQ's method is unannotated
        try:
            pipe = self.connection.pipeline()
            pipe.srem(key("workers"), self.name)
            pipe.delete(key("alive", "worker", self.name))
            pipe.execute()
        except redis.RedisError:
            pass

    def unsubscribe(self) -> None:
        """RQ unsubscribes, then stops its pubsub thread and joins it for up to 1 s: the thread, woken by
        the unsubscribe reply, went back to a 60 s wait, so every worker's exit took that second. Told
        to stop first, the thread ends on that reply."""
        if self.pubsub_thread:
            self.pubsub_thread.stop()
        super().unsubscribe()  # type: ignore[no-untyped-call]  # RQ's method is unannotated

    def _beat(self) -> None:
        self.connection.set(key("alive", "worker", self.name), "1", ex=WORKER_ALIVE_TTL)

    def _beat_forever(self) -> None:
        while True:
            time.sleep(WORKER_ALIVE_TTL / 3)
            try:
                self._beat()
            except redis.RedisError:
                pass


def run_worker(
    redis_url: str, queues: Sequence[str], log_settings: LogSettings | None = None, name: str | None = None
) -> None:
    """One worker process (also what `rq worker -w lz_ingest.worker.LzWorker` would run)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides; SIGTERM is a warm shutdown
    configure_logging(log_settings or LogSettings(log_level="WARNING"))
    _import_tasks()
    conn = redis.Redis.from_url(redis_url)
    worker = LzWorker([Queue(q, connection=conn) for q in queues], connection=conn, name=name)
    worker.work(logging_level="WARNING")


def _import_tasks() -> None:
    """Import the task modules before the first task arrives, so that a pass does not wait for them."""
    from .tasks import events, passes, scan, sync  # noqa: F401

    datetime.datetime.strptime("2000", "%Y")  # RQ parses job dates with strptime, which imports on first use


def start_context() -> Any:
    """Fork while this process runs a single thread: a worker then inherits every import already done
    and serves its first task at once (a spawned one imports everything again, about a second on a
    busy machine). With other threads running (the pool's own supervisor restarting a worker, a test
    process serving irods-lite) spawn: a fork copies locks those threads may hold."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def declare_dead(conn: redis.Redis[bytes], worker_name: str) -> None:
    """The supervisor saw this worker's process end: its tasks can be redone now, not after its TTL."""
    conn.delete(key("alive", "worker", worker_name))


def prune_workers(conn: redis.Redis[bytes]) -> None:
    """Forget pool workers that died without deregistering, once RQ has forgotten them too."""
    for raw in conn.smembers(key("workers")):
        name = raw.decode() if isinstance(raw, bytes) else raw
        if not conn.exists(key("alive", "worker", name)) and not rq_compat.worker_registered(conn, name):
            conn.srem(key("workers"), name)


def _worker_is_dead(conn: redis.Redis[bytes], worker_name: str) -> bool:
    if conn.sismember(key("workers"), worker_name):
        return not conn.exists(key("alive", "worker", worker_name))
    # a plain `rq worker`: trust RQ's own registration, which expires with its TTL
    return not rq_compat.worker_registered(conn, worker_name)


def requeue_abandoned(conn: redis.Redis[bytes], queues: Sequence[str]) -> int:
    """Put back on their queue the started tasks whose worker is gone; tasks are idempotent.

    RQ 2+ keeps `<job id>:<execution id>` entries in the started registry (so its own
    `registry.requeue(job)` finds nothing to remove): each entry is claimed by removing it, so
    of several supervisors exactly one requeues it.
    """
    requeued = 0
    for name in queues:
        for job_id, execution_id in rq_compat.started_entries(conn, name):
            try:
                job = Job.fetch(job_id, connection=conn)
            except NoSuchJobError:
                rq_compat.claim_started_entry(conn, name, job_id, execution_id, None)
                continue
            worker_name = rq_compat.running_worker(conn, job, execution_id)
            if not worker_name or not _worker_is_dead(conn, worker_name):
                continue
            if not rq_compat.claim_started_entry(conn, name, job_id, execution_id, job):
                continue  # another supervisor claimed it, or it just finished
            job.started_at = None
            job.ended_at = None
            job.meta[REDONE_META] = int(job.meta.get(REDONE_META, 0)) + 1
            Queue(job.origin, connection=conn).enqueue_job(job)
            log.warning("task_requeued", task=job_id, queue=name, dead_worker=worker_name)
            requeued += 1
    return requeued


def refresh_live_jobs(conn: redis.Redis[bytes]) -> None:
    """A running job whose tasks still wait in a queue stays alive while a worker pool serves it."""
    store = JobStore(conn)
    for name in store.names():
        state = store.state(name)
        if state.get("status") != "running" or not state.get("pass_id"):
            continue
        if int(conn.hget(key("counts", state["pass_id"]), "pending") or 0) > 0:
            conn.set(key("alive", name), "1", ex=HEARTBEAT_TTL)


def run_scheduler_tick(conn: redis.Redis[bytes]) -> None:
    scheduler = Scheduler(connection=conn)
    if scheduler.acquire_lock():
        try:
            scheduler.enqueue_jobs()
        finally:
            scheduler.remove_lock()


def upkeep(conn: redis.Redis[bytes], queues: Sequence[str]) -> None:
    requeue_abandoned(conn, queues)
    redo_killed_tasks(conn, queues)
    reconcile_tasks(conn)
    prune_workers(conn)
    refresh_live_jobs(conn)
    run_scheduler_tick(conn)


class Ticker:
    """The scheduler's clock: periodic passes enqueued at every tick (once a second, so `-i 1` means one
    pass a second), the rest of the upkeep once every UPKEEP_SECONDS or when told."""

    def __init__(self, conn: redis.Redis[bytes], queues: Sequence[str]) -> None:
        self.conn, self.queues = conn, tuple(queues)
        self.last_upkeep = float("-inf")

    def tick(self, upkeep_now: bool = False) -> None:
        try:
            if upkeep_now or time.monotonic() - self.last_upkeep >= UPKEEP_SECONDS:
                self.last_upkeep = time.monotonic()
                upkeep(self.conn, self.queues)  # the scheduler tick included
            else:
                run_scheduler_tick(self.conn)
        except redis.RedisError as exc:
            log.warning("upkeep_failed", error=str(exc))
        except Exception:  # a bug in one round of upkeep must not end the supervisor (nor its pool's upkeep)
            log.exception("upkeep_failed")


class WorkerPool:
    """N worker processes under one supervisor thread; usable from the CLI or in-process."""

    def __init__(
        self, redis_url: str, queues: Sequence[str], count: int, log_settings: LogSettings | None = None
    ) -> None:
        self.redis_url, self.queues, self.count = redis_url, tuple(queues), count
        self.log_settings = log_settings
        self.procs: list[Any] = []
        self.names: list[str] = []  # RQ worker name of each process, chosen here so a death can be declared
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _spawn(self) -> tuple[Any, str]:
        name = f"lz-{uuid.uuid4().hex}"
        proc = start_context().Process(
            target=run_worker, args=(self.redis_url, self.queues, self.log_settings, name), daemon=True
        )
        proc.start()
        return proc, name

    def start(self) -> WorkerPool:
        _import_tasks()  # once here: forked workers inherit them
        spawned = [self._spawn() for _ in range(self.count)]
        self.procs = [proc for proc, _ in spawned]
        self.names = [name for _, name in spawned]
        self._thread = threading.Thread(target=self._supervise, daemon=True)
        self._thread.start()
        return self

    def _supervise(self) -> None:
        ticker = Ticker(redis.Redis.from_url(self.redis_url), self.queues)
        ticker.last_upkeep = time.monotonic()
        while not self.stopping.wait(CHILD_CHECK_SECONDS):
            ticker.tick(upkeep_now=self._restart_dead(ticker.conn))  # a death: its tasks are redone at once

    def _restart_dead(self, conn: redis.Redis[bytes]) -> bool:
        died = False
        for i, proc in enumerate(self.procs):
            if not proc.is_alive() and not self.stopping.is_set():
                log.warning("worker_restarted", pid=proc.pid, exitcode=proc.exitcode)
                try:
                    declare_dead(conn, self.names[i])
                except redis.RedisError as exc:
                    log.warning("upkeep_failed", error=str(exc))
                self.procs[i], self.names[i] = self._spawn()
                died = True
        return died

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


def active_workers(conn: redis.Redis[bytes], queues: Sequence[str]) -> int:
    """How many RQ workers (of any kind) listen on at least one of these queues."""
    from rq import Worker

    wanted = set(queues)
    return sum(
        1 for w in Worker.all(connection=conn) if wanted & set(w.queue_names()) and not _worker_is_dead(conn, w.name)
    )
