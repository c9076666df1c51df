"""Reconciling what a pass enqueued with what RQ holds (tasks/reconcile.py).

The window that lost a batch when a whole pool was killed (a task taken off its queue by a worker that
died before RQ recorded it as started) is made on purpose: the test dequeues the task the way an RQ
worker does, and never starts it.
"""

from __future__ import annotations

from pathlib import Path

import redis
from rq import Queue
from rq.job import Job

from lz_ingest.jobs import JobStore, key
from lz_ingest.tasks import bookkeeping as bk
from lz_ingest.tasks.reconcile import reconcile_tasks
from lz_ingest.tasks.scan import scan_task
from tests.engine_fixtures import Ingest, write_tree

from .jobtools import QUEUES, counts, pass_over, pool, rq_conn, state, wait_until

FILES = {f"f{i}.txt": f"file {i}" for i in range(6)}


def take(conn: redis.Redis) -> tuple[Job, Queue]:
    """Dequeue a sync batch as a worker listening on the restart, path and file queues does (BLPOP)."""
    taken = Queue.dequeue_any([Queue(q, connection=conn) for q in QUEUES], timeout=1, connection=conn)
    assert taken is not None
    return taken


def scanned_pass(ingest: Ingest, tmp_path: Path) -> tuple[redis.Redis, str]:
    """A pass of 3 sync batches whose scan is done and whose batches all wait in the file queue."""
    src = write_tree(tmp_path / "src", FILES)
    result = ingest.run("start", str(src), ingest.target, "--job_name", "rec", "--files_per_task", "2")
    assert result.code == 0, result.err
    url = ingest.redis_url
    conn = rq_conn(url)
    files = Queue("file", connection=conn)
    with pool(url, 1, queues=("restart", "path")):
        wait_until(lambda: files.count == 3 and counts(url, "rec").get("pending") == 3, 60, "the scan to end")
    return conn, state(url, "rec")["pass_id"]


def test_a_task_taken_by_a_worker_that_died_before_starting_it_is_redone_once(ingest: Ingest, tmp_path: Path) -> None:
    conn, pass_id = scanned_pass(ingest, tmp_path)
    files = Queue("file", connection=conn)
    job, _ = take(conn)  # what a worker does, then it is killed
    assert not files.intermediate_queue.get_job_ids()
    assert files.count == 2 and job.id not in files.started_job_registry
    assert job.id.startswith(bk.TASK_ID_PREFIX)
    assert reconcile_tasks(conn, grace=0) == 0  # first look: only suspected (a live worker could be starting it)
    assert files.count == 2
    assert reconcile_tasks(conn, grace=0) == 1  # second look: requeued
    assert files.count == 3 and job.id in files.get_job_ids()
    assert reconcile_tasks(conn, grace=0) == 0 and files.count == 3  # once per loss
    redone = [j for j in files.get_jobs() if j.meta.get(bk.REDONE_META)]
    assert [j.id for j in redone] == [job.id]
    with pool(ingest.redis_url, 1):
        wait_until(lambda: pass_over(ingest.redis_url, "rec"), 60, "the pass to end")
    c = counts(ingest.redis_url, "rec")
    assert c["registered"] == 6 and c["pending"] == 0 and c.get("failed", 0) == 0, c
    assert len(ingest.objects()) == 6
    assert conn.hlen(key("tasks", pass_id)) == 0


def test_a_suspect_that_a_worker_starts_meanwhile_is_left_alone(ingest: Ingest, tmp_path: Path) -> None:
    conn, _ = scanned_pass(ingest, tmp_path)
    files = Queue("file", connection=conn)
    job, _ = take(conn)
    assert reconcile_tasks(conn, grace=0) == 0  # suspected
    files.enqueue_job(job)  # placed again before the second look (as requeue_abandoned or recovery do)
    assert reconcile_tasks(conn, grace=0) == 0
    assert reconcile_tasks(conn, grace=0) == 0
    assert files.count == 3


def test_the_grace_period_keeps_a_suspect_waiting(ingest: Ingest, tmp_path: Path) -> None:
    conn, _ = scanned_pass(ingest, tmp_path)
    files = Queue("file", connection=conn)
    take(conn)
    now = [1000.0]
    assert reconcile_tasks(conn, grace=30, clock=lambda: now[0]) == 0
    now[0] += 29
    assert reconcile_tasks(conn, grace=30, clock=lambda: now[0]) == 0 and files.count == 2
    now[0] += 2
    assert reconcile_tasks(conn, grace=30, clock=lambda: now[0]) == 1 and files.count == 3


def test_a_task_failing_in_rq_itself_is_failed_for_its_pass_which_ends(ingest: Ingest, tmp_path: Path) -> None:
    """A task RQ could not call (here: arguments a previous release's signature took) fails its pass's
    task count down through the pool's upkeep, instead of leaving the pass running forever."""
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    assert ingest.run("start", str(src), ingest.target, "--job_name", "rec").code == 0
    conn = rq_conn(ingest.redis_url)
    pass_id = state(ingest.redis_url, "rec")["pass_id"]
    bk.enqueue(conn, pass_id, "path", scan_task, [("rec", pass_id)])  # one argument short
    with pool(ingest.redis_url, 1):
        wait_until(lambda: pass_over(ingest.redis_url, "rec"), 90, "the pass to end")
    c = counts(ingest.redis_url, "rec")
    assert c["pending"] == 0 and c["failed"] == 1 and c["registered"] == 1, c
    [(label, failure)] = JobStore(conn).failures(pass_id).items()
    assert label.startswith("task lz-t-")
    assert failure["reason"].startswith("task failed in RQ: TypeError"), failure


def test_a_task_recorded_twice_counts_once(redis_url: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    conn.hset(key("tasks", "j:1"), "lz-t-abc", "file")
    conn.hset(key("counts", "j:1"), "pending", 2)
    tally = bk.Tally()
    tally.add("registered", 3)
    tally.fail("/src/x", "no")
    tally.deletes.append('{"path": "/z/a", "kind": "object"}')
    assert bk.flush(conn, "j", "j:1", tally, "lz-t-abc") == 1
    assert bk.flush(conn, "j", "j:1", tally, "lz-t-abc") is None  # ran twice: recorded once
    assert JobStore(conn).counts("j:1") == {"pending": 1, "registered": 3, "failed": 1}
    assert conn.llen(key("deletes", "j:1")) == 1
    assert bk.flush(conn, "j", "j:1", bk.Tally(), "") == 0  # an untracked task (an older release's) always counts
