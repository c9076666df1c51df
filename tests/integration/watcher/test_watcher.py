"""`lz-ingest watcher` end to end: a real observer on a temporary zone, real Redis, irods-lite, a worker pool."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.engine_fixtures import Ingest, write_tree
from tests.integration.engine.jobtools import wait_until
from tests.integration.engine.test_delete import handler_file

from .watchertools import catalog, events, job_state, read, replica_paths, wait_catalog, watcher, write_slowly


@pytest.mark.parametrize("observer", ["inotify", "polling"])
def test_files_landing_in_every_way_are_ingested_once_with_their_final_content(
    ingest: Ingest, tmp_path: Path, observer: str
) -> None:
    zone = write_tree(tmp_path / "zone", {"before/old.txt": "landed while no watcher ran"})
    outside = write_tree(tmp_path / "outside", {"run7/a.txt": "a", "run7/sub/b.txt": "bb"})
    with watcher(ingest, zone, "w1", "--observer", observer, "--poll-interval", "0.2"):
        wait_catalog(ingest, {"before/old.txt"})  # the start rescan found it
        writer = threading.Thread(target=write_slowly, args=(zone / "slow.bin", 50, b"x" * 1000, 5.0))
        writer.start()
        (zone / "a" / "b" / "c").mkdir(parents=True)  # mkdir -p a/b/c && touch a/b/c/f
        (zone / "a" / "b" / "c" / "f").write_text("nested")
        os.rename(outside / "run7", zone / "run7")  # prepared elsewhere, moved in full
        (zone / "report.csv.part").write_text("1,2,3")
        subprocess.run(["cp", "-r", str(zone / "run7"), str(zone / "copy")], check=True)
        writer.join()
        os.rename(zone / "report.csv.part", zone / "report.csv")
        expected = {"before/old.txt", "slow.bin", "a/b/c/f", "run7/a.txt", "run7/sub/b.txt", "report.csv"}
        expected |= {"copy/a.txt", "copy/sub/b.txt"}
        found = wait_catalog(ingest, expected, timeout=60)
        assert found["slow.bin"][0] == 50_000
        assert read(ingest, "slow.bin") == b"x" * 50_000
        assert read(ingest, "report.csv") == b"1,2,3"
        counts = events(ingest, "w1")
        assert int(counts.get("failed", 0)) == 0, counts
        # each file once: registered once by events (slow.bin was never queued while it grew)
        wait_until(lambda: int(events(ingest, "w1").get("backlog", 1)) == 0, 20, "an empty backlog")
        assert int(events(ingest, "w1").get("registered", 0)) == len(expected) - 1, events(ingest, "w1")
        assert job_state(ingest, "w1")["status"] == "watching"
    assert set(catalog(ingest)) == expected
    assert job_state(ingest, "w1")["status"] == "done"


def test_five_thousand_files_dropped_at_once_all_land_once(ingest: Ingest, tmp_path: Path) -> None:
    zone = tmp_path / "zone"
    zone.mkdir()
    staging = write_tree(tmp_path / "staging", {f"d{i % 20}/f{i}": str(i) for i in range(5000)})
    with watcher(ingest, zone, "burst", "--files_per_task", "100"):
        for d in sorted(staging.iterdir()):
            os.rename(d, zone / d.name)
        expected = {f"d{i % 20}/f{i}" for i in range(5000)}
        wait_catalog(ingest, expected, timeout=120)
        wait_until(lambda: int(events(ingest, "burst").get("backlog", 1)) == 0, 20, "an empty backlog")
        counts = events(ingest, "burst")
        assert int(counts["registered"]) == 5000, counts
        assert int(counts.get("failed", 0)) == 0
        assert int(counts["files_queued"]) == 5000, counts
        print("burst counters:", counts)
    shutil.rmtree(zone)


@pytest.mark.parametrize(
    ("operation", "mode", "observer"),
    [
        ("REGISTER_SYNC", "DO_NOT_DELETE", "inotify"),
        ("REGISTER_SYNC", "UNREGISTER", "inotify"),
        ("PUT_SYNC", "TRASH", "inotify"),
        ("PUT_SYNC", "NO_TRASH", "inotify"),
        ("REGISTER_SYNC", "UNREGISTER", "polling"),
    ],
)
def test_renames_and_deletions_follow_the_delete_mode_without_duplicates(
    ingest: Ingest, tmp_path: Path, operation: str, mode: str, observer: str
) -> None:
    names = ["keep.txt", "ren.txt", "dir1/x.txt", "dir1/y.txt", "dir1/deep/z.txt", "del.txt", "out.txt", "edit.txt"]
    zone = write_tree(tmp_path / "zone", {name: name for name in names})
    (tmp_path / "outside").mkdir()
    handler = handler_file(tmp_path, operation, mode)
    job = f"ren-{mode.lower()}-{observer}"
    with watcher(ingest, zone, job, "--event_handler", handler, "--observer", observer, "--poll-interval", "0.2"):
        wait_catalog(ingest, set(names))
        os.rename(zone / "ren.txt", zone / "renamed.txt")
        os.rename(zone / "dir1", zone / "dir2")
        (zone / "del.txt").unlink()
        os.rename(zone / "out.txt", tmp_path / "outside" / "out.txt")
        (zone / "edit.txt.tmp").write_text("edited, and longer")  # an editor's save: write aside, rename over
        os.rename(zone / "edit.txt.tmp", zone / "edit.txt")
        expected = {"keep.txt", "renamed.txt", "dir2/x.txt", "dir2/y.txt", "dir2/deep/z.txt", "edit.txt"}
        if mode == "DO_NOT_DELETE":
            expected |= {"del.txt", "out.txt"}
        wait_catalog(ingest, expected)
        wait_until(lambda: read(ingest, "edit.txt") == b"edited, and longer", 30, "the edit to be synced")
        assert read(ingest, "renamed.txt") == b"ren.txt"
        if operation == "REGISTER_SYNC":  # no replica points at a file that moved
            assert replica_paths(ingest, "renamed.txt") == [str(zone / "renamed.txt")]
            assert replica_paths(ingest, "dir2/deep/z.txt") == [str(zone / "dir2/deep/z.txt")]
        wait_until(lambda: int(events(ingest, job).get("renamed", 0)) == 2, 10, "the renames counted")
        counts = events(ingest, job)
        assert int(counts.get("failed", 0)) == 0, counts
        assert "registered" not in counts and "uploaded" not in counts, counts  # renamed, never copied
