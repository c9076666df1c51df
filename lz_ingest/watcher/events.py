"""lz-ingest's own filesystem event values, converted from watchdog's events.

Moves are classified by where their ends lie: both inside the zone (MOVED), only the
destination (MOVED_IN: a directory prepared elsewhere and moved in), only the source
(MOVED_OUT: for the catalog, a deletion). Watchdog's full inotify emitter reports an
unpaired move with an empty path on the missing side; the polling emitter reports moves
across the zone's edge as created / deleted, which map to the same values as here.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass

from watchdog.events import (
    EVENT_TYPE_ATTRIB,
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
)


class Kind(enum.Enum):
    """What happened to a path."""

    CREATED = "created"
    MODIFIED = "modified"
    CLOSED = "closed"  # closed after writing: a hint to check sooner, never proof of completeness
    MOVED = "moved"
    MOVED_IN = "moved_in"
    MOVED_OUT = "moved_out"
    DELETED = "deleted"


@dataclass(frozen=True)
class FsEvent:
    """One change seen in the zone; `dest` is set for MOVED only."""

    kind: Kind
    path: str
    is_directory: bool
    dest: str | None = None

    @property
    def current_path(self) -> str:
        """Where the entry is now (the destination of a move)."""
        return self.dest if self.dest is not None else self.path


# watchdog's attribute changes (touch, chmod) change mtime as often as content: both are modifications
_SIMPLE_KINDS = {
    EVENT_TYPE_CREATED: Kind.CREATED,
    EVENT_TYPE_MODIFIED: Kind.MODIFIED,
    EVENT_TYPE_ATTRIB: Kind.MODIFIED,
    EVENT_TYPE_CLOSED: Kind.CLOSED,
    EVENT_TYPE_DELETED: Kind.DELETED,
}


def _text(path: bytes | str) -> str:
    return os.fsdecode(path)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def from_watchdog(event: FileSystemEvent, root: str) -> FsEvent | None:
    """The lz-ingest event for a watchdog event, or None for what the watcher does not use.

    Dropped: opens, closes without writing, and a directory's own modification (watchdog
    emits one for each change inside it; the change itself arrives as its own event).
    """
    src, dest = _text(event.src_path), _text(event.dest_path)
    if event.event_type == EVENT_TYPE_MOVED:
        return _move(src, dest, root, is_directory=event.is_directory)
    kind = _SIMPLE_KINDS.get(event.event_type)
    if kind is None or (kind is Kind.MODIFIED and event.is_directory) or not src:
        return None
    return FsEvent(kind, src, event.is_directory)


def _move(src: str, dest: str, root: str, *, is_directory: bool) -> FsEvent | None:
    src_in = bool(src) and _inside(src, root)
    dest_in = bool(dest) and _inside(dest, root)
    if src_in and dest_in:
        return FsEvent(Kind.MOVED, src, is_directory, dest)
    if dest_in:
        return FsEvent(Kind.MOVED_IN, dest, is_directory)
    if src_in:
        return FsEvent(Kind.MOVED_OUT, src, is_directory)
    return None
