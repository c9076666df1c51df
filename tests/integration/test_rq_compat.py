"""lz_ingest.rq_compat against a real `rq worker` and Redis: run on both ends of the RQ range pyproject
allows (rq 2.0.0 in a throwaway venv, and the newest 3.x), and under a configured RQ key prefix."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis
from rq import Queue, Worker
from rq.job import Job

from lz_ingest import rq_compat

RQ = str(Path(sys.executable).parent / "rq")


def wait_until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_a_killed_workers_started_task_is_seen_and_claimed_once(redis_url: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    job = Queue("compat", connection=conn).enqueue("time.sleep", 60, job_timeout=120)
    proc = subprocess.Popen(
        [RQ, "worker", "-u", redis_url, "-n", "compat-w1", "compat"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        queue = Queue("compat", connection=conn)
        started = lambda: rq_compat.started_entries(conn, "compat") and not queue.intermediate_queue.get_job_ids()  # noqa: E731
        wait_until(started, 60, "the task to start (its work horse took it off RQ's intermediate queue)")
        [(job_id, execution_id)] = rq_compat.started_entries(conn, "compat")
        assert job_id == job.id
        assert rq_compat.running_worker(conn, Job.fetch(job_id, connection=conn), execution_id) == "compat-w1"
        assert rq_compat.worker_registered(conn, "compat-w1")
        assert job.id in rq_compat.waiting_ids(conn, ["compat"])
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # parent and work horse: nothing deregisters
        proc.wait(timeout=30)
    assert rq_compat.worker_registered(conn, "compat-w1")  # RQ forgets it only when its TTL runs out
    assert rq_compat.claim_started_entry(conn, "compat", job_id, execution_id, job)
    assert not rq_compat.claim_started_entry(conn, "compat", job_id, execution_id, job)  # one claimant
    assert rq_compat.started_entries(conn, "compat") == []
    assert rq_compat.execution_worker(conn, job_id, execution_id) is None  # its execution record went too
    assert job.id not in rq_compat.waiting_ids(conn, ["compat"])
    conn.delete(Worker.redis_worker_namespace_prefix + "compat-w1")
    assert not rq_compat.worker_registered(conn, "compat-w1")


def test_unknown_ids_are_answered_not_raised(redis_url: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    assert rq_compat.execution_worker(conn, "no-such-job", "no-such-execution") is None
    assert rq_compat.execution_worker(conn, "no-such-job", "") is None
    assert not rq_compat.worker_registered(conn, "no-such-worker")
    assert rq_compat.fetch_jobs(conn, ["no-such-job"]) == [None]
    assert not rq_compat.claim_started_entry(conn, "compat", "no-such-job", "x", None)


def test_a_configured_key_prefix_is_followed(redis_url: str, tmp_path: Path) -> None:
    """RQ_KEY_PREFIX (RQ 3): the names come from RQ's classes, so nothing is looked for under rq:*."""
    import rq.defaults

    if not hasattr(rq.defaults, "RQ_KEY_PREFIX"):
        pytest.skip("this RQ has no configurable key prefix")
    script = tmp_path / "prefixed.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import redis
            from rq import Worker
            from lz_ingest import rq_compat
            conn = redis.Redis.from_url({redis_url!r})
            worker = Worker(["compat"], connection=conn, name="prefixed-w1")
            worker.register_birth()
            assert conn.exists("lzrq:worker:prefixed-w1") and not conn.exists("rq:worker:prefixed-w1")
            assert rq_compat.worker_registered(conn, "prefixed-w1")
            conn.delete(Worker.redis_worker_namespace_prefix + "prefixed-w1")
            assert not rq_compat.worker_registered(conn, "prefixed-w1")
            print("ok")
            """
        )
    )
    env = {**os.environ, "RQ_KEY_PREFIX": "lzrq"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
