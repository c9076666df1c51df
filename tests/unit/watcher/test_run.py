"""The watcher loop's decisions with plain values: events fed by hand, a hand-moved clock, recording seams."""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from lz_ingest.cli_watcher import _as_args, check_landing, load_config
from lz_ingest.errors import ConfigError
from lz_ingest.model import DeleteMode, Operation
from lz_ingest.sources.filters import ScanOptions, compile_patterns
from lz_ingest.watcher.events import FsEvent, Kind
from lz_ingest.watcher.fs import WATCH_LIMIT_HINT, Alarm, ObserverKind
from lz_ingest.watcher.ignore import exclude_patterns, ignore_rule
from lz_ingest.watcher.landing import parse_action
from lz_ingest.watcher.run import ZoneConfig, ZoneWatcher, excluded


class Recorder:
    """Submit, Changes and Control at once, recording every call."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[str], bool]] = []
        self.calls: list[tuple[str, ...]] = []
        self.busy: set[str] = set()
        self.running = False
        self.rescans = 0

    def sync(self, paths: list[str], settled: bool = True) -> None:
        self.batches.append((list(paths), settled))

    def in_flight(self, paths: list[str]) -> set[str]:
        return self.busy & set(paths)

    def rename(self, src: str, dest: str, is_directory: bool) -> str:
        self.calls.append(("rename", src, dest, str(is_directory)))
        return "renamed"

    def delete(self, path: str, is_directory: bool) -> str:
        self.calls.append(("delete", path, str(is_directory)))
        return "deleted_trash"

    def start_rescan(self) -> bool:
        self.rescans += 1
        return True

    def rescan_running(self) -> bool:
        return self.running

    def stopped(self) -> bool:
        return False

    def heartbeat(self, counts: Counter[str], backlog: int, last_event: float, observer: str) -> None:
        pass

    def queued(self) -> list[str]:
        return [p for batch, _ in self.batches for p in batch]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _zone(tmp_path: Path, **config: object) -> tuple[ZoneWatcher, Recorder, Clock]:
    rec, clock = Recorder(), Clock()
    options = {"settle_seconds": 1.0, "files_per_task": 3, **config}
    zone = ZoneWatcher(ZoneConfig(root=str(tmp_path), **options), rec, rec, rec, clock=clock)  # type: ignore[arg-type]
    return zone, rec, clock


def _settle(zone: ZoneWatcher, clock: Clock, seconds: float = 1.5) -> None:
    for _ in range(int(seconds / 0.25)):
        clock.now += 0.25
        zone.step()


def test_a_burst_of_events_on_one_path_is_one_queued_file(tmp_path: Path) -> None:
    zone, rec, clock = _zone(tmp_path)
    (tmp_path / "f").write_text("x")
    for kind in (Kind.CREATED, Kind.MODIFIED, Kind.MODIFIED, Kind.CLOSED):
        zone.handle(FsEvent(kind, str(tmp_path / "f"), False))
    zone.step()
    assert rec.batches == []  # seen once, not settled yet
    _settle(zone, clock)
    assert rec.queued() == [str(tmp_path / "f")]


def test_a_file_still_growing_waits_and_batches_hold_files_per_task(tmp_path: Path) -> None:
    zone, rec, clock = _zone(tmp_path)
    paths = [tmp_path / f"f{i}" for i in range(7)]
    for p in paths:
        p.write_text("x")
        zone.handle(FsEvent(Kind.CREATED, str(p), False))
    zone.step()
    clock.now += 0.6
    with open(paths[0], "a") as f:
        f.write("more")  # a change the next look sees: its wait starts again
    os.utime(paths[0], ns=(1, 1))
    _settle(zone, clock, 0.75)
    assert str(paths[0]) not in rec.queued()
    assert [len(b) for b, _ in rec.batches] == [3, 3]
    _settle(zone, clock, 1.5)
    assert sorted(rec.queued()) == sorted(map(str, paths))


def test_a_path_whose_earlier_batch_still_runs_is_held_back(tmp_path: Path) -> None:
    zone, rec, clock = _zone(tmp_path)
    (tmp_path / "f").write_text("x")
    rec.busy.add(str(tmp_path / "f"))
    zone.handle(FsEvent(Kind.CREATED, str(tmp_path / "f"), False))
    _settle(zone, clock)
    assert rec.queued() == []
    rec.busy.clear()
    _settle(zone, clock, 3.0)
    assert rec.queued() == [str(tmp_path / "f")]


def test_stopping_queues_what_is_still_settling_for_the_worker_to_wait_on(tmp_path: Path) -> None:
    zone, rec, clock = _zone(tmp_path)
    (tmp_path / "settled").write_text("x")
    zone.handle(FsEvent(Kind.CREATED, str(tmp_path / "settled"), False))
    _settle(zone, clock)
    (tmp_path / "fresh").write_text("x")
    zone.handle(FsEvent(Kind.CREATED, str(tmp_path / "fresh"), False))
    zone.close()
    assert rec.batches == [([str(tmp_path / "settled")], True), ([str(tmp_path / "fresh")], False)]


def test_moves_temporary_names_and_deletions(tmp_path: Path) -> None:
    zone, rec, clock = _zone(tmp_path)
    (tmp_path / "final").write_text("x")
    (tmp_path / "b").write_text("x")
    zone.handle(FsEvent(Kind.MOVED, str(tmp_path / "final.part"), False, str(tmp_path / "final")))
    zone.handle(FsEvent(Kind.MOVED, str(tmp_path / "a"), False, str(tmp_path / "b")))
    zone.handle(FsEvent(Kind.DELETED, str(tmp_path / "gone"), False))
    zone.handle(FsEvent(Kind.DELETED, str(tmp_path / "x.tmp"), False))  # never ingested: nothing to delete
    zone.handle(FsEvent(Kind.DELETED, str(tmp_path / "b"), False))  # exists again: replaced, not deleted
    assert rec.calls == [
        ("rename", str(tmp_path / "a"), str(tmp_path / "b"), "False"),
        ("delete", str(tmp_path / "gone"), "False"),
    ]
    _settle(zone, clock)
    assert sorted(rec.queued()) == [str(tmp_path / "b"), str(tmp_path / "final")]


def test_a_directory_whose_files_were_reported_moved_first_is_renamed_once(tmp_path: Path) -> None:
    zone, rec, clock = _zone(tmp_path)
    (tmp_path / "new" / "deep").mkdir(parents=True)
    (tmp_path / "new" / "deep" / "f").write_text("x")
    zone.handle(FsEvent(Kind.MOVED, str(tmp_path / "old/deep/f"), False, str(tmp_path / "new/deep/f")))
    assert rec.calls == [("rename", str(tmp_path / "old"), str(tmp_path / "new"), "True")]
    _settle(zone, clock)
    assert rec.queued() == [str(tmp_path / "new" / "deep" / "f")]


def test_a_new_directory_is_walked_and_a_marker_releases_it(tmp_path: Path) -> None:
    zone, rec, clock = _zone(tmp_path, complete_marker="RTAComplete.txt")
    (tmp_path / "run" / "a" / "b").mkdir(parents=True)
    (tmp_path / "run" / "a" / "b" / "f").write_text("x")  # no event of its own: it predates the watch
    zone.handle(FsEvent(Kind.CREATED, str(tmp_path / "run"), True))
    _settle(zone, clock)
    assert rec.queued() == []
    (tmp_path / "run" / "RTAComplete.txt").write_text("")
    zone.handle(FsEvent(Kind.CREATED, str(tmp_path / "run" / "RTAComplete.txt"), False))
    _settle(zone, clock)
    assert sorted(rec.queued()) == [str(tmp_path / "run" / "RTAComplete.txt"), str(tmp_path / "run/a/b/f")]


def test_rescans_at_start_on_alarms_and_never_two_at_once(tmp_path: Path) -> None:
    zone, rec, clock = _zone(tmp_path, reconcile_interval=60.0)
    zone.step()
    assert rec.rescans == 1
    rec.running = True
    zone.handle(Alarm(str(tmp_path), "inotify queue overflow"))
    _settle(zone, clock, 3.0)
    assert rec.rescans == 1  # one is running: the alarm's waits for it
    rec.running = False
    _settle(zone, clock, 1.5)
    assert rec.rescans == 2
    clock.now += 61
    zone.step()
    assert rec.rescans == 3


def test_excludes_apply_to_the_path_and_every_directory_above_it() -> None:
    options = ScanOptions(
        exclude_file_name=compile_patterns([r".*\.log$"], "x"),
        exclude_directory_name=compile_patterns([r".*/scratch$"], "x"),
    )
    assert excluded("/z/a/b.log", "/z", options)
    assert excluded("/z/scratch/deep/f", "/z", options)
    assert not excluded("/z/scratchpad/f", "/z", options)
    assert excluded("/z/scratch", "/z", options, directory=True)


def test_ignore_rules_become_exclude_patterns_matching_the_same_names() -> None:
    rule = ignore_rule(["*.bak", "sub/*.x"])
    patterns = [re.compile(p) for p in exclude_patterns(rule, "/z")]
    for path in ["/z/a.part", "/z/a", "/z/.~lock", "/z/.f.abc123", "/z/d/x.bak", "/z/sub/q.x", "/z/x.partx", "/z/.h/f"]:
        assert any(p.match(path) for p in patterns) == rule.ignores(path, "/z"), path


def test_after_ingest_options_and_their_refused_combinations(tmp_path: Path) -> None:
    assert str(parse_action("move:/done", "--on-success", ("keep", "delete", "move"))) == "move:/done"
    with pytest.raises(ConfigError, match="expected keep|move:DIR"):
        parse_action("delete", "--on-failure", ("keep", "move"))
    values = {"on_success": f"move:{tmp_path}/inside", "on_failure": "keep"}
    with pytest.raises(ConfigError, match="inside the source"):
        check_landing(values, str(tmp_path), Operation.PUT_SYNC, DeleteMode.DO_NOT_DELETE)
    values = {"on_success": "delete", "on_failure": "keep"}
    with pytest.raises(ConfigError, match="REGISTER_AS_REPLICA_SYNC"):
        check_landing(values, str(tmp_path), Operation.REGISTER_AS_REPLICA_SYNC, DeleteMode.DO_NOT_DELETE)
    with pytest.raises(ConfigError, match="NO_TRASH"):
        check_landing(values, str(tmp_path), Operation.PUT_SYNC, DeleteMode.NO_TRASH)
    check_landing(values, str(tmp_path), Operation.PUT, DeleteMode.DO_NOT_DELETE)


def test_config_zones_become_command_lines(tmp_path: Path) -> None:
    config = tmp_path / "zones.yaml"
    config.write_text(
        "defaults: {settle: 1}\nzones:\n  - {source: /a, target: /z/a, ignore: ['*.x', '*.y'], checksum: true}\n"
    )
    assert load_config(str(config)) == [
        ("/a", "/z/a", ["--settle", "1", "--ignore", "*.x", "--ignore", "*.y", "--checksum"])
    ]
    assert _as_args({"files_per_task": 5, "dry_run": False}) == ["--files-per-task", "5"]
    config.write_text("zones: []\n")
    with pytest.raises(ConfigError, match="non-empty list"):
        load_config(str(config))
    config.write_text("zones:\n  - {source: /a}\n")
    with pytest.raises(ConfigError, match="zone 1 needs"):
        load_config(str(config))


def test_auto_falls_back_to_polling_when_a_directory_is_beyond_the_watch_limit(tmp_path: Path) -> None:
    zone, rec, clock = _zone(tmp_path, observer=ObserverKind.AUTO, poll_interval=0.1)
    zone.start()
    try:
        assert zone.kind is ObserverKind.INOTIFY
        (tmp_path / "sub").mkdir()
        zone.handle(Alarm(str(tmp_path / "sub"), f"cannot watch {tmp_path}/sub: No space left ({WATCH_LIMIT_HINT})"))
        assert zone.kind is ObserverKind.POLLING
        (tmp_path / "sub" / "f").write_text("x")
        deadline = time.monotonic() + 10
        while str(tmp_path / "sub" / "f") not in rec.queued() and time.monotonic() < deadline:
            time.sleep(0.05)
            clock.now += 0.25
            zone.step()
        assert rec.queued() == [str(tmp_path / "sub" / "f")]
    finally:
        zone.close()
