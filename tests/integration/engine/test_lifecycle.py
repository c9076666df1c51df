"""The task lifecycle end to end: a stop at any point deletes nothing, a failing final step ends the pass,
and event batches outside any pass (tasks/events.py) count apart from the passes of their job.

A stop is placed deterministically: a handler gate in the worker blocks at a chosen point (it touches
`reached`, then waits for `released`), or the pool serves only the path queue until the scan is done.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from rq import Queue

from lz_ingest.jobs import JobStore
from lz_ingest.tasks.events import event_counts, submit_events
from tests.engine_fixtures import Ingest, write_tree

from .jobtools import client, counts, pass_over, pool, rq_conn, state, wait_until

FILES = {f"f{i}.txt": f"file {i}" for i in range(6)} | {"sub/s1.txt": "s one", "sub/deep/s2.txt": "s two"}
MODES = {"UNREGISTER": "REGISTER_SYNC", "TRASH": "PUT_SYNC"}
GEN_QUERY = 702


def gated_handler(tmp_path: Path, operation: str, delete_mode: str, gate_method: str | None = None) -> Path:
    """A handler with `operation` / `delete_mode`; with `gate_method`, that method blocks once in a worker
    process on the file f1.txt while tmp_path/gate exists (touching `reached`, until `released` exists)."""
    gate = ""
    if gate_method == "operation":
        gate = "        _gate(meta)\n"
    path = tmp_path / "handler.py"
    text = (
        "import os, time\n"
        "from irods_capability_automated_ingest.core import Core\n"
        "from irods_capability_automated_ingest.utils import DeleteMode, Operation\n\n"
        f"TEST_PID = {os.getpid()}\n"
        f"GATE = {str(tmp_path / 'gate')!r}\n\n\n"
        "def _gate(meta):\n"
        "    if os.getpid() == TEST_PID or not meta.get('path', '').endswith('/f1.txt') or not os.path.exists(GATE):\n"
        "        return\n"
        "    os.remove(GATE)\n"
        "    open(GATE + '.reached', 'w').close()\n"
        "    deadline = time.time() + 120\n"
        "    while not os.path.exists(GATE + '.released') and time.time() < deadline:\n"
        "        time.sleep(0.05)\n\n\n"
        "class event_handler(Core):\n"
        "    @staticmethod\n"
        "    def operation(session, meta, **options):\n"
        f"{gate}"
        f"        return Operation.{operation}\n\n"
        "    @staticmethod\n"
        "    def delete_mode(meta):\n"
        f"        return DeleteMode.{delete_mode}\n"
    )
    if gate_method == "pre_data_obj_modify":
        text += (
            "\n    @staticmethod\n"
            "    def pre_data_obj_modify(hdlr_mod, logger, session, meta, *args, **options):\n"
            "        _gate(meta)\n"
        )
    path.write_text(text)
    return path


def first_pass_then_changes(ingest: Ingest, tmp_path: Path, handler: Path) -> tuple[Path, set[str]]:
    """Ingest FILES, then remove f0.txt and sub/ (deletes for the next pass) and change f1.txt (a sync)."""
    src = write_tree(tmp_path / "src", FILES)
    result = ingest.rescan(src, "--job_name", "life", "--event_handler", str(handler), workers=1)
    assert result.code == 0, result.err + result.out
    before = set(ingest.objects())
    assert len(before) == len(FILES)
    (src / "f0.txt").unlink()
    shutil.rmtree(src / "sub")
    write_tree(src, {"f1.txt": "file 1, longer now"})
    return src, before


def start_second_pass(ingest: Ingest, src: Path, handler: Path) -> None:
    result = ingest.run("start", str(src), ingest.target, "--job_name", "life", "--event_handler", str(handler))
    assert result.code == 0, result.err


def stop_and_wait(ingest: Ingest) -> None:
    assert ingest.run("stop", "life").code == 0


def assert_nothing_deleted(ingest: Ingest, before: set[str]) -> None:
    url = ingest.redis_url
    wait_until(lambda: pass_over(url, "life"), 60, "the stopped pass to end")
    assert state(url, "life")["status"] == "stopped"
    assert before <= set(ingest.objects())  # the catalog holds every object it held before the pass
    c = counts(url, "life")
    assert c.get("pending") == 0, c
    assert not any(name.startswith("deleted_") for name in c), c


def release(tmp_path: Path) -> None:
    wait_until(lambda: (tmp_path / "gate.reached").exists(), 60, "a worker to reach the gate")


@pytest.mark.parametrize("mode", MODES)
def test_a_stop_during_the_scan_deletes_nothing(ingest: Ingest, tmp_path: Path, mode: str) -> None:
    handler = gated_handler(tmp_path, MODES[mode], mode, gate_method="operation")
    src, before = first_pass_then_changes(ingest, tmp_path, handler)
    (tmp_path / "gate").touch()  # the scan asks `operation` for each file: it blocks on f1.txt
    start_second_pass(ingest, src, handler)
    with pool(ingest.redis_url, 1):
        release(tmp_path)
        stop_and_wait(ingest)
        (tmp_path / "gate.released").touch()
        assert_nothing_deleted(ingest, before)


@pytest.mark.parametrize("mode", MODES)
def test_a_stop_between_the_scan_and_the_sync_deletes_nothing(ingest: Ingest, tmp_path: Path, mode: str) -> None:
    handler = gated_handler(tmp_path, MODES[mode], mode)
    src, before = first_pass_then_changes(ingest, tmp_path, handler)
    start_second_pass(ingest, src, handler)
    url = ingest.redis_url
    files = Queue("file", connection=rq_conn(url))
    with pool(url, 1, queues=("restart", "path")):  # the scan only: its sync batch stays queued
        wait_until(lambda: files.count == 1 and counts(url, "life").get("pending") == 1, 60, "the scan to end")
    stop_and_wait(ingest)
    with pool(url, 1):
        assert_nothing_deleted(ingest, before)
    assert counts(url, "life").get("updated", 0) + counts(url, "life").get("overwritten", 0) == 0  # batch skipped


@pytest.mark.parametrize("mode", MODES)
def test_a_stop_just_before_the_delete_phase_deletes_nothing(ingest: Ingest, tmp_path: Path, mode: str) -> None:
    """The last sync batch is running when the job is stopped: when it ends, the pass does not delete."""
    handler = gated_handler(tmp_path, MODES[mode], mode, gate_method="pre_data_obj_modify")
    src, before = first_pass_then_changes(ingest, tmp_path, handler)
    (tmp_path / "gate").touch()
    start_second_pass(ingest, src, handler)
    with pool(ingest.redis_url, 1):
        release(tmp_path)
        assert JobStore(rq_conn(ingest.redis_url)).counts(state(ingest.redis_url, "life")["pass_id"])["pending"] == 1
        stop_and_wait(ingest)
        (tmp_path / "gate.released").touch()
        assert_nothing_deleted(ingest, before)
    c = counts(ingest.redis_url, "life")
    assert c.get("updated", 0) + c.get("overwritten", 0) == 1, c  # the file in progress was finished


def test_a_catalog_error_while_the_delete_phase_counts_ends_the_pass(ingest: Ingest, tmp_path: Path) -> None:
    """`_object_share_refusal` cannot count the objects it would remove: the pass ends with the failure
    recorded, deletes nothing, and `rescan` (start --synchronous) returns."""
    if ingest.zone.lite is None:
        pytest.skip("needs irods-lite's fault injection")
    lite = ingest.zone.lite
    handler = gated_handler(tmp_path, "REGISTER_SYNC", "UNREGISTER")
    src, before = first_pass_then_changes(ingest, tmp_path, handler)
    start_second_pass(ingest, src, handler)
    url = ingest.redis_url
    files = Queue("file", connection=rq_conn(url))
    with pool(url, 1, queues=("restart", "path")):
        wait_until(lambda: files.count == 1 and counts(url, "life").get("pending") == 1, 60, "the scan to end")
    lite.fail_next(GEN_QUERY, 1000, -806000)  # CAT_SQL_ERR for every query from now on
    try:
        with pool(url, 1):
            wait_until(lambda: pass_over(url, "life"), 60, "the pass to end")
    finally:
        lite.faults.fail_next.clear()
    assert state(url, "life")["status"] == "done"
    failures = JobStore(rq_conn(url)).failures(state(url, "life")["pass_id"])
    assert any("delete phase failed" in f["reason"] for f in failures.values()), failures
    assert before <= set(ingest.objects())


def test_a_failing_pre_job_ends_the_pass_at_once(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    handler = tmp_path / "handler.py"
    handler.write_text(
        "from irods_capability_automated_ingest.core import Core\n\n"
        "class event_handler(Core):\n"
        "    @staticmethod\n"
        "    def pre_job(hdlr_mod, logger, meta):\n"
        "        raise RuntimeError('the instrument is not ready')\n"
    )
    started = time.monotonic()
    result = ingest.rescan(src, "--job_name", "pre", "--event_handler", str(handler), workers=1)
    assert time.monotonic() - started < 60
    assert result.code == 1
    assert "the instrument is not ready" in result.out + result.err
    assert state(ingest.redis_url, "pre")["status"] == "done"


# ---- event batches outside any pass ----------------------------------------------------------------


def test_submitted_events_sync_into_the_job_and_count_apart_from_its_passes(ingest: Ingest, tmp_path: Path) -> None:
    url = ingest.redis_url
    src = write_tree(tmp_path / "src", {"a.txt": "a", "d/b.txt": "b"})
    handler = gated_handler(tmp_path, "REGISTER_SYNC", "DO_NOT_DELETE")
    assert ingest.rescan(src, "--job_name", "life", "--event_handler", str(handler), workers=1).code == 0
    pass_counts = counts(url, "life")
    write_tree(src, {"new/c.txt": "c", "d/e.txt": "e", "a.txt": "a, changed"})
    spec = JobStore(rq_conn(url)).spec("life")
    paths = [str(src / p) for p in ("new/c.txt", "d/e.txt", "a.txt", "gone.txt", "d/b.txt")]
    task_id = submit_events(rq_conn(url), spec, paths)
    assert task_id is not None and task_id.startswith("lz-ev-")
    with pool(url, 1):
        wait_until(lambda: int(event_counts(rq_conn(url), "life").get("ingested", 0)) >= 3, 60, "the events")
        time.sleep(0.5)
    events = event_counts(rq_conn(url), "life")
    assert {k: events[k] for k in ("seen", "queued", "registered", "updated", "vanished", "skipped", "ingested")} == {
        "seen": "5",
        "queued": "5",
        "registered": "2",
        "updated": "1",
        "vanished": "1",
        "skipped": "1",
        "ingested": "3",
    }
    assert float(events["last_event"]) > time.time() - 120
    assert {f"{ingest.target}/new/c.txt", f"{ingest.target}/d/e.txt"} <= set(ingest.objects())
    assert counts(url, "life") == pass_counts  # the pass's counters are untouched
    # a reconciling rescan while the job takes events: neither refused nor wiping the event counts
    assert ingest.rescan(src, "--job_name", "life", "--event_handler", str(handler), workers=1).code == 0
    assert event_counts(rq_conn(url), "life")["ingested"] == "3"
    assert counts(url, "life").get("skipped") == 4


def test_events_of_a_stopped_job_are_not_queued(ingest: Ingest, tmp_path: Path) -> None:
    url = ingest.redis_url
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    assert ingest.rescan(src, "--job_name", "life", workers=1).code == 0
    assert ingest.run("stop", "life").code == 0
    spec = JobStore(rq_conn(url)).spec("life")
    assert submit_events(rq_conn(url), spec, [str(src / "a.txt")]) is None
    assert submit_events(rq_conn(url), spec, []) is None
    events = event_counts(rq_conn(url), "life")
    assert events["seen"] == "1" and "queued" not in events
    assert client(url).llen("rq:queue:file") == 0
