"""The settle rule: a file is ready only once its size and mtime stayed unchanged for settle_seconds.

Time is the watcher's own monotonic clock, passed in by the caller: never the file's mtime,
which another host's clock wrote (a future mtime from NFS clock skew settles nothing by
itself). An event never settles a file either; it only makes the watcher look at it now.
A close-after-write event is therefore a hint (the file's final state is likely in
place), but the file still has to be seen unchanged settle_seconds later.

One pending entry per path, so a burst of events on a path coalesces into one check.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Stat:
    """What the rule compares between two looks at a file."""

    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Pending:
    """A file seen in this state since `since` (monotonic seconds)."""

    stat: Stat
    since: float


def observe(previous: Pending | None, stat: Stat, now: float) -> Pending:
    """The entry after looking at the file at `now`: a changed stat restarts the wait."""
    if previous is None or previous.stat != stat:
        return Pending(stat, now)
    return previous


def is_settled(entry: Pending, now: float, settle_seconds: float) -> bool:
    """True once the file was seen in the same state settle_seconds apart."""
    return now - entry.since >= settle_seconds


class Settler:
    """The pending paths, each with the time of its next look; the caller stats, this decides."""

    def __init__(self, settle_seconds: float) -> None:
        self._settle = settle_seconds
        self._pending: dict[str, Pending | None] = {}
        self._due: list[tuple[float, str]] = []  # a heap; stale rows are skipped when popped
        self._next: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, path: object) -> bool:
        return path in self._pending

    def touch(self, path: str, now: float) -> None:
        """Something happened to `path`: look at it now (one entry, however many events)."""
        self._pending.setdefault(path, None)
        self._schedule(path, now)

    def forget(self, path: str) -> None:
        """The path is gone (deleted, moved away, ignored)."""
        self._pending.pop(path, None)
        self._next.pop(path, None)

    def forget_under(self, directory: str) -> None:
        """Every pending path below `directory` is gone."""
        prefix = directory.rstrip("/") + "/"
        for path in [p for p in self._pending if p.startswith(prefix)]:
            self.forget(path)

    def due(self, now: float) -> Iterator[str]:
        """The pending paths whose next look is due at `now`, each once."""
        while self._due and self._due[0][0] <= now:
            when, path = heapq.heappop(self._due)
            if self._next.get(path) == when:
                del self._next[path]
                yield path

    def next_due(self) -> float | None:
        """When the earliest look is due, or None when nothing is pending."""
        while self._due and self._next.get(self._due[0][1]) != self._due[0][0]:
            heapq.heappop(self._due)
        return self._due[0][0] if self._due else None

    def looked(self, path: str, stat: Stat | None, now: float) -> bool:
        """Record a look at `path` (None: it is gone); True when it has settled and left the pending set."""
        if path not in self._pending:
            return False
        if stat is None:
            self.forget(path)
            return False
        entry = observe(self._pending[path], stat, now)
        if is_settled(entry, now, self._settle):
            self.forget(path)
            return True
        self._pending[path] = entry
        self._schedule(path, entry.since + self._settle, replace=True)
        return False

    def _schedule(self, path: str, when: float, *, replace: bool = False) -> None:
        current = self._next.get(path)
        if not replace and current is not None and current <= when:
            return
        self._next[path] = when
        heapq.heappush(self._due, (when, path))


def batches(paths: list[str], size: int) -> list[list[str]]:
    """`paths` cut into lists of at most `size` (files_per_task)."""
    return [paths[i : i + size] for i in range(0, len(paths), size)]
