"""Jobs that tell the truth: blocked, waiting and stopped jobs as list / watch / failures show them,
waits that cannot end refused, Ctrl-C stopping the job it waits for."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from subprocess import Popen

from tests.engine_fixtures import Ingest, write_tree

from .jobtools import LZ_INGEST, counts, handler_file, lz_keys, pass_over, pool, process, state, wait_until


def _row(ingest: Ingest, job: str, *args: str) -> str:
    rows = [line for line in ingest.run("list", *args).out.splitlines() if line.split()[:1] == [job]]
    assert len(rows) == 1, rows
    return rows[0]


def _waiting_row(ingest: Ingest, job: str) -> str | None:
    row = _row(ingest, job)
    return row if row.split()[2] == "waiting" else None


def _json_entry(ingest: Ingest, job: str) -> dict[str, object]:
    shape = json.loads(ingest.run("list", "--json").out)
    found = [e for bucket in shape.values() for e in bucket if e["job_name"] == job]
    assert len(found) == 1, shape
    return found[0]


def _lines(proc: Popen[str]) -> list[str]:
    """stderr lines of a subprocess, collected by a thread as they come."""
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_a_handler_edited_under_a_periodic_job_blocks_it_with_the_reason_shown(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    handler = handler_file(tmp_path, "pass")
    url = ingest.redis_url
    args = ["start", str(src), ingest.target, "-i", "1", "--job_name", "b1", "--event_handler", str(handler)]
    assert ingest.run(*args).code == 0
    with pool(url, 1):
        wait_until(lambda: int(state(url, "b1").get("passes", 0)) >= 2 and pass_over(url, "b1"), 60, "two passes")
        handler.write_text(handler.read_text() + "# edited while the job runs\n")
        wait_until(lambda: state(url, "b1").get("status") == "blocked", 60, "the job to be blocked")
        row = _row(ingest, "b1")
        assert row.split()[2] == "blocked" and "changed since the job started" in row, row
        entry = _json_entry(ingest, "b1")
        assert entry["status"] == "blocked" and "changed since the job started" in str(entry["reason"])
        watched = ingest.run("watch", "b1")
        assert watched.code == 1 and "blocked: " in watched.err and "changed since" in watched.err, watched
        failed = ingest.run("failures", "b1")
        assert failed.code == 1 and failed.err.startswith("job b1 is blocked: handler "), failed
        assert "lz-ingest start" in failed.err  # what to do about it
        # taking up the new handler: start the job again under the same name
        passes = int(state(url, "b1")["passes"])
        assert ingest.run(*args).code == 0
        wait_until(lambda: int(state(url, "b1").get("passes", 0)) > passes + 1, 60, "passes with the new handler")
        assert state(url, "b1")["status"] != "blocked"
        assert "reason" not in state(url, "b1")
        assert ingest.run("stop", "b1").code == 0
    assert counts(url, "b1").get("failed", 0) == 0


def test_waiting_with_workers_0_and_no_worker_listening_is_refused(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    for command in (["rescan"], ["start", "--synchronous"]):
        result = ingest.run(*command, str(src), ingest.target, "--workers", "0", "--job_name", "z")
        assert result.code == 2, result
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and "--workers 0" in lines[0] and "no worker listens" in lines[0], lines
        assert lz_keys(ingest.redis_url) == []
    with pool(ingest.redis_url, 1):  # 0 stays valid when a worker listens (the benchmark relies on it)
        wait_until(lambda: _listening(ingest), 30, "the worker to listen")
        result = ingest.run("rescan", str(src), ingest.target, "--workers", "0", "--job_name", "z")
        assert result.code == 0, result.err
    assert len(ingest.objects()) == 1


def _listening(ingest: Ingest) -> bool:
    from lz_ingest.worker import active_workers

    from .jobtools import QUEUES, rq_conn

    return bool(active_workers(rq_conn(ingest.redis_url), QUEUES))


def test_start_with_no_worker_listening_warns_and_list_says_so_then_stop_freezes_elapsed(
    ingest: Ingest, tmp_path: Path
) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    result = ingest.run("start", str(src), ingest.target, "--job_name", "q1")
    assert result.code == 0
    warnings = [line for line in result.err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "no worker listens on the queues restart, path, file" in warnings[0], result.err
    row = _row(ingest, "q1")
    assert row.split()[2] == "running" and "no worker listens on restart, path, file" in row, row
    assert _json_entry(ingest, "q1")["served"] is False
    assert ingest.run("stop", "q1").code == 0
    first = _json_entry(ingest, "q1")
    assert first["status"] == "stopped"
    time.sleep(1.5)
    assert _json_entry(ingest, "q1")["elapsed_time"] == first["elapsed_time"]  # frozen at the stop
    assert _row(ingest, "q1").split()[2] == "stopped"


def test_failures_says_when_there_are_none(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    assert ingest.rescan(src, "--job_name", "ok1", workers=1).code == 0
    result = ingest.run("failures", "ok1")
    assert result.code == 0 and result.err.strip() == "no failures in the last pass of ok1", result
    assert result.out == ""  # stdout keeps only the tab-separated rows scripts read


def test_ctrl_c_on_rescan_stops_the_job_and_exits_130(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {f"f{i}.txt": str(i) for i in range(8)})
    handler = handler_file(
        tmp_path,
        """
        @staticmethod
        def pre_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
            time.sleep(1)
        """,
    )
    url = ingest.redis_url
    args = [LZ_INGEST, "rescan", str(src), ingest.target, "--job_name", "c1", "--workers", "1"]
    with process([*args, "--files_per_task", "1", "--threads", "1", "--event_handler", str(handler)]) as proc:
        wait_until(lambda: counts(url, "c1").get("registered", 0) >= 1, 90, "the first file to land")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "job c1 stopped" in err and "Traceback" not in err, err
    assert state(url, "c1")["status"] == "stopped"
    assert _row(ingest, "c1").split()[2] == "stopped"


def test_watch_follows_a_periodic_job_between_passes_until_it_is_stopped(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b"})
    url = ingest.redis_url
    assert ingest.run("start", str(src), ingest.target, "-i", "60", "--job_name", "w1").code == 0
    with pool(url, 1):
        # the schedule's first run may start a second pass right after the first: wait for the pause
        row = wait_until(lambda: _waiting_row(ingest, "w1"), 60, "the job to wait for its next pass")
        assert "next pass in" in row, row
        assert _json_entry(ingest, "w1")["next_pass_time"]
        with process([LZ_INGEST, "watch", "w1"]) as proc:
            lines = _lines(proc)
            wait_until(lambda: any("waiting, next pass in" in line for line in lines), 30, "the waiting line")
            time.sleep(1.5)
            assert proc.poll() is None, lines  # still following
            assert ingest.run("stop", "w1").code == 0
            assert proc.wait(timeout=30) == 0, lines


def test_demo_neither_calls_back_into_the_cli_nor_touches_the_environment(ingest: Ingest, tmp_path: Path) -> None:
    before = dict(os.environ)
    result = ingest.run("demo", "--dir", str(tmp_path / "demo"), "--workers", "1")
    assert result.code == 0, result.err
    assert dict(os.environ) == before
    assert "job demo: done" in result.out and "17 files discovered" in result.out, result.out
    assert result.out.count("<- ") == 17
