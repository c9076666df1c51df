"""The settle rule, driven by plain values and a hand-moved clock."""

from __future__ import annotations

from lz_ingest.watcher.settle import Pending, Settler, Stat, batches, is_settled, observe

A = Stat(size=10, mtime_ns=1_000)
B = Stat(size=20, mtime_ns=2_000)
FUTURE = Stat(size=10, mtime_ns=2**62)  # an mtime centuries ahead: another host's skewed clock


def test_a_first_look_never_settles() -> None:
    assert not is_settled(observe(None, A, 100.0), 100.0, 1.0)


def test_unchanged_for_the_settle_time_settles() -> None:
    entry = observe(None, A, 100.0)
    assert not is_settled(observe(entry, A, 100.9), 100.9, 1.0)
    assert is_settled(observe(entry, A, 101.0), 101.0, 1.0)


def test_a_change_restarts_the_wait() -> None:
    entry = observe(observe(None, A, 100.0), B, 100.8)
    assert entry == Pending(B, 100.8)
    assert not is_settled(observe(entry, B, 101.5), 101.5, 1.0)
    assert is_settled(observe(entry, B, 101.8), 101.8, 1.0)


def test_a_future_mtime_does_not_settle_by_itself() -> None:
    settler = Settler(1.0)
    settler.touch("/z/f", 0.0)
    assert list(settler.due(0.0)) == ["/z/f"]
    assert not settler.looked("/z/f", FUTURE, 0.0)
    assert list(settler.due(0.5)) == []
    assert list(settler.due(1.0)) == ["/z/f"]
    assert settler.looked("/z/f", FUTURE, 1.0)


def test_an_event_is_only_a_reason_to_look() -> None:
    settler = Settler(2.0)
    settler.touch("/z/f", 0.0)  # e.g. the close-after-write hint
    assert not settler.looked("/z/f", A, 0.0)
    settler.touch("/z/f", 0.5)  # another close: looked at again at once, still not settled
    assert list(settler.due(0.5)) == ["/z/f"]
    assert not settler.looked("/z/f", A, 0.5)
    assert next(iter(settler.due(1.9)), None) is None
    assert list(settler.due(2.0)) == ["/z/f"]
    assert settler.looked("/z/f", A, 2.0)
    assert "/z/f" not in settler


def test_a_burst_on_one_path_is_one_entry_and_one_look() -> None:
    settler = Settler(1.0)
    for i in range(1000):
        settler.touch("/z/f", i / 10_000)
    assert len(settler) == 1
    assert list(settler.due(1.0)) == ["/z/f"]


def test_a_vanished_file_leaves_the_pending_set() -> None:
    settler = Settler(1.0)
    settler.touch("/z/f", 0.0)
    assert not settler.looked("/z/f", None, 0.0)
    assert len(settler) == 0 and settler.next_due() is None


def test_forget_under_drops_a_removed_directory_only() -> None:
    settler = Settler(1.0)
    for path in ("/z/d/a", "/z/d/e/b", "/z/dd/c"):
        settler.touch(path, 0.0)
    settler.forget_under("/z/d")
    assert list(settler.due(5.0)) == ["/z/dd/c"]


def test_next_due_follows_the_earliest_look() -> None:
    settler = Settler(1.0)
    settler.touch("/z/a", 0.0)
    settler.looked("/z/a", A, 0.0)
    settler.touch("/z/b", 0.3)
    assert settler.next_due() == 0.3
    list(settler.due(0.3))
    assert settler.next_due() == 1.0


def test_batches_hold_at_most_files_per_task() -> None:
    paths = [f"/z/{i}" for i in range(250)]
    got = batches(paths, 100)
    assert [len(b) for b in got] == [100, 100, 50]
    assert [p for b in got for p in b] == paths
