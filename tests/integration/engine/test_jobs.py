"""Job control with real worker processes: periodic passes, stop, `lz-ingest worker`, plain `rq worker`."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from rq import Worker
from rq_scheduler import Scheduler

from tests.engine_fixtures import Ingest, write_tree

from .jobtools import (
    LZ_INGEST,
    RQ,
    counts,
    handler_file,
    pass_over,
    pool,
    process,
    rq_conn,
    state,
    wait_until,
)


def _journal_handler(tmp_path: Path, journal: Path, hook_sleep: float = 0.0) -> Path:
    """A handler recording pre_job / post_job (one line each) and slowing each file down."""
    return handler_file(
        tmp_path,
        f"""
        @staticmethod
        def pre_job(hdlr_mod, logger, meta):
            with open({str(journal)!r}, "a") as f:
                f.write("pre %s\\n" % meta["job_name"])

        @staticmethod
        def post_job(hdlr_mod, logger, meta):
            with open({str(journal)!r}, "a") as f:
                f.write("post %s\\n" % meta["job_name"])

        @staticmethod
        def pre_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
            time.sleep({hook_sleep})
        """,
    )


def _journal(path: Path) -> list[str]:
    return path.read_text().split("\n")[:-1] if path.exists() else []


def test_periodic_job_passes_one_at_a_time_with_post_job_each_until_stopped(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b"})
    journal = tmp_path / "journal.txt"
    handler = _journal_handler(tmp_path, journal, hook_sleep=2.0)
    url = ingest.redis_url
    result = ingest.run(
        "start", str(src), ingest.target, "-i", "2", "--job_name", "p1", "--event_handler", str(handler),
        "--files_per_task", "1",
    )  # fmt: skip
    assert result.code == 0, result.err
    shape = json.loads(ingest.run("list", "--json").out)
    assert [e["job_name"] for e in shape["periodic"]] == ["p1"]
    with pool(url, 2):
        # the first pass creates the objects; the later ones find them unchanged. Three passes: the
        # schedule must survive the passes it started itself (rq-scheduler drops it if its job is gone)
        wait_until(lambda: _journal(journal).count("post p1") >= 3, 90, "three complete passes")
        assert ingest.run("stop", "p1").code == 0
        wait_until(lambda: pass_over(url, "p1"), 30, "the pass in flight to end after stop")
        passes = int(state(url, "p1")["passes"])
        assert passes >= 3
        assert "lz-periodic-p1" not in Scheduler(connection=rq_conn(url))
        time.sleep(6)  # longer than the pool's scheduler tick and the interval: no pass starts any more
        assert int(state(url, "p1")["passes"]) == passes
    lines = _journal(journal)
    # never two passes at once: each pre_job is followed by its own post_job before the next pre_job
    assert lines == ["pre p1", "post p1"] * passes, lines
    assert state(url, "p1")["status"] == "stopped"
    shape = json.loads(ingest.run("list", "--json").out)
    assert [e["job_name"] for e in shape["stopped"]] == ["p1"]
    assert shape["periodic"] == []
    assert counts(url, "p1").get("failed", 0) == 0
    assert len(ingest.objects()) == 2


def test_lz_ingest_worker_subprocess_completes_a_job_and_stops_on_sigterm(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {f"d{i}/f{j}.txt": f"{i}{j}" for i in range(3) for j in range(4)})
    url = ingest.redis_url
    result = ingest.run("start", str(src), ingest.target, "--job_name", "w1", "--files_per_task", "3")
    assert result.code == 0, result.err
    with process([LZ_INGEST, "worker", "-c", "2"]) as proc:
        wait_until(lambda: pass_over(url, "w1"), 60, "the job to be done by `lz-ingest worker`")
        assert state(url, "w1")["status"] == "done"
        assert counts(url, "w1")["registered"] == 12
        workers = wait_until(lambda: _registered(url, 2), 30, "both workers to be registered")
        pids = [w.pid for w in workers]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    for pid in pids:
        assert not _alive(pid), f"worker process {pid} outlived `lz-ingest worker`"
    assert Worker.all(connection=rq_conn(url)) == []
    assert len(ingest.objects()) == 12


def _registered(url: str, count: int) -> list[Any] | None:
    workers = Worker.all(connection=rq_conn(url))
    return workers if len(workers) == count else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_plain_rq_worker_in_burst_mode_completes_a_job(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "sub/b.txt": "bb", "sub/deeper/c.txt": "ccc"})
    url = ingest.redis_url
    result = ingest.run("start", str(src), ingest.target, "--job_name", "rq1", "--files_per_task", "1")
    assert result.code == 0, result.err
    with process([RQ, "worker", "-u", url, "restart", "path", "file", "--burst"]) as proc:
        _, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
    assert pass_over(url, "rq1"), state(url, "rq1")
    assert counts(url, "rq1")["registered"] == 3
    assert set(ingest.objects()) == {f"{ingest.target}/{p}" for p in ("a.txt", "sub/b.txt", "sub/deeper/c.txt")}


def test_plain_rq_worker_long_running_then_terminated(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b"})
    url = ingest.redis_url
    with process([RQ, "worker", "-u", url, "restart", "path", "file"]) as proc:
        wait_until(lambda: Worker.all(connection=rq_conn(url)), 30, "rq worker to register")
        result = ingest.run("start", str(src), ingest.target, "--job_name", "rq2", "--synchronous")
        # --synchronous found a worker serving the queues: it started no pool of its own
        assert result.code == 0, result.err
        assert counts(url, "rq2")["registered"] == 2
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
        assert proc.returncode == 0
    assert len(ingest.objects()) == 2


def test_stop_skips_the_queued_batches_of_a_single_pass_job(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {f"f{i:02}.txt": str(i) for i in range(12)})
    journal = tmp_path / "journal.txt"
    handler = _journal_handler(tmp_path, journal, hook_sleep=0.3)
    url = ingest.redis_url
    args = ["--job_name", "s1", "--files_per_task", "2", "--event_handler", str(handler)]
    result = ingest.run("start", str(src), ingest.target, *args)
    assert result.code == 0, result.err
    with pool(url, 1):
        wait_until(lambda: counts(url, "s1").get("registered", 0) >= 2, 30, "the first batch to be done")
        assert ingest.run("stop", "s1").code == 0
        wait_until(lambda: pass_over(url, "s1"), 20, "the stopped pass to end")
    c = counts(url, "s1")
    assert c["pending"] == 0 and c.get("failed", 0) == 0, c
    assert 2 <= c["registered"] < 12, c
    assert len(ingest.objects()) == c["registered"]
    assert state(url, "s1")["status"] == "stopped"
    assert _journal(journal) == ["pre s1", "post s1"]  # post_job still runs once for the pass
    shape = json.loads(ingest.run("list", "--json").out)
    assert [e["job_name"] for e in shape["stopped"]] == ["s1"]
