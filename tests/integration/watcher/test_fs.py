"""Real watchdog observers on temporary directories: events, moves, an overflow, a failed watch."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from watchdog.observers.inotify_c import InotifyConstants, InotifyEvent, WatchDescriptor

from lz_ingest.watcher.events import FsEvent, Kind
from lz_ingest.watcher.fs import Alarm, Item, ObserverKind, files_below, start_observer


def _collect(sink: queue.SimpleQueue[Item], until: object, timeout: float = 5.0) -> list[Item]:
    got: list[Item] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and until not in got:
        try:
            got.append(sink.get(timeout=0.1))
        except queue.Empty:
            pass
    return got


@pytest.mark.parametrize("kind", [ObserverKind.INOTIFY, ObserverKind.POLLING])
def test_moves_within_into_and_out_of_the_zone_are_told_apart(tmp_path: Path, kind: ObserverKind) -> None:
    zone, outside = tmp_path / "zone", tmp_path / "outside"
    zone.mkdir(), outside.mkdir()
    (zone / "a.part").write_text("x")
    (zone / "gone").write_text("x")
    (outside / "run1").mkdir()
    (outside / "run1" / "f").write_text("x")
    sink: queue.SimpleQueue[Item] = queue.SimpleQueue()
    observer, _ = start_observer(str(zone), sink, kind, poll_interval=0.2)
    try:
        os.rename(zone / "a.part", zone / "a")
        os.rename(zone / "gone", outside / "gone")
        os.rename(outside / "run1", zone / "run1")
        got = _collect(
            sink, FsEvent(Kind.MOVED_IN if kind is ObserverKind.INOTIFY else Kind.CREATED, str(zone / "run1"), True)
        )
        got += _collect(sink, None, timeout=1.0)
    finally:
        observer.stop()
        observer.join()
    assert FsEvent(Kind.MOVED, str(zone / "a.part"), False, str(zone / "a")) in got
    out_kinds = {e.kind for e in got if isinstance(e, FsEvent) and e.path == str(zone / "gone")}
    assert out_kinds & {Kind.MOVED_OUT, Kind.DELETED}
    assert files_below(str(zone / "run1")) == [str(zone / "run1" / "f")]


def test_an_inotify_queue_overflow_becomes_a_rescan_alarm(tmp_path: Path) -> None:
    sink: queue.SimpleQueue[Item] = queue.SimpleQueue()
    observer, _ = start_observer(str(tmp_path), sink, ObserverKind.INOTIFY)
    try:
        # the kernel's own overflow record (wd -1), fed to the real descriptor's dispatch
        observer._fd.handle_event(InotifyEvent(WatchDescriptor(-1), InotifyConstants.IN_Q_OVERFLOW, 0, b""))  # type: ignore[attr-defined]
        got = _collect(sink, None, timeout=0.5)
        (tmp_path / "after").write_text("x")  # watches were rebuilt: events still arrive
        got += _collect(sink, FsEvent(Kind.CREATED, str(tmp_path / "after"), False))
    finally:
        observer.stop()
        observer.join()
    assert Alarm(str(tmp_path), "events may be lost: inotify queue overflow, rescan this tree") in got
    assert FsEvent(Kind.CREATED, str(tmp_path / "after"), False) in got


_LIMITED = """
import queue, sys, time
from lz_ingest.watcher.fs import Alarm, ObserverKind, start_observer
sink = queue.SimpleQueue()
observer, kind = start_observer(sys.argv[1], sink, ObserverKind.INOTIFY)
time.sleep(0.5)
observer.stop(); observer.join()
while not sink.empty():
    item = sink.get()
    if isinstance(item, Alarm):
        print(item.reason)
"""


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare for a user namespace")
def test_a_subdirectory_beyond_the_watch_limit_is_reported(tmp_path: Path) -> None:
    for name in "abcdef":
        (tmp_path / name).mkdir()
    # a user namespace of our own, whose inotify watch limit (ucounts) we may lower to 3
    script = f'echo 3 > /proc/sys/user/max_inotify_watches && exec {sys.executable} -c "$0" {tmp_path}'
    done = subprocess.run(["unshare", "-Ur", "sh", "-c", script, _LIMITED], capture_output=True, text=True, timeout=60)
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"no user namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    reasons = done.stdout.splitlines()
    assert len(reasons) == 4  # root + 2 subdirectories fit under 3 watches; 4 of 6 do not
    assert all("fs.inotify.max_user_watches" in r and "cannot watch" in r for r in reasons)
