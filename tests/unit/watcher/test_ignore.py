"""Temporary names, --ignore patterns and complete-marker candidates."""

from __future__ import annotations

import pytest

from lz_ingest.watcher.ignore import IgnoreRule, is_marker, marker_candidates

ROOT = "/zone"


@pytest.mark.parametrize("name", ["a.part", "b.tmp", ".~lock.x.odt#", ".data.csv.Xy12Ab"])
def test_temporary_names_are_ignored(name: str) -> None:
    assert IgnoreRule().ignores(f"/zone/run/{name}", ROOT)


@pytest.mark.parametrize("name", ["a.csv", "data.partial", ".hidden", ".data.csv.toolongsuffix"])
def test_final_names_are_not(name: str) -> None:
    assert not IgnoreRule().ignores(f"/zone/run/{name}", ROOT)


def test_user_patterns_match_the_name_or_the_relative_path() -> None:
    rule = IgnoreRule(("*.lock", "scratch/*"))
    assert rule.ignores("/zone/run/x.lock", ROOT)
    assert rule.ignores("/zone/scratch/a", ROOT)
    assert not rule.ignores("/zone/run/scratch", ROOT)


def test_marker_candidates_run_from_the_directory_up_to_the_root() -> None:
    assert marker_candidates("/zone/run1/Data/x.bcl", ROOT, "RTAComplete.txt") == [
        "/zone/run1/Data/RTAComplete.txt",
        "/zone/run1/RTAComplete.txt",
        "/zone/RTAComplete.txt",
    ]
    assert marker_candidates("/zone/f", ROOT, "M") == ["/zone/M"]


def test_is_marker_needs_a_marker_name() -> None:
    assert is_marker("/zone/run1/CopyComplete.txt", "CopyComplete.txt")
    assert not is_marker("/zone/run1/CopyComplete.txt", None)
