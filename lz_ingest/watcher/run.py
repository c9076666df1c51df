"""The watcher's loop: observer events -> ignore rules -> settle -> batches -> Submit.

One ZoneWatcher per zone, all stepped by one thread (`run`). Watchdog's threads only queue. A
directory that appears (created, moved in, copied) is walked at once, since files made before its
watch was in place produce no event. An alarm (an inotify overflow, a watch that could not be
added) starts a reconciling rescan, as does the watcher's start and its --reconcile-interval
timer; never two at once. On stop everything seen is queued: files still settling go with
`settled=False`, so the worker waits for them itself.
"""

from __future__ import annotations

import os
import queue
import re
import stat as stat_module
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from watchdog.observers.api import BaseObserver

from ..sources.filters import ScanOptions
from .events import FsEvent, Kind
from .fs import WATCH_LIMIT_HINT, Alarm, Item, ObserverKind, files_below, start_observer
from .ignore import IgnoreRule, is_marker, marker_candidates
from .settle import Settler, Stat, batches

log = structlog.get_logger("lz_ingest.watcher")
FLUSH_DELAY = 0.1  # seconds a settled file waits for others to share its batch
BUSY_RETRY = 1.0  # seconds before a path whose earlier batch is still running is looked at again
DRAIN_LIMIT = 5000  # events handled per step, so that settled files are not starved by a flood
STATE_EVERY = 1.0  # seconds between looks at the job's state and heartbeats


class Submit(Protocol):
    """Where settled files go: one sync batch of source paths outside any pass."""

    def sync(self, paths: list[str], settled: bool = True) -> None: ...

    def in_flight(self, paths: list[str]) -> set[str]: ...


class Changes(Protocol):
    """Renames and deletions applied to the catalog (see changes.py)."""

    def rename(self, src: str, dest: str, is_directory: bool) -> str: ...

    def delete(self, path: str, is_directory: bool) -> str: ...


class Control(Protocol):
    """The watcher's job: reconciling passes, stop requests, heartbeat and counters."""

    def start_rescan(self) -> bool: ...

    def rescan_running(self) -> bool: ...

    def stopped(self) -> bool: ...

    def heartbeat(self, counts: Counter[str], backlog: int, last_event: float, observer: str) -> None: ...


@dataclass(frozen=True)
class ZoneConfig:
    """What the loop needs to know about one zone."""

    root: str
    settle_seconds: float = 2.0
    files_per_task: int = 50
    observer: ObserverKind = ObserverKind.AUTO
    poll_interval: float = 1.0
    ignore: IgnoreRule = IgnoreRule()
    reconcile_interval: float = 3600.0
    complete_marker: str | None = None
    excludes: ScanOptions = ScanOptions()


class ZoneWatcher:
    """One zone's events, settle state, ready batch and rescan timer; stepped by `run`."""

    def __init__(
        self,
        config: ZoneConfig,
        submit: Submit,
        changes: Changes,
        control: Control,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config, self.submit, self.changes, self.control, self.clock = config, submit, changes, control, clock
        self.root = config.root.rstrip(os.sep) or os.sep
        self.sink: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self.settler = Settler(config.settle_seconds)
        self.ready: dict[str, None] = {}  # settled, not queued yet (ordered)
        self.ready_since = 0.0
        self.counts: Counter[str] = Counter()
        self.last_event = 0.0
        self.rescan_reason: str | None = "start"  # a reconciling rescan is due for this reason
        self.next_reconcile = self.clock() + config.reconcile_interval
        self.next_state = 0.0
        self.stop_requested = False
        self.observer: BaseObserver | None = None
        self.kind: ObserverKind | None = None

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self.observer, self.kind = start_observer(self.root, self.sink, self.config.observer, self.config.poll_interval)
        log.info("watching", root=self.root, observer=self.kind.value, settle_seconds=self.config.settle_seconds)

    def close(self) -> None:
        """Stop observing and queue everything seen: settled files as they are, the rest for the worker to wait on."""
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(timeout=10)
        self._drain(limit=None)
        now = self.clock()
        for path in list(self.settler.due(float("inf"))):
            self._look(path, now)
        self._flush(force=True)
        pending = [p for p in list(self._pending_paths()) if p not in self.ready]
        for batch in batches(pending, self.config.files_per_task):
            self.submit.sync(batch, settled=False)
        self.counts["queued_at_exit"] += len(pending)
        self._heartbeat()

    def _pending_paths(self) -> list[str]:
        paths: list[str] = []
        while True:
            due = self.settler.next_due()
            if due is None:
                return paths
            for path in self.settler.due(due):
                paths.append(path)
                self.settler.forget(path)

    def backlog(self) -> int:
        return len(self.settler) + len(self.ready)

    # ---- one step -------------------------------------------------------------------------------

    def step(self) -> None:
        self._drain(DRAIN_LIMIT)
        now = self.clock()
        for path in list(self.settler.due(now)):
            self._look(path, now)
        self._flush(force=False)
        if now >= self.next_state:
            self.next_state = now + STATE_EVERY
            self.stop_requested = self.control.stopped()
            self._reconcile(now)
            self._heartbeat()

    def _drain(self, limit: int | None) -> None:
        handled = 0
        while limit is None or handled < limit:
            try:
                item = self.sink.get_nowait()
            except queue.Empty:
                return
            handled += 1
            self.handle(item)

    def handle(self, item: Item) -> None:
        if isinstance(item, Alarm):
            self._alarm(item)
            return
        self.counts["events"] += 1
        self.last_event = time.time()
        if item.kind in (Kind.CREATED, Kind.MODIFIED, Kind.CLOSED, Kind.MOVED_IN):
            if item.is_directory:
                self._walk(item.path)  # a new directory: its early files had no watch yet
            else:
                self._touch(item.path)
        elif item.kind is Kind.MOVED:
            self._moved(item)
        elif item.kind in (Kind.DELETED, Kind.MOVED_OUT):
            self._gone(item.path, item.is_directory)

    # ---- events ---------------------------------------------------------------------------------

    def _alarm(self, alarm: Alarm) -> None:
        log.warning("events_may_be_lost", path=alarm.path, reason=alarm.reason, action="reconciling rescan")
        self.counts["alarms"] += 1
        self.rescan_reason = alarm.reason
        if WATCH_LIMIT_HINT in alarm.reason and self.config.observer is ObserverKind.AUTO:
            self._fall_back_to_polling(alarm)
        if alarm.path != self.root and os.path.isdir(alarm.path):
            self._walk(alarm.path)  # what is there now is found at once; the rescan reconciles the rest

    def _fall_back_to_polling(self, alarm: Alarm) -> None:
        """auto: a directory beyond the inotify watch limit would go unwatched; poll the whole zone instead."""
        if self.kind is not ObserverKind.INOTIFY or self.observer is None:
            return
        log.warning("observer_fallback", root=self.root, to="polling", reason=alarm.reason, hint=WATCH_LIMIT_HINT)
        self.observer.stop()
        self.observer.join(timeout=10)
        self.observer, self.kind = start_observer(self.root, self.sink, ObserverKind.POLLING, self.config.poll_interval)

    def _touch(self, path: str) -> None:
        if self.skips(path):
            return
        if is_marker(path, self.config.complete_marker):
            self._walk(os.path.dirname(path), marker=False)  # the directory is complete: release its files
        self.ready.pop(path, None)
        self.settler.touch(path, self.clock())

    def _walk(self, directory: str, marker: bool = True) -> None:
        if self.skips(directory, directory=True):
            return
        for path in files_below(directory):
            if marker or not is_marker(path, self.config.complete_marker):
                self._touch(path)
            else:
                self.settler.touch(path, self.clock())

    def _moved(self, event: FsEvent) -> None:
        src, dest = event.path, event.current_path
        if event.is_directory:
            self._forget(src, directory=True)
            self.counts[self.changes.rename(src, dest, True)] += 1
            self._walk(dest)
            return
        moved_directory = self._moved_directory(src, dest)
        if moved_directory is not None:  # the polling observer reports a directory's files moved before it
            self._moved(FsEvent(Kind.MOVED, moved_directory[0], True, moved_directory[1]))
            return
        self._forget(src, directory=False)
        src_skipped, dest_skipped = self.skips(src), self.skips(dest)
        if dest_skipped:
            if not src_skipped:
                self.counts[self.changes.delete(src, False)] += 1
            return
        if not src_skipped:  # a temporary name renamed to its final one is just a new file
            self.counts[self.changes.rename(src, dest, False)] += 1
        self._touch(dest)

    def _moved_directory(self, src: str, dest: str) -> tuple[str, str] | None:
        """The directory rename a file's move belongs to (same relative name below two directories, the old
        one gone), or None for a file moved on its own."""
        old, new = os.path.dirname(src), os.path.dirname(dest)
        if old == new or os.path.basename(src) != os.path.basename(dest):
            return None
        while os.path.basename(old) == os.path.basename(new) and len(old) > len(self.root) < len(new):
            old, new = os.path.dirname(old), os.path.dirname(new)
        if len(old) <= len(self.root) or len(new) <= len(self.root) or os.path.lexists(old):
            return None
        return (old, new) if os.path.isdir(new) else None

    def _gone(self, path: str, directory: bool) -> None:
        if os.path.lexists(path):  # replaced since (a save-by-rename the polling observer saw as delete + create)
            if os.path.isdir(path):
                self._walk(path)
            else:
                self._touch(path)
            return
        self._forget(path, directory)
        if self.skips(path, directory=directory):
            return
        self.counts[self.changes.delete(path, directory)] += 1

    def _forget(self, path: str, directory: bool) -> None:
        self.settler.forget(path)
        self.ready.pop(path, None)
        if directory:
            self.settler.forget_under(path)
            prefix = path.rstrip(os.sep) + os.sep
            for ready in [p for p in self.ready if p.startswith(prefix)]:
                del self.ready[ready]

    # ---- rules ----------------------------------------------------------------------------------

    def skips(self, path: str, directory: bool = False) -> bool:
        """Temporary names, --ignore patterns and the job's excludes (on the path and its directories)."""
        if path == self.root:
            return False
        if not directory and self.config.ignore.ignores(path, self.root):
            return True
        return excluded(path, self.root, self.config.excludes, directory)

    def _released(self, path: str) -> bool:
        marker = self.config.complete_marker
        if marker is None or is_marker(path, marker):
            return True
        return any(os.path.exists(c) for c in marker_candidates(path, self.root, marker))

    # ---- settle and queue -----------------------------------------------------------------------

    def _look(self, path: str, now: float) -> None:
        try:
            st = os.lstat(path)
        except OSError:
            self.settler.looked(path, None, now)
            return
        if stat_module.S_ISDIR(st.st_mode):
            self.settler.forget(path)
            return
        if self.settler.looked(path, Stat(st.st_size, st.st_mtime_ns), now):
            if self._released(path):
                if not self.ready:
                    self.ready_since = now
                self.ready[path] = None
            else:
                self.counts["waiting_for_marker"] += 1

    def _flush(self, force: bool) -> None:
        if not self.ready:
            return
        full = len(self.ready) >= self.config.files_per_task
        if not (force or full or self.clock() - self.ready_since >= FLUSH_DELAY):
            return
        paths = list(self.ready)
        self.ready.clear()
        busy = self.submit.in_flight(paths)
        for path in busy:
            self.settler.touch(path, self.clock() + BUSY_RETRY)
        todo = [p for p in paths if p not in busy]
        for batch in batches(todo, self.config.files_per_task):
            self.submit.sync(batch)
        self.counts["files_queued"] += len(todo)

    # ---- rescans and state ----------------------------------------------------------------------

    def _reconcile(self, now: float) -> None:
        if now >= self.next_reconcile and self.rescan_reason is None:
            self.rescan_reason = "periodic reconciliation (--reconcile-interval)"
        if self.control.rescan_running() or self.rescan_reason is None:  # (a finished pass turns it back to watching)
            return
        if self.control.start_rescan():
            log.info("reconciling_rescan_started", root=self.root, reason=self.rescan_reason)
            self.counts["rescans"] += 1
            self.rescan_reason = None
            self.next_reconcile = now + self.config.reconcile_interval

    def _heartbeat(self) -> None:
        self.control.heartbeat(self.counts, self.backlog(), self.last_event, self.kind.value if self.kind else "")
        self.counts = Counter()


def excluded(path: str, root: str, options: ScanOptions, directory: bool = False) -> bool:
    """The job's --exclude_* patterns, as a scan applies them: to the entry and to every directory above it."""
    if not options.exclude_file_name and not options.exclude_directory_name:
        return False
    if _matches(options.exclude_file_name, path) or (directory and _matches(options.exclude_directory_name, path)):
        return True
    parent = os.path.dirname(path)
    while len(parent) > len(root):
        if _matches(options.exclude_file_name, parent) or _matches(options.exclude_directory_name, parent):
            return True
        parent = os.path.dirname(parent)
    return False


def _matches(patterns: Sequence[re.Pattern[str]], path: str) -> bool:
    return any(p.match(path) for p in patterns)


def run(zones: Sequence[ZoneWatcher], stop: threading.Event, tick: float = 0.05) -> str:
    """Step every zone until `stop` is set or a zone's job is stopped; close them all; say why it ended."""
    for zone in zones:
        zone.start()
    why = "signal"
    try:
        while not stop.wait(tick):
            for zone in zones:
                zone.step()
            if any(zone.stop_requested for zone in zones):
                why = "stopped"
                break
    finally:
        for zone in zones:
            zone.close()
    return why
