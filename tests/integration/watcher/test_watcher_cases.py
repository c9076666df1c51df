"""The watcher's harder cases: markers, temporary names, SIGKILL and restart, overflows, config files, after-sync
actions and notifications. Real observers, real Redis, irods-lite, real worker processes."""

from __future__ import annotations

import http.server
import json
import os
import signal
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from watchdog.observers.inotify_c import InotifyConstants, InotifyEvent, WatchDescriptor

from lz_ingest.cli_watcher import _zone_values, prepare_zone
from tests.engine_fixtures import Ingest, write_tree
from tests.integration.engine.jobtools import LZ_INGEST, handler_file, pool, wait_until

from .watchertools import SETTLE, catalog, events, job_state, output, started, wait_catalog, wait_watching, watcher

PUT_HANDLER = """
@staticmethod
def operation(session, meta, **options):
    return Operation.PUT_SYNC

@staticmethod
def max_retries(hdlr_mod, logger, meta):
    return 0

@staticmethod
def pre_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
    if os.path.basename(meta["path"]).startswith("bad"):
        raise RuntimeError("refusing " + os.path.basename(meta["path"]))
"""


def test_temporary_and_ignored_names_wait_for_their_final_name(ingest: Ingest, tmp_path: Path) -> None:
    zone = write_tree(tmp_path / "zone", {"old.part": "x", "old.bak": "x", "kept.txt": "k"})
    with watcher(ingest, zone, "temps", "--ignore", "*.bak"):
        wait_catalog(ingest, {"kept.txt"})  # the start rescan applies the same patterns
        (zone / "data.part").write_text("partial")
        (zone / ".sample.fq.Ab12Cd").write_text("rsync's half")
        (zone / "notes.bak").write_text("b")
        (zone / ".~lock.sheet#").write_text("l")
        time.sleep(float(SETTLE) * 4)
        assert set(catalog(ingest)) == {"kept.txt"}
        os.rename(zone / "data.part", zone / "data")
        os.rename(zone / ".sample.fq.Ab12Cd", zone / "sample.fq")
        wait_catalog(ingest, {"kept.txt", "data", "sample.fq"})


def test_a_complete_marker_releases_its_directory(ingest: Ingest, tmp_path: Path) -> None:
    zone = write_tree(tmp_path / "zone", {"early/a.bcl": "a"})  # found by the start rescan, unmarked
    with watcher(ingest, zone, "marker", "--complete-marker", "CopyComplete.txt"):
        run = zone / "run1"
        (run / "lane1").mkdir(parents=True)
        for i in range(5):
            (run / "lane1" / f"{i}.bcl").write_text(str(i))
        time.sleep(float(SETTLE) * 5)
        assert catalog(ingest) == {}, "files were queued before their marker"
        (run / "CopyComplete.txt").write_text("")
        wait_catalog(ingest, {f"run1/lane1/{i}.bcl" for i in range(5)} | {"run1/CopyComplete.txt"})
        (zone / "early" / "CopyComplete.txt").write_text("")
        wait_catalog(ingest, {"early/a.bcl", "early/CopyComplete.txt"}, exact=False)


def test_killed_with_sigkill_while_files_arrive_then_restarted_everything_lands_once(
    ingest: Ingest, tmp_path: Path
) -> None:
    zone = tmp_path / "zone"
    zone.mkdir()
    written: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            (zone / f"d{n % 3}").mkdir(exist_ok=True)
            (zone / f"d{n % 3}" / f"f{n}").write_text(str(n))
            written.append(f"d{n % 3}/f{n}")
            n += 1
            time.sleep(0.01)

    thread = threading.Thread(target=writer)
    with watcher(ingest, zone, "killed") as first:
        thread.start()
        wait_until(lambda: int(events(ingest, "killed").get("files_queued", 0)) > 20, 30, "files being queued")
        os.killpg(first.pid, signal.SIGKILL)  # the watcher and its workers, mid-stream
        first.wait(10)
    time.sleep(1.0)  # files keep arriving while nothing watches
    with watcher(ingest, zone, "killed"):
        time.sleep(1.0)
        stop.set()
        thread.join()
        found = wait_catalog(ingest, set(written), timeout=90)
        assert len(found) == len(written)
        with ingest.session() as s:
            replicas = [len(s.data_objects.get(f"{ingest.target}/{rel}").replicas) for rel in written[::25]]
        assert set(replicas) == {1}
        assert int(events(ingest, "killed").get("failed", 0)) == 0


def test_an_inotify_overflow_starts_a_reconciling_rescan_that_finds_lost_files(ingest: Ingest, tmp_path: Path) -> None:
    zone = tmp_path / "zone"
    zone.mkdir()
    args = ["--job_name", "overflow", "--settle", SETTLE, "--observer", "inotify"]
    with ExitStack() as stack, pool(ingest.redis_url, 2):
        z = prepare_zone(str(zone), ingest.target, _zone_values(str(zone), ingest.target, args), stack)
        z.job.register()
        z.watcher.start()
        stack.callback(z.watcher.close)
        stack.callback(z.job.release)

        def stepped(predicate: Any) -> Any:
            z.watcher.step()
            return predicate()

        wait_until(lambda: stepped(lambda: job_state(ingest, "overflow").get("status") == "watching"), 60, "watching")
        passes = int(job_state(ingest, "overflow")["passes"])
        (zone / "lost.txt").write_text("its events never reach the loop")
        time.sleep(0.5)
        while not z.watcher.sink.empty():  # what an overflow does: the events are gone
            z.watcher.sink.get()
        fd = z.watcher.observer._fd  # type: ignore[union-attr]
        fd.handle_event(InotifyEvent(WatchDescriptor(-1), InotifyConstants.IN_Q_OVERFLOW, 0, b""))
        wait_until(lambda: stepped(lambda: set(catalog(ingest)) == {"lost.txt"}), 60, "the rescan to find lost.txt")
        assert int(job_state(ingest, "overflow")["passes"]) == passes + 1
        wait_until(lambda: stepped(lambda: int(events(ingest, "overflow").get("alarms", 0)) == 1), 10, "alarm count")


def test_two_zones_from_one_config_file(ingest: Ingest, tmp_path: Path) -> None:
    one, two = (tmp_path / "one"), (tmp_path / "two")
    one.mkdir(), two.mkdir()
    config = tmp_path / "zones.yaml"
    config.write_text(
        f"defaults:\n  settle: {SETTLE}\n  redis_url: {ingest.redis_url}\n"
        "zones:\n"
        f"  - source: {one}\n    target: {ingest.target}/one\n    job_name: zone-one\n    workers: 2\n"
        f"  - source: {two}\n    target: {ingest.target}/two\n    job_name: zone-two\n"
        "    ignore: ['*.log']\n    files-per-task: 5\n"
    )
    with started([LZ_INGEST, "watcher", "--config", str(config)]) as proc:
        wait_watching(ingest, "zone-one", proc)
        wait_watching(ingest, "zone-two", proc)
        (one / "a.txt").write_text("a")
        (two / "b.txt").write_text("b")
        (two / "skip.log").write_text("l")
        wait_catalog(ingest, {"one/a.txt", "two/b.txt"})
        listed = ingest.run("list", "--json")
        assert "zone-one" in listed.out and "zone-two" in listed.out
        with started([LZ_INGEST, "watch", "zone-two"]) as follower:
            time.sleep(2.0)
            assert follower.poll() is None, output(follower)  # a watcher job is followed until it ends
            stopped = ingest.run("stop", "zone-two")
            assert stopped.code == 0
            follower.wait(30)
            assert "stopped" in output(follower) and "events: " in output(follower), output(follower)
        proc.wait(30)  # a stopped job ends the watcher process
        assert proc.returncode == 0
    assert job_state(ingest, "zone-two")["status"] == "stopped"


class _Collector(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_on_success_and_on_failure_move_files_aside_and_failures_are_notified(ingest: Ingest, tmp_path: Path) -> None:
    zone, done, failed = tmp_path / "zone", tmp_path / "done", tmp_path / "failed"
    zone.mkdir()
    handler = handler_file(tmp_path, PUT_HANDLER)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    args = ["--event_handler", str(handler), "--on-success", f"move:{done}", "--on-failure", f"move:{failed}"]
    try:
        with watcher(ingest, zone, "landing", *args, "--notify-url", url):
            (zone / "run" / "sub").mkdir(parents=True)
            (zone / "run" / "sub" / "good.txt").write_text("good data")
            (zone / "run" / "bad.txt").write_text("bad data")
            wait_catalog(ingest, {"run/sub/good.txt"})
            wait_until(lambda: (done / "run" / "sub" / "good.txt").exists(), 30, "good.txt moved to done/")
            wait_until(lambda: (failed / "run" / "bad.txt.lz-error.json").exists(), 30, "bad.txt set apart")
            wait_until(lambda: _Collector.received, 30, "the failure notification")
            assert not (zone / "run" / "sub" / "good.txt").exists() and not (zone / "run" / "bad.txt").exists()
            assert (failed / "run" / "bad.txt").read_text() == "bad data"
            report = json.loads((failed / "run" / "bad.txt.lz-error.json").read_text())
            assert "refusing bad.txt" in report["reason"]
            note = _Collector.received[0]
            assert note["event"] == "ingest_failed" and note["path"] == str(zone / "run" / "bad.txt")
            assert note["moved_to"] == str(failed / "run" / "bad.txt") and note["job"] == "landing"
            time.sleep(1.0)  # the move out of the zone deleted nothing (DO_NOT_DELETE)
            assert set(catalog(ingest)) == {"run/sub/good.txt"}
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    ("handler_body", "args", "message"),
    [
        ("", ["--on-success", "move:{zone}/done"], "lies inside the source"),
        ("", ["--on-success", "delete"], "not with REGISTER_SYNC"),
        (
            "@staticmethod\ndef operation(session, meta, **options):\n    return Operation.PUT_SYNC\n"
            "@staticmethod\ndef delete_mode(meta):\n    return DeleteMode.TRASH\n",
            ["--on-success", "move:{tmp}/done"],
            "would delete its object",
        ),
        ("", ["--on-failure", "delete"], "expected keep|move:DIR"),
    ],
)
def test_bad_combinations_are_refused_at_start_with_one_line(
    ingest: Ingest, tmp_path: Path, handler_body: str, args: list[str], message: str
) -> None:
    zone = tmp_path / "zone"
    zone.mkdir()
    handler = handler_file(tmp_path, handler_body)
    filled = [a.format(zone=zone, tmp=tmp_path) for a in args]
    result = ingest.run("watcher", str(zone), ingest.target, "--event_handler", str(handler), *filled)
    assert result.code == 2
    assert message in result.err and len(result.err.strip().splitlines()) == 1, result.err


def test_sigterm_queues_everything_seen_before_the_process_exits(ingest: Ingest, tmp_path: Path) -> None:
    zone = tmp_path / "zone"
    zone.mkdir()
    with pool(ingest.redis_url, 2), watcher(ingest, zone, "term", "--settle", "3", workers=0) as proc:
        for i in range(30):
            (zone / f"f{i}").write_text(str(i))
        wait_until(lambda: int(events(ingest, "term").get("events", 0)) >= 30, 20, "the events seen")
        proc.send_signal(signal.SIGTERM)  # well within the 3 s settle time: nothing was queued yet
        assert proc.wait(30) == 0
        counts = events(ingest, "term")
        assert int(counts.get("queued_at_exit", 0)) == 30, counts
        wait_catalog(ingest, {f"f{i}" for i in range(30)}, timeout=60)  # the pool beside it syncs them
    assert job_state(ingest, "term")["status"] == "done"
