"""A watchdog observer on one zone whose handler only queues lz-ingest events and alarms.

Watchdog 7.1's inotify side rebuilds its watches after a kernel queue overflow and skips a
subdirectory whose watch cannot be added (ENOSPC at fs.inotify.max_user_watches), telling
the event handler neither. Both are hooked here, on the InotifyFD every emitter shares, and
queued as alarms: either means events may be lost, so the caller rescans the tree.
"""

from __future__ import annotations

import enum
import errno
import logging
import os
import queue
from dataclasses import dataclass

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.api import BaseObserver
from watchdog.observers.inotify import InotifyFullEmitter
from watchdog.observers.inotify_c import CallbackId, InotifyEvent, InotifyFD, Mask, WatchCallback, WatchDescriptor
from watchdog.observers.polling import PollingObserver

from lz_ingest.watcher.events import FsEvent, from_watchdog

logger = logging.getLogger(__name__)
WATCH_LIMIT_HINT = "raise fs.inotify.max_user_watches or use --observer polling"


class ObserverKind(enum.Enum):
    """--observer: inotify, polling, or auto (inotify, else polling)."""

    AUTO = "auto"
    INOTIFY = "inotify"
    POLLING = "polling"


@dataclass(frozen=True)
class Alarm:
    """Events below `path` may be lost: rescan it. `reason` says why."""

    path: str
    reason: str


Item = FsEvent | Alarm


class _QueueingHandler(FileSystemEventHandler):
    """Converts and queues; does nothing else on watchdog's thread."""

    def __init__(self, root: str, sink: queue.SimpleQueue[Item]) -> None:
        self._root = root
        self._sink = sink

    def dispatch(self, event: FileSystemEvent) -> None:
        converted = from_watchdog(event, self._root)
        if converted is not None:
            self._sink.put(converted)


class _AlarmingInotifyFD(InotifyFD):
    """The shared inotify descriptor, reporting overflows and failed watches as alarms."""

    def __init__(self, root: str, sink: queue.SimpleQueue[Item]) -> None:
        super().__init__()
        self._root = root
        self._sink = sink

    def add_callback(self, path: bytes, mask: Mask, callback: WatchCallback, id_: CallbackId) -> WatchDescriptor:
        try:
            return super().add_callback(path, mask, callback, id_)
        except OSError as error:
            reason = f"cannot watch {os.fsdecode(path)}: {error.strerror}"
            if error.errno == errno.ENOSPC:
                reason += f" ({WATCH_LIMIT_HINT})"
            self._sink.put(Alarm(os.fsdecode(path), reason))
            raise

    def handle_event(self, event: InotifyEvent) -> None:
        super().handle_event(event)  # watchdog rebuilds its watches first, so the rescan sees them in place
        if event.is_queue_overflow:
            self._sink.put(Alarm(self._root, "events may be lost: inotify queue overflow, rescan this tree"))


class _InotifyObserver(BaseObserver):
    """watchdog's InotifyObserver with full move events, on an alarming descriptor."""

    def __init__(self, root: str, sink: queue.SimpleQueue[Item]) -> None:
        self._fd = _AlarmingInotifyFD(root, sink)
        self._fd.start()
        super().__init__(InotifyFullEmitter, inotify_fd=self._fd)

    def on_thread_stop(self) -> None:
        super().on_thread_stop()
        self._fd.stop()
        self._fd.join()


def start_observer(
    root: str, sink: queue.SimpleQueue[Item], kind: ObserverKind, poll_interval: float = 1.0
) -> tuple[BaseObserver, ObserverKind]:
    """A started recursive observer on `root` and the kind it is (auto resolves to one of the two)."""
    if kind is not ObserverKind.POLLING:
        try:
            return _started(_InotifyObserver(root, sink), root, sink), ObserverKind.INOTIFY
        except OSError as error:
            if kind is ObserverKind.INOTIFY:
                raise
            logger.warning("inotify unavailable (%s): polling instead; %s", error, WATCH_LIMIT_HINT)
    return _started(PollingObserver(timeout=poll_interval), root, sink), ObserverKind.POLLING


def _started(observer: BaseObserver, root: str, sink: queue.SimpleQueue[Item]) -> BaseObserver:
    observer.schedule(_QueueingHandler(root, sink), root, recursive=True)
    observer.start()
    return observer


def files_below(directory: str) -> list[str]:
    """Every file below a directory that just appeared (its early files had no watch yet)."""
    found: list[str] = []
    for top, _dirs, names in os.walk(directory):
        found.extend(os.path.join(top, name) for name in names)
    return found
