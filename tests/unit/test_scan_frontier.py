"""How a scan task shares its frontier: whole chunks while directories scan fast, any surplus later."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from lz_ingest.tasks import bookkeeping as bk
from lz_ingest.tasks import scan


class FakeScanner(scan.Scanner):
    """Only run_frontier's own logic: every directory yields `fanout` new subdirectories, up to `limit`."""

    def __init__(self, fanout: int, limit: int) -> None:  # no worker context, no catalog
        self.fanout, self.limit, self.made = fanout, limit, 0
        self.handed: list[list[str]] = []
        self.scanned: list[str] = []

    def _list_ahead(self, pending: deque[tuple[str, Any, str]]) -> None:
        pass

    def _flush_work(self, final: bool) -> None:
        pass

    def run_one(self, directory: str, ancestry: Any, collection: str, tally: bk.Tally) -> scan.Frontier:
        self.scanned.append(directory)
        children = []
        for _ in range(min(self.fanout, self.limit - self.made)):
            self.made += 1
            children.append((f"d{self.made}", None, scan.EXISTS))
        return children

    def _hand_off(self, directories: Any) -> None:
        todo = [d for d, _, _ in directories]
        self.handed.extend(todo[i : i + scan.HAND_OFF_CHUNK] for i in range(0, len(todo), scan.HAND_OFF_CHUNK))


def test_fast_directories_are_handed_off_in_whole_chunks_only() -> None:
    scanner = FakeScanner(fanout=20, limit=200)
    scanner.run_frontier(deque([("root", None, scan.EXISTS)]), bk.Tally())
    handed = [d for chunk in scanner.handed for d in chunk]
    assert sorted(handed + scanner.scanned) == sorted(["root", *(f"d{i}" for i in range(1, 201))])  # each once
    assert len(set(handed) & set(scanner.scanned)) == 0
    # Every chunk handed off while scanning is whole; only what is left when the frontier is done may not be.
    assert all(len(chunk) == scan.HAND_OFF_CHUNK for chunk in scanner.handed[:-1])


def test_after_a_while_any_surplus_is_handed_off_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "PARTIAL_HAND_OFF_AFTER", 0.0)  # as if each directory were large
    scanner = FakeScanner(fanout=scan.KEEP_DIRECTORIES + 3, limit=scan.KEEP_DIRECTORIES + 3)
    scanner.run_frontier(deque([("root", None, scan.EXISTS)]), bk.Tally())
    assert scanner.handed[0] == [f"d{i}" for i in range(scan.KEEP_DIRECTORIES + 3, scan.KEEP_DIRECTORIES, -1)]
    assert len(scanner.scanned) == 1 + scan.KEEP_DIRECTORIES


def test_a_small_surplus_waits_while_directories_scan_fast() -> None:
    scanner = FakeScanner(fanout=scan.KEEP_DIRECTORIES + 3, limit=scan.KEEP_DIRECTORIES + 3)
    scanner.run_frontier(deque([("root", None, scan.EXISTS)]), bk.Tally())
    assert scanner.handed == [] and len(scanner.scanned) == 1 + scan.KEEP_DIRECTORIES + 3


def test_the_cyclic_collector_is_paused_for_a_scan_and_restored() -> None:
    import gc

    assert gc.isenabled()
    with scan.cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), scan.cyclic_gc_paused():
        raise RuntimeError("a failing scan")
    assert gc.isenabled()
    gc.disable()  # a handler (or an embedding program) turned it off: it stays off
    try:
        with scan.cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
