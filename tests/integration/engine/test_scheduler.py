"""Periodic passes to the second, and `lz-ingest scheduler` serving pools of plain `rq worker` processes
(periodic passes, and the task of a work horse killed mid-batch redone with exact counts)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.engine_fixtures import Ingest, write_tree

from .jobtools import LZ_INGEST, RQ, counts, handler_file, pass_over, pool, process, state, wait_until


def _journal_handler(tmp_path: Path, journal: Path, body: str = "", pass_seconds: float = 0.0) -> Path:
    """pre_job / post_job write a timestamped line each (a pass's start and end); pre_job then sleeps
    `pass_seconds`, so that each pass lasts at least that long."""
    return handler_file(
        tmp_path,
        f"""
        @staticmethod
        def pre_job(hdlr_mod, logger, meta):
            with open({str(journal)!r}, "a") as f:
                f.write("pre %f\\n" % time.time())
            time.sleep({pass_seconds})

        @staticmethod
        def post_job(hdlr_mod, logger, meta):
            with open({str(journal)!r}, "a") as f:
                f.write("post %f\\n" % time.time())
        {body}
        """,
    )


def _passes(journal: Path) -> list[tuple[str, float]]:
    lines = journal.read_text().split("\n")[:-1] if journal.exists() else []
    return [(event, float(when)) for event, when in (line.split() for line in lines)]


def test_interval_of_one_second_starts_a_pass_every_second_never_two_at_once(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    journal = tmp_path / "journal.txt"
    handler = _journal_handler(tmp_path, journal)
    started = ingest.run("start", str(src), ingest.target, "-i", "1", "--job_name", "fast", "--event_handler",
                         str(handler))  # fmt: skip
    assert started.code == 0, started.err
    with pool(ingest.redis_url, 2):
        wait_until(lambda: [e for e, _ in _passes(journal)].count("post") >= 6, 60, "six passes")
        assert ingest.run("stop", "fast").code == 0
        wait_until(lambda: pass_over(ingest.redis_url, "fast"), 30, "the last pass to end")
    events = _passes(journal)
    assert [e for e, _ in events] == ["pre", "post"] * (len(events) // 2)  # never two passes at once
    starts = [when for event, when in events if event == "pre"]
    # the first gap holds the pool's start-up; then one a second (the worker's 5 s upkeep tick used to space
    # them 5 s apart), give or take the tick
    gaps = [b - a for a, b in zip(starts[1:], starts[2:], strict=False)]
    assert max(gaps) < 2.5, gaps
    assert sum(gaps) / len(gaps) < 1.6, gaps


def test_a_pass_longer_than_the_interval_delays_the_next_never_skips_or_overlaps_it(
    ingest: Ingest, tmp_path: Path
) -> None:
    """-i 3 with passes of about 4 s: each next pass starts right after the previous one ends (delayed, not
    dropped until the next period finds the job idle, 2 s later), and never two at once."""
    src = write_tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b"})
    journal = tmp_path / "journal.txt"
    handler = _journal_handler(tmp_path, journal, pass_seconds=4.0)
    started = ingest.run("start", str(src), ingest.target, "-i", "3", "--job_name", "slow", "--event_handler",
                         str(handler))  # fmt: skip
    assert started.code == 0, started.err
    with pool(ingest.redis_url, 2):
        wait_until(lambda: [e for e, _ in _passes(journal)].count("post") >= 3, 90, "three passes")
        assert ingest.run("stop", "slow").code == 0
        wait_until(lambda: pass_over(ingest.redis_url, "slow"), 30, "the last pass to end")
    events = _passes(journal)
    assert [e for e, _ in events] == ["pre", "post"] * (len(events) // 2)  # never two passes at once
    ends = [when for event, when in events if event == "post"]
    starts = [when for event, when in events if event == "pre"]
    lengths = [b - a for a, b in zip(starts, ends, strict=False)]
    assert min(lengths) > 3.0, lengths  # each pass outlasted the interval
    waits = [b - a for a, b in zip(ends, starts[1:], strict=False)]
    assert max(waits) < 1.0, (waits, lengths)  # the delayed pass starts as soon as the previous one ends


def test_plain_rq_workers_with_the_scheduler_run_a_periodic_job(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "sub/b.txt": "b"})
    journal = tmp_path / "journal.txt"
    handler = _journal_handler(tmp_path, journal)
    url = ingest.redis_url
    started = ingest.run("start", str(src), ingest.target, "-i", "2", "--job_name", "plain", "--event_handler",
                         str(handler))  # fmt: skip
    assert started.code == 0, started.err
    with (
        process([RQ, "worker", "-u", url, "restart", "path", "file"]),
        process([LZ_INGEST, "scheduler", "--redis-url", url]),
    ):
        wait_until(lambda: [e for e, _ in _passes(journal)].count("post") >= 3, 90, "three passes")
        assert ingest.run("stop", "plain").code == 0
        wait_until(lambda: pass_over(url, "plain"), 30, "the last pass to end")
    assert int(state(url, "plain")["passes"]) >= 3
    assert counts(url, "plain").get("failed", 0) == 0
    assert len(ingest.objects()) == 2


KILL_ONCE = """
@staticmethod
def pre_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
    if meta["path"].endswith("f3.txt") and not os.path.exists({marker!r}):
        open({marker!r}, "w").close()
        os.kill(os.getpid(), 9)  # the work horse dies in the middle of its batch
"""


def test_a_killed_work_horse_of_a_plain_rq_worker_has_its_batch_redone(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {f"f{i}.txt": str(i) for i in range(6)})
    marker = tmp_path / "killed-once"
    handler = handler_file(tmp_path, KILL_ONCE.format(marker=str(marker)))
    url = ingest.redis_url
    args = ["--job_name", "killed", "--event_handler", str(handler), "--files_per_task", "6", "--threads", "1"]
    assert ingest.run("start", str(src), ingest.target, *args).code == 0
    with (
        process([RQ, "worker", "-u", url, "restart", "path", "file"]),
        process([LZ_INGEST, "scheduler", "--redis-url", url]),
    ):
        wait_until(lambda: pass_over(url, "killed"), 90, "the pass to end after the work horse was killed")
    assert marker.exists()
    c = counts(url, "killed")
    assert c["registered"] == 6 and c.get("failed", 0) == 0 and c["pending"] == 0, c
    assert len(ingest.objects()) == 6


def test_redis_url_prints_the_url_plain_rq_tools_take(ingest: Ingest) -> None:
    shown = ingest.run("redis-url", "--redis-url", ingest.redis_url)
    assert shown.code == 0 and shown.out.strip().startswith("redis://127.0.0.1:")
    before = time.time()
    assert ingest.run("redis-url").out.strip() == shown.out.strip()  # from LZ_INGEST_REDIS_URL as well
    assert time.time() - before < 30
