"""Resilience: killed workers and jobs, dropped iRODS connections, bounded Redis state, handler changes."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import redis
from rq import Worker

from lz_ingest.jobs import HEARTBEAT_TTL
from tests.engine_fixtures import Ingest, Result, write_tree

from .jobtools import (
    LZ_INGEST,
    client,
    counts,
    handler_file,
    lz_keys,
    pass_over,
    pool,
    process,
    rq_conn,
    state,
    wait_until,
)


def _slow_handler(tmp_path: Path, seconds: float, marker: Path | None = None) -> Path:
    """Each new data object takes `seconds` (only while `marker` exists, when one is given)."""
    condition = f"os.path.exists({str(marker)!r})" if marker else "True"
    return handler_file(
        tmp_path,
        f"""
        @staticmethod
        def pre_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
            if {condition}:
                time.sleep({seconds})
        """,
    )


def _busy_sync_worker(url: str) -> Worker | None:
    """A worker in the middle of a file batch."""
    for worker in Worker.all(connection=rq_conn(url)):
        job = worker.get_current_job()
        if job is not None and job.func_name.endswith("sync_task"):
            return worker
    return None


@pytest.mark.slow
def test_worker_killed_mid_batch_has_its_batch_redone_and_counts_stay_exact(ingest: Ingest, tmp_path: Path) -> None:
    files: dict[str, bytes | str] = {f"f{i:02}.txt": f"content {i}" for i in range(20)}
    src = write_tree(tmp_path / "src", files)
    handler = _slow_handler(tmp_path, 0.4)
    url = ingest.redis_url
    result = ingest.run(
        "start", str(src), ingest.target, "--job_name", "k1", "--files_per_task", "5", "--event_handler", str(handler)
    )
    assert result.code == 0, result.err
    with pool(url, 2):
        victim = wait_until(lambda: _busy_sync_worker(url), 30, "a worker busy with a batch", every=0.05)
        time.sleep(0.9)  # a couple of files of its batch are in the catalog already
        killed_at = time.monotonic()
        os.kill(victim.pid, signal.SIGKILL)
        wait_until(lambda: pass_over(url, "k1"), 120, "the job to finish after a worker was killed", every=0.5)
        assert time.monotonic() - killed_at < 120
    c = counts(url, "k1")
    assert c.get("failed", 0) == 0, (c, ingest.run("failures", "k1").out)
    assert c["pending"] == 0
    assert c["discovered"] == 20
    assert c["registered"] == 20, c
    assert state(url, "k1")["status"] == "done"
    objs = ingest.objects()
    assert set(objs) == {f"{ingest.target}/{name}" for name in files}
    assert all(len(obj.replicas) == 1 for obj in objs.values())


@pytest.mark.slow
def test_a_job_whose_processes_were_killed_can_be_started_again(ingest: Ingest, tmp_path: Path) -> None:
    files: dict[str, bytes | str] = {f"d{i}/f{j}.txt": f"{i}-{j}" for i in range(2) for j in range(5)}
    src = write_tree(tmp_path / "src", files)
    marker = tmp_path / "slow"
    marker.touch()
    handler = _slow_handler(tmp_path, 3.0, marker)
    url = ingest.redis_url
    args = ["start", str(src), ingest.target, "--job_name", "again", "--files_per_task", "2"]
    args += ["--event_handler", str(handler)]
    with process([LZ_INGEST, *args, "--synchronous", "--workers", "2"]) as proc:
        wait_until(lambda: _busy_sync_worker(url), 60, "the first pass to be under way")
        os.killpg(proc.pid, signal.SIGKILL)  # the command and its in-process workers
        killed_at = time.monotonic()
        proc.communicate(timeout=10)
    first_pass = state(url, "again")["pass_id"]
    assert state(url, "again")["status"] == "running"
    marker.unlink()
    refused = ingest.run(*args)
    assert refused.code == 2 and "already running" in refused.err, refused
    # once the heartbeat has expired, the same command starts a new pass; --synchronous must not
    # mistake the killed workers (still registered with RQ) for a pool serving the queues
    wait_until(lambda: not client(url).exists("lz:alive:again"), HEARTBEAT_TTL + 5, "the heartbeat to expire")
    assert time.monotonic() - killed_at <= HEARTBEAT_TTL + 1
    assert Worker.all(connection=rq_conn(url)), "RQ still lists the killed workers"
    outcome: list[Result] = []
    thread = threading.Thread(target=lambda: outcome.append(ingest.run(*args, "--synchronous")), daemon=True)
    thread.start()
    thread.join(60)
    assert outcome, "start --synchronous waited for workers that were killed"
    restarted = outcome[0]
    assert restarted.code == 0, restarted.err
    assert state(url, "again")["pass_id"] != first_pass
    assert set(ingest.objects()) == {f"{ingest.target}/{name}" for name in files}
    c = counts(url, "again")
    assert c.get("failed", 0) == 0 and c["pending"] == 0, c
    assert sum(c.get(k, 0) for k in ("registered", "skipped")) == 10, c
    time.sleep(2)  # tasks of the killed pass, redone by the new workers, leave nothing behind
    assert [k for k in lz_keys(url) if k.startswith("lz:counts:")] == [f"lz:counts:{state(url, 'again')['pass_id']}"]


@pytest.mark.fault_injection
def test_irods_connections_dropped_mid_pass_are_retried(ingest: Ingest, tmp_path: Path) -> None:
    lite = ingest.zone.lite
    if lite is None:
        pytest.skip("needs irods-lite's fault injection")
    files: dict[str, bytes | str] = {f"d{i}/f{j}.txt": f"{i}:{j}" for i in range(4) for j in range(10)}
    src = write_tree(tmp_path / "src", files)
    handler = _slow_handler(tmp_path, 0.05)
    stop = threading.Event()
    drops = 0

    def dropper() -> None:
        nonlocal drops
        while not stop.wait(0.4):
            lite.drop_connections()
            drops += 1

    thread = threading.Thread(target=dropper, daemon=True)
    thread.start()
    try:
        result = ingest.rescan(src, "--job_name", "drops", "--files_per_task", "5", "--event_handler", str(handler))
    finally:
        stop.set()
        thread.join()
    assert drops >= 2
    assert result.code == 0, result.out + result.err
    c = counts(ingest.redis_url, "drops")
    assert c.get("failed", 0) == 0 and c["registered"] == 40, c
    assert set(ingest.objects()) == {f"{ingest.target}/{name}" for name in files}


def _key_shape(url: str) -> list[str]:
    """Every key in Redis, with job / pass / worker ids blanked out."""
    conn = redis.Redis.from_url(url, decode_responses=True)
    return sorted(k.split(":", 2)[0] + ":" + k.split(":", 2)[1] if ":" in k else k for k in conn.keys("*"))


def test_no_per_file_keys_left_in_redis(ingest: Ingest, tmp_path: Path) -> None:
    url = ingest.redis_url
    shapes = {}
    for n in (20, 200):
        redis.Redis.from_url(url).flushall()
        src = write_tree(tmp_path / f"src{n}", {f"d{i % 10}/f{i}.txt": str(i) for i in range(n)})
        result = ingest.run("rescan", str(src), f"{ingest.target}/t{n}", "--job_name", f"n{n}", "--workers", "2")
        assert result.code == 0, result.err
        assert counts(url, f"n{n}")["registered"] == n
        keys = redis.Redis.from_url(url, decode_responses=True).keys("*")
        assert not [k for k in keys if ".txt" in k or str(src) in k], keys
        shapes[n] = _key_shape(url)
        assert len(lz_keys(url)) <= 5, lz_keys(url)
    assert len(shapes[200]) == len(shapes[20]), shapes
    assert shapes[200] == shapes[20]


def test_handler_changed_after_start_is_refused_by_workers(ingest: Ingest, tmp_path: Path) -> None:
    files: dict[str, bytes | str] = {f"f{i}.txt": str(i) for i in range(6)}
    src = write_tree(tmp_path / "src", files)
    started, go = tmp_path / "started", tmp_path / "go"
    handler = handler_file(
        tmp_path,
        f"""
        @staticmethod
        def pre_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
            open({str(started)!r}, "a").close()
            deadline = time.time() + 30
            while not os.path.exists({str(go)!r}) and time.time() < deadline:
                time.sleep(0.05)
        """,
    )
    url = ingest.redis_url
    result = ingest.run(
        "start", str(src), ingest.target, "--job_name", "h1", "--files_per_task", "2", "--event_handler", str(handler)
    )
    assert result.code == 0, result.err
    with pool(url, 1):
        wait_until(started.exists, 30, "the first batch to be under way")
        handler.write_text(handler.read_text() + "\n# changed after the job started\n")
        go.touch()
        wait_until(lambda: pass_over(url, "h1"), 60, "the pass to end")
    c = counts(url, "h1")
    assert c["registered"] == 2, c  # the batch under way when the file changed ran the code checked at start
    assert c["failed"] == 5, c  # four files, and post_job, which the pass does not run with a changed handler
    listed = ingest.run("failures", "h1").out.strip().splitlines()
    post_job = [line for line in listed if line.startswith("post_job\t")]
    assert len(post_job) == 1 and "changed since the job started" in post_job[0], listed
    failures = [line for line in listed if line.startswith(str(src))]
    assert len(failures) == 4, listed
    for line in failures:
        assert "changed since the job started" in line and "hash" in line, line
    objs = ingest.objects()
    assert len(objs) == 2
    for line in failures:
        name = Path(line.split("\t")[0]).name
        assert f"{ingest.target}/{name}" not in objs


def _busy_scan_worker(url: str) -> Worker | None:
    for worker in Worker.all(connection=rq_conn(url)):
        job = worker.get_current_job()
        if job is not None and job.func_name.endswith("scan_task"):
            return worker
    return None


@pytest.mark.slow
def test_a_scan_killed_after_handing_work_on_is_redone_without_double_counts(ingest: Ingest, tmp_path: Path) -> None:
    """The scan of d0 queued its batches; the worker dies in d1's scan; the redone scan must not queue d0's
    batches again (they would count every file of d0 twice)."""
    files: dict[str, bytes | str] = {f"d0/f{i}.txt": str(i) for i in range(6)} | {"d1/slow.txt": "s", "d1/x.txt": "x"}
    src = write_tree(tmp_path / "src", files)
    armed = tmp_path / "armed"
    armed.touch()
    handler = handler_file(
        tmp_path,
        f"""
        @staticmethod
        def operation(session, meta, **options):
            if meta['path'].endswith('slow.txt') and os.path.exists({str(armed)!r}):
                os.unlink({str(armed)!r})
                time.sleep(30)
            return Operation.REGISTER_SYNC
        """,
    )
    url = ingest.redis_url
    result = ingest.run(
        "start", str(src), ingest.target, "--job_name", "k3", "--files_per_task", "2", "--event_handler", str(handler)
    )
    assert result.code == 0, result.err
    with pool(url, 2):
        wait_until(lambda: not armed.exists(), 30, "the scan to reach d1/slow.txt", every=0.05)
        victim = wait_until(lambda: _busy_scan_worker(url), 10, "the worker scanning d1", every=0.05)
        os.kill(victim.pid, signal.SIGKILL)
        wait_until(lambda: pass_over(url, "k3"), 120, "the job to finish after its scan was killed", every=0.5)
    c = counts(url, "k3")
    assert c.get("failed", 0) == 0, (c, ingest.run("failures", "k3").out)
    assert c["discovered"] == 8, c
    assert c["registered"] == 8, c
    assert set(ingest.objects()) == {f"{ingest.target}/{name}" for name in files}
