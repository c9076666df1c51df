"""Tasks queued by the previous release (pickled arguments, untracked RQ ids) meet this one's workers:
one whose arguments still load is run, one whose arguments no longer load fails with a clear reason;
neither stalls its pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
from rq import Queue

from lz_ingest.jobs import JobStore, key
from lz_ingest.model import Entry, EntryKind
from lz_ingest.tasks import bookkeeping as bk
from lz_ingest.tasks import scan
from lz_ingest.tasks.scan import SyncItem
from lz_ingest.tasks.sync import sync_task
from tests.engine_fixtures import Ingest, write_tree

from .jobtools import counts, pass_over, pool, rq_conn, state, wait_until


def enqueue_as_the_previous_release(conn: redis.Redis, pass_id: str, queue: str, args: tuple[Any, ...]) -> str:
    """What the previous release's bookkeeping.enqueue did: pickled values, a random RQ id, no tracking."""
    pipe = conn.pipeline()
    pipe.hincrby(key("counts", pass_id), "pending", 1)
    pipe.hincrby(key("counts", pass_id), "tasks", 1)
    data = Queue.prepare_data(sync_task, args=args, timeout=3600, result_ttl=0, failure_ttl=bk.TASK_FAILURE_TTL)
    [job] = Queue(queue, connection=conn).enqueue_many([data], pipeline=pipe)
    pipe.execute()
    return str(job.id)


def started(ingest: Ingest, src: Path) -> tuple[redis.Redis, str]:
    args = ["--job_name", "old", "--exclude_file_name", ".*legacy.*"]  # the scan leaves legacy.txt to the old task
    assert ingest.run("start", str(src), ingest.target, *args).code == 0
    return rq_conn(ingest.redis_url), state(ingest.redis_url, "old")["pass_id"]


def test_a_pickled_batch_of_the_previous_release_is_run(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "legacy.txt": "from before the upgrade"})
    conn, pass_id = started(ingest, src)
    st = (src / "legacy.txt").stat()
    item = SyncItem(
        Entry(str(src / "legacy.txt"), EntryKind.REGULAR, st.st_size, st.st_mtime),
        f"{ingest.target}/legacy.txt",
        None,
        (),
    )
    task = enqueue_as_the_previous_release(conn, pass_id, "file", ("old", pass_id, [item]))
    assert not task.startswith(bk.TASK_ID_PREFIX)
    with pool(ingest.redis_url, 1):
        wait_until(lambda: pass_over(ingest.redis_url, "old"), 60, "the pass to end")
    c = counts(ingest.redis_url, "old")
    assert c["registered"] == 2 and c["pending"] == 0 and c.get("failed", 0) == 0, c
    assert f"{ingest.target}/legacy.txt" in ingest.objects()


class RemovedInThisRelease:
    """A value class the previous release pickled into a task and this release no longer has."""

    def __init__(self, path: str) -> None:
        self.path = path


def test_a_batch_whose_pickle_no_longer_loads_fails_with_a_reason_and_the_pass_ends(
    ingest: Ingest, tmp_path: Path
) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "legacy.txt": "l"})
    conn, pass_id = started(ingest, src)
    RemovedInThisRelease.__module__ = scan.__name__  # pickled by reference to lz_ingest.tasks.scan...
    scan.RemovedInThisRelease = RemovedInThisRelease  # type: ignore[attr-defined]
    try:
        task = enqueue_as_the_previous_release(conn, pass_id, "file", ("old", pass_id, [RemovedInThisRelease("x")]))
    finally:
        del scan.RemovedInThisRelease  # type: ignore[attr-defined]  # ...where the workers do not find it
    with pool(ingest.redis_url, 1):
        wait_until(lambda: pass_over(ingest.redis_url, "old"), 90, "the pass to end")
    c = counts(ingest.redis_url, "old")
    assert c["registered"] == 1 and c["pending"] == 0 and c["failed"] == 1, c
    failures = JobStore(conn).failures(pass_id)
    assert list(failures) == [f"task {task}"]
    assert failures[f"task {task}"]["reason"].startswith("task failed in RQ: "), failures
    assert state(ingest.redis_url, "old")["status"] == "done"


def test_a_batch_in_a_format_this_release_cannot_read_fails_its_task_and_the_pass_ends(
    ingest: Ingest, tmp_path: Path
) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    conn, pass_id = started(ingest, src)
    newer = '{"v": 99, "kind": "sync", "data": {"what": "a later release"}}'
    bk.enqueue(conn, pass_id, "file", sync_task, [("old", pass_id, newer)])
    with pool(ingest.redis_url, 1):
        wait_until(lambda: pass_over(ingest.redis_url, "old"), 60, "the pass to end")
    c = counts(ingest.redis_url, "old")
    assert c["registered"] == 1 and c["pending"] == 0 and c["failed"] == 1, c
    [(label, failure)] = JobStore(conn).failures(pass_id).items()
    assert label.startswith(f"task {bk.TASK_ID_PREFIX}")
    assert failure["reason"] == (
        "task arguments in format 99, this lz-ingest reads format 1: they were queued by another release"
    )
