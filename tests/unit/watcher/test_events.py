"""The conversion of watchdog's events into lz-ingest's own values."""

from __future__ import annotations

import pytest
from watchdog.events import (
    DirCreatedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
)

from lz_ingest.watcher.events import FsEvent, Kind, from_watchdog

ROOT = "/zone"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (FileCreatedEvent("/zone/a"), FsEvent(Kind.CREATED, "/zone/a", False)),
        (DirCreatedEvent("/zone/d"), FsEvent(Kind.CREATED, "/zone/d", True)),
        (FileModifiedEvent("/zone/a"), FsEvent(Kind.MODIFIED, "/zone/a", False)),
        (FileAttribEvent("/zone/a"), FsEvent(Kind.MODIFIED, "/zone/a", False)),
        (FileClosedEvent("/zone/a"), FsEvent(Kind.CLOSED, "/zone/a", False)),
        (FileDeletedEvent("/zone/a"), FsEvent(Kind.DELETED, "/zone/a", False)),
        (FileCreatedEvent(b"/zone/\xff"), FsEvent(Kind.CREATED, "/zone/\udcff", False)),
    ],
)
def test_simple_events_keep_their_kind_path_and_type(event: FileSystemEvent, expected: FsEvent) -> None:
    assert from_watchdog(event, ROOT) == expected


@pytest.mark.parametrize(
    "event",
    [DirModifiedEvent("/zone/d"), FileOpenedEvent("/zone/a"), FileClosedNoWriteEvent("/zone/a")],
)
def test_noise_is_dropped(event: FileSystemEvent) -> None:
    assert from_watchdog(event, ROOT) is None


def test_a_move_inside_the_zone_keeps_both_ends() -> None:
    got = from_watchdog(FileMovedEvent("/zone/a.part", "/zone/a"), ROOT)
    assert got == FsEvent(Kind.MOVED, "/zone/a.part", False, "/zone/a")
    assert got is not None and got.current_path == "/zone/a"


def test_an_unpaired_move_to_is_a_move_into_the_zone() -> None:
    assert from_watchdog(DirMovedEvent("", "/zone/run1"), ROOT) == FsEvent(Kind.MOVED_IN, "/zone/run1", True)


def test_a_move_to_a_path_outside_the_zone_is_a_move_out() -> None:
    assert from_watchdog(FileMovedEvent("/zone/a", "/elsewhere/a"), ROOT) == FsEvent(Kind.MOVED_OUT, "/zone/a", False)
    assert from_watchdog(FileMovedEvent("/zone/a", ""), ROOT) == FsEvent(Kind.MOVED_OUT, "/zone/a", False)


def test_a_sibling_with_the_zone_as_prefix_is_outside() -> None:
    assert from_watchdog(FileMovedEvent("/zone2/a", "/zone/a"), ROOT) == FsEvent(Kind.MOVED_IN, "/zone/a", False)
