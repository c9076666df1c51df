"""The handler's `timeout` end to end: refused at start when RQ could not use it, then each sync batch's
RQ job timeout (the longest of its files'), and a batch that runs past it fails its files, the pass ends."""

from __future__ import annotations

from pathlib import Path

from rq import Queue

from lz_ingest.jobs import JobStore
from tests.engine_fixtures import Ingest, write_tree

from .jobtools import counts, handler_file, pass_over, pool, rq_conn, state, wait_until


def test_a_bad_timeout_is_refused_at_start_in_one_line(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    handler = handler_file(tmp_path, "@staticmethod\ndef timeout(hdlr_mod, logger, meta):\n    return 'soon'\n")
    result = ingest.run("start", str(src), ingest.target, "--event_handler", str(handler))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"lz-ingest: error: {handler}:event_handler: timeout() returned 'soon'; expected a number of seconds > 0"
    ]
    assert not ingest.objects()


def test_each_batch_gets_the_longest_timeout_of_its_files(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a1.txt": "a", "a2.txt": "a", "big.txt": "b" * 100, "c.txt": "c"})
    handler = handler_file(
        tmp_path,
        "@staticmethod\n"
        "def timeout(hdlr_mod, logger, meta):\n"
        "    return 900 if meta['path'].endswith('big.txt') else 20\n",
    )
    args = ["--job_name", "t", "--files_per_task", "2", "--event_handler", str(handler)]
    assert ingest.run("start", str(src), ingest.target, *args).code == 0
    url = ingest.redis_url
    files = Queue("file", connection=rq_conn(url))
    with pool(url, 1, queues=("restart", "path")):
        wait_until(lambda: files.count == 2, 60, "the scan to queue both batches")
    timeouts = sorted(job.timeout for job in files.get_jobs())
    assert timeouts == [20, 900]  # (a1, a2) and (big, c), in the scan's name order
    with pool(url, 1):
        wait_until(lambda: pass_over(url, "t"), 60, "the pass to end")
    assert counts(url, "t")["registered"] == 4


def test_a_batch_running_past_its_timeout_fails_its_files_and_the_pass_ends(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"slow.txt": "s"})
    handler = handler_file(
        tmp_path,
        "@staticmethod\n"
        "def timeout(hdlr_mod, logger, meta):\n"
        "    return 1\n\n"
        "@staticmethod\n"
        "def pre_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):\n"
        "    time.sleep(5)\n",
    )
    args = ["--job_name", "t", "--threads", "1", "--event_handler", str(handler)]
    assert ingest.run("start", str(src), ingest.target, *args).code == 0
    url = ingest.redis_url
    with pool(url, 1):
        wait_until(lambda: pass_over(url, "t"), 60, "the pass to end")
    c = counts(url, "t")
    assert c["failed"] == 1 and c["pending"] == 0, c
    failure = JobStore(rq_conn(url)).failures(state(url, "t")["pass_id"])[str(src / "slow.txt")]
    assert failure["reason"].startswith("timed out: "), failure
    assert not ingest.objects()
